/* Arithmetic of fedloom.crypto._ifma (see _ifma.c for what it computes and how): radix-2^52
 * limbs, the 8-lane almost-Montgomery multiplication with AVX-512 IFMA and fixed-base
 * products (column-wise multi-exponentiation is in _ifma_columns.h). Included once, by
 * _ifma.c, after Python.h. */
#ifndef FEDLOOM_IFMA_ARITH_H
#define FEDLOOM_IFMA_ARITH_H

#include <stdint.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define FL_IFMA_BUILD 1
#include <immintrin.h>
#define FL_IFMA_TARGET __attribute__((target("avx512f,avx512ifma")))
#else
#define FL_IFMA_BUILD 0
#endif

#define LANES 8
#define RADIX_BITS 52
#define LIMB_MASK ((UINT64_C(1) << RADIX_BITS) - 1)
#define MAX_BITS 4096
#define MAX_WINDOW 16
/* Largest bucket window of column_products: 2 * 2^12 buckets * 79 limbs * 64 bytes = 41 MB. */
#define MAX_COLUMN_WINDOW 12
/* L for MAX_BITS: ceil((4096 + 2) / 52) = 79 limbs. */
#define MAX_LIMBS ((MAX_BITS + 2 + RADIX_BITS - 1) / RADIX_BITS)

/* ------------------------------------------------------------------------------------------
 * Scalar helpers on numbers of L limbs in radix 2^52 (every limb < 2^52 unless said).
 * ------------------------------------------------------------------------------------------ */

/* Number of 52-bit limbs for a modulus of `bits` bits: the least L with 2^(52L) >= 2^(bits+2). */
static int limbs_for_bits(int bits) { return (bits + 2 + RADIX_BITS - 1) / RADIX_BITS; }

/* Little-endian bytes -> L limbs of 52 bits (bytes beyond the number's length are zero). */
static void limbs_from_bytes(const uint8_t *bytes, size_t nbytes, uint64_t *out, int limbs) {
    uint64_t acc = 0;
    int accbits = 0, j = 0;
    for (size_t b = 0; b < nbytes && j < limbs; b++) {
        acc |= (uint64_t)bytes[b] << accbits;
        accbits += 8;
        if (accbits >= RADIX_BITS) {
            out[j++] = acc & LIMB_MASK;
            accbits -= RADIX_BITS;
            /* the bits of this byte that did not fit into the limb just written */
            acc = (uint64_t)bytes[b] >> (8 - accbits);
        }
    }
    if (j < limbs) out[j++] = acc;
    while (j < limbs) out[j++] = 0;
}

/* L limbs of 52 bits -> nbytes little-endian bytes (the number must fit). */
static void limbs_to_bytes(const uint64_t *in, int limbs, uint8_t *bytes, size_t nbytes) {
    uint64_t acc = 0;
    int accbits = 0, j = 0;
    for (size_t b = 0; b < nbytes; b++) {
        if (accbits < 8 && j < limbs) {
            /* acc holds accbits < 8 bits; add the next 52 (fits: < 60 bits in all) */
            acc |= in[j++] << accbits;
            accbits += RADIX_BITS;
        }
        bytes[b] = (uint8_t)acc;
        acc >>= 8;
        accbits -= 8;
    }
}

/* Compare two L-limb numbers: -1, 0, 1. */
static int limbs_cmp(const uint64_t *a, const uint64_t *b, int limbs) {
    for (int j = limbs - 1; j >= 0; j--) {
        if (a[j] != b[j]) return a[j] < b[j] ? -1 : 1;
    }
    return 0;
}

/* a -= b for a >= b. */
static void limbs_sub(uint64_t *a, const uint64_t *b, int limbs) {
    uint64_t borrow = 0;
    for (int j = 0; j < limbs; j++) {
        uint64_t v = a[j] - b[j] - borrow; /* wraps modulo 2^64 when negative */
        borrow = v >> 63;                  /* limbs < 2^52, so a wrap sets the top bit */
        a[j] = v & LIMB_MASK;
    }
}

#if FL_IFMA_BUILD
/* R^2 mod m with R = 2^(52L), by 104 L modular doublings of 1 (each keeps x < m, so one
 * conditional subtraction suffices). Run once per table (about a millisecond at 4096 bits). */
static void r_squared_mod(const uint64_t *m, int limbs, uint64_t *x) {
    uint64_t wide[MAX_LIMBS + 1], mod[MAX_LIMBS + 1];
    memset(wide, 0, sizeof wide);
    memcpy(mod, m, (size_t)limbs * sizeof(uint64_t));
    mod[limbs] = 0;
    wide[0] = 1;
    for (int step = 0; step < 2 * RADIX_BITS * limbs; step++) {
        uint64_t carry = 0;
        for (int j = 0; j <= limbs; j++) {
            uint64_t v = (wide[j] << 1) | carry;
            carry = v >> RADIX_BITS;
            wide[j] = v & LIMB_MASK;
        }
        if (limbs_cmp(wide, mod, limbs + 1) >= 0) limbs_sub(wide, mod, limbs + 1);
    }
    memcpy(x, wide, (size_t)limbs * sizeof(uint64_t));
}
#endif

/* -m^-1 mod 2^52 (m odd): Newton's iteration x <- x (2 - m x) doubles the correct low bits;
 * x = 1 is right modulo 2, six steps give 64 bits. */
static uint64_t neg_inverse52(uint64_t m0) {
    uint64_t x = 1;
    for (int i = 0; i < 6; i++) x *= 2 - m0 * x;
    return (0 - x) & LIMB_MASK;
}

/* ------------------------------------------------------------------------------------------
 * The IFMA kernel.
 * ------------------------------------------------------------------------------------------ */
#if FL_IFMA_BUILD

/* One step of the scan (see amm8): T <- (T + a_i b + u m) / 2^52. */
FL_IFMA_TARGET static inline void amm_step(__m512i *t, __m512i ai, const __m512i *b,
                                           const __m512i *m, __m512i k0, int limbs) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i t0 = _mm512_madd52lo_epu64(t[0], ai, b[0]);
    const __m512i u = _mm512_madd52lo_epu64(zero, t0, k0);
    t0 = _mm512_madd52lo_epu64(t0, u, m[0]);
    const __m512i carry = _mm512_srli_epi64(t0, RADIX_BITS);
    for (int j = 0; j < limbs - 1; j++) {
        __m512i s = t[j + 1];
        s = _mm512_madd52lo_epu64(s, ai, b[j + 1]);
        s = _mm512_madd52lo_epu64(s, u, m[j + 1]);
        s = _mm512_madd52hi_epu64(s, ai, b[j]);
        s = _mm512_madd52hi_epu64(s, u, m[j]);
        t[j] = s;
    }
    t[limbs - 1] =
        _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(zero, ai, b[limbs - 1]), u, m[limbs - 1]);
    t[0] = _mm512_add_epi64(t[0], carry);
}

/* Two steps (a0 = a[i], then a1 = a[i+1]) in one pass over the limbs, for L >= 2. Writing
 * T' for the state after the first step, the second step needs only T'[0] up front (for its u
 * and its carry); every other limb of T' is consumed as soon as it is formed:
 *
 *     T''[j] = T'[j+1] + lo(a1 b[j+1]) + lo(u1 m[j+1]) + hi(a1 b[j]) + hi(u1 m[j])
 *     T'[j+1] = T[j+2] + lo(a0 b[j+2]) + lo(u0 m[j+2]) + hi(a0 b[j+1]) + hi(u0 m[j+1])
 *
 * (with T[L] = b[L] = m[L] = 0), so each limb of T is loaded and stored once per two steps,
 * which halves the memory traffic per madd52; the arithmetic is exactly that of two steps. */
FL_IFMA_TARGET static inline void amm_step2(__m512i *t, __m512i a0, __m512i a1,
                                            const __m512i *b, const __m512i *m, __m512i k0,
                                            int limbs) {
    const __m512i zero = _mm512_setzero_si512();
    /* first step: u0 and the carry out of limb 0 */
    __m512i x = _mm512_madd52lo_epu64(t[0], a0, b[0]);
    const __m512i u0 = _mm512_madd52lo_epu64(zero, x, k0);
    x = _mm512_madd52lo_epu64(x, u0, m[0]);
    const __m512i c0 = _mm512_srli_epi64(x, RADIX_BITS);
    /* T'[0], then the second step's u1 and carry */
    x = t[1];
    x = _mm512_madd52lo_epu64(x, a0, b[1]);
    x = _mm512_madd52lo_epu64(x, u0, m[1]);
    x = _mm512_madd52hi_epu64(x, a0, b[0]);
    x = _mm512_madd52hi_epu64(x, u0, m[0]);
    x = _mm512_add_epi64(x, c0);
    x = _mm512_madd52lo_epu64(x, a1, b[0]);
    const __m512i u1 = _mm512_madd52lo_epu64(zero, x, k0);
    x = _mm512_madd52lo_epu64(x, u1, m[0]);
    const __m512i c1 = _mm512_srli_epi64(x, RADIX_BITS);
    /* T''[j] for j <= L-3; two independent chains shorten the madd latency chain */
    for (int j = 0; j < limbs - 2; j++) {
        __m512i s = t[j + 2], r = zero;
        s = _mm512_madd52lo_epu64(s, a0, b[j + 2]);
        r = _mm512_madd52lo_epu64(r, a1, b[j + 1]);
        s = _mm512_madd52lo_epu64(s, u0, m[j + 2]);
        r = _mm512_madd52lo_epu64(r, u1, m[j + 1]);
        s = _mm512_madd52hi_epu64(s, a0, b[j + 1]);
        r = _mm512_madd52hi_epu64(r, a1, b[j]);
        s = _mm512_madd52hi_epu64(s, u0, m[j + 1]);
        r = _mm512_madd52hi_epu64(r, u1, m[j]);
        t[j] = _mm512_add_epi64(s, r);
    }
    /* T''[L-2] (T'[L-1] has only the high halves of the first step) and T''[L-1] */
    const int l = limbs;
    __m512i s = _mm512_madd52hi_epu64(zero, a0, b[l - 1]);
    s = _mm512_madd52hi_epu64(s, u0, m[l - 1]);
    s = _mm512_madd52lo_epu64(s, a1, b[l - 1]);
    s = _mm512_madd52lo_epu64(s, u1, m[l - 1]);
    s = _mm512_madd52hi_epu64(s, a1, b[l - 2]);
    t[l - 2] = _mm512_madd52hi_epu64(s, u1, m[l - 2]);
    t[l - 1] = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(zero, a1, b[l - 1]), u1, m[l - 1]);
    t[0] = _mm512_add_epi64(t[0], c1);
}

/* c = AMM(a, b) = (a b + U m) / R for eight numbers at once; arrays of L vectors, limbs < 2^52,
 * a, b < 2m; c may alias a or b. m holds the modulus broadcast to every lane; k0 = -m^-1 mod
 * 2^52 in every lane.
 *
 * Step i (i = 0..L-1) adds a[i] * b + u m to T and divides T by 2^52, with u chosen so the
 * division is exact: u = (T[0] + lo(a[i] b[0])) * k0 mod 2^52. Each 52x52-bit product splits
 * into lo (weight 2^(52 j)) and hi (weight 2^(52 (j+1))); after the shift by one limb the new
 * limb j is therefore
 *
 *     T[j+1] + lo(a[i] b[j+1]) + lo(u m[j+1]) + hi(a[i] b[j]) + hi(u m[j])
 *
 * and the new limb 0 additionally receives the carry (T[0] + lo(a[i] b[0]) + lo(u m[0])) >> 52
 * of the limb shifted out (whose low 52 bits are zero by the choice of u). The steps run in
 * pairs (amm_step2), with a single amm_step left when L is odd.
 *
 * Headroom: a limb position receives at most four terms < 2^52 per step (plus a carry
 * < 2^13) and exists for at most L steps, so it stays below 4 L 2^52 + L 2^13 < 2^61 for
 * L <= 79: no 64-bit lane overflows before the final normalisation, which propagates carries
 * so that every output limb is < 2^52 again (madd52 only reads the low 52 bits of its inputs).
 */
FL_IFMA_TARGET static inline __attribute__((always_inline)) void
amm8_impl(__m512i *c, const __m512i *a, const uint64_t *a_scalar, const __m512i *b,
          const __m512i *m, __m512i k0, int limbs) {
    __m512i t[MAX_LIMBS];
    const __m512i zero = _mm512_setzero_si512();
    for (int j = 0; j < limbs; j++) t[j] = zero;

    /* limb i of the scanned operand, per lane or broadcast from a single number */
#define AMM_A(i) (a_scalar != NULL ? _mm512_set1_epi64((long long)a_scalar[i]) : a[i])
    int i = 0;
    for (; i + 1 < limbs; i += 2) amm_step2(t, AMM_A(i), AMM_A(i + 1), b, m, k0, limbs);
    if (i < limbs) amm_step(t, AMM_A(i), b, m, k0, limbs);
#undef AMM_A

    /* Normalise: the value is < 2m < R, so the last carry is zero. */
    const __m512i mask = _mm512_set1_epi64((long long)LIMB_MASK);
    __m512i carry = zero;
    for (int j = 0; j < limbs; j++) {
        const __m512i v = _mm512_add_epi64(t[j], carry);
        carry = _mm512_srli_epi64(v, RADIX_BITS);
        c[j] = _mm512_and_si512(v, mask);
    }
}

FL_IFMA_TARGET static void amm8(__m512i *c, const __m512i *a, const __m512i *b,
                                const __m512i *m, __m512i k0, int limbs) {
    amm8_impl(c, a, NULL, b, m, k0, limbs);
}

/* amm8 with the same number a (L plain limbs, a < 2m) in every lane: c_k = AMM(a, b_k). */
FL_IFMA_TARGET static void amm8_bcast(__m512i *c, const uint64_t *a, const __m512i *b,
                                      const __m512i *m, __m512i k0, int limbs) {
    amm8_impl(c, NULL, a, b, m, k0, limbs);
}

/* Load eight L-limb numbers (pointers src[k]) into lane-interleaved vectors dst[j]. */
FL_IFMA_TARGET static void gather8(__m512i *dst, const uint64_t *const *src, int limbs) {
    for (int j = 0; j < limbs; j++) {
        dst[j] = _mm512_set_epi64((long long)src[7][j], (long long)src[6][j],
                                  (long long)src[5][j], (long long)src[4][j],
                                  (long long)src[3][j], (long long)src[2][j],
                                  (long long)src[1][j], (long long)src[0][j]);
    }
}

/* Store lane-interleaved vectors into eight L-limb numbers dst[k]. */
FL_IFMA_TARGET static void scatter8(uint64_t *const *dst, const __m512i *src, int limbs) {
    uint64_t lanes[LANES] __attribute__((aligned(64)));
    for (int j = 0; j < limbs; j++) {
        _mm512_store_si512((void *)lanes, src[j]);
        for (int k = 0; k < LANES; k++) dst[k][j] = lanes[k];
    }
}

/* In place: table[e] <- AMM(table[e], R^2 mod m) = table[e] R mod m, for `count` entries. */
FL_IFMA_TARGET static void to_montgomery(uint64_t *table, size_t count, const uint64_t *r2,
                                         const uint64_t *mod, uint64_t k0s, int limbs) {
    __m512i m[MAX_LIMBS], r2v[MAX_LIMBS], x[MAX_LIMBS];
    const __m512i k0 = _mm512_set1_epi64((long long)k0s);
    for (int j = 0; j < limbs; j++) {
        m[j] = _mm512_set1_epi64((long long)mod[j]);
        r2v[j] = _mm512_set1_epi64((long long)r2[j]);
    }
    uint64_t spare[LANES][MAX_LIMBS]; /* sink for the padding lanes of the last batch */
    memset(spare, 0, sizeof spare);
    for (size_t e = 0; e < count; e += LANES) {
        uint64_t *ptr[LANES];
        for (int k = 0; k < LANES; k++)
            ptr[k] = e + (size_t)k < count ? table + (e + (size_t)k) * (size_t)limbs : spare[k];
        gather8(x, (const uint64_t *const *)ptr, limbs);
        amm8(x, x, r2v, m, k0, limbs);
        scatter8(ptr, x, limbs);
    }
}

/* out[k] <- prod_i table[i][digits[k][i]] mod m (< 2m before the caller's final reduction),
 * for k < count; digits are validated by the caller. */
FL_IFMA_TARGET static void fixed_base_products(const uint64_t *table, int window, Py_ssize_t nrows,
                                               const uint8_t *digits, Py_ssize_t count,
                                               const uint64_t *mod, uint64_t k0s, int limbs,
                                               uint64_t *out) {
    __m512i m[MAX_LIMBS], acc[MAX_LIMBS], x[MAX_LIMBS], one[MAX_LIMBS];
    const __m512i k0 = _mm512_set1_epi64((long long)k0s);
    for (int j = 0; j < limbs; j++) {
        m[j] = _mm512_set1_epi64((long long)mod[j]);
        one[j] = _mm512_set1_epi64(j == 0 ? 1 : 0);
    }
    const size_t entry = (size_t)limbs;
    const size_t row_stride = ((size_t)1 << window) * entry;
    uint64_t spare[LANES][MAX_LIMBS];

    for (Py_ssize_t start = 0; start < count; start += LANES) {
        const int active = count - start < LANES ? (int)(count - start) : LANES;
        const uint64_t *src[LANES];
        for (Py_ssize_t i = 0; i < nrows; i++) {
            const uint64_t *row = table + (size_t)i * row_stride;
            for (int k = 0; k < LANES; k++) {
                /* padding lanes reuse lane 0's digit: any valid entry will do */
                const Py_ssize_t kk = start + (k < active ? k : 0);
                const uint8_t *d = digits + 2 * (size_t)(kk * nrows + i);
                const unsigned digit = (unsigned)d[0] | ((unsigned)d[1] << 8);
                src[k] = row + digit * entry;
            }
            if (i == 0) {
                gather8(acc, src, limbs);
            } else {
                gather8(x, src, limbs);
                amm8(acc, acc, x, m, k0, limbs);
            }
        }
        amm8(acc, acc, one, m, k0, limbs); /* leave Montgomery form: acc <= m */
        uint64_t *dst[LANES];
        for (int k = 0; k < LANES; k++)
            dst[k] = k < active ? out + (size_t)(start + k) * entry : spare[k];
        scatter8(dst, acc, limbs);
    }
}


#endif /* FL_IFMA_BUILD */

/* Whether this build has the kernel and the running CPU and OS can execute it. */
static int ifma_supported(void) {
#if FL_IFMA_BUILD
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
#else
    return 0;
#endif
}

#endif /* FEDLOOM_IFMA_ARITH_H */
