"""Packing several non-negative values into one plaintext, so one decryption yields many.

A packed plaintext holds ``slots`` values of ``slot_bits`` bits each: Σ_j v_j · 2^(slot_bits·j).
It is built homomorphically by Horner's rule (each step raises the accumulated ciphertext to
2^slot_bits and adds the next ciphertext), and split again after decryption by shifting.

Headroom: a slot can only hold values in [0, 2^slot_bits). The values packed here are masked by
a statistical :class:`~fedloom.crypto.cipher.Mask`, whose ``masked_bits`` bound every masked
value, so ``slot_bits = masked_bits`` can never carry into a neighbouring slot. A caller that
means to add packed ciphertexts together (e.g. histogram sums over k rows) must add
⌈log2 k⌉ bits of headroom to ``slot_bits`` itself. The whole packed value must stay inside the
key's encodable range, so ``slots = (plaintext bits) // slot_bits``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gmpy2

from fedloom.crypto.cipher import CipherVector, Mpz, RawPlaintexts
from fedloom.crypto.encoding import EncodingOverflowError


@dataclass(frozen=True)
class PackingLayout:
    """How a vector was packed: values per ciphertext, bits per value and the original length."""

    slot_bits: int
    slots: int
    count: int

    @property
    def packed_len(self) -> int:
        """Number of ciphertexts the packed vector has."""
        return -(-self.count // self.slots)


def capacity_bits(vector: CipherVector) -> int:
    """Bits one plaintext of this vector's key can hold without touching the overflow range."""
    return int(vector.public_key.codec.max_int).bit_length() - 1


def slots_per_ciphertext(vector: CipherVector, slot_bits: int) -> int:
    """How many ``slot_bits``-bit values fit one plaintext of the vector's key."""
    return capacity_bits(vector) // slot_bits


def pack(vector: CipherVector, slot_bits: int) -> tuple[CipherVector, PackingLayout]:
    """Pack a vector of non-negative values below 2**slot_bits, as many per ciphertext as fit.

    The caller guarantees non-negativity (values masked by a statistical mask are); the bound
    the vector carries must not exceed ``slot_bits``. Returns the packed vector (fresh
    ciphertexts are not drawn here: re-randomise before sending) and its layout.
    """
    if slot_bits < 1:
        raise ValueError(f"slot_bits must be positive, got {slot_bits}")
    if vector.bound_bits > slot_bits:
        raise EncodingOverflowError(
            f"values may need {vector.bound_bits} bits, slots hold {slot_bits}: they would spill "
            "into the neighbouring slot"
        )
    slots = slots_per_ciphertext(vector, slot_bits)
    if slots < 1:
        raise EncodingOverflowError(
            f"a {slot_bits}-bit slot does not fit the {capacity_bits(vector)}-bit plaintext range"
        )
    layout = PackingLayout(slot_bits, slots, len(vector))
    key, cts = vector.public_key, vector.ciphertexts
    packed: list[Mpz] = []
    for start in range(0, len(cts), slots):
        group = cts[start : start + slots]
        # Horner from the highest slot down: acc = acc·2^s + c_j.
        acc = group[-1]
        for c in reversed(group[:-1]):
            acc = key.raw_add(key.raw_mul([acc], [1 << slot_bits]), [c])[0]
        packed.append(acc)
    bound = slot_bits * min(slots, len(cts)) if cts else slot_bits
    return CipherVector(key, packed, vector.frac_bits, bound), layout


def unpack(raw: RawPlaintexts, layout: PackingLayout) -> RawPlaintexts:
    """Split decrypted packed plaintexts back into ``layout.count`` values (still masked)."""
    if len(raw) != layout.packed_len:
        raise ValueError(
            f"expected {layout.packed_len} packed plaintexts for {layout.count} values, got "
            f"{len(raw)}"
        )
    low = (1 << layout.slot_bits) - 1
    limit = 1 << (layout.slot_bits * layout.slots)
    values: list[Mpz] = []
    for i, element in enumerate(raw.elements):
        if element >= limit:
            raise EncodingOverflowError(
                f"packed plaintext {i} exceeds its {layout.slots} slots: it was not packed with "
                "this layout or overflowed"
            )
        take = min(layout.slots, layout.count - i * layout.slots)
        rest = gmpy2.mpz(element)
        for _ in range(take):
            values.append(rest & low)
            rest >>= layout.slot_bits
    return RawPlaintexts(raw.public_key, values, raw.frac_bits)
