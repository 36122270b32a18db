"""Parameters of the Intersection algorithms (FATE names: ``intersect_method``, ``rsa_params``...).

Unknown fields are rejected with their path (``rsa_params.random_bit``), so a FATE job file that
asks for an option fedloom does not implement fails at submission instead of being ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from fedloom.crypto.dh_group import KEY_LENGTHS as DH_KEY_LENGTHS
from fedloom.crypto.rsa_blind import DEFAULT_RSA_KEY_LENGTH, MIN_RSA_KEY_LENGTH

IntersectMethod = Literal["rsa", "ecdh", "dh"]
HashMethod = Literal["sha256", "sha384", "sha512", "sm3"]
SAFE_HASHES: tuple[str, ...] = ("sha256", "sha384", "sha512", "sm3")
UNSAFE_HASHES: dict[str, str] = {
    "none": "ids are always hashed into the group; 'none' would change nothing",
    "md5": "md5 is broken (chosen collisions would merge ids)",
    "sha1": "sha1 is broken (chosen collisions would merge ids)",
    "sha224": "fedloom hashes ids with at least 256 bits",
}


def check_hash(value: object) -> object:
    """Lower-case ``value``; ValueError with the reason for a hash fedloom refuses."""
    if isinstance(value, str):
        value = value.lower()
        if value in UNSAFE_HASHES:
            raise ValueError(
                f"hash_method {value!r} is refused ({UNSAFE_HASHES[value]}); use one of "
                + ", ".join(SAFE_HASHES)
            )
    return value


def check_dh_key_length(value: int) -> int:
    """``value`` if it is the size of a published MODP group, else ValueError. Whether a site
    runs a 1024-bit group is its key policy's decision (``FEDLOOM_MIN_KEY_LENGTH``)."""
    if value not in DH_KEY_LENGTHS:
        allowed = ", ".join(str(k) for k in DH_KEY_LENGTHS)
        raise ValueError(
            f"dh key_length must be one of {allowed} (the published RFC 2409 / RFC 3526 safe "
            f"primes), got {value}"
        )
    return value


class _Hashing(BaseModel):
    """The id hashing shared by every method: ``hash_method`` over ``salt`` and the id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    salt: StrictStr = Field(default="", description="Salt mixed into every id's hash.")
    hash_method: HashMethod = Field(default="sha256", description="Hash applied to salted ids.")

    _hash = field_validator("hash_method", mode="before")(check_hash)


class RSAParams(_Hashing):
    """Options of the RSA blind-signature method (the host generates the key)."""

    key_length: StrictInt = Field(
        default=DEFAULT_RSA_KEY_LENGTH,
        ge=MIN_RSA_KEY_LENGTH,
        le=16384,
        description="Modulus length in bits of the host's RSA key; the guest refuses shorter keys.",
    )
    split_calculation: StrictBool = Field(
        default=False,
        description="Guest and host each sign half of the ids (needs sync and one host).",
    )


class ECDHParams(_Hashing):
    """Options of the X25519 ECDH method (the curve is fixed to X25519)."""


class DHParams(_Hashing):
    """Options of the commutative-encryption (Pohlig–Hellman) method in an RFC 3526 group."""

    key_length: StrictInt = Field(
        default=2048, description="Bits of the safe prime: 2048, 3072 or 4096 (RFC 3526)."
    )

    _group = field_validator("key_length")(check_dh_key_length)


class PreprocessParams(BaseModel):
    """Bloom-filter preprocessing before the PSI (FATE's ``intersect_preprocess_params``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    false_positive_rate: float = Field(default=1e-3, gt=0, le=0.5)
    hash_method: HashMethod = Field(default="sha256", description="Hash giving filter indices.")
    preprocess_method: HashMethod = Field(default="sha256", description="Hash of salted ids.")
    preprocess_salt: StrictStr = ""
    random_state: StrictInt | None = Field(
        default=None, description="Seed of the filter's index hashing (None: OS randomness)."
    )
    filter_owner: Literal["guest", "host"] = "guest"

    _hashes = field_validator("hash_method", "preprocess_method", mode="before")(check_hash)


class IntersectParam(BaseModel):
    """How guest and hosts align their samples (FATE's ``Intersection`` component)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intersect_method: IntersectMethod = Field(
        default="rsa",
        description="'rsa' (blind signatures), 'ecdh' (X25519) or 'dh' (MODP group).",
    )
    sync_intersect_ids: StrictBool = Field(
        default=True, description="Whether the guest tells each host the final intersection."
    )
    rsa_params: RSAParams = Field(default_factory=RSAParams)
    ecdh_params: ECDHParams = Field(default_factory=ECDHParams)
    dh_params: DHParams = Field(default_factory=DHParams)
    cardinality_only: StrictBool = Field(
        default=False, description="The guest learns only the size of the intersection."
    )
    sync_cardinality: StrictBool = Field(
        default=False, description="With cardinality_only: the host is told the size too."
    )
    preprocess: PreprocessParams | None = Field(
        default=None, description="Bloom-filter preprocessing (FATE's run_preprocess)."
    )
    new_sample_id: StrictBool = Field(
        default=False, description="Replace the shared ids by fresh random ids at both sides."
    )
    sample_id_generator: Literal["guest", "host"] = Field(
        default="guest", description="With new_sample_id: which party draws the new ids."
    )
    join_method: Literal["inner_join", "left_join"] = Field(
        default="inner_join", description="left_join: every party outputs all guest rows."
    )

    @field_validator("intersect_method", mode="before")
    @classmethod
    def _lower_method(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def hashing(self) -> _Hashing:
        """The salt and hash method of the active method."""
        return {"rsa": self.rsa_params, "ecdh": self.ecdh_params, "dh": self.dh_params}[
            self.intersect_method
        ]

    @model_validator(mode="after")
    def _combinations(self) -> IntersectParam:
        """Refuse combinations that would reveal more than they promise."""
        if self.cardinality_only:
            if self.intersect_method == "rsa":
                raise ValueError(
                    "cardinality_only with 'rsa' is refused: the guest unblinds each answer in "
                    "query order, so it would learn which of its ids match; use 'ecdh' or 'dh'"
                )
            if self.preprocess is not None:
                raise ValueError(
                    "cardinality_only with preprocessing is refused: the Bloom filter reveals "
                    "which ids match, not only how many"
                )
            if self.new_sample_id:
                raise ValueError("cardinality_only outputs no ids, so new_sample_id is refused")
        elif self.sync_cardinality:
            raise ValueError("sync_cardinality applies to cardinality_only runs only")
        if self.rsa_params.split_calculation:
            if self.intersect_method != "rsa" or self.cardinality_only:
                raise ValueError("rsa_params.split_calculation applies to rsa intersections only")
            if not self.sync_intersect_ids:
                raise ValueError(
                    "split_calculation needs sync_intersect_ids: the host finds half of the "
                    "intersection itself, so it would learn it without being told"
                )
        if self.join_method == "left_join" and not (
            self.new_sample_id and self.sample_id_generator == "guest"
        ):
            raise ValueError(
                "left_join makes every host output a row for each of the guest's ids; fedloom "
                "allows it only with new_sample_id and the guest as sample_id_generator, so "
                "that hosts see fresh random ids instead of the guest's"
            )
        if self.new_sample_id and not self.sync_intersect_ids:
            raise ValueError("new_sample_id needs sync_intersect_ids: both sides share the ids")
        if self.sample_id_generator != "guest" and not self.new_sample_id:
            raise ValueError(
                "sample_id_generator chooses who draws new ids; without new_sample_id both "
                "sides output the same shared ids"
            )
        return self
