/* The FixedBase type of fedloom.crypto._ifma (DJN blinding factors: products of table rows
 * selected by digits). Included once, by _ifma.c, after Python.h, _ifma_arith.h and the
 * Python <-> limbs helpers it uses (int_to_limbs, parse_modulus, limbs_to_list). */
#ifndef FEDLOOM_IFMA_FIXED_BASE_H
#define FEDLOOM_IFMA_FIXED_BASE_H

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

    int bits;
    if (parse_modulus(modulus_obj, &bits, self->mod) < 0) return -1;
    const int limbs = limbs_for_bits(bits);
    const size_t nbytes = ((size_t)bits + 7) / 8;
    uint8_t buf[MAX_BITS / 8 + 8];
    self->bits = bits;
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
    /* the last AMM leaves value <= m; value == m means 0 */
    result = limbs_to_list(out, count, self->mod, limbs, self->bits);
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

#endif /* FEDLOOM_IFMA_FIXED_BASE_H */
