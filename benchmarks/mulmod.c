/* Cost of one 4096-bit modular multiplication (a Paillier ciphertext operation at 2048-bit
 * keys), GMP's mpz_mul + mpz_mod against a Montgomery multiplication written with GMP's mpn
 * layer (mpn_mul_n + word-by-word REDC through mpn_addmul_1). It answers whether a native
 * Montgomery engine would beat gmpy2, whose every ciphertext operation is mpz_mul + mpz_mod.
 *
 *   make bench-mulmod      (needs a C compiler and libgmp-dev)
 */
#include <gmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LIMBS 64 /* 4096 bits */
#define ITERS 200000

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* -m^-1 mod 2^64 by Newton iteration (m odd). */
static mp_limb_t neg_inverse(mp_limb_t m0) {
    mp_limb_t x = 1;
    for (int i = 0; i < 7; i++) x *= 2 - m0 * x;
    return -x;
}

/* r = t / 2^(64·LIMBS) mod m for t < m·2^(64·LIMBS); t has 2·LIMBS + 1 limbs and is clobbered. */
static void redc(mp_limb_t *r, mp_limb_t *t, const mp_limb_t *m, mp_limb_t minv) {
    mp_limb_t carry = 0;
    for (int i = 0; i < LIMBS; i++) {
        mp_limb_t c = mpn_addmul_1(t + i, m, LIMBS, t[i] * minv);
        carry += mpn_add_1(t + i + LIMBS, t + i + LIMBS, LIMBS - i, c);
    }
    if (carry || mpn_cmp(t + LIMBS, m, LIMBS) >= 0)
        mpn_sub_n(r, t + LIMBS, m, LIMBS);
    else
        memcpy(r, t + LIMBS, LIMBS * sizeof(mp_limb_t));
}

int main(void) {
    gmp_randstate_t rng;
    mpz_t m, a, b, c;
    mp_limb_t am[LIMBS] = {0}, bm[LIMBS] = {0}, mm[LIMBS] = {0}, t[2 * LIMBS + 1];
    gmp_randinit_default(rng);
    mpz_inits(m, a, b, c, NULL);
    mpz_urandomb(m, rng, 64 * LIMBS);
    mpz_setbit(m, 64 * LIMBS - 1);
    mpz_setbit(m, 0);
    mpz_urandomm(a, rng, m);
    mpz_urandomm(b, rng, m);
    mpz_export(am, NULL, -1, sizeof(mp_limb_t), 0, 0, a);
    mpz_export(bm, NULL, -1, sizeof(mp_limb_t), 0, 0, b);
    mpz_export(mm, NULL, -1, sizeof(mp_limb_t), 0, 0, m);

    double start = now();
    for (int i = 0; i < ITERS; i++) {
        mpz_mul(c, a, b);
        mpz_mod(c, c, m);
        mpz_swap(a, c);
    }
    double mpz_us = (now() - start) / ITERS * 1e6;

    mp_limb_t minv = neg_inverse(mm[0]);
    start = now();
    for (int i = 0; i < ITERS; i++) {
        mpn_mul_n(t, am, bm, LIMBS);
        t[2 * LIMBS] = 0;
        redc(am, t, mm, minv);
    }
    double mont_us = (now() - start) / ITERS * 1e6;

    printf("{\"bits\": %d, \"mpz_mul_mod_us\": %.3f, \"montgomery_mpn_us\": %.3f, \"ratio\": %.3f}\n",
           64 * LIMBS, mpz_us, mont_us, mpz_us / mont_us);
    mpz_clears(m, a, b, c, NULL);
    gmp_randclear(rng);
    return 0;
}
