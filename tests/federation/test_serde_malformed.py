"""The wire format: malformed payloads raise SerdeError, never another error nor a hang.

Also: no code path unpickles.
"""

from __future__ import annotations

import ast
import pathlib
import struct
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from serde_support import PaillierKeys, policy_ring

import fedloom
import fedloom.federation.serde as serde_module
from fedloom.federation.serde import MAGIC, MAX_DEPTH, Serde
from fedloom.federation.types import FederationError, SerdeError

pytestmark = pytest.mark.unit


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
