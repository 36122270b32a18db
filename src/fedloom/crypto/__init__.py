"""Cryptographic building blocks: additive HE (Paillier and a plaintext stand-in), encoding."""

from fedloom.crypto.cipher import (
    CipherVector,
    KeyMismatchError,
    Mask,
    PrivateKey,
    PublicKey,
    RawPlaintexts,
)
from fedloom.crypto.encoding import DEFAULT_FRAC_BITS, EncodingOverflowError, FixedPointCodec
from fedloom.crypto.paillier import (
    DEFAULT_KEY_LENGTH,
    PaillierPrivateKey,
    PaillierPublicKey,
    generate_paillier_keypair,
)
from fedloom.crypto.plain import PlainPrivateKey, PlainPublicKey, generate_plain_keypair

__all__ = [
    "DEFAULT_FRAC_BITS",
    "DEFAULT_KEY_LENGTH",
    "CipherVector",
    "EncodingOverflowError",
    "FixedPointCodec",
    "KeyMismatchError",
    "Mask",
    "PaillierPrivateKey",
    "PaillierPublicKey",
    "PlainPrivateKey",
    "PlainPublicKey",
    "PrivateKey",
    "PublicKey",
    "RawPlaintexts",
    "generate_paillier_keypair",
    "generate_plain_keypair",
]
