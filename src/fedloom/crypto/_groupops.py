"""Ciphertext-group operations shared by the schemes whose ciphertexts multiply modulo one number.

Paillier works modulo n², Okamoto–Uchiyama modulo n; scalar multiplication and the gradient
product are the same exponentiations there, so both schemes call these with their modulus.
"""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2

from fedloom.crypto.cipher import Mpz
from fedloom.crypto.multiexp import signed_multi_exp
from fedloom.crypto.native import native_column_products
from fedloom.crypto.parallel import MIN_PARALLEL, active_pool


def release_gil() -> None:
    """Let gmpy2 drop the GIL in long operations, so parties in threads use several cores."""
    gmpy2.get_context().allow_release_gil = True


def signed_powers(a: Sequence[Mpz], scalars: Sequence[int], modulus: Mpz) -> list[Mpz]:
    """``c^k mod modulus`` per element; a negative k goes through the inverse of c."""
    release_gil()
    out: list[Mpz] = []
    for c, k in zip(a, scalars, strict=True):
        if k >= 0:
            out.append(gmpy2.powmod(c, k, modulus))
        else:
            out.append(gmpy2.powmod(gmpy2.invert(c, modulus), -k, modulus))
    return out


def column_products(a: Sequence[Mpz], matrix: Sequence[Sequence[int]], modulus: Mpz) -> list[Mpz]:
    """For each column j of the N×m matrix, ``Π_i a_i^{x_ij} mod modulus``.

    Bucket multi-exponentiation with one inversion a column. The native engine (AVX-512 IFMA,
    eight columns at once, see :func:`fedloom.crypto.native.native_column_products`) computes
    them where it can, on as many threads as the worker pool has workers when the vector is
    long: it runs without the GIL, so threads share the work without copying the ciphertexts
    to other processes. Otherwise gmpy2 does, with the columns (or rows) spread over the pool's
    worker processes when there is a pool and several columns. All paths give identical results.
    """
    width = len(matrix[0]) if matrix else 0
    pool = active_pool() if len(a) >= MIN_PARALLEL else None
    if width > 1:
        threads = pool.workers if pool is not None else 1
        native = native_column_products(a, matrix, modulus, threads=threads)
        if native is not None:
            return native
    columns = [[row[j] for row in matrix] for j in range(width)]
    if pool is not None and width > 1:
        return pool.dot(modulus, a, columns)
    return [signed_multi_exp(a, column, modulus) for column in columns]
