/* fedloom.crypto._ifma: multi-buffer fixed-base products modulo an odd m with AVX-512 IFMA.
 *
 * What it computes
 * ----------------
 * A FixedBase holds a table rows[i][d] (i < nrows, d < 2^window) of residues modulo m and
 * answers, for many digit vectors at once,
 *
 *     factor_k = prod_i rows[i][digits[k][i]]  mod m.
 *
 * This is the inner loop of DJN blinding factors (see fedloom/crypto/randomness.py): there
 * rows[i][d] = h_s^(d * 2^(w*i)) mod n^2 and the digits are those of a random exponent.
 *
 * How
 * ---
 * Numbers are held in radix 2^52: x = sum_j x[j] * 2^(52 j), j < L, with L = ceil((bits+2)/52)
 * so that R = 2^(52 L) >= 4 * 2^bits > 4m. Eight independent numbers are processed together,
 * one per 64-bit lane of a 512-bit register ("multi-buffer"): limb j of the eight numbers is the
 * vector X[j], lane k holding number k. The modulus is the same in every lane.
 *
 * The multiplication is Montgomery's, in its "almost" form (AMM): for a, b < 2m it returns
 * c = (a b + U m) / R with c ≡ a b R^-1 (mod m) and
 *
 *     c < (4 m^2 + R m) / R = m (4m/R + 1) < 2m       (as R > 4m),
 *
 * so outputs can be fed back as inputs without a final subtraction. The table is stored in
 * Montgomery form (x R mod m), a product of entries stays in that form, and one last AMM by 1
 * leaves the plain value (then c <= m, and c = m only for c ≡ 0, mapped to 0).
 *
 * AVX-512 IFMA gives vpmadd52luq / vpmadd52huq: acc + low / high 52 bits of the 104-bit
 * product of the low 52 bits of two operands, per lane. The AMM scans a one limb at a time
 * (operand scanning, word-serial Montgomery reduction), keeping the accumulator T in L vectors
 * of unnormalised 64-bit limbs; see amm8() for the step and the headroom argument.
 *
 * The IFMA functions are compiled with a target attribute, so the module itself needs no
 * special compiler flags and imports on any x86-64 CPU; supported() tells whether the running
 * CPU (and OS) can execute them, and FixedBase refuses to work where it cannot.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

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
FL_IFMA_TARGET static void amm8(__m512i *c, const __m512i *a, const __m512i *b,
                                const __m512i *m, __m512i k0, int limbs) {
    __m512i t[MAX_LIMBS];
    const __m512i zero = _mm512_setzero_si512();
    for (int j = 0; j < limbs; j++) t[j] = zero;

    int i = 0;
    for (; i + 1 < limbs; i += 2) amm_step2(t, a[i], a[i + 1], b, m, k0, limbs);
    if (i < limbs) amm_step(t, a[i], b, m, k0, limbs);

    /* Normalise: the value is < 2m < R, so the last carry is zero. */
    const __m512i mask = _mm512_set1_epi64((long long)LIMB_MASK);
    __m512i carry = zero;
    for (int j = 0; j < limbs; j++) {
        const __m512i v = _mm512_add_epi64(t[j], carry);
        carry = _mm512_srli_epi64(v, RADIX_BITS);
        c[j] = _mm512_and_si512(v, mask);
    }
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

/* ------------------------------------------------------------------------------------------
 * Python <-> limbs.
 * ------------------------------------------------------------------------------------------ */

/* Python integer (anything with __index__, e.g. gmpy2.mpz) in [0, 2^(8 nbytes)) -> limbs.
 * Returns 0, or -1 with ValueError (negative or too large) or another exception set. */
static int int_to_limbs(PyObject *obj, uint8_t *buf, size_t nbytes, uint64_t *out, int limbs) {
    PyObject *value = PyNumber_Index(obj);
    if (value == NULL) return -1;
    if (_PyLong_Sign(value) < 0) {
        Py_DECREF(value);
        PyErr_SetString(PyExc_ValueError, "negative integer");
        return -1;
    }
#if PY_VERSION_HEX >= 0x030D0000
    int rc = _PyLong_AsByteArray((PyLongObject *)value, buf, nbytes, 1, 0, 1);
#else
    int rc = _PyLong_AsByteArray((PyLongObject *)value, buf, nbytes, 1, 0);
#endif
    Py_DECREF(value);
    if (rc < 0) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "integer too large for the modulus");
        }
        return -1;
    }
    limbs_from_bytes(buf, nbytes, out, limbs);
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * The FixedBase type.
 * ------------------------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    int bits;            /* bit length of the modulus */
    int limbs;           /* L */
    int window;          /* w: each row has 2^w entries */
    Py_ssize_t nrows;    /* rows in the table */
    uint64_t k0;         /* -m^-1 mod 2^52 */
    uint64_t mod[MAX_LIMBS];
    uint64_t *table;     /* nrows * 2^w entries of L limbs, Montgomery form, < 2m */
} FixedBaseObject;

static void FixedBase_dealloc(FixedBaseObject *self) {
    PyMem_RawFree(self->table);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int FixedBase_init(FixedBaseObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"modulus", "window", "rows", NULL};
    PyObject *modulus_obj, *rows_obj;
    int window;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OiO:FixedBase", kwlist, &modulus_obj, &window,
                                     &rows_obj))
        return -1;
    if (self->table != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "FixedBase is already initialised");
        return -1;
    }
    if (!ifma_supported()) {
        PyErr_SetString(PyExc_RuntimeError,
                        "this CPU (or build) lacks AVX-512F/AVX-512 IFMA; use the gmpy2 path");
        return -1;
    }
    if (window < 1 || window > MAX_WINDOW) {
        PyErr_Format(PyExc_ValueError, "window must be in 1..%d", MAX_WINDOW);
        return -1;
    }

    /* Modulus: odd, 3 <= m < 2^4096. */
    PyObject *mod_int = PyNumber_Index(modulus_obj);
    if (mod_int == NULL) return -1;
    int64_t bits = -1;
    if (_PyLong_Sign(mod_int) > 0) bits = (int64_t)_PyLong_NumBits(mod_int);
    if (bits < 2 || bits > MAX_BITS) {
        Py_DECREF(mod_int);
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "modulus must be an odd integer of 2..%d bits",
                         MAX_BITS);
        return -1;
    }
    const int limbs = limbs_for_bits((int)bits);
    const size_t nbytes = ((size_t)bits + 7) / 8;
    uint8_t buf[MAX_BITS / 8 + 8];
    if (int_to_limbs(mod_int, buf, nbytes, self->mod, limbs) < 0) {
        Py_DECREF(mod_int);
        return -1;
    }
    Py_DECREF(mod_int);
    if ((self->mod[0] & 1) == 0) {
        PyErr_SetString(PyExc_ValueError, "modulus must be odd");
        return -1;
    }
    self->bits = (int)bits;
    self->limbs = limbs;
    self->window = window;
    self->k0 = neg_inverse52(self->mod[0]);

    /* Table: a sequence of rows, each a sequence of exactly 2^w integers in [0, m). */
    PyObject *rows = PySequence_Fast(rows_obj, "rows must be a sequence of sequences");
    if (rows == NULL) return -1;
    const Py_ssize_t nrows = PySequence_Fast_GET_SIZE(rows);
    const size_t width = (size_t)1 << window;
    if (nrows < 1) {
        Py_DECREF(rows);
        PyErr_SetString(PyExc_ValueError, "rows must not be empty");
        return -1;
    }
    const size_t entries = (size_t)nrows * width;
    if (entries > SIZE_MAX / ((size_t)limbs * sizeof(uint64_t))) {
        Py_DECREF(rows);
        PyErr_NoMemory();
        return -1;
    }
    uint64_t *table = PyMem_RawMalloc(entries * (size_t)limbs * sizeof(uint64_t));
    if (table == NULL) {
        Py_DECREF(rows);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < nrows; i++) {
        PyObject *row = PySequence_Fast(PySequence_Fast_GET_ITEM(rows, i),
                                        "rows must be a sequence of sequences");
        if (row == NULL) goto fail;
        if ((size_t)PySequence_Fast_GET_SIZE(row) != width) {
            PyErr_Format(PyExc_ValueError, "row %zd has %zd entries, expected 2**window = %zu", i,
                         PySequence_Fast_GET_SIZE(row), width);
            Py_DECREF(row);
            goto fail;
        }
        for (size_t d = 0; d < width; d++) {
            uint64_t *dst = table + ((size_t)i * width + d) * (size_t)limbs;
            if (int_to_limbs(PySequence_Fast_GET_ITEM(row, d), buf, nbytes, dst, limbs) < 0 ||
                limbs_cmp(dst, self->mod, limbs) >= 0) {
                if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_ValueError)) {
                    PyErr_Clear();
                    PyErr_Format(PyExc_ValueError,
                                 "rows[%zd][%zu] is not an integer in [0, modulus)", i, d);
                }
                Py_DECREF(row);
                goto fail;
            }
        }
        Py_DECREF(row);
    }
    Py_DECREF(rows);
    rows = NULL;

#if FL_IFMA_BUILD
    uint64_t r2[MAX_LIMBS];
    Py_BEGIN_ALLOW_THREADS
    r_squared_mod(self->mod, limbs, r2);
    to_montgomery(table, entries, r2, self->mod, self->k0, limbs);
    Py_END_ALLOW_THREADS
#endif
    self->nrows = nrows;
    self->table = table;
    return 0;

fail:
    Py_XDECREF(rows);
    PyMem_RawFree(table);
    return -1;
}

PyDoc_STRVAR(FixedBase_power_doc,
"power(digits, count) -> list[int]\n\n"
"Products prod_i rows[i][d_{k,i}] mod modulus for k < count, fully reduced.\n"
"digits: bytes-like of count * rows little-endian uint16 values, factor k's digits\n"
"(one per row, in row order) at positions k*rows .. k*rows + rows - 1; each < 2**window.\n"
"Raises ValueError on a wrong length or an out-of-range digit. Releases the GIL.");

static PyObject *FixedBase_power(FixedBaseObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t count;
    if (self->table == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "FixedBase is not initialised");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*n:power", &view, &count)) return NULL;
    PyObject *result = NULL;
    uint64_t *out = NULL;
    const Py_ssize_t nrows = self->nrows;
    if (count < 0 || (count > 0 && nrows > PY_SSIZE_T_MAX / 2 / count) ||
        view.len != 2 * count * nrows) {
        PyErr_Format(PyExc_ValueError, "digits must hold count * rows = %zd * %zd uint16 values",
                     count, nrows);
        goto done;
    }
    const uint8_t *digits = view.buf;
    const unsigned width = 1u << self->window;
    for (Py_ssize_t p = 0; p < count * nrows; p++) {
        const unsigned d = (unsigned)digits[2 * p] | ((unsigned)digits[2 * p + 1] << 8);
        if (d >= width) {
            PyErr_Format(PyExc_ValueError,
                         "digit %u (factor %zd, row %zd) is out of range for window %d", d,
                         p / nrows, p % nrows, self->window);
            goto done;
        }
    }
    const int limbs = self->limbs;
    out = PyMem_RawMalloc((size_t)(count > 0 ? count : 1) * (size_t)limbs * sizeof(uint64_t));
    if (out == NULL) {
        PyErr_NoMemory();
        goto done;
    }
#if FL_IFMA_BUILD
    Py_BEGIN_ALLOW_THREADS
    fixed_base_products(self->table, self->window, nrows, digits, count, self->mod, self->k0,
                        limbs, out);
    Py_END_ALLOW_THREADS
#endif
    result = PyList_New(count);
    if (result == NULL) goto done;
    const size_t nbytes = ((size_t)self->bits + 7) / 8;
    uint8_t buf[MAX_BITS / 8 + 8];
    for (Py_ssize_t k = 0; k < count; k++) {
        uint64_t *value = out + (size_t)k * (size_t)limbs;
        /* the last AMM leaves value <= m; value == m means 0 */
        if (limbs_cmp(value, self->mod, limbs) >= 0) limbs_sub(value, self->mod, limbs);
        limbs_to_bytes(value, limbs, buf, nbytes);
        PyObject *item = _PyLong_FromByteArray(buf, nbytes, 1, 0);
        if (item == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, k, item);
    }
done:
    PyMem_RawFree(out);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef FixedBase_methods[] = {
    {"power", (PyCFunction)FixedBase_power, METH_VARARGS, FixedBase_power_doc},
    {NULL, NULL, 0, NULL},
};

static PyObject *FixedBase_get_int(FixedBaseObject *self, void *which) {
    switch ((int)(intptr_t)which) {
    case 0: return PyLong_FromLong(self->bits);
    case 1: return PyLong_FromLong(self->window);
    case 2: return PyLong_FromSsize_t(self->nrows);
    default: return PyLong_FromLong(self->limbs);
    }
}

static PyGetSetDef FixedBase_getset[] = {
    {"bits", (getter)FixedBase_get_int, NULL, "bit length of the modulus", (void *)0},
    {"window", (getter)FixedBase_get_int, NULL, "digit width w (rows have 2**w entries)",
     (void *)1},
    {"rows", (getter)FixedBase_get_int, NULL, "number of table rows (digits per factor)",
     (void *)2},
    {"limbs", (getter)FixedBase_get_int, NULL, "52-bit limbs per number (R = 2**(52*limbs))",
     (void *)3},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(FixedBase_doc,
"FixedBase(modulus, window, rows)\n\n"
"A fixed-base table for 8-lane AVX-512 IFMA products modulo an odd modulus of at most\n"
"4096 bits. rows[i][d] (exactly 2**window plain integers per row, each in [0, modulus))\n"
"are copied and converted to Montgomery form in C; the Python rows can be dropped after.\n"
"Raises RuntimeError when the CPU lacks AVX-512F/IFMA, ValueError on bad arguments.");

static PyTypeObject FixedBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fedloom.crypto._ifma.FixedBase",
    .tp_basicsize = sizeof(FixedBaseObject),
    .tp_dealloc = (destructor)FixedBase_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = FixedBase_doc,
    .tp_methods = FixedBase_methods,
    .tp_getset = FixedBase_getset,
    .tp_init = (initproc)FixedBase_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------------------------------
 * Module.
 * ------------------------------------------------------------------------------------------ */

static PyObject *mod_supported(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyBool_FromLong(ifma_supported());
}

static PyObject *mod_limbs(PyObject *self, PyObject *args) {
    (void)self;
    int bits;
    if (!PyArg_ParseTuple(args, "i:limbs", &bits)) return NULL;
    if (bits < 2 || bits > MAX_BITS) {
        PyErr_Format(PyExc_ValueError, "bits must be in 2..%d", MAX_BITS);
        return NULL;
    }
    return PyLong_FromLong(limbs_for_bits(bits));
}

static PyMethodDef module_methods[] = {
    {"supported", mod_supported, METH_NOARGS,
     "supported() -> bool\n\nWhether this CPU and build can run the AVX-512 IFMA engine."},
    {"limbs", mod_limbs, METH_VARARGS,
     "limbs(bits) -> int\n\n52-bit limbs L used for a modulus of `bits` bits; the Montgomery "
     "radix is R = 2**(52*L)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "fedloom.crypto._ifma",
    .m_doc = "Multi-buffer (8-lane) AVX-512 IFMA Montgomery products for fixed-base tables.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__ifma(void) {
    if (PyType_Ready(&FixedBaseType) < 0) return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) return NULL;
    Py_INCREF(&FixedBaseType);
    if (PyModule_AddObject(module, "FixedBase", (PyObject *)&FixedBaseType) < 0 ||
        PyModule_AddIntConstant(module, "MAX_BITS", MAX_BITS) < 0 ||
        PyModule_AddIntConstant(module, "MAX_WINDOW", MAX_WINDOW) < 0) {
        Py_DECREF(&FixedBaseType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
