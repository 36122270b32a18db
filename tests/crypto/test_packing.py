"""Statistical masks and packing: many masked values per decryption, none spilling over."""

from __future__ import annotations

import numpy as np
import pytest
from paillier_support import Keys, PaillierKeys

from fedloom.crypto import EncodingOverflowError, RawPlaintexts
from fedloom.crypto.cipher import STATISTICAL_SECURITY
from fedloom.crypto.packing import PackingLayout, pack, slots_per_ciphertext, unpack

pytestmark = pytest.mark.unit

FRAC = 10


def _values(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(scale=1e3, size=size).round(3)


class TestStatisticalMask:
    def test_round_trip_and_masked_range(self, keys: Keys) -> None:
        pk, sk = keys
        values = _values(7)
        ca = pk.encrypt(values, frac_bits=FRAC)
        mask = pk.new_mask(len(ca), bound_bits=ca.bound_bits)
        assert mask.value_bits == ca.bound_bits
        assert mask.masked_bits == ca.bound_bits + 2 + STATISTICAL_SECURITY
        masked = mask.apply(ca)
        raw = sk.decrypt_raw(masked)
        # Every masked value is non-negative and below 2**masked_bits, whatever its sign.
        assert all(0 <= m < (1 << mask.masked_bits) for m in raw.elements)
        true_raw = sk.decrypt_raw(ca).elements
        assert all(m != t for m, t in zip(raw.elements, true_raw, strict=True))
        np.testing.assert_array_equal(mask.remove(raw), sk.decrypt(ca))

    def test_masks_differ_each_draw(self, keys: Keys) -> None:
        pk, _ = keys
        first = pk.new_mask(16, bound_bits=80).elements
        second = pk.new_mask(16, bound_bits=80).elements
        assert len(set(first) | set(second)) == 32

    def test_mask_refuses_values_beyond_its_bound(self, keys: Keys) -> None:
        pk, _ = keys
        ca = pk.encrypt(_values(3), frac_bits=FRAC)
        mask = pk.new_mask(3, bound_bits=ca.bound_bits - 1)
        with pytest.raises(EncodingOverflowError, match="bound_bits"):
            mask.apply(ca)

    def test_mask_wider_than_the_key_is_refused(self, keys: Keys) -> None:
        pk, _ = keys
        with pytest.raises(EncodingOverflowError, match="plaintext range"):
            pk.new_mask(1, bound_bits=pk.key_length)
        with pytest.raises(ValueError, match="positive"):
            pk.new_mask(1, bound_bits=0)


class TestPacking:
    @pytest.mark.parametrize("size", [1, 2, 3, 7])
    def test_pack_decrypt_unpack_round_trip(self, keys: Keys, size: int) -> None:
        pk, sk = keys
        ca = pk.encrypt(_values(size, seed=size), frac_bits=FRAC)
        mask = pk.new_mask(size, bound_bits=ca.bound_bits)
        assert mask.masked_bits is not None
        masked = mask.apply(ca)
        slots = slots_per_ciphertext(masked, mask.masked_bits)
        assert slots >= 3  # a 512-bit key holds three 156-bit slots
        packed, layout = pack(masked, mask.masked_bits)
        assert layout == PackingLayout(mask.masked_bits, slots, size)
        assert len(packed) == layout.packed_len == -(-size // slots)
        raw = sk.decrypt_raw(packed.rerandomize())
        np.testing.assert_array_equal(mask.remove(unpack(raw, layout)), sk.decrypt(ca))

    def test_pack_refuses_values_wider_than_a_slot(self, keys: Keys) -> None:
        pk, _ = keys
        ca = pk.encrypt(_values(4), frac_bits=FRAC)
        with pytest.raises(EncodingOverflowError, match="spill"):
            pack(ca, ca.bound_bits - 1)
        with pytest.raises(EncodingOverflowError, match="plaintext range"):
            pack(ca, pk.key_length + 10)

    def test_unpack_checks_length_and_overflow(self, paillier_keys: PaillierKeys) -> None:
        pk, sk = paillier_keys
        ca = pk.encrypt(_values(5), frac_bits=FRAC)
        mask = pk.new_mask(5, bound_bits=ca.bound_bits)
        assert mask.masked_bits is not None
        packed, layout = pack(mask.apply(ca), mask.masked_bits)
        raw = sk.decrypt_raw(packed)
        with pytest.raises(ValueError, match="expected"):
            unpack(RawPlaintexts(pk, raw.elements[:-1], raw.frac_bits), layout)
        too_big = [1 << (layout.slot_bits * layout.slots), *raw.elements[1:]]
        with pytest.raises(EncodingOverflowError, match="slots"):
            unpack(RawPlaintexts(pk, too_big, raw.frac_bits), layout)

    def test_one_decryption_yields_every_slot(self, paillier_keys: PaillierKeys) -> None:
        pk, sk = paillier_keys
        ca = pk.encrypt(_values(6), frac_bits=FRAC)
        mask = pk.new_mask(6, bound_bits=ca.bound_bits)
        assert mask.masked_bits is not None
        packed, layout = pack(mask.apply(ca), mask.masked_bits)
        assert len(packed) < len(ca)
        decrypted = {int(e) for e in sk.decrypt_raw(packed).elements}
        # The packed plaintexts are new numbers, not any of the masked values on its own.
        masked_raw = {int(e) for e in sk.decrypt_raw(mask.apply(ca)).elements}
        assert not decrypted & masked_raw
        assert layout.count == 6
