"""Key generation by scheme name: what ``encrypt_param.method`` selects."""

from __future__ import annotations

from typing import Literal, TypeAlias, get_args

from fedloom.crypto.cipher import PrivateKey, PublicKey
from fedloom.crypto.paillier import MIN_KEY_LENGTH, generate_paillier_keypair
from fedloom.crypto.phe_backend import BACKENDS, Backend, generate_phe_keypair

Method: TypeAlias = Literal["paillier", "ou"]
"""Additively homomorphic schemes a key pair can be generated for."""

METHODS: tuple[Method, ...] = get_args(Method)


def generate_keypair(
    method: Method, key_length: int, backend: Backend = "fedloom"
) -> tuple[PublicKey, PrivateKey]:
    """A fresh key pair of ``method`` (Paillier or Okamoto–Uchiyama) with ``key_length`` bits.

    ``backend="phe"`` generates and computes with python-paillier; it exists for Paillier only.
    """
    if method not in METHODS:
        raise ValueError(f"unknown encryption method {method!r}; use one of {', '.join(METHODS)}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown crypto backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend == "phe":
        if method != "paillier":
            raise ValueError(
                f"crypto backend 'phe' (python-paillier) implements Paillier only, not "
                f"{method!r}: use backend 'fedloom' for {method!r}"
            )
        if key_length < MIN_KEY_LENGTH or key_length % 2:
            raise ValueError(
                f"key_length must be an even number >= {MIN_KEY_LENGTH}, got {key_length}"
            )
        return generate_phe_keypair(key_length)
    if method == "ou":
        from fedloom.crypto.ou import generate_ou_keypair

        return generate_ou_keypair(key_length)
    return generate_paillier_keypair(key_length)
