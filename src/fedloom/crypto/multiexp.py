"""Multi-exponentiation Π_i b_i^{e_i} mod m by Pippenger's bucket method.

For N bases with exponents of at most B bits and a window of w bits, the cost is about
⌈B/w⌉·(N + 2^(w+1)) modular multiplications plus B squarings, instead of N separate
exponentiations (~1.2·B multiplications each). This is the gradient product's inner loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2

from fedloom.crypto.cipher import Mpz


def best_window(count: int, exponent_bits: int) -> int:
    """The window width that minimises the bucket method's multiplication count."""
    best, best_cost = 1, None
    for w in range(1, 17):
        windows = -(-exponent_bits // w)
        cost = windows * (count + (2 << w))
        if best_cost is None or cost < best_cost:
            best, best_cost = w, cost
    return best


def multi_exp(bases: Sequence[Mpz], exponents: Sequence[int], modulus: Mpz) -> Mpz:
    """Π_i bases[i]^exponents[i] mod ``modulus`` for non-negative exponents."""
    if len(bases) != len(exponents):
        raise ValueError(f"{len(bases)} bases but {len(exponents)} exponents")
    if any(e < 0 for e in exponents):
        raise ValueError("multi_exp takes non-negative exponents; split signs before calling")
    pairs = [(b, e) for b, e in zip(bases, exponents, strict=True) if e]
    if not pairs:
        return gmpy2.mpz(1)
    bits = max(e.bit_length() for _, e in pairs)
    if len(pairs) == 1:
        return gmpy2.powmod(pairs[0][0], pairs[0][1], modulus)
    w = best_window(len(pairs), bits)
    mask = (1 << w) - 1
    one = gmpy2.mpz(1)
    result = one
    for window in range(-(-bits // w) - 1, -1, -1):
        if result != one:
            result = gmpy2.powmod(result, 1 << w, modulus)
        shift = window * w
        buckets: dict[int, Mpz] = {}
        for base, exponent in pairs:
            digit = (exponent >> shift) & mask
            if digit:
                held = buckets.get(digit)
                buckets[digit] = base if held is None else held * base % modulus
        # Σ_d d·bucket[d] in the exponent: running products from the top digit down.
        running, total = one, one
        for digit in range(mask, 0, -1):
            held = buckets.get(digit)
            if held is not None:
                running = running * held % modulus
            if running != one:
                total = total * running % modulus
        if total != one:
            result = result * total % modulus
    return result


def signed_multi_exp(bases: Sequence[Mpz], exponents: Sequence[int], modulus: Mpz) -> Mpz:
    """Π_i bases[i]^exponents[i] mod ``modulus`` with signed exponents (one inversion)."""
    positive = [(b, e) for b, e in zip(bases, exponents, strict=True) if e > 0]
    negative = [(b, -e) for b, e in zip(bases, exponents, strict=True) if e < 0]
    value = multi_exp([b for b, _ in positive], [e for _, e in positive], modulus)
    if negative:
        denominator = multi_exp([b for b, _ in negative], [e for _, e in negative], modulus)
        value = value * gmpy2.invert(denominator, modulus) % modulus
    return value
