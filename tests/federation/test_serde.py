"""Tests for fedloom.federation.serde: the declared wire format, its key policy and its parser.

Everything that reaches ``loads`` comes from another party, so besides round trips this suite
feeds it every prefix of valid payloads, corrupted payloads, lying lengths and nesting bombs, and
requires a SerdeError (never another exception, never a hang).
"""

from __future__ import annotations

import ast
import math
import pathlib
import struct
import time
from typing import Any

import gmpy2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fedloom
import fedloom.federation.serde as serde_module
from fedloom.crypto import (
    CipherVector,
    PaillierPrivateKey,
    PaillierPublicKey,
    PlainPublicKey,
    RawPlaintexts,
    generate_paillier_keypair,
    generate_plain_keypair,
)
from fedloom.federation.serde import MAGIC, MAX_DEPTH, KeyRing, Serde
from fedloom.federation.types import FederationError, SerdeError

pytestmark = pytest.mark.unit

PaillierKeys = tuple[PaillierPublicKey, PaillierPrivateKey]


@pytest.fixture(scope="session")
def paillier_keys() -> PaillierKeys:
    return generate_paillier_keypair(512)


def policy_ring(**policy: Any) -> KeyRing:
    """A ring for tests: 512-bit keys allowed, plain allowed unless told otherwise."""
    return KeyRing(**{"min_key_length": 512, "allow_plain": True, **policy})


def same(a: Any, b: Any) -> bool:
    """Structural equality where nan equals nan, -0.0 differs from 0.0 and tuples are lists."""
    if isinstance(a, tuple):
        a = list(a)
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return bool(
            a.shape == b.shape
            and a.dtype.newbyteorder("<") == b.dtype
            and a.astype(b.dtype).tobytes() == b.tobytes()
        )
    return bool(a == b)


def roundtrip(value: Any, serde: Serde | None = None) -> Any:
    serde = serde if serde is not None else Serde()
    data = serde.dumps(value)
    assert isinstance(data, bytes) and data.startswith(MAGIC)
    return serde.loads(data)


# -- plain values --------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**4000), max_value=2**4000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324, 1e308]),
    st.text(),
    st.binary(max_size=64),
)
nested = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=8), children, max_size=5),
    ),
    max_leaves=30,
)


@given(value=nested)
@settings(max_examples=300, deadline=None)
def test_nested_values_round_trip(value: Any) -> None:
    assert same(value, roundtrip(value))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -1,
        2**64,
        -(2**64) - 1,
        2**100_000,
        -(3**5000),
        0.0,
        -0.0,
        math.nan,
        math.inf,
        -math.inf,
        1e-320,
        "",
        "héllo wörld ✓ 漢字 🎲 \x00 \u200b",
        b"",
        bytes(range(256)),
        [],
        {},
        {"": None, "ключ": [1, 2.5, "x"], "🎲": {"nested": b"\x00"}},
        [[[[]]]],
    ],
    ids=lambda v: type(v).__name__,
)
def test_examples_round_trip(value: Any) -> None:
    assert same(value, roundtrip(value))


def test_scalar_types_are_normalised() -> None:
    out = roundtrip(
        [np.int64(-5), np.uint8(200), np.float32(0.5), np.bool_(True), (1, 2), bytearray(b"ab")]
    )
    assert out == [-5, 200, 0.5, True, [1, 2], b"ab"]
    assert [type(x) for x in out] == [int, int, float, bool, list, bytes]
    assert roundtrip(memoryview(b"mv")) == b"mv"


def test_bool_is_not_an_int_on_the_wire() -> None:
    out = roundtrip([True, 1, False, 0])
    assert [type(x) for x in out] == [bool, int, bool, int]


def test_dict_order_is_kept() -> None:
    value = {"z": 1, "a": 2, "m": 3}
    assert list(roundtrip(value)) == ["z", "a", "m"]


# -- arrays --------------------------------------------------------------------------------

DTYPES = [
    np.bool_,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.longdouble,
    np.complex64,
    np.complex128,
]


@given(
    arr=st.sampled_from(DTYPES).flatmap(
        lambda dt: hnp.arrays(
            dtype=dt, shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)
        )
    )
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_arrays_round_trip_bit_for_bit(arr: np.ndarray[Any, Any]) -> None:
    out = roundtrip(arr)
    assert isinstance(out, np.ndarray)
    assert same(arr, out)
    assert out.flags.writeable and out.flags.c_contiguous and out.flags.owndata


@pytest.mark.parametrize(
    "arr",
    [
        np.array(3.5),
        np.array(True),
        np.array(-7, dtype=np.int16),
        np.zeros((0,)),
        np.zeros((0, 3), dtype=np.int32),
        np.zeros((3, 0, 2), dtype=np.complex128),
        np.array([np.nan, np.inf, -np.inf, -0.0]),
        np.arange(24, dtype=np.int64).reshape(2, 3, 4).transpose(2, 0, 1),  # not contiguous
        np.arange(20, dtype=np.float32)[::3],  # strided
        np.arange(6, dtype=">f8").reshape(2, 3),  # big-endian input
        np.array([2**63 - 1, -(2**63)], dtype=">i8"),
        np.array([1 + 2j, -0.0 - 1e-300j], dtype=">c16"),
    ],
    ids=lambda a: f"{a.dtype.str}{a.shape}",
)
def test_array_examples(arr: np.ndarray[Any, Any]) -> None:
    out = roundtrip(arr)
    assert out.shape == arr.shape  # 0-d arrays stay 0-d
    assert out.dtype.byteorder in ("=", "|")
    assert same(arr, out)


def test_arrays_inside_containers() -> None:
    value = {"w": np.ones(3), "parts": [np.arange(4, dtype=np.uint16), np.array(1.0)]}
    out = roundtrip(value)
    assert same(value["w"], out["w"])
    assert out["parts"][1].shape == ()


@pytest.mark.parametrize(
    "arr",
    [
        np.array([object(), 1], dtype=object),
        np.array(["a", "bc"]),
        np.array([b"a"]),
        np.array(["2024-01-01"], dtype="datetime64[D]"),
        np.array([1], dtype="timedelta64[s]"),
        np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]),
        np.zeros(2, dtype="V8"),
    ],
    ids=lambda a: a.dtype.str,
)
def test_unsupported_array_dtypes_are_refused_on_encode(arr: np.ndarray[Any, Any]) -> None:
    with pytest.raises(SerdeError, match="dtype"):
        Serde().dumps(arr)


# -- encode-side refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [{1: "a"}, {b"k": 1}, {("a",): 1}, {"ok": {2: 3}}, {None: 1}],
    ids=repr,
)
def test_non_str_dict_keys_are_refused(value: Any) -> None:
    with pytest.raises(SerdeError, match="dict keys must be str"):
        Serde().dumps(value)


@pytest.mark.parametrize(
    "value",
    [{1, 2}, frozenset(), 1 + 2j, np.complex128(1j), object(), Serde, range(3), Ellipsis],
    ids=lambda v: type(v).__name__,
)
def test_unsupported_types_are_refused(value: Any) -> None:
    with pytest.raises(SerdeError, match="no wire format"):
        Serde().dumps(value)


def test_strings_that_are_not_utf8_encodable_are_refused() -> None:
    with pytest.raises(SerdeError):
        Serde().dumps("lone \ud800 surrogate")
    with pytest.raises(SerdeError):
        Serde().dumps({"\udcff": 1})


def nest(depth: int) -> Any:
    value: Any = None
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_limit_on_encode() -> None:
    assert same(nest(MAX_DEPTH), roundtrip(nest(MAX_DEPTH)))
    with pytest.raises(SerdeError, match="deeper"):
        Serde().dumps(nest(MAX_DEPTH + 1))
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(SerdeError, match="deeper"):
        Serde().dumps(cycle)


# -- keys and ciphertexts ------------------------------------------------------------------


class TestKeysAndCiphertexts:
    def test_public_keys_round_trip(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        plain_pk, _ = generate_plain_keypair(512)
        ring = policy_ring()
        sender, receiver = Serde(policy_ring()), Serde(ring)
        out = receiver.loads(sender.dumps([pk, plain_pk]))
        assert out == [pk, plain_pk]
        assert isinstance(out[0], PaillierPublicKey) and isinstance(out[1], PlainPublicKey)
        assert ring.get(pk.fingerprint) == pk and ring.get(plain_pk.fingerprint) == plain_pk

    @pytest.mark.parametrize("frac_bits", [0, 53, 106])
    def test_cipher_vector_round_trip(self, paillier_keys: PaillierKeys, frac_bits: int) -> None:
        pk, sk = paillier_keys
        cv = pk.encrypt([1.5, -2.0, 0.0, 1e-300, 1e100], frac_bits)
        sender, receiver = Serde(policy_ring()), Serde(policy_ring())
        key, vector = receiver.loads(sender.dumps([pk, cv]))
        assert key == pk and isinstance(vector, CipherVector)
        assert vector.public_key == pk and vector.frac_bits == frac_bits
        assert vector.ciphertexts == cv.ciphertexts
        assert all(type(c) is type(gmpy2.mpz(0)) for c in vector.ciphertexts)
        assert sk.decrypt(vector).tolist() == sk.decrypt(cv).tolist()
        # The received vector is usable for arithmetic right away.
        assert sk.decrypt(vector + cv).tolist() == sk.decrypt(cv + cv).tolist()

    def test_layout_is_fixed_width(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        serde = Serde(policy_ring())
        for count in (0, 1, 7):
            data = serde.dumps(pk.encrypt(np.ones(count)))
            assert len(data) == len(MAGIC) + 1 + 16 + 4 + 4 + 8 + 4 + count * pk.ciphertext_bytes

    def test_plain_vectors_and_raw_plaintexts_round_trip(self, paillier_keys: PaillierKeys) -> None:
        pk, sk = paillier_keys
        plain_pk, plain_sk = generate_plain_keypair(512)
        serde = Serde(policy_ring())
        serde.keyring.add(pk)
        serde.keyring.add(plain_pk)
        mask = pk.new_mask(3)
        raw = sk.decrypt_raw(mask.apply(pk.encrypt([1.0, -2.0, 3.5])))
        plain_cv = plain_pk.encrypt([4.0, -0.25])
        plain_raw = plain_sk.decrypt_raw(plain_cv)
        out_raw, out_cv, out_plain_raw, empty = serde.loads(
            serde.dumps([raw, plain_cv, plain_raw, pk.encrypt([])])
        )
        assert isinstance(out_raw, RawPlaintexts) and out_raw == raw
        assert mask.remove(out_raw).tolist() == [1.0, -2.0, 3.5]
        assert plain_sk.decrypt(out_cv).tolist() == [4.0, -0.25]
        assert out_plain_raw == plain_raw
        assert isinstance(empty, CipherVector) and len(empty) == 0

    def test_plain_keys_are_refused_unless_allowed(self) -> None:
        plain_pk, _ = generate_plain_keypair(2048)
        data = Serde(policy_ring()).dumps(plain_pk)
        with pytest.raises(SerdeError, match="plaintext stand-in"):
            Serde(KeyRing()).loads(data)
        with pytest.raises(SerdeError, match="plaintext stand-in"):
            Serde(policy_ring(allow_plain=False)).loads(data)
        # A party whose policy refuses the stand-in refuses to send it, too.
        with pytest.raises(SerdeError, match="plaintext stand-in"):
            Serde(KeyRing()).dumps(plain_pk)

    def test_short_keys_are_refused(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        data = Serde(policy_ring()).dumps(pk)
        with pytest.raises(SerdeError, match="512-bit"):
            Serde(policy_ring(min_key_length=1024)).loads(data)
        with pytest.raises(SerdeError, match="policy minimum is 2048"):
            Serde(KeyRing()).loads(data)
        assert Serde(policy_ring(min_key_length=512)).loads(data) == pk

    def test_ciphertexts_under_an_unknown_key_are_refused(
        self, paillier_keys: PaillierKeys
    ) -> None:
        pk, sk = paillier_keys
        other_pk, _ = generate_paillier_keypair(512)
        sender = Serde(policy_ring())
        data = sender.dumps(pk.encrypt([1.0]))
        with pytest.raises(SerdeError, match="unknown key"):
            Serde(policy_ring()).loads(data)
        receiver = Serde(policy_ring())
        receiver.keyring.add(other_pk)
        with pytest.raises(SerdeError, match="unknown key"):
            receiver.loads(data)
        raw = sender.dumps(sk.decrypt_raw(pk.encrypt([1.0])))
        with pytest.raises(SerdeError, match="unknown key"):
            receiver.loads(raw)

    def test_key_must_come_before_its_ciphertexts(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        data = Serde(policy_ring()).dumps([pk.encrypt([1.0]), pk])
        with pytest.raises(SerdeError, match="unknown key"):
            Serde(policy_ring()).loads(data)

    def test_invalid_key_bodies_are_refused(self) -> None:
        def key_payload(scheme: bytes, body: bytes) -> bytes:
            return (
                MAGIC
                + struct.pack(">BB", 10, len(scheme))
                + scheme
                + struct.pack(">I", len(body))
                + body
            )

        serde = Serde(policy_ring())
        even = ((1 << 511) | 2).to_bytes(64, "big")
        with pytest.raises(SerdeError, match="invalid paillier public key"):
            serde.loads(key_payload(b"paillier", even))
        with pytest.raises(SerdeError, match="invalid paillier public key"):
            serde.loads(key_payload(b"paillier", b""))
        with pytest.raises(SerdeError, match="unknown key scheme"):
            serde.loads(key_payload(b"rsa", b"\x01" * 64))
        with pytest.raises(SerdeError):
            serde.loads(key_payload(b"plain", b""))  # a 0-bit stand-in is below any minimum

    def _vector_payload(
        self,
        pk: PaillierPublicKey,
        elements: list[int],
        *,
        tag: int = 11,
        frac_bits: int = 53,
        bound_bits: int = 120,
        width: int | None = None,
        count: int | None = None,
    ) -> bytes:
        width = pk.ciphertext_bytes if width is None else width
        count = len(elements) if count is None else count
        body = b"".join(e.to_bytes(width, "big") for e in elements)
        return (
            MAGIC
            + bytes([tag])
            + pk.fingerprint
            + struct.pack(">IIQI", frac_bits, bound_bits, count, width)
            + body
        )

    def test_forged_vectors_are_refused(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        serde = Serde(policy_ring())
        serde.keyring.add(pk)
        nsq, n = int(pk.nsquare), int(pk.n)
        assert isinstance(serde.loads(self._vector_payload(pk, [1, nsq - 1])), CipherVector)
        with pytest.raises(SerdeError, match="out of range"):
            serde.loads(self._vector_payload(pk, [1, nsq]))
        with pytest.raises(SerdeError, match="out of range"):
            serde.loads(self._vector_payload(pk, [n], tag=12, width=(pk.key_length + 7) // 8))
        with pytest.raises(SerdeError, match="width"):
            serde.loads(self._vector_payload(pk, [1], width=pk.ciphertext_bytes + 1))
        with pytest.raises(SerdeError, match="width"):
            serde.loads(self._vector_payload(pk, [1], tag=12))  # raw elements are n-sized
        with pytest.raises(SerdeError):
            serde.loads(self._vector_payload(pk, [1], count=2**64 - 1))
        with pytest.raises(SerdeError, match="ciphertext is 0"):
            serde.loads(self._vector_payload(pk, [1, 0]))
        with pytest.raises(SerdeError, match="bound_bits"):
            serde.loads(self._vector_payload(pk, [1], bound_bits=pk.key_length + 1))

    def test_the_magnitude_bound_travels_with_the_vector(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        serde = Serde(policy_ring())
        serde.keyring.add(pk)
        vector = pk.encrypt([1.0, -2.0]).mul(3.0)
        again = serde.loads(serde.dumps(vector))
        assert again.bound_bits == vector.bound_bits == 2 * (53 + 64)

    def test_absurd_frac_bits_are_refused(self, paillier_keys: PaillierKeys) -> None:
        pk, _ = paillier_keys
        serde = Serde(policy_ring())
        serde.keyring.add(pk)
        ok = serde.loads(self._vector_payload(pk, [1], frac_bits=pk.key_length))
        assert ok.frac_bits == pk.key_length
        started = time.monotonic()
        with pytest.raises(SerdeError, match="frac_bits"):
            serde.loads(self._vector_payload(pk, [1], frac_bits=2**32 - 1))
        assert time.monotonic() - started < 1.0


# -- malformed input -----------------------------------------------------------------------


def sample_payload(paillier_keys: PaillierKeys) -> tuple[Serde, bytes]:
    """A serde that knows the key, and a payload using every tag of the format."""
    pk, sk = paillier_keys
    serde = Serde(policy_ring())
    value = {
        "none": None,
        "flags": [True, False],
        "ints": [0, -1, 2**70, -(2**70)],
        "float": -1.5,
        "text": "ünï",
        "bytes": b"\x00\x01",
        "arr": np.arange(6, dtype=np.int32).reshape(2, 3),
        "scalar": np.array(2.5),
        "key": pk,
        "cv": pk.encrypt([1.0, -1.0]),
        "raw": sk.decrypt_raw(pk.encrypt([3.0])),
        "nested": [{"a": [[]]}],
    }
    return serde, serde.dumps(value)


class TestMalformed:
    @pytest.mark.parametrize(
        "data",
        [b"", b"F", b"FLM", b"FLM\x02\x00", b"XLM\x01\x00", b"\x00FLM\x01\x00", b"flm\x01\x00"],
        ids=repr,
    )
    def test_wrong_magic(self, data: bytes) -> None:
        with pytest.raises(SerdeError, match="magic"):
            Serde().loads(data)

    @pytest.mark.timeout(60)
    def test_every_truncation_is_a_serde_error(self, paillier_keys: PaillierKeys) -> None:
        serde, data = sample_payload(paillier_keys)
        assert serde.loads(data)["text"] == "ünï"
        for cut in range(len(data)):
            with pytest.raises(SerdeError):
                serde.loads(data[:cut])

    def test_trailing_bytes(self, paillier_keys: PaillierKeys) -> None:
        serde, data = sample_payload(paillier_keys)
        for extra in (b"\x00", b"garbage", data):
            with pytest.raises(SerdeError, match="trailing"):
                serde.loads(data + extra)

    @pytest.mark.parametrize("tag", [13, 42, 255])
    def test_unknown_tag(self, tag: int) -> None:
        with pytest.raises(SerdeError, match=f"unknown type tag {tag}"):
            Serde().loads(MAGIC + bytes([tag]))
        with pytest.raises(SerdeError, match=f"unknown type tag {tag}"):
            Serde().loads(MAGIC + b"\x07\x00\x00\x00\x02\x00" + bytes([tag]))

    @pytest.mark.timeout(30)
    @pytest.mark.parametrize(
        "body",
        [
            b"\x03\x00\xff\xff\xff\xff",  # int of 4 GiB
            b"\x05\xff\xff\xff\xff",  # str of 4 GiB
            b"\x06\xff\xff\xff\xff",  # bytes of 4 GiB
            b"\x07\xff\xff\xff\xff",  # list of 4 G items
            b"\x08\xff\xff\xff\xff",  # dict of 4 G entries
            b"\x07\xff\xff\xff\xff" + b"\x00" * 100,
            b"\x09\x03<f8\x02" + struct.pack(">QQ", 2**32, 2**32),  # 2**67-byte array
            b"\x09\x03<f8\x01" + struct.pack(">Q", 2**64 - 1),
            b"\x0a\x08paillier\xff\xff\xff\xff",  # key body of 4 GiB
        ],
        ids=["int", "str", "bytes", "list", "dict", "list-with-some", "array", "array-1d", "key"],
    )
    def test_huge_declared_sizes_fail_fast(self, body: bytes) -> None:
        started = time.monotonic()
        with pytest.raises(SerdeError):
            Serde().loads(MAGIC + body)
        assert time.monotonic() - started < 1.0

    @pytest.mark.parametrize(
        "dtype",
        [
            "O",
            "|O",
            "<U4",
            "|S4",
            "|V8",
            ">f8",
            ">i4",
            "f8,i4",
            "(2,)f8",
            "<M8[D]",
            "<m8[s]",
            "",
            "f8",
            "float64",
            "<f8 ",
            "\xff",
            "i4,",
            "4)6b",
            ",Pm",
            "<b8",
        ],
        ids=repr,
    )
    def test_bad_array_dtypes_are_refused(self, dtype: str) -> None:
        raw = dtype.encode()
        data = (
            MAGIC
            + b"\x09"
            + bytes([len(raw)])
            + raw
            + b"\x01"
            + struct.pack(">Q", 1)
            + b"\x00" * 16
        )
        with pytest.raises(SerdeError, match="dtype"):
            Serde().loads(data)

    @pytest.mark.parametrize(
        "shape",
        [
            (0,) * 65,
            (0,) * 255,
            (0, 2**64 - 1),
            (2**63, 0),
            (0, 2**62, 2**62),
            (1, *(2**64 - 1,) * 17),  # np.prod would compute this size as a float: inf
        ],
        ids=["65-dims", "255-dims", "dim-2**64", "dim-2**63", "size-overflow", "huge"],
    )
    def test_impossible_array_shapes_are_refused(self, shape: tuple[int, ...]) -> None:
        data = MAGIC + b"\x09\x03<f8" + bytes([len(shape)]) + struct.pack(f">{len(shape)}Q", *shape)
        with pytest.raises(SerdeError):
            Serde().loads(data)

    def test_invalid_utf8_is_refused(self) -> None:
        with pytest.raises(SerdeError, match="UTF-8"):
            Serde().loads(MAGIC + b"\x05\x00\x00\x00\x02\xc3\x28")
        with pytest.raises(SerdeError, match="UTF-8"):
            Serde().loads(MAGIC + b"\x08\x00\x00\x00\x01\x00\x00\x00\x01\xff\x00")

    @pytest.mark.timeout(30)
    @pytest.mark.parametrize(
        "container", [b"\x07\x00\x00\x00\x01", b"\x08\x00\x00\x00\x01\x00\x00\x00\x00"]
    )
    def test_depth_bomb(self, container: bytes) -> None:
        within = MAGIC + container * MAX_DEPTH + b"\x00"
        assert Serde().loads(within) is not None
        for depth in (MAX_DEPTH + 1, 10_000, 200_000):
            with pytest.raises(SerdeError, match="deeper"):
                Serde().loads(MAGIC + container * depth + b"\x00")

    @pytest.mark.timeout(120)
    @given(garbage=st.binary(max_size=200))
    @settings(max_examples=500, deadline=None)
    def test_random_bytes_never_raise_anything_else(self, garbage: bytes) -> None:
        try:
            Serde(policy_ring()).loads(MAGIC + garbage)
        except SerdeError:
            pass

    @pytest.mark.timeout(120)
    @given(data=st.data())
    @settings(max_examples=300, deadline=None)
    def test_mutated_payloads_never_raise_anything_else(
        self, paillier_keys: PaillierKeys, data: st.DataObject
    ) -> None:
        serde, payload = sample_payload(paillier_keys)
        mutated = bytearray(payload)
        for _ in range(data.draw(st.integers(1, 4), label="mutations")):
            at = data.draw(st.integers(len(MAGIC), len(mutated) - 1), label="at")
            mutated[at] = data.draw(st.integers(0, 255), label="byte")
        try:
            serde.loads(bytes(mutated))
        except SerdeError:
            pass

    def test_serde_error_is_a_federation_and_value_error(self) -> None:
        assert issubclass(SerdeError, FederationError) and issubclass(SerdeError, ValueError)


# -- never pickle ----------------------------------------------------------------------------

FORBIDDEN_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "marshal",
    "dill",
    "cloudpickle",
    "shelve",
    "joblib",
}
SRC = pathlib.Path(fedloom.__file__).resolve().parent


def forbidden_uses(source: str) -> list[str]:
    """Imports of deserialisers that run code, attribute uses of them, and allow_pickle=True."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(node.module)
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_MODULES:
            found.append(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in {"loads", "load", "Unpickler"}:
            base = node.value
            if isinstance(base, ast.Name) and base.id in FORBIDDEN_MODULES:
                found.append(f"{base.id}.{node.attr}")
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                found.append("allow_pickle")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in {"eval", "exec", "__import__"}:
                found.append(node.func.id)
    return found


def test_the_checker_finds_what_it_looks_for() -> None:
    assert sorted(forbidden_uses("import pickle\npickle.loads(b'')")) == [
        "pickle",
        "pickle",
        "pickle.loads",
    ]
    assert forbidden_uses("from dill import loads") == ["dill"]
    assert forbidden_uses("import numpy as np\nnp.load(f, allow_pickle=True)") == ["allow_pickle"]
    assert forbidden_uses("'''Never pickle.'''\nx = 1") == []


def test_serde_never_unpickles() -> None:
    import inspect

    assert forbidden_uses(inspect.getsource(serde_module)) == []


def test_no_module_under_src_unpickles() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert SRC / "federation" / "serde.py" in files
    offenders = {str(f.relative_to(SRC)): forbidden_uses(f.read_text()) for f in files}
    assert {f: uses for f, uses in offenders.items() if uses} == {}
