"""RSA blind signatures for private set intersection (FATE's RSA intersection).

The host holds an RSA key ``(n, e, d)``. For an id ``x`` the guest wants ``H2(H(x)^d mod n)``
without showing ``x``: it sends ``y = H(x)·r^e mod n`` for a fresh uniform ``r`` in Z_n*, the
host returns ``y^d = H(x)^d·r`` and the guest multiplies by ``r^-1``. Because ``r ↦ r^e`` is a
permutation of Z_n*, ``y`` is uniform whatever ``x`` is, so the host learns nothing about the
guest's ids; without ``d`` the guest cannot compute ``H(x')^d`` for a host id ``x'``, so the
host's ``H2(H(x')^d)`` values hide its ids.

``H`` is a full-domain hash: SHA-256 in counter mode over ``len(n) + 16`` bytes, reduced mod n
(the 128 extra bits make the reduction bias negligible), domain-separated and bound to the
public key. ``H2`` is a domain-separated SHA-256 of the fixed-width signature. The host signs
with the CRT and checks every signature before it is released (a faulty CRT signature would
reveal a factor of n).

``v^d mod n`` runs in OpenSSL 3's ``libcrypto`` where there is one (Linux; the library Python's
``hashlib`` links), through a ``ctypes`` binding of raw (unpadded) RSA: 2.5x faster than the
GMP build in the gmpy2 wheels, which signs otherwise (or with ``backend="gmpy2"``). Either way
each signature is checked (``s^e == v``) before release. Functions are vectorised over lists of
gmpy2 integers; pure functions and key objects, no I/O.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import os
import secrets
import sys
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import gmpy2
import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from numpy.typing import NDArray

Mpz = Any
"""A gmpy2 ``mpz`` (gmpy2 ships no type stubs)."""

DEFAULT_RSA_KEY_LENGTH = 2048
MIN_RSA_KEY_LENGTH = 1024
"""Smallest modulus accepted; 1024 bits is for tests only, production uses 2048 or more."""
PUBLIC_EXPONENT = 65537
DIGEST_BYTES = 32
"""Width of the final hash ``H2`` of a signature."""

_FDH_DOMAIN = b"fedloom/psi/rsa/full-domain-hash/v1\x00"
_FINAL_DOMAIN = b"fedloom/psi/rsa/signature-hash/v1\x00"
_FDH_EXTRA_BYTES = 16

Backend = Literal["auto", "openssl", "gmpy2"]
BACKEND_ENV = "FEDLOOM_RSA_BACKEND"
"""Environment variable that sets the default signing backend ("auto", "openssl", "gmpy2")."""


class RSABlindPublicKey:
    """The host's public key ``(n, e)``: what the guest needs to hash, blind and unblind."""

    def __init__(self, n: int, e: int = PUBLIC_EXPONENT) -> None:
        n, e = int(n), int(e)
        if n.bit_length() < MIN_RSA_KEY_LENGTH or n % 2 == 0:
            raise ValueError(
                f"not a valid RSA modulus (need an odd n of >= {MIN_RSA_KEY_LENGTH} bits)"
            )
        if e < 3 or e % 2 == 0 or e >= n:
            raise ValueError(f"not a valid RSA public exponent: {e}")
        self.n = gmpy2.mpz(n)
        self.e = gmpy2.mpz(e)
        self.byte_length = (n.bit_length() + 7) // 8
        binding = hashlib.sha256(
            n.to_bytes(self.byte_length, "big") + e.to_bytes((e.bit_length() + 7) // 8, "big")
        ).digest()
        self._fdh_prefix = hashlib.sha256(_FDH_DOMAIN + binding)

    @property
    def key_length(self) -> int:
        """Bit length of the modulus n."""
        return int(self.n.bit_length())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RSABlindPublicKey) and (self.n, self.e) == (other.n, other.e)

    def __hash__(self) -> int:
        return hash((int(self.n), int(self.e)))

    def __repr__(self) -> str:
        return f"RSABlindPublicKey({self.key_length} bits, e={int(self.e)})"


class RSABlindPrivateKey:
    """The host's private key: signs (``y^d mod n``) with the CRT, in OpenSSL or gmpy2.

    ``backend``: "openssl" (fails when OpenSSL 3 is not available), "gmpy2", or "auto" (OpenSSL
    when available); None reads ``FEDLOOM_RSA_BACKEND`` (default "auto"). :attr:`backend` is the
    one in use.
    """

    def __init__(
        self, p: int, q: int, e: int = PUBLIC_EXPONENT, *, backend: Backend | None = None
    ) -> None:
        p_, q_ = gmpy2.mpz(p), gmpy2.mpz(q)
        if p_ == q_ or not (gmpy2.is_prime(p_) and gmpy2.is_prime(q_)):
            raise ValueError("p and q must be distinct primes")
        lam = gmpy2.lcm(p_ - 1, q_ - 1)
        if gmpy2.gcd(e, lam) != 1:
            raise ValueError(f"e={e} is not invertible modulo lcm(p-1, q-1)")
        self.public_key = RSABlindPublicKey(int(p_ * q_), e)
        d = gmpy2.invert(gmpy2.mpz(e), lam)
        self._p, self._q = p_, q_
        self._dp, self._dq = d % (p_ - 1), d % (q_ - 1)
        self._q_inv = gmpy2.invert(q_, p_)
        self._openssl: _OpenSSLKey | None = None
        chosen = _resolve_backend(backend)
        if chosen != "gmpy2":
            public = rsa.RSAPublicNumbers(int(e), int(p_ * q_))
            crt = (int(self._dp), int(self._dq), int(self._q_inv))
            numbers = rsa.RSAPrivateNumbers(int(p_), int(q_), int(d), *crt, public)
            self._openssl = _OpenSSLKey.load(numbers, required=chosen == "openssl")
        self.backend: Literal["openssl", "gmpy2"] = "openssl" if self._openssl else "gmpy2"

    def private_numbers(self) -> tuple[int, int, int]:
        """``(p, q, e)``: to rebuild this key in a local worker process, never to send away."""
        return int(self._p), int(self._q), int(self.public_key.e)

    def sign(self, values: Sequence[Mpz]) -> list[Mpz]:
        """``v^d mod n`` for each ``v`` in ``[0, n)``, by the CRT, each checked before release."""
        n = self.public_key.n
        for v in values:
            if not 0 <= v < n:
                raise ValueError("a value to sign is outside [0, n)")
        if self._openssl is not None:
            width = self.public_key.byte_length
            raw = self._openssl.power(ints_to_array(values, width).tobytes())
            sigs = array_to_ints(np.frombuffer(raw, dtype=np.uint8).reshape(len(values), width))
        else:
            p, q = self._p, self._q
            sp = gmpy2.powmod_base_list([v % p for v in values], self._dp, p)
            sq = gmpy2.powmod_base_list([v % q for v in values], self._dq, q)
            sigs = [b + ((a - b) * self._q_inv % p) * q for a, b in zip(sp, sq, strict=True)]
        if not verify(self.public_key, sigs, values):
            raise ArithmeticError("CRT signature check failed; refusing to release signatures")
        return sigs

    def sign_array(self, values: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """:meth:`sign` on the wire form: ``(N, len(n))`` big-endian rows in, same shape out."""
        width = self.public_key.byte_length
        if values.ndim != 2 or values.dtype != np.uint8 or values.shape[1] != width:
            raise ValueError(f"expected an (N, {width}) uint8 array, got {values.shape}")
        return ints_to_array(self.sign(array_to_ints(values)), width)

    def __repr__(self) -> str:
        return f"RSABlindPrivateKey({self.public_key.key_length} bits, {self.backend})"


def generate_rsa_keypair(
    key_length: int = DEFAULT_RSA_KEY_LENGTH, *, backend: Backend | None = None
) -> RSABlindPrivateKey:
    """A fresh key of ``key_length`` bits with e = 65537 (primes from ``cryptography``)."""
    if key_length < MIN_RSA_KEY_LENGTH:
        raise ValueError(f"RSA key length must be >= {MIN_RSA_KEY_LENGTH} bits, got {key_length}")
    numbers = rsa.generate_private_key(PUBLIC_EXPONENT, key_length).private_numbers()
    return RSABlindPrivateKey(numbers.p, numbers.q, PUBLIC_EXPONENT, backend=backend)


def hash_to_zn(public_key: RSABlindPublicKey, ids: Sequence[bytes]) -> list[Mpz]:
    """Full-domain hash ``H(x)`` of each id into Z_n, bound to this public key."""
    out_len = public_key.byte_length + _FDH_EXTRA_BYTES
    counters = [c.to_bytes(4, "big") for c in range(-(-out_len // 32))]
    prefix, n = public_key._fdh_prefix, public_key.n
    result: list[Mpz] = []
    for x in ids:
        base = prefix.copy()
        base.update(len(x).to_bytes(8, "big"))
        base.update(x)
        stream = bytearray()
        for counter in counters:
            h = base.copy()
            h.update(counter)
            stream += h.digest()
        result.append(gmpy2.mpz(int.from_bytes(stream[:out_len], "big")) % n)
    return result


def _random_unit(n: Mpz) -> tuple[Mpz, Mpz]:
    """A uniform ``r`` in Z_n* and its inverse."""
    while True:
        r = gmpy2.mpz(secrets.randbelow(int(n) - 1) + 1)
        try:
            return r, gmpy2.invert(r, n)
        except ZeroDivisionError:  # r shares a factor with n: probability ~2^-1023
            continue


def _random_units(n: Mpz, count: int) -> tuple[list[Mpz], list[Mpz]]:
    """``count`` uniform units of Z_n and their inverses, by one batched inversion.

    Montgomery's trick: invert the product of all the ``r`` once and peel the inverses off with
    three multiplications each (~3x cheaper than one inversion each). If the product is not
    invertible (some ``r`` shares a factor with n, probability ~count·2^-1023), draw one by one.
    """
    bound = int(n) - 1
    rs = [gmpy2.mpz(secrets.randbelow(bound) + 1) for _ in range(count)]
    prefix, acc = [], gmpy2.mpz(1)
    for r in rs:
        prefix.append(acc)
        acc = acc * r % n
    try:
        inv = gmpy2.invert(acc, n)
    except ZeroDivisionError:
        units = [_random_unit(n) for _ in range(count)]
        return [r for r, _ in units], [u for _, u in units]
    inverses: list[Mpz] = [gmpy2.mpz(0)] * count
    for i in range(count - 1, -1, -1):
        inverses[i] = inv * prefix[i] % n
        inv = inv * rs[i] % n
    return rs, inverses


def blind(public_key: RSABlindPublicKey, hashed: Sequence[Mpz]) -> tuple[list[Mpz], list[Mpz]]:
    """``(H(x)·r^e mod n, r^-1 mod n)`` per value, with a fresh uniform r in Z_n* each."""
    n = public_key.n
    rs, inverses = _random_units(n, len(hashed))
    masks = gmpy2.powmod_base_list(rs, public_key.e, n)
    blinded = [h * m % n for h, m in zip(hashed, masks, strict=True)]
    return blinded, inverses


def unblind(
    public_key: RSABlindPublicKey, signatures: Sequence[Mpz], unblinders: Sequence[Mpz]
) -> list[Mpz]:
    """Remove the blinding: ``(H(x)^d·r)·r^-1 = H(x)^d mod n``."""
    n = public_key.n
    return [s * u % n for s, u in zip(signatures, unblinders, strict=True)]


def verify(public_key: RSABlindPublicKey, signatures: Sequence[Mpz], values: Sequence[Mpz]) -> bool:
    """True when ``s^e ≡ v (mod n)`` for every pair."""
    if len(signatures) != len(values):
        return False
    n = public_key.n
    powered = gmpy2.powmod_base_list(list(signatures), public_key.e, n)
    return all(a == b % n for a, b in zip(powered, values, strict=True))


def hash_signatures(public_key: RSABlindPublicKey, signatures: Sequence[Mpz]) -> NDArray[np.uint8]:
    """``H2(s)``: a domain-separated SHA-256 of each fixed-width signature, shape ``(N, 32)``."""
    width = public_key.byte_length
    prefix = hashlib.sha256(_FINAL_DOMAIN)
    out = bytearray()
    for s in signatures:
        h = prefix.copy()
        h.update(int(s).to_bytes(width, "big"))
        out += h.digest()
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(len(signatures), DIGEST_BYTES)


def ints_to_array(values: Sequence[Mpz], width: int) -> NDArray[np.uint8]:
    """Non-negative integers as a ``(N, width)`` uint8 array of big-endian bytes (wire form)."""
    raw = b"".join(int(v).to_bytes(width, "big") for v in values)
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(values), width)


def array_to_ints(array: NDArray[np.uint8]) -> list[Mpz]:
    """The inverse of :func:`ints_to_array`."""
    if array.ndim != 2 or array.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 array, got {array.dtype} of shape {array.shape}")
    width = array.shape[1]
    if width == 0:
        raise ValueError("expected a non-zero integer width")
    raw = np.ascontiguousarray(array).tobytes()
    return [gmpy2.mpz(int.from_bytes(raw[i : i + width], "big")) for i in range(0, len(raw), width)]


# -- OpenSSL backend ------------------------------------------------------------------------

_RSA_NO_PADDING = 3
_OPENSSL_3 = 0x3000_0000
_VOID_P = ctypes.c_void_p
_SIZE_P = ctypes.POINTER(ctypes.c_size_t)
_PROTOTYPES: dict[str, tuple[Any, list[Any]]] = {
    "d2i_AutoPrivateKey": (_VOID_P, [_VOID_P, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]),
    "EVP_PKEY_CTX_new": (_VOID_P, [_VOID_P, _VOID_P]),
    "EVP_PKEY_decrypt_init": (ctypes.c_int, [_VOID_P]),
    "EVP_PKEY_CTX_set_rsa_padding": (ctypes.c_int, [_VOID_P, ctypes.c_int]),
    "EVP_PKEY_decrypt": (
        ctypes.c_int,
        [_VOID_P, ctypes.c_char_p, _SIZE_P, ctypes.c_char_p, ctypes.c_size_t],
    ),
    "EVP_PKEY_CTX_free": (None, [_VOID_P]),
    "EVP_PKEY_free": (None, [_VOID_P]),
    "ERR_clear_error": (None, []),
}
"""``(restype, argtypes)`` of the OpenSSL 3 functions used, as declared in its headers."""


def _resolve_backend(backend: Backend | None) -> Backend:
    chosen = backend if backend is not None else os.environ.get(BACKEND_ENV, "auto").strip()
    if chosen not in ("auto", "openssl", "gmpy2"):
        raise ValueError(f"unknown RSA backend {chosen!r}; expected auto, openssl or gmpy2")
    return chosen  # type: ignore[return-value]


def _libcrypto_names() -> Iterator[str]:
    yield "libcrypto.so.3"
    found = ctypes.util.find_library("crypto")  # runs ldconfig: only when the above is missing
    if found is not None:
        yield found


@functools.cache
def _libcrypto() -> ctypes.CDLL | None:
    """OpenSSL 3's libcrypto with the prototypes used here, or None where there is none.

    Linux only: elsewhere the system libcrypto may be another library under the same name (on
    macOS, loading it directly aborts the process).
    """
    if not sys.platform.startswith("linux"):
        return None
    for name in _libcrypto_names():
        try:
            lib = ctypes.CDLL(name)
            lib.OpenSSL_version_num.restype = ctypes.c_ulong
            lib.OpenSSL_version_num.argtypes = []
            if lib.OpenSSL_version_num() < _OPENSSL_3:
                continue
            for function, (restype, argtypes) in _PROTOTYPES.items():
                getattr(lib, function).restype = restype
                getattr(lib, function).argtypes = argtypes
        except (OSError, AttributeError):
            continue
        return lib
    return None


def openssl_available() -> bool:
    """Whether the OpenSSL signing backend can be used on this machine."""
    return _libcrypto() is not None


def _free(lib: ctypes.CDLL, ctx: int, pkey: int) -> None:
    lib.EVP_PKEY_CTX_free(ctx)
    lib.EVP_PKEY_free(pkey)


class _OpenSSLKey:
    """A private key loaded into libcrypto, doing raw ``v^d mod n`` (CRT, OpenSSL's blinding)."""

    def __init__(self, lib: ctypes.CDLL, der: bytes, width: int) -> None:
        self._lib, self._width, self._lock = lib, width, threading.Lock()
        cursor = ctypes.c_char_p(der)
        pkey = lib.d2i_AutoPrivateKey(None, ctypes.byref(cursor), len(der))
        if not pkey:
            raise OSError("libcrypto could not load the RSA key")
        ctx = lib.EVP_PKEY_CTX_new(pkey, None)
        weakref.finalize(self, _free, lib, ctx, pkey)
        if (
            not ctx
            or lib.EVP_PKEY_decrypt_init(ctx) != 1
            or lib.EVP_PKEY_CTX_set_rsa_padding(ctx, _RSA_NO_PADDING) != 1
        ):
            raise OSError("libcrypto could not set up raw RSA")
        self._ctx = ctx

    @classmethod
    def load(cls, numbers: rsa.RSAPrivateNumbers, *, required: bool) -> _OpenSSLKey | None:
        """The key in libcrypto; None (or OSError when ``required``) where that is impossible."""
        lib = _libcrypto()
        if lib is None:
            if required:
                raise OSError("the openssl RSA backend needs OpenSSL 3's libcrypto (Linux)")
            return None
        key, form = numbers.private_key(unsafe_skip_rsa_key_validation=True), serialization
        der = key.private_bytes(form.Encoding.DER, form.PrivateFormat.PKCS8, form.NoEncryption())
        try:
            return cls(lib, der, (numbers.public_numbers.n.bit_length() + 7) // 8)
        except OSError:
            lib.ERR_clear_error()
            if required:
                raise
            return None

    def power(self, values: bytes) -> bytes:
        """``v^d mod n`` for each ``width``-byte big-endian ``v < n`` in ``values``."""
        width, lib, ctx = self._width, self._lib, self._ctx
        out = ctypes.create_string_buffer(width)
        size = ctypes.c_size_t()
        decrypt = lib.EVP_PKEY_decrypt
        result = bytearray()
        with self._lock:
            for start in range(0, len(values), width):
                size.value = width
                if decrypt(ctx, out, ctypes.byref(size), values[start : start + width], width) != 1:
                    lib.ERR_clear_error()
                    raise ValueError("a value to sign is outside [0, n)")
                if size.value != width:
                    raise ArithmeticError("libcrypto returned a signature of the wrong width")
                result += out.raw
        return bytes(result)
