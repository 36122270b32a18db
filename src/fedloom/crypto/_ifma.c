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
 * column_products() computes the gradient product prod_i a_i^(x_ic) mod m for up to eight
 * columns c of a signed exponent matrix at once (lane = column, the base broadcast); see
 * column_batch() for the method. Its batches (and, where the batches do not divide evenly
 * among the threads, ranges of rows) run on several threads without the GIL.
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

#include "_ifma_arith.h"
#include "_ifma_columns.h"

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

/* The modulus: an odd integer 3 <= m < 2^MAX_BITS, to *bits and L limbs in mod[].
 * Returns 0, or -1 with an exception set. */
static int parse_modulus(PyObject *obj, int *bits_out, uint64_t *mod) {
    PyObject *mod_int = PyNumber_Index(obj);
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
    uint8_t buf[MAX_BITS / 8 + 8];
    const int rc = int_to_limbs(mod_int, buf, ((size_t)bits + 7) / 8, mod,
                                limbs_for_bits((int)bits));
    Py_DECREF(mod_int);
    if (rc < 0) return -1;
    if ((mod[0] & 1) == 0) {
        PyErr_SetString(PyExc_ValueError, "modulus must be odd");
        return -1;
    }
    *bits_out = (int)bits;
    return 0;
}

/* Plain limbs (value <= m) -> Python int, mapping m to 0. */
static PyObject *limbs_to_int(uint64_t *value, const uint64_t *mod, int limbs, int bits) {
    const size_t nbytes = ((size_t)bits + 7) / 8;
    uint8_t buf[MAX_BITS / 8 + 8];
    if (limbs_cmp(value, mod, limbs) >= 0) limbs_sub(value, mod, limbs);
    limbs_to_bytes(value, limbs, buf, nbytes);
    return _PyLong_FromByteArray(buf, nbytes, 1, 0);
}

/* `count` numbers of L limbs (each <= m) -> a new list of Python ints, or NULL with an
 * exception set. */
static PyObject *limbs_to_list(uint64_t *values, Py_ssize_t count, const uint64_t *mod,
                               int limbs, int bits) {
    PyObject *result = PyList_New(count);
    if (result == NULL) return NULL;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = limbs_to_int(values + (size_t)k * (size_t)limbs, mod, limbs, bits);
        if (item == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyList_SET_ITEM(result, k, item);
    }
    return result;
}

#include "_ifma_fixed_base.h"

/* ------------------------------------------------------------------------------------------
 * column_products().
 * ------------------------------------------------------------------------------------------ */

PyDoc_STRVAR(column_products_doc,
"column_products(modulus, bases, exponents, columns, threads=1) -> list[int]\n\n"
"For each column c of an N x columns matrix x of signed exponents, two products P_c, Q_c\n"
"mod modulus, fully reduced, as [P_0, Q_0, P_1, Q_1, ...], such that the column's product\n"
"prod_i bases[i]^x_ic is P_c * Q_c^-1. Per batch of eight columns, with b the largest bit\n"
"length of |x_ic| there: no negative x: Q_c = 1; else b <= 62: P_c = prod_i bases[i]^(x_ic +\n"
"2^b), Q_c = (prod_i bases[i])^(2^b); else P_c / Q_c = the positive / negative exponents' part.\n"
"modulus: odd, 3 <= modulus < 2**4096. bases: N integers in [0, modulus).\n"
"exponents: bytes-like of N * columns native-endian int64 values, row-major (x_ic at i*columns\n"
"+ c). Eight columns at a time with AVX-512 IFMA (Pippenger's bucket method, lane = column).\n"
"threads (1..MAX_THREADS): how many threads share the work; the bases are converted once.\n"
"Raises RuntimeError when the CPU lacks AVX-512F/IFMA, ValueError on bad arguments.\n"
"Releases the GIL during the arithmetic.");

static PyObject *mod_column_products(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *modulus_obj, *bases_obj;
    Py_buffer view;
    Py_ssize_t ncols;
    int threads = 1;
    if (!PyArg_ParseTuple(args, "OOy*n|i:column_products", &modulus_obj, &bases_obj, &view,
                          &ncols, &threads))
        return NULL;
    PyObject *result = NULL, *seq = NULL;
    uint64_t *bases = NULL, *out = NULL;
    int64_t *exps = NULL;
    uint64_t mod[MAX_LIMBS];
    int bits;
    if (!ifma_supported()) {
        PyErr_SetString(PyExc_RuntimeError,
                        "this CPU (or build) lacks AVX-512F/AVX-512 IFMA; use the gmpy2 path");
        goto done;
    }
    if (threads < 1 || threads > MAX_THREADS) {
        PyErr_Format(PyExc_ValueError, "threads must be 1..%d, got %d", MAX_THREADS, threads);
        goto done;
    }
    if (parse_modulus(modulus_obj, &bits, mod) < 0) goto done;
    const int limbs = limbs_for_bits(bits);
    const size_t entry_bytes = (size_t)limbs * sizeof(uint64_t);
    seq = PySequence_Fast(bases_obj, "bases must be a sequence of integers");
    if (seq == NULL) goto done;
    const Py_ssize_t nrows = PySequence_Fast_GET_SIZE(seq);
    if (ncols < 0 || (nrows > 0 && ncols > PY_SSIZE_T_MAX / 8 / nrows) ||
        view.len != 8 * nrows * ncols) {
        PyErr_Format(PyExc_ValueError,
                     "exponents must hold len(bases) * columns = %zd * %zd int64 values", nrows,
                     ncols);
        goto done;
    }
    /* copies: aligned int64 reads, and C-owned memory while the GIL is released */
    bases = PyMem_RawMalloc((size_t)(nrows > 0 ? nrows : 1) * entry_bytes);
    out = PyMem_RawMalloc((size_t)(ncols > 0 ? 2 * ncols : 1) * entry_bytes);
    exps = PyMem_RawMalloc(view.len > 0 ? (size_t)view.len : 1);
    if (bases == NULL || out == NULL || exps == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(exps, view.buf, (size_t)view.len);
    const size_t nbytes = ((size_t)bits + 7) / 8;
    uint8_t buf[MAX_BITS / 8 + 8];
    for (Py_ssize_t i = 0; i < nrows; i++) {
        uint64_t *dst = bases + (size_t)i * (size_t)limbs;
        if (int_to_limbs(PySequence_Fast_GET_ITEM(seq, i), buf, nbytes, dst, limbs) < 0 ||
            limbs_cmp(dst, mod, limbs) >= 0) {
            if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_ValueError)) {
                PyErr_Clear();
                PyErr_Format(PyExc_ValueError, "bases[%zd] is not an integer in [0, modulus)",
                             i);
            }
            goto done;
        }
    }

#if FL_IFMA_BUILD
    int no_memory = 0;
    const Py_ssize_t batches = (ncols + LANES - 1) / LANES;
    const size_t slots = (size_t)(batches > 0 ? batches : 1) * (size_t)threads;
    void *acc_mem = PyMem_RawMalloc(slots * 2 * (size_t)limbs * sizeof(__m512i) + 64);
    column_item *items = PyMem_RawMalloc(slots * sizeof(column_item));
    const size_t nbatches = (size_t)(batches > 0 ? batches : 1);
    Py_ssize_t *pieces = PyMem_RawMalloc(nbatches * sizeof(Py_ssize_t));
    int *batch_bits = PyMem_RawMalloc(2 * nbatches * sizeof(int));
    if (acc_mem == NULL || items == NULL || pieces == NULL || batch_bits == NULL) {
        PyMem_RawFree(acc_mem);
        PyMem_RawFree(items);
        PyMem_RawFree(pieces);
        PyMem_RawFree(batch_bits);
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    uint64_t r2[MAX_LIMBS], r_mod[MAX_LIMBS] = {1}; /* r_mod: 1, then R mod m (< 2m) */
    column_plan plan = {
        .bases = bases, .exps = exps, .nrows = nrows, .ncols = ncols, .mod = mod, .r2 = r2,
        .r_mod = r_mod, .k0 = neg_inverse52(mod[0]), .limbs = limbs, .threads = threads,
        .pieces = pieces, .bits = batch_bits, .offset = batch_bits + nbatches,
        .accs = (__m512i *)(((uintptr_t)acc_mem + 63) & ~(uintptr_t)63),
    };
    column_schedule(&plan, items, batches);
    r_squared_mod(mod, limbs, r2);
    to_montgomery(r_mod, 1, r2, mod, plan.k0, limbs);
    column_worker workers[MAX_THREADS];
    for (int t = 0; t < threads; t++)
        workers[t] = (column_worker){.plan = &plan, .index = t, .phase = 0, .no_memory = 0};
    no_memory = column_phase(workers, threads, 0) < 0 || column_phase(workers, threads, 1) < 0;
    for (Py_ssize_t b = 0; !no_memory && b < batches; b++) {
        __m512i *acc = plan.accs + (size_t)(b * threads) * 2 * (size_t)limbs;
        for (Py_ssize_t p = 1; p < pieces[b]; p++)
            column_join(acc, acc + (size_t)p * 2 * (size_t)limbs, mod, plan.k0, limbs);
        column_output(acc, batch_columns(ncols, b), mod, plan.k0, limbs,
                      out + (size_t)(2 * b * LANES) * (size_t)limbs);
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(acc_mem);
    PyMem_RawFree(items);
    PyMem_RawFree(pieces);
    PyMem_RawFree(batch_bits);
    if (no_memory) {
        PyErr_NoMemory();
        goto done;
    }
#endif
    result = limbs_to_list(out, 2 * ncols, mod, limbs, bits);
done:
    Py_XDECREF(seq);
    PyMem_RawFree(bases);
    PyMem_RawFree(out);
    PyMem_RawFree(exps);
    PyBuffer_Release(&view);
    return result;
}

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
    {"column_products", mod_column_products, METH_VARARGS, column_products_doc},
    {"limbs", mod_limbs, METH_VARARGS,
     "limbs(bits) -> int\n\n52-bit limbs L used for a modulus of `bits` bits; the Montgomery "
     "radix is R = 2**(52*L)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "fedloom.crypto._ifma",
    .m_doc = "Multi-buffer (8-lane) AVX-512 IFMA Montgomery products: fixed-base tables and\n"
             "column-wise multi-exponentiation.",
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
        PyModule_AddIntConstant(module, "MAX_WINDOW", MAX_WINDOW) < 0 ||
        PyModule_AddIntConstant(module, "MAX_COLUMN_WINDOW", MAX_COLUMN_WINDOW) < 0 ||
        PyModule_AddIntConstant(module, "MAX_THREADS", MAX_THREADS) < 0) {
        Py_DECREF(&FixedBaseType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
