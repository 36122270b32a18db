/* Column-wise multi-exponentiation of fedloom.crypto._ifma (the gradient product): the 8-lane
 * bucket kernel and the threads that share one column_products call. Included once, by
 * _ifma.c, after Python.h and _ifma_arith.h. */
#ifndef FEDLOOM_IFMA_COLUMNS_H
#define FEDLOOM_IFMA_COLUMNS_H

#include <pthread.h>

#include "_ifma_arith.h"

/* Most threads one column_products call may use. */
#define MAX_THREADS 64
/* Fewest rows in a range of rows that column_products gives a thread of its own. */
#define MIN_PIECE_ROWS 64

#if FL_IFMA_BUILD

/* ------------------------------------------------------------------------------------------
 * Multi-exponentiation across columns: lane k = column k.
 *
 * For an N x C matrix x of signed exponents and bases a_0 .. a_{N-1} (the same for every
 * column), column_batch computes, for up to eight columns c0 .. c0+7 at once, two products
 * P_c and Q_c whose quotient P_c Q_c^-1 is prod_i a_i^{x_ic} (mod m); the caller divides (one
 * inversion per column, in Python with gmpy2). Which two depends on the batch's exponents,
 * with `bits` the largest bit length of |x_ic| over all its rows:
 *
 * - all x_ic >= 0:                P_c = prod_i a_i^{x_ic},  Q_c = 1;
 * - some x_ic < 0 and bits <= 62 (the offset form, one set of buckets):
 *       P_c = prod_i a_i^{x_ic + 2^bits},  Q_c = (prod_i a_i)^(2^bits),
 *   every exponent x_ic + 2^bits being positive and below 2^(bits+1);
 * - some x_ic < 0 and bits > 62 (the sign split of fedloom.crypto.multiexp.signed_multi_exp,
 *   two sets of buckets):
 *       P_c = prod_{i: x_ic > 0} a_i^{x_ic},  Q_c = prod_{i: x_ic < 0} a_i^{-x_ic}.
 *
 * The offset form halves the buckets to combine per window; its Q_c (the same for every
 * column) needs every base invertible for the division, which the caller checks (and then
 * uses gmpy2's sign split for a column whose Q_c is not invertible).
 *
 * Pippenger's bucket method, vectorised so that lane k follows column c0 + k. The exponents
 * (|x_ic| for the sign split, x_ic + 2^bits for the offset form) are cut into windows of w
 * bits, most significant first. Per window and per lane there are one or two sets of 2^w
 * buckets, all starting at 1 (R mod m, in Montgomery form). For each row i:
 *
 *     digit_k = (e_i,c0+k >> shift) mod 2^w,   set_k = [x_i,c0+k < 0] (sign split) or 0
 *     bucket[k][set_k][digit_k] <- bucket[k][set_k][digit_k] * a_i      (lanes with digit 0 skip)
 *
 * which is ONE 8-lane AMM: a_i (Montgomery form) is broadcast to all lanes, each lane's own
 * bucket is gathered, multiplied and scattered back under the mask of non-zero digits. Then
 *
 *     prod_d bucket[d]^d = prod_{d=1}^{2^w-1} running_d,   running_d = prod_{d' >= d} bucket[d'],
 *
 * formed top-down with two AMMs per digit value for all lanes at once, and the window's
 * product joins the accumulator, which is first raised to the 2^w-th power (w squarings):
 * acc <- acc^(2^w) * window_product. Per window this costs N + 2 S 2^w eight-lane AMMs for S
 * sets, so w is chosen to minimise ceil(bits / w) * (N + 2 S 2^w) (column_window). The offset
 * form adds prod_i a_i (N / 8 AMMs, eight rows a lane, then the lanes multiplied together) and
 * its 2^bits-th power (bits squarings).
 *
 * Layout: buckets are lane-interleaved, bucket (s, d) being L vectors whose lane k belongs to
 * column c0 + k, so the combination step loads them as plain vectors, and lane k's bucket limb
 * j is the qword at index ((s 2^w + d) L + j) 8 + k: one vpgatherqq / vpscatterqq per limb.
 * Lanes never share a qword, so the masked scatter has no conflicts. As in the gmpy2 path, the
 * bucket accesses depend on the exponents (the caller's own data): not constant-time.
 *
 * Bounds: every value fed to amm8 (bases and buckets in Montgomery form, products, R mod m)
 * is < 2m with limbs < 2^52, which is all amm8 needs (see its headroom argument); the final
 * AMM by 1 leaves values <= m, the caller maps m to 0.
 * ------------------------------------------------------------------------------------------ */

/* The window width w (1..MAX_COLUMN_WINDOW) minimising ceil(bits/w) * (rows + 2 sets 2^w). */
static int column_window(Py_ssize_t rows, int bits, int sets) {
    int best = 1;
    double best_cost = -1.0;
    for (int w = 1; w <= MAX_COLUMN_WINDOW; w++) {
        const double windows = (double)((bits + w - 1) / w);
        const double cost = windows * ((double)rows + 2.0 * sets * (double)(1 << w));
        if (best_cost < 0.0 || cost < best_cost) {
            best = w;
            best_cost = cost;
        }
    }
    return best;
}

/* Largest bit length of |x_ic| over the rows and the columns c0 .. c0+active-1 (0..64); sets
 * *negative when some x_ic < 0. */
static int column_bits(const int64_t *exps, Py_ssize_t nrows, Py_ssize_t ncols, Py_ssize_t c0,
                       int active, int *negative) {
    uint64_t any = 0;
    int64_t low = 0;
    for (Py_ssize_t i = 0; i < nrows; i++) {
        const int64_t *row = exps + i * ncols + c0;
        for (int k = 0; k < active; k++) {
            /* two's complement negation as unsigned: exact for INT64_MIN too (2^63) */
            const uint64_t v = (uint64_t)row[k];
            any |= row[k] < 0 ? 0 - v : v;
            low = row[k] < low ? row[k] : low;
        }
    }
    int bits = 0;
    while (bits < 64 && (any >> bits) != 0) bits++;
    *negative = low < 0;
    return bits;
}

/* The form of a batch (see column_batch): -1 for the sign split, 0 when no exponent is
 * negative, else the offset's bit length. */
static int column_offset(int bits, int negative) {
    if (!negative) return 0;
    return bits <= 62 ? bits : -1;
}

/* prod_i a_i over the rows (Montgomery form), in every lane of `out`. */
FL_IFMA_TARGET static void column_base_product(const uint64_t *bases, Py_ssize_t nrows,
                                               const uint64_t *r_mod, const __m512i *m,
                                               __m512i k0, int limbs, __m512i *out) {
    __m512i x[MAX_LIMBS];
    const size_t entry = (size_t)limbs;
    for (int j = 0; j < limbs; j++) out[j] = _mm512_set1_epi64((long long)r_mod[j]);
    for (Py_ssize_t i = 0; i < nrows; i += LANES) {
        const uint64_t *rows[LANES];
        for (int k = 0; k < LANES; k++)
            rows[k] = i + k < nrows ? bases + (size_t)(i + k) * entry : r_mod;
        gather8(x, rows, limbs);
        amm8(out, out, x, m, k0, limbs);
    }
    uint64_t lane[LANES][MAX_LIMBS];
    uint64_t *dst[LANES];
    for (int k = 0; k < LANES; k++) dst[k] = lane[k];
    scatter8(dst, out, limbs);
    for (int j = 0; j < limbs; j++) out[j] = _mm512_set1_epi64((long long)lane[0][j]);
    for (int k = 1; k < LANES; k++) amm8_bcast(out, lane[k], out, m, k0, limbs);
}

/* P and Q (above) for the columns c0 .. c0+active-1 (active <= 8) over `nrows` rows, in
 * Montgomery form (< 2m, lane k for column c0 + k): acc[s L + j] is limb j of P (s = 0) or
 * Q (s = 1). `offset` is the batch's form (column_offset; the same for every range of rows of
 * a batch, so that ranges join by multiplication) and `bits` the bit length of its exponents
 * (bits + 1 in the offset form). `bases` holds the rows' bases in Montgomery form (L limbs
 * each, < 2m) and `exps` their rows of `ncols` exponents; `buckets` has room for
 * 2 * 2^window * L vectors, 64-byte aligned. No rows (or all-zero exponents) give R mod m. */
FL_IFMA_TARGET static void column_batch(const uint64_t *bases, Py_ssize_t nrows,
                                        const int64_t *exps, Py_ssize_t ncols, Py_ssize_t c0,
                                        int active, int offset, int bits, int window,
                                        __m512i *buckets, const uint64_t *mod,
                                        const uint64_t *r_mod, uint64_t k0s, int limbs,
                                        __m512i *acc_out) {
    __m512i m[MAX_LIMBS], one_mont[MAX_LIMBS], x[MAX_LIMBS];
    __m512i acc[2][MAX_LIMBS], running[MAX_LIMBS], total[MAX_LIMBS];
    const __m512i k0 = _mm512_set1_epi64((long long)k0s);
    const __m512i zero = _mm512_setzero_si512();
    for (int j = 0; j < limbs; j++) {
        m[j] = _mm512_set1_epi64((long long)mod[j]);
        one_mont[j] = _mm512_set1_epi64((long long)r_mod[j]);
        acc[0][j] = acc[1][j] = one_mont[j];
    }
    const size_t entry = (size_t)limbs;
    const int width = 1 << window;
    const int sets = offset < 0 ? 2 : 1;
    const __mmask8 lanes = (__mmask8)((1u << active) - 1);
    const __m512i digit_mask = _mm512_set1_epi64(width - 1);
    const __m512i neg_offset = _mm512_set1_epi64(width);
    const __m512i lift = _mm512_set1_epi64(offset > 0 ? (long long)(UINT64_C(1) << offset) : 0);
    const __m512i stride = _mm512_set1_epi64(limbs * LANES); /* qwords per bucket */
    const __m512i lane_id = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const int windows = (bits + window - 1) / window;

    for (int win = windows - 1; win >= 0; win--) {
        const int started = win < windows - 1;
        /* acc <- acc^(2^w): the digits seen so far move up one window */
        if (started)
            for (int s = 0; s < sets; s++)
                for (int q = 0; q < window; q++) amm8(acc[s], acc[s], acc[s], m, k0, limbs);

        for (size_t e = 0; e < (size_t)sets * (size_t)width * entry; e += entry)
            memcpy(buckets + e, one_mont, entry * sizeof(__m512i));

        const __m512i shift = _mm512_set1_epi64(win * window); /* < 64 as win * w < bits */
        for (Py_ssize_t i = 0; i < nrows; i++) {
            const __m512i v = _mm512_maskz_loadu_epi64(lanes, exps + i * ncols + c0);
            /* the sign split reads |x| (abs(INT64_MIN) stays 0x8000...: read as unsigned that is
             * 2^63, as wanted); the offset form x + 2^offset (< 2^63, positive) */
            const __mmask8 neg = sets == 2 ? _mm512_cmplt_epi64_mask(v, zero) : 0;
            const __m512i e = sets == 2 ? _mm512_abs_epi64(v) : _mm512_add_epi64(v, lift);
            const __m512i digit = _mm512_and_si512(_mm512_srlv_epi64(e, shift), digit_mask);
            const __mmask8 live = _mm512_mask_test_epi64_mask(lanes, digit, digit);
            if (live == 0) continue;
            /* bucket number s 2^w + d (< 2^13) times L 8 (< 2^10): a 32x32-bit product */
            const __m512i bucket = _mm512_mask_add_epi64(digit, neg, digit, neg_offset);
            const __m512i index = _mm512_add_epi64(_mm512_mul_epu32(bucket, stride), lane_id);
            for (int j = 0; j < limbs; j++)
                x[j] = _mm512_mask_i64gather_epi64(zero, live, index, (const void *)(buckets + j),
                                                   8);
            amm8_bcast(x, bases + (size_t)i * entry, x, m, k0, limbs);
            for (int j = 0; j < limbs; j++)
                _mm512_mask_i64scatter_epi64((void *)(buckets + j), live, index, x[j], 8);
        }

        for (int s = 0; s < sets; s++) {
            /* prod_d bucket[d]^d from the running products, top digit down */
            const __m512i *set = buckets + (size_t)s * (size_t)width * entry;
            memcpy(running, set + (size_t)(width - 1) * entry, entry * sizeof(__m512i));
            memcpy(total, running, entry * sizeof(__m512i));
            for (int d = width - 2; d >= 1; d--) {
                amm8(running, running, set + (size_t)d * entry, m, k0, limbs);
                amm8(total, total, running, m, k0, limbs);
            }
            if (started)
                amm8(acc[s], acc[s], total, m, k0, limbs);
            else
                memcpy(acc[s], total, entry * sizeof(__m512i));
        }
    }

    if (offset > 0 && windows > 0) {
        /* Q = (prod_i a_i)^(2^offset), the same in every lane */
        column_base_product(bases, nrows, r_mod, m, k0, limbs, acc[1]);
        for (int q = 0; q < offset; q++) amm8(acc[1], acc[1], acc[1], m, k0, limbs);
    }
    for (int s = 0; s < 2; s++) memcpy(acc_out + (size_t)s * entry, acc[s], entry * sizeof(__m512i));
}

/* acc <- acc * part (both from column_batch, Montgomery form): the products of two row ranges
 * joined. */
FL_IFMA_TARGET static void column_join(__m512i *acc, const __m512i *part, const uint64_t *mod,
                                       uint64_t k0s, int limbs) {
    __m512i m[MAX_LIMBS];
    for (int j = 0; j < limbs; j++) m[j] = _mm512_set1_epi64((long long)mod[j]);
    const __m512i k0 = _mm512_set1_epi64((long long)k0s);
    for (int s = 0; s < 2; s++)
        amm8(acc + (size_t)s * (size_t)limbs, acc + (size_t)s * (size_t)limbs,
             part + (size_t)s * (size_t)limbs, m, k0, limbs);
}

/* column_batch's result out of Montgomery form: out[(2k + s) L ..] gets lane k's positive
 * (s = 0) or negative (s = 1) product, plain and <= m, for k < active. */
FL_IFMA_TARGET static void column_output(__m512i *acc, int active, const uint64_t *mod,
                                         uint64_t k0s, int limbs, uint64_t *out) {
    __m512i m[MAX_LIMBS], one[MAX_LIMBS];
    for (int j = 0; j < limbs; j++) {
        m[j] = _mm512_set1_epi64((long long)mod[j]);
        one[j] = _mm512_set1_epi64(j == 0 ? 1 : 0);
    }
    const __m512i k0 = _mm512_set1_epi64((long long)k0s);
    const size_t entry = (size_t)limbs;
    uint64_t spare[LANES][MAX_LIMBS]; /* sink for the lanes beyond `active` */
    for (int s = 0; s < 2; s++) {
        __m512i *value = acc + (size_t)s * entry;
        amm8(value, value, one, m, k0, limbs); /* leave Montgomery form: <= m */
        uint64_t *dst[LANES];
        for (int k = 0; k < LANES; k++)
            dst[k] = k < active ? out + (size_t)(2 * k + s) * entry : spare[k];
        scatter8(dst, value, limbs);
    }
}

/* ------------------------------------------------------------------------------------------
 * Threads.
 * ------------------------------------------------------------------------------------------ */

/* One unit of column_products work: batch b (columns 8b .. 8b+7) over rows [r0, r1), whose
 * result goes to accumulator slot b * threads + piece. */
typedef struct {
    Py_ssize_t batch, piece, r0, r1;
} column_item;

/* The work of one call. A batch costs about the same whatever its number of columns, so the
 * threads share whole batches as evenly as they divide (threads * (batches / threads) of them),
 * and each remaining batch is cut into one range of rows per thread (never under
 * MIN_PIECE_ROWS rows), whose partial products are joined at the end. Thread t runs the items
 * [first[t], first[t + 1]). */
typedef struct {
    uint64_t *bases; /* nrows * L limbs, converted to Montgomery form by the threads */
    const int64_t *exps;
    Py_ssize_t nrows, ncols;
    const uint64_t *mod, *r2, *r_mod;
    uint64_t k0;
    int limbs, threads;
    const column_item *items;
    Py_ssize_t first[MAX_THREADS + 1];
    Py_ssize_t *pieces; /* per batch: how many row ranges it was cut into */
    int *bits, *offset; /* per batch, over all its rows: exponent bit length and form */
    __m512i *accs;      /* 2 L vectors per (batch, piece) slot */
} column_plan;

typedef struct {
    const column_plan *plan;
    int index;
    int phase; /* 0: bases to Montgomery form, 1: items */
    int no_memory;
} column_worker;

/* Columns in batch b (8 but for a last, narrower batch). */
static int batch_columns(Py_ssize_t ncols, Py_ssize_t b) {
    const Py_ssize_t left = ncols - b * LANES;
    return left < LANES ? (int)left : LANES;
}

static Py_ssize_t share_start(Py_ssize_t total, Py_ssize_t index, Py_ssize_t parts) {
    return (Py_ssize_t)((long double)total * (long double)index / (long double)parts);
}

/* Fill items (room for batches * threads) and plan->first / plan->pieces. */
static void column_schedule(column_plan *plan, column_item *items, Py_ssize_t batches) {
    const int threads = plan->threads;
    Py_ssize_t pieces = threads;
    while (pieces > 1 && plan->nrows / pieces < MIN_PIECE_ROWS) pieces--;
    /* with a single range per batch every batch is whole */
    const Py_ssize_t whole = pieces > 1 ? batches - batches % threads : batches;
    Py_ssize_t count = 0;
    for (Py_ssize_t b = 0; b < batches; b++) {
        int negative;
        const int bits = column_bits(plan->exps, plan->nrows, plan->ncols, b * LANES,
                                     batch_columns(plan->ncols, b), &negative);
        plan->offset[b] = column_offset(bits, negative);
        plan->bits[b] = plan->offset[b] > 0 ? bits + 1 : bits;
        plan->pieces[b] = b < whole ? 1 : pieces;
    }
    for (int t = 0; t < threads; t++) {
        plan->first[t] = count;
        for (Py_ssize_t b = share_start(whole, t, threads); b < share_start(whole, t + 1, threads);
             b++)
            items[count++] = (column_item){b, 0, 0, plan->nrows};
        for (Py_ssize_t b = whole; t < pieces && b < batches; b++)
            items[count++] = (column_item){b, t, share_start(plan->nrows, t, pieces),
                                           share_start(plan->nrows, t + 1, pieces)};
    }
    plan->first[threads] = count;
    plan->items = items;
}

static void column_work(column_worker *worker) {
    const column_plan *plan = worker->plan;
    const int limbs = plan->limbs, t = worker->index;
    if (worker->phase == 0) {
        const Py_ssize_t r0 = share_start(plan->nrows, t, plan->threads);
        const Py_ssize_t r1 = share_start(plan->nrows, t + 1, plan->threads);
        to_montgomery(plan->bases + (size_t)r0 * (size_t)limbs, (size_t)(r1 - r0), plan->r2,
                      plan->mod, plan->k0, limbs);
        return;
    }
    void *bucket_mem = NULL;
    size_t bucket_room = 0; /* bytes usable from the aligned start */
    for (Py_ssize_t i = plan->first[t]; i < plan->first[t + 1]; i++) {
        const column_item *item = &plan->items[i];
        const Py_ssize_t c0 = item->batch * LANES, rows = item->r1 - item->r0;
        const int active = batch_columns(plan->ncols, item->batch);
        const int64_t *exps = plan->exps + item->r0 * plan->ncols;
        const int offset = plan->offset[item->batch], bits = plan->bits[item->batch];
        const int window = column_window(rows, bits, offset < 0 ? 2 : 1);
        const size_t need = 2 * ((size_t)1 << window) * (size_t)limbs * sizeof(__m512i);
        if (need > bucket_room) {
            PyMem_RawFree(bucket_mem);
            bucket_mem = PyMem_RawMalloc(need + 63);
            bucket_room = bucket_mem == NULL ? 0 : need;
            if (bucket_mem == NULL) {
                worker->no_memory = 1;
                return;
            }
        }
        __m512i *buckets = (__m512i *)(((uintptr_t)bucket_mem + 63) & ~(uintptr_t)63);
        const size_t slot = (size_t)(item->batch * plan->threads + item->piece);
        column_batch(plan->bases + (size_t)item->r0 * (size_t)limbs, rows, exps, plan->ncols, c0,
                     active, offset, bits, window, buckets, plan->mod, plan->r_mod, plan->k0,
                     limbs, plan->accs + slot * 2 * (size_t)limbs);
    }
    PyMem_RawFree(bucket_mem);
}

static void *column_thread(void *arg) {
    column_work((column_worker *)arg);
    return NULL;
}

/* Run one phase on every thread: threads 1.. as pthreads, thread 0 (and any whose thread could
 * not be started) here. Returns 0, or -1 when some thread ran out of memory. */
static int column_phase(column_worker *workers, int threads, int phase) {
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 0; t < threads; t++) workers[t].phase = phase;
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&ids[t], NULL, column_thread, &workers[t]) == 0;
    column_work(&workers[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(ids[t], NULL);
        else
            column_work(&workers[t]);
    }
    for (int t = 0; t < threads; t++)
        if (workers[t].no_memory) return -1;
    return 0;
}

#endif /* FL_IFMA_BUILD */

#endif /* FEDLOOM_IFMA_COLUMNS_H */
