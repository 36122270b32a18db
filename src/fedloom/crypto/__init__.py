"""Cryptographic building blocks: additive HE (Paillier, Okamoto–Uchiyama, a plaintext
stand-in), fixed-point encoding, statistical masks and packing."""

from fedloom.crypto.cipher import (
    CipherVector,
    KeyMismatchError,
    Mask,
    PrivateKey,
    PublicKey,
    RawPlaintexts,
)
from fedloom.crypto.encoding import DEFAULT_FRAC_BITS, EncodingOverflowError, FixedPointCodec
from fedloom.crypto.ou import OUPrivateKey, OUPublicKey, generate_ou_keypair
from fedloom.crypto.packing import PackingLayout, pack, unpack
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
    "OUPrivateKey",
    "OUPublicKey",
    "PackingLayout",
    "PaillierPrivateKey",
    "PaillierPublicKey",
    "PlainPrivateKey",
    "PlainPublicKey",
    "PrivateKey",
    "PublicKey",
    "RawPlaintexts",
    "generate_ou_keypair",
    "generate_paillier_keypair",
    "generate_plain_keypair",
    "pack",
    "unpack",
]
