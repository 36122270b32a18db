"""The wire format: plain values and arrays round trip; unsupported values are refused on encode."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from serde_support import roundtrip, same

from fedloom.federation.serde import MAX_DEPTH, Serde
from fedloom.federation.types import SerdeError

pytestmark = pytest.mark.unit


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
