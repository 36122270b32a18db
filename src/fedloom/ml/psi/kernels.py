"""The per-batch crypto of the Intersection protocols, as plain functions of bytes and ids.

Each kernel holds one party's key material for one run and turns a chunk of a batch (a list of
ids, or the raw bytes of ``(m, width)`` rows) into bytes. The same kernel runs in the calling
process or, rebuilt from its :attr:`spec`, in a local worker process of the same party (see
``workers.py``): what goes to a worker is this party's own ids and key, over a local pipe.
Nothing received from another party is ever unpickled: workers get raw bytes.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from fedloom.crypto import dh_group, rsa_blind, x25519
from fedloom.ml.psi.common import IdHash, encode

Spec = tuple[Any, ...]
"""What rebuilds a kernel in a worker process: ``(kind, *key material)``."""


class Kernel(ABC):
    """One party's crypto for one run; methods take and return picklable plain values."""

    @property
    @abstractmethod
    def spec(self) -> Spec:
        """Arguments that rebuild an equal kernel in a local worker process."""


class ECDHKernel(Kernel):
    """X25519 with one secret scalar: hash-and-mask own ids, mask received points."""

    def __init__(self, secret: bytes, hashing: IdHash | None = None) -> None:
        self.secret = secret
        self.hashing = hashing or IdHash()

    @property
    def spec(self) -> Spec:
        return ("ecdh", self.secret, self.hashing)

    def own(self, ids: list[str]) -> bytes:
        """``secret·H(x)`` for each id, as 32-byte rows."""
        points = x25519.hash_to_points(encode(ids, self.hashing))
        return x25519.mask(self.secret, points).tobytes()

    def mask(self, points: bytes, offset: int) -> bytes:
        """``secret·P`` for each 32-byte row; a low-order row is reported as ``offset + row``."""
        rows = np.frombuffer(points, dtype=np.uint8).reshape(-1, x25519.POINT_BYTES)
        try:
            return x25519.mask(self.secret, rows).tobytes()
        except x25519.LowOrderPointError as exc:
            raise x25519.LowOrderPointError(offset + exc.row) from None


class RSAHostKernel(Kernel):
    """The host's RSA private key: sign own hashed ids (then ``H2``) and the guest's queries."""

    def __init__(self, key: rsa_blind.RSABlindPrivateKey, hashing: IdHash | None = None) -> None:
        self.key = key
        self.hashing = hashing or IdHash()

    @property
    def spec(self) -> Spec:
        return ("rsa-host", *self.key.private_numbers(), self.key.backend, self.hashing)

    def own(self, ids: list[str]) -> bytes:
        """``H2(H(x)^d)`` for each id, as 32-byte rows."""
        public = self.key.public_key
        signed = self.key.sign(rsa_blind.hash_to_zn(public, encode(ids, self.hashing)))
        return rsa_blind.hash_signatures(public, signed).tobytes()

    def reply(self, values: bytes, offset: int) -> bytes:
        """``v^d`` for each fixed-width row ``v`` (ValueError names ``offset`` for one >= n)."""
        width = self.key.public_key.byte_length
        rows = np.frombuffer(values, dtype=np.uint8).reshape(-1, width)
        try:
            return self.key.sign_array(rows).tobytes()
        except ValueError as exc:
            raise ValueError(f"rows from {offset}: {exc}") from None


class RSAGuestKernel(Kernel):
    """The host's RSA public key at the guest: blind own hashed ids, unblind and hash replies."""

    def __init__(self, key: rsa_blind.RSABlindPublicKey, hashing: IdHash | None = None) -> None:
        self.key = key
        self.hashing = hashing or IdHash()

    @property
    def spec(self) -> Spec:
        return ("rsa-guest", int(self.key.n), int(self.key.e), self.hashing)

    def query(self, ids: list[str]) -> tuple[bytes, bytes]:
        """``(H(x)·r^e rows, r^-1 rows)`` with a fresh uniform ``r`` per id."""
        hashed = rsa_blind.hash_to_zn(self.key, encode(ids, self.hashing))
        blinded, unblinders = rsa_blind.blind(self.key, hashed)
        width = self.key.byte_length
        return (
            rsa_blind.ints_to_array(blinded, width).tobytes(),
            rsa_blind.ints_to_array(unblinders, width).tobytes(),
        )

    def finish(self, signed: bytes, unblinders: bytes, offset: int) -> bytes:
        """``H2(s·r^-1)`` for each signed row; ValueError for a signature outside ``[0, n)``."""
        width = self.key.byte_length
        sigs = rsa_blind.array_to_ints(np.frombuffer(signed, dtype=np.uint8).reshape(-1, width))
        if any(s >= self.key.n for s in sigs):
            raise ValueError(f"rows from {offset}: a signature is outside [0, n)")
        inverses = rsa_blind.array_to_ints(
            np.frombuffer(unblinders, dtype=np.uint8).reshape(-1, width)
        )
        plain = rsa_blind.unblind(self.key, sigs, inverses)
        return rsa_blind.hash_signatures(self.key, plain).tobytes()


class DHKernel(Kernel):
    """A secret exponent ``k`` in an RFC 3526 group: ``x ↦ H(x)^k mod p`` and its helpers.

    Received rows are checked to be quadratic residues other than 1 before they are used.
    """

    def __init__(
        self, group: dh_group.DHGroup, exponent: int, hashing: IdHash | None = None
    ) -> None:
        self.group, self.exponent = group, exponent
        self.hashing = hashing or IdHash()

    @property
    def spec(self) -> Spec:
        return ("dh", self.group.key_length, self.exponent, self.hashing)

    def _read(self, rows: bytes, offset: int) -> list[Any]:
        width = self.group.byte_length
        values = dh_group.from_array(
            self.group, np.frombuffer(rows, dtype=np.uint8).reshape(-1, width)
        )
        try:
            dh_group.check_elements(self.group, values)
        except ValueError as exc:
            raise ValueError(f"rows from {offset}: {exc}") from None
        return values

    def own(self, ids: list[str]) -> bytes:
        """``H(x)^k`` for each id, as fixed-width rows."""
        hashed = dh_group.hash_to_group(self.group, encode(ids, self.hashing))
        powered = dh_group.power(self.group, hashed, self.exponent)
        return dh_group.to_array(self.group, powered).tobytes()

    def mask(self, rows: bytes, offset: int) -> bytes:
        """``v^k`` for each received fixed-width row ``v``."""
        powered = dh_group.power(self.group, self._read(rows, offset), self.exponent)
        return dh_group.to_array(self.group, powered).tobytes()

    def mask_digest(self, rows: bytes, offset: int) -> bytes:
        """``H2(v^k)`` (32 bytes) for each received fixed-width row ``v``."""
        powered = dh_group.power(self.group, self._read(rows, offset), self.exponent)
        return dh_group.digest(self.group, powered).tobytes()

    def digest(self, rows: bytes, offset: int) -> bytes:
        """``H2(v)`` (32 bytes) for each received fixed-width row ``v``."""
        return dh_group.digest(self.group, self._read(rows, offset)).tobytes()


def build(spec: Spec) -> Kernel:
    """A kernel from its :attr:`Kernel.spec`."""
    kind = spec[0]
    if kind == "ecdh":
        return ECDHKernel(spec[1], spec[2])
    if kind == "rsa-host":
        p, q, e, backend, hashing = spec[1:]
        return RSAHostKernel(rsa_blind.RSABlindPrivateKey(p, q, e, backend=backend), hashing)
    if kind == "rsa-guest":
        return RSAGuestKernel(rsa_blind.RSABlindPublicKey(spec[1], spec[2]), spec[3])
    if kind == "dh":
        return DHKernel(dh_group.DHGroup(spec[1]), spec[2], spec[3])
    raise ValueError(f"unknown kernel kind {kind!r}")


@functools.lru_cache(maxsize=4)
def _cached(spec: Spec) -> Kernel:
    return build(spec)


def run_in_worker(spec: Spec, method: str, *args: Any) -> Any:
    """Worker-process entry: ``kernel.method(*args)`` on the (cached) kernel of ``spec``.

    The cache lives in the worker process, which ends with the run's pool.
    """
    return getattr(_cached(spec), method)(*args)
