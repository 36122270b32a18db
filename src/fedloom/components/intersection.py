"""Intersection: private sample alignment of the guest's and hosts' tables (RSA or ECDH PSI).

Parameters keep FATE's ``IntersectParam`` names. fedloom implements ``rsa`` (blind signatures)
and ``ecdh`` (X25519) with inner joins; options of FATE's other methods (raw, dh), of caching,
cardinality-only and preprocessing runs are accepted at values that leave them switched off.
The aligned rows come out in sorted id order, identical at the guest and every synced host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

import numpy as np
from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
)

from fedloom.components.base import (
    PARTIES,
    ComponentDef,
    FateParam,
    TaskCall,
    TaskResult,
    lower,
    same_runner,
    supported,
)
from fedloom.components.io import load_table_with_meta, save_table
from fedloom.crypto.rsa_blind import DEFAULT_RSA_KEY_LENGTH, MIN_RSA_KEY_LENGTH
from fedloom.data import Table
from fedloom.ml.psi import IntersectionGuest, IntersectionHost, IntersectParam

HashMethod = Literal["none", "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sm3"]
_DEFAULT_HASH = "fedloom hashes ids with domain-separated SHA-256"
_Role = Literal["guest", "host"]


class _Lower(FateParam):
    """Lower-cases every string option before validation, as FATE's checks do."""

    @field_validator("*", mode="before")
    @classmethod
    def _lower_all(cls, value: object, info: ValidationInfo) -> object:
        return value if info.field_name in ("salt", "preprocess_salt") else lower(value)


class RSAParams(_Lower):
    """FATE's ``rsa_params``; only ``key_length`` is adjustable."""

    salt: StrictStr = ""
    hash_method: StrictStr = "sha256"
    final_hash_method: StrictStr = "sha256"
    split_calculation: StrictBool = False
    random_base_fraction: StrictFloat | None = None
    key_length: StrictInt = Field(default=DEFAULT_RSA_KEY_LENGTH, ge=MIN_RSA_KEY_LENGTH, le=16384)
    random_bit: StrictInt = 128

    only_default: ClassVar[Mapping[str, str]] = {
        "salt": "ids are hashed without a salt",
        "hash_method": _DEFAULT_HASH,
        "final_hash_method": _DEFAULT_HASH,
        "split_calculation": "the host signs all ids itself",
        "random_base_fraction": "every id gets a fresh blinding factor",
        "random_bit": "blinding factors are drawn uniformly from Z_n",
    }


class ECDHParams(_Lower):
    """FATE's ``ecdh_params``; the curve is X25519."""

    salt: StrictStr = ""
    hash_method: StrictStr = "sha256"
    curve: StrictStr = "curve25519"

    only_default: ClassVar[Mapping[str, str]] = {
        "salt": "ids are hashed without a salt",
        "hash_method": _DEFAULT_HASH,
        "curve": "fedloom's ECDH runs on X25519",
    }


class RawParams(_Lower):
    """FATE's ``raw_params`` (the raw method is not supported; accepted for compatibility)."""

    use_hash: StrictBool = False
    salt: StrictStr = ""
    hash_method: HashMethod = "none"
    base64: StrictBool = False
    join_role: _Role = "guest"


class EncodeParams(_Lower):
    """FATE's deprecated ``encode_params`` of the raw method (accepted for compatibility)."""

    salt: StrictStr = ""
    encode_method: HashMethod = "none"
    base64: StrictBool = False


class DHParams(_Lower):
    """FATE's ``dh_params`` (the dh method is not supported; accepted for compatibility)."""

    salt: StrictStr = ""
    hash_method: HashMethod = "sha256"
    key_length: StrictInt = Field(default=1024, ge=1024)


class IntersectCacheParams(_Lower):
    """FATE's ``intersect_cache_param``, ignored by FATE ≥ 1.7 and by fedloom."""

    use_cache: StrictBool = False
    id_type: Literal["phone", "imei"] = "phone"
    encrypt_type: Literal["md5", "sha256"] = "sha256"


class PreprocessParams(_Lower):
    """FATE's ``intersect_preprocess_params`` (used by run_preprocess / cardinality_only)."""

    false_positive_rate: float = Field(default=1e-3, gt=0, le=0.5)
    encrypt_method: Literal["rsa"] = "rsa"
    hash_method: HashMethod = "sha256"
    preprocess_method: HashMethod = "sha256"
    preprocess_salt: StrictStr = ""
    random_state: StrictInt | None = None
    filter_owner: _Role = "guest"


class IntersectionParam(_Lower):
    """FATE's Intersection parameters (``IntersectParam`` names; fedloom defaults)."""

    intersect_method: StrictStr = "rsa"
    random_bit: StrictInt = 128
    sync_intersect_ids: StrictBool = True
    join_role: _Role = "guest"
    only_output_key: StrictBool = False
    with_encode: StrictBool = False
    encode_params: EncodeParams = EncodeParams()
    raw_params: RawParams = RawParams()
    rsa_params: RSAParams = RSAParams()
    dh_params: DHParams = DHParams()
    ecdh_params: ECDHParams = ECDHParams()
    join_method: StrictStr = "inner_join"
    new_sample_id: StrictBool = False
    sample_id_generator: _Role = "guest"
    intersect_cache_param: IntersectCacheParams = IntersectCacheParams()
    run_cache: StrictBool = False
    cardinality_only: StrictBool = False
    sync_cardinality: StrictBool = False
    cardinality_method: Literal["rsa", "dh", "ecdh"] = "ecdh"
    run_preprocess: StrictBool = False
    intersect_preprocess_params: PreprocessParams = PreprocessParams()
    repeated_id_process: StrictBool = False
    repeated_id_owner: Literal["guest"] = "guest"
    with_sample_id: StrictBool = False
    allow_info_share: StrictBool = False
    info_owner: _Role = "guest"

    only_default: ClassVar[Mapping[str, str]] = {
        "random_bit": "blinding factors are drawn uniformly from Z_n",
        "join_method": "fedloom performs inner joins only",
        "new_sample_id": "sample ids are kept as they are",
        "run_cache": "intersection caches are not supported",
        "cardinality_only": "cardinality-only runs are not supported",
        "run_preprocess": "bloom-filter preprocessing is not supported",
    }

    @field_validator("intersect_method")
    @classmethod
    def _method(cls, value: str) -> str:
        return supported(
            value,
            ("rsa", "ecdh"),
            {
                "raw": "it reveals (hashes of) ids to the other party",
                "dh": "its X25519 form is 'ecdh'",
            },
        )

    def to_ml(self) -> IntersectParam:
        """The algorithm's parameters."""
        return IntersectParam.model_validate(
            {
                "intersect_method": self.intersect_method,
                "sync_intersect_ids": self.sync_intersect_ids,
                "rsa_params": {"key_length": self.rsa_params.key_length},
            }
        )


def run_intersection(call: TaskCall) -> TaskResult:
    """Intersection at the guest or a host: input ``data`` → the aligned rows as ``data``."""
    param = call.params
    assert isinstance(param, IntersectionParam)
    table, _ = load_table_with_meta(call.input("data", "data", "the table to align").path)
    role = IntersectionGuest if call.role == "guest" else IntersectionHost
    result = role(param.to_ml()).run(call.ctx, table.ids)
    metrics: dict[str, object] = {
        "intersect_method": param.intersect_method,
        "input_count": len(table),
        "intersect_count": result.count,
    }
    if result.positions is None:
        return TaskResult(metrics=metrics)
    metrics["intersect_rate"] = result.count / len(table) if result.count is not None else None
    aligned = table.take(result.positions)
    if param.only_output_key:
        aligned = Table(aligned.ids, [], np.zeros((len(aligned), 0)), None)
    out = save_table(call.output_dir / "data.npz", aligned, {"source": "Intersection"})
    return TaskResult(data={"data": out}, metrics=metrics)


INTERSECTION = ComponentDef(
    module="Intersection",
    roles=PARTIES,
    required_roles=("guest", "host"),
    param_model=IntersectionParam,
    runners=same_runner(run_intersection, PARTIES),
    data_inputs={"data": (1, 1)},
    outputs=frozenset({"data"}),
    consistent_params=("intersect_method", "sync_intersect_ids"),
)
"""The Intersection module's declaration."""
