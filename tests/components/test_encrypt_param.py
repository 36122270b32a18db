"""HeteroLR's encrypt_param through the FATE layer: method and backend reach the arbiter.

FATE spells the method ``"Paillier"``; fedloom also takes Okamoto–Uchiyama (``"ou"``) and a
fedloom-only ``backend`` (``"phe"`` computes Paillier with python-paillier).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_components import job, local_context, make_tables, run_job

from fedloom.components import ComponentError, run_task
from fedloom.components.hetero_lr_param import HeteroLogisticParam
from fedloom.crypto import PrivateKey, PublicKey, generate_plain_keypair
from fedloom.crypto.keys import Method
from fedloom.crypto.phe_backend import Backend
from fedloom.dsl import DslError, parse_job
from fedloom.ml.hetero_lr import arbiter as arbiter_module


@pytest.mark.unit
@pytest.mark.parametrize(
    ("given", "method"), [("Paillier", "paillier"), ("paillier", "paillier"), ("OU", "ou")]
)
def test_methods_map_to_the_algorithm_case_insensitively(given: str, method: str) -> None:
    param = HeteroLogisticParam.model_validate({"encrypt_param": {"method": given}})
    encrypt = param.to_ml().encrypt_param
    assert (encrypt.method, encrypt.backend) == (method, "fedloom")
    phe = HeteroLogisticParam.model_validate(
        {"encrypt_param": {"method": "Paillier", "backend": "PHE", "key_length": 1024}}
    ).to_ml()
    assert (phe.encrypt_param.method, phe.encrypt_param.backend) == ("paillier", "phe")
    assert phe.encrypt_param.key_length == 1024


@pytest.mark.unit
@pytest.mark.parametrize(
    ("encrypt", "where", "fragment"),
    [
        (
            {"method": "IterativeAffine"},
            "encrypt_param.method",
            "'iterativeaffine' is not supported",
        ),
        ({"method": "rsa"}, "encrypt_param.method", "expected one of 'paillier', 'ou'"),
        ({"method": "ou", "backend": "phe"}, "encrypt_param", "implements Paillier only"),
        ({"backend": "gpu"}, "encrypt_param.backend", "'fedloom' or 'phe'"),
    ],
)
def test_unsupported_encryption_is_refused_naming_the_field(
    tmp_path: Path, encrypt: dict[str, Any], where: str, fragment: str
) -> None:
    params = {"encrypt_param": encrypt}
    with pytest.raises(ComponentError, match="invalid HeteroLR parameters") as info:
        run_task("HeteroLR", "guest", 9999, local_context(), params, {}, tmp_path)
    assert f"{where}: " in str(info.value) and fragment in str(info.value)
    dsl, conf = job(lr=params)
    with pytest.raises(DslError) as dsl_info:
        parse_job(dsl, conf)
    paths = dict(dsl_info.value.errors)
    path = f"conf.component_parameters.common.hetero_lr_0.{where}"
    assert path in paths and fragment in paths[path]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("encrypt", "expected"),
    [
        ({"method": "OU", "key_length": 1152}, ("ou", 1152, "fedloom")),
        ({"method": "Paillier", "key_length": 512, "backend": "phe"}, ("paillier", 512, "phe")),
    ],
)
def test_method_and_backend_reach_the_arbiter(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    encrypt: dict[str, Any],
    expected: tuple[str, int, str],
) -> None:
    calls: list[tuple[str, int, str]] = []
    generate = arbiter_module.generate_keypair

    def recording_keygen(
        method: Method, key_length: int, backend: Backend = "fedloom"
    ) -> tuple[PublicKey, PrivateKey]:
        calls.append((method, key_length, backend))
        if method == "paillier":
            return generate(method, key_length, backend)
        return generate_plain_keypair(key_length)  # a stand-in for OU keeps this test fast

    monkeypatch.setattr(arbiter_module, "generate_keypair", recording_keygen)
    guest_csv, host_csv, _ = make_tables(tmp_path / "in", rows=40, missing=0)
    dsl, conf = job(
        lr={"max_iter": 2, "encrypt_param": encrypt}, intersection={"intersect_method": "ecdh"}
    )
    results, _ = run_job(dsl, conf, {9999: guest_csv, 10000: host_csv}, tmp_path / "out")
    assert results[("guest", 9999, "hetero_lr_0")].metrics["n_iter"] == 2
    assert calls == [expected]
