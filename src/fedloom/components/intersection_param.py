"""The Intersection component's parameters: FATE 1.11's ``IntersectParam`` names and meanings.

Implemented: ``intersect_method`` rsa / ecdh / dh with their ``salt`` and ``hash_method``,
``rsa_params.split_calculation`` (with sync and one host), ``join_method: left_join`` (with
``new_sample_id``),
``sync_intersect_ids``, ``only_output_key``, ``cardinality_only`` (ecdh / dh) with
``sync_cardinality``, ``run_preprocess`` with ``intersect_preprocess_params``, ``new_sample_id``
with ``sample_id_generator``, and ``run_cache`` (plus ``input.cache``). Every other FATE option
is accepted at its default only and refused otherwise with the reason (``only_default``).
See ``docs/psi.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fedloom.components.base import FateParam, lower, supported
from fedloom.crypto.rsa_blind import DEFAULT_RSA_KEY_LENGTH, MIN_RSA_KEY_LENGTH
from fedloom.ml.psi import IntersectParam
from fedloom.ml.psi.params import check_dh_key_length, check_hash

HashMethod = Literal["sha256", "sha384", "sha512", "sm3"]
RawHash = Literal["none", "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sm3"]
_Role = Literal["guest", "host"]
_RAW = "the raw method is refused (it reveals hashes of ids to the other party)"


class _Lower(FateParam):
    """Lower-cases every string option but salts before validation, as FATE's checks do."""

    @field_validator("*", mode="before")
    @classmethod
    def _lower_all(cls, value: object, info: ValidationInfo) -> object:
        return value if info.field_name in ("salt", "preprocess_salt") else lower(value)


class _Hashed(_Lower):
    """``salt`` and ``hash_method`` (md5, sha1, sha224 and none are refused as unsafe)."""

    salt: StrictStr = ""
    hash_method: HashMethod = "sha256"

    _safe = field_validator("hash_method", mode="before")(check_hash)


class RSAParams(_Hashed):
    """FATE's ``rsa_params``."""

    final_hash_method: StrictStr = "sha256"
    split_calculation: StrictBool = False
    random_base_fraction: StrictFloat | None = Field(default=None, gt=0, le=1)
    """FATE's speed-up of the guest's blinding by reusing a fraction of the random bases. Its
    documented equivalent here, at least as safe: every id still gets a fresh factor (reuse
    would let the host relate queries, ``H(x1)/H(x2)``, and test guessed ids), and with
    ``e = 65537`` a fresh ``r^e`` costs 17 multiplications, the speed the option was for."""
    key_length: StrictInt = Field(default=DEFAULT_RSA_KEY_LENGTH, ge=MIN_RSA_KEY_LENGTH, le=16384)
    random_bit: StrictInt = 128

    only_default: ClassVar[Mapping[str, str]] = {
        "final_hash_method": "signatures are hashed with domain-separated SHA-256",
        "random_bit": "blinding factors are drawn uniformly from Z_n*",
    }


class ECDHParams(_Hashed):
    """FATE's ``ecdh_params``; the curve is X25519."""

    curve: StrictStr = "curve25519"

    only_default: ClassVar[Mapping[str, str]] = {"curve": "fedloom's ECDH runs on X25519"}


class DHParams(_Hashed):
    """FATE's ``dh_params``: RFC 3526 groups of 2048 (default), 3072 or 4096 bits, or RFC
    2409's 1024-bit group, which a site runs only if its ``FEDLOOM_MIN_KEY_LENGTH`` allows."""

    key_length: StrictInt = 2048

    _group = field_validator("key_length")(check_dh_key_length)


class RawParams(_Lower):
    """FATE's ``raw_params`` (the raw method is refused; defaults only)."""

    use_hash: StrictBool = False
    salt: StrictStr = ""
    hash_method: RawHash = "none"
    base64: StrictBool = False
    join_role: _Role = "guest"


class EncodeParams(_Lower):
    """FATE's deprecated ``encode_params`` of the raw method (defaults only)."""

    salt: StrictStr = ""
    encode_method: RawHash = "none"
    base64: StrictBool = False


class IntersectCacheParams(_Lower):
    """FATE's deprecated ``intersect_cache_param`` (FATE ≥ 1.7 uses ``run_cache``)."""

    use_cache: StrictBool = False
    id_type: Literal["phone", "imei"] = "phone"
    encrypt_type: Literal["md5", "sha256"] = "sha256"

    only_default: ClassVar[Mapping[str, str]] = {
        "use_cache": "deprecated in FATE 1.7; use run_cache and input.cache",
        "id_type": "deprecated in FATE 1.7; use run_cache and input.cache",
        "encrypt_type": "deprecated in FATE 1.7; use run_cache and input.cache",
    }


class PreprocessParams(_Lower):
    """FATE's ``intersect_preprocess_params`` (Bloom-filter preprocessing)."""

    false_positive_rate: StrictFloat = Field(default=1e-3, gt=0, le=0.5)
    encrypt_method: StrictStr = "rsa"
    hash_method: HashMethod = "sha256"
    preprocess_method: HashMethod = "sha256"
    preprocess_salt: StrictStr = ""
    random_state: StrictInt | None = None
    filter_owner: _Role = "guest"

    only_default: ClassVar[Mapping[str, str]] = {
        "encrypt_method": (
            "fedloom's filter holds salted hashes; FATE encrypts ids for the filter of its "
            "RSA cardinality, which fedloom refuses"
        ),
    }

    _safe = field_validator("hash_method", "preprocess_method", mode="before")(check_hash)


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
    new_sample_id: StrictBool = False
    sample_id_generator: _Role = "guest"
    join_method: StrictStr = "inner_join"  # after the two above: its check reads them
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
        "random_bit": "blinding factors are drawn uniformly from Z_n*",
        "join_role": f"it only applies to the raw method; {_RAW}",
        "with_encode": _RAW,
        "encode_params": _RAW,
        "raw_params": _RAW,
        "repeated_id_process": "ids must be unique (duplicates are refused)",
        "with_sample_id": "fedloom tables carry no separate sample id column",
        "allow_info_share": "sharing the guest's columns with hosts is not implemented",
        "info_owner": "sharing the guest's columns with hosts is not implemented",
    }

    @field_validator("intersect_method")
    @classmethod
    def _method(cls, value: str) -> str:
        raw = "it reveals hashes of ids to the other party"
        return supported(value, ("rsa", "ecdh", "dh"), {"raw": raw})

    @field_validator("join_method")
    @classmethod
    def _join(cls, value: str, info: ValidationInfo) -> str:
        value = supported(value, ("inner_join", "left_join"), {})
        with_new_ids = info.data.get("new_sample_id") and (
            info.data.get("sample_id_generator") == "guest"
        )
        if value == "left_join" and not with_new_ids:
            raise ValueError(
                "'left_join' is not supported without new_sample_id and the guest as "
                "sample_id_generator: otherwise every host would output (and learn) all of "
                "the guest's ids"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> IntersectionParam:
        # FATE's cardinality runs read these settings in some versions; its job files set them
        # with cardinality_only, where fedloom's cardinality methods need no filter (as FATE's
        # ecdh / dh cardinality does not).
        preprocessing = self.run_preprocess or self.cardinality_only
        if not preprocessing and self.intersect_preprocess_params != PreprocessParams():
            raise ValueError(
                "intersect_preprocess_params is set but neither run_preprocess nor "
                "cardinality_only is true"
            )
        if self.run_cache and (self.cardinality_only or self.run_preprocess):
            raise ValueError(
                "run_cache is refused with cardinality_only (a cache holds keyed ids) and with "
                "run_preprocess (a filtered run keys only the ids that pass a Bloom filter)"
            )
        if not self.cardinality_only and self.cardinality_method != "ecdh":
            raise ValueError("cardinality_method is set but cardinality_only is false")
        try:
            self.to_ml()
        except ValidationError as exc:
            raise ValueError("; ".join(str(e["msg"]) for e in exc.errors())) from None
        return self

    def to_ml(self) -> IntersectParam:
        """The algorithm's parameters (``cardinality_method`` is the method of a
        cardinality-only run)."""
        method = self.cardinality_method if self.cardinality_only else self.intersect_method

        def hashing(p: _Hashed) -> dict[str, Any]:
            return {"salt": p.salt, "hash_method": p.hash_method}

        pre = self.intersect_preprocess_params
        return IntersectParam.model_validate(
            {
                "intersect_method": method,
                "sync_intersect_ids": self.sync_intersect_ids,
                "rsa_params": {
                    **hashing(self.rsa_params),
                    "key_length": self.rsa_params.key_length,
                    "split_calculation": self.rsa_params.split_calculation,
                },
                "ecdh_params": hashing(self.ecdh_params),
                "dh_params": {**hashing(self.dh_params), "key_length": self.dh_params.key_length},
                "cardinality_only": self.cardinality_only,
                "sync_cardinality": self.sync_cardinality,
                "preprocess": pre.model_dump(exclude={"encrypt_method"})
                if self.run_preprocess
                else None,
                "new_sample_id": self.new_sample_id,
                "sample_id_generator": self.sample_id_generator,
                "join_method": self.join_method,
            }
        )


CONSISTENT_PARAMS: tuple[str, ...] = (
    "intersect_method",
    "sync_intersect_ids",
    "rsa_params.salt",
    "rsa_params.hash_method",
    "rsa_params.split_calculation",
    "ecdh_params.salt",
    "ecdh_params.hash_method",
    "dh_params.salt",
    "dh_params.hash_method",
    "dh_params.key_length",
    "cardinality_only",
    "cardinality_method",
    "sync_cardinality",
    "run_preprocess",
    "intersect_preprocess_params.false_positive_rate",
    "intersect_preprocess_params.hash_method",
    "intersect_preprocess_params.preprocess_method",
    "intersect_preprocess_params.preprocess_salt",
    "intersect_preprocess_params.filter_owner",
    "new_sample_id",
    "sample_id_generator",
    "join_method",
    "run_cache",
)
"""What must agree across parties (dotted names: one field of a nested object)."""
