"""The committed code in src/fedloom/_proto is what proto/generate.py makes of the .proto files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "src" / "fedloom" / "_proto"
REGENERATE = ".venv/bin/python proto/generate.py"

# The versions of protoc / grpcio-tools stamped into generated code: masked, so that a newer
# grpcio-tools in CI does not count as drift between the .proto files and the code.
VERSION_STAMPS = [
    (re.compile(r"^# Protobuf Python Version: .*$", re.M), "# Protobuf Python Version: X"),
    (
        re.compile(r"ValidateProtobufRuntimeVersion\([^)]*\)", re.S),
        "ValidateProtobufRuntimeVersion(X)",
    ),
    (re.compile(r"^GRPC_GENERATED_VERSION = .*$", re.M), "GRPC_GENERATED_VERSION = X"),
]


def files(directory: Path) -> dict[str, str]:
    """Relative path → text (version stamps masked) of the generated files under a directory."""
    out: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            text = path.read_text()
            for pattern, replacement in VERSION_STAMPS:
                text = pattern.sub(replacement, text)
            out[path.relative_to(directory).as_posix()] = text
    return out


def test_committed_code_matches_the_proto_files(tmp_path: Path) -> None:
    out = tmp_path / "_proto"
    result = subprocess.run(
        [sys.executable, str(ROOT / "proto" / "generate.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    fresh, committed = files(out), files(COMMITTED)
    assert sorted(committed) == sorted(fresh), f"generated files differ; run {REGENERATE}"
    for name, text in fresh.items():
        assert committed[name] == text, f"{name} is stale; run {REGENERATE}"


def test_generated_modules_import_under_the_flat_package() -> None:
    from fedloom._proto import proxy_pb2, proxy_pb2_grpc

    assert proxy_pb2.Envelope.DESCRIPTOR.full_name == "fedloom.proxy.v1.Envelope"
    assert proxy_pb2.Envelope.__module__ == "fedloom._proto.proxy_pb2"
    assert proxy_pb2_grpc.ProxyStub is not None
    assert proxy_pb2.DESCRIPTOR.services_by_name["Proxy"].methods_by_name["Push"].client_streaming
