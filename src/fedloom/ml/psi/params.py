"""Parameters of the Intersection component (FATE names: ``intersect_method``, ``rsa_params``...).

Unknown fields are rejected with their path (``rsa_params.salt``), so a FATE job file that asks
for an option fedloom does not implement fails at submission instead of being ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from fedloom.crypto.rsa_blind import DEFAULT_RSA_KEY_LENGTH, MIN_RSA_KEY_LENGTH

IntersectMethod = Literal["rsa", "ecdh"]


class RSAParams(BaseModel):
    """Options of the RSA blind-signature method (the host generates the key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_length: StrictInt = Field(
        default=DEFAULT_RSA_KEY_LENGTH,
        ge=MIN_RSA_KEY_LENGTH,
        le=16384,
        description="Modulus length in bits of the host's RSA key; the guest refuses shorter keys.",
    )


class ECDHParams(BaseModel):
    """Options of the X25519 ECDH method (none yet; the curve is fixed to X25519)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class IntersectParam(BaseModel):
    """How guest and hosts align their samples (FATE's ``Intersection`` component)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intersect_method: IntersectMethod = Field(
        default="rsa", description="'rsa' (blind signatures) or 'ecdh' (X25519); case-insensitive."
    )
    sync_intersect_ids: StrictBool = Field(
        default=True, description="Whether the guest tells each host the final intersection."
    )
    rsa_params: RSAParams = Field(default_factory=RSAParams)
    ecdh_params: ECDHParams = Field(default_factory=ECDHParams)

    @field_validator("intersect_method", mode="before")
    @classmethod
    def _lower_method(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
