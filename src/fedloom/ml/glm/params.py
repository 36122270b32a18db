"""Typed parameters of HeteroLR, with FATE's names and defaults (FATE 1.x LogisticParam).

Unknown fields are rejected with their path, so a typo in a job file fails at submission
instead of silently training with a default.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fedloom.crypto import DEFAULT_KEY_LENGTH


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class InitParam(_Strict):
    """How weights start: FATE's init_param."""

    init_method: Literal["random_uniform", "random_normal", "zeros", "ones", "const"] = (
        "random_uniform"
    )
    init_const: float = 1.0
    fit_intercept: bool = True
    random_seed: int | None = None

    _norm = field_validator("init_method", mode="before")(_lower)


class EncryptParam(_Strict):
    """Which additively homomorphic scheme the arbiter generates, and its key length.

    ``method`` is FATE's (spelled case-insensitively: ``"Paillier"``), plus Okamoto–Uchiyama
    (``"ou"``). ``backend`` is a fedloom extension, not a FATE parameter: who computes a Paillier
    key's operations at each party, fedloom's engine (``"fedloom"``) or python-paillier
    (``"phe"``, as FATE runs it). Keys and ciphertexts are the same either way; ``"phe"`` needs
    ``method="paillier"``.
    """

    method: Literal["paillier", "ou"] = "paillier"
    key_length: int = Field(default=DEFAULT_KEY_LENGTH, ge=512)
    backend: Literal["fedloom", "phe"] = "fedloom"

    _norm = field_validator("method", "backend", mode="before")(_lower)

    @model_validator(mode="after")
    def _backend_supports_method(self) -> EncryptParam:
        if self.backend == "phe" and self.method != "paillier":
            raise ValueError(
                f"backend 'phe' (python-paillier) implements Paillier only; method "
                f"{self.method!r} needs backend 'fedloom'"
            )
        return self

    @field_validator("key_length")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("key_length must be even")
        return value


class SqnParam(_Strict):
    """FATE's sqn_param: pairs every ``update_interval_L`` batches, ``memory_M`` kept, the
    Hessian-vector product on ``sample_size`` rows drawn with ``random_seed``."""

    update_interval_L: int = Field(default=3, ge=1)
    memory_M: int = Field(default=5, ge=1)
    sample_size: int = Field(default=5000, ge=1)
    random_seed: int | None = None


class HeteroLRParam(_Strict):
    """Parameters of hetero logistic regression (guest + hosts + arbiter)."""

    penalty: Literal["L1", "L2"] | None = "L2"
    tol: float = Field(default=1e-4, ge=0)
    alpha: float = Field(default=1.0, ge=0)
    optimizer: Literal["sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd", "sqn"] = (
        "rmsprop"
    )
    batch_size: int = -1
    shuffle: bool = True
    batch_strategy: Literal["full", "random"] = "full"
    learning_rate: float = Field(default=0.01, gt=0)
    init_param: InitParam = InitParam()
    max_iter: int = Field(default=100, ge=1)
    early_stop: Literal["diff", "abs", "weight_diff"] = "diff"
    encrypt_param: EncryptParam = EncryptParam()
    decay: float = Field(default=1.0, ge=0)
    decay_sqrt: bool = True
    floating_point_precision: int | None = Field(default=23, ge=1, le=53)
    validation_freqs: int | list[int] | None = None
    """Validate after epoch ``e`` when ``(e + 1) % freqs == 0`` (int) or ``e in freqs`` (list)."""
    early_stopping_rounds: int | None = Field(default=None, ge=1)
    """Stop when a validation metric has not improved for this many validations; the model
    then keeps the weights of the best validation (of the first metric)."""
    metrics: list[str] = Field(default_factory=lambda: ["auc", "ks"])
    """Scalar validation metrics (``fedloom.ml.glm.validation.SCALAR_METRICS``)."""
    use_first_metric_only: bool = False
    sqn_param: SqnParam = SqnParam()
    threshold: float = 0.5
    """The class-1 probability from which validation metrics count a row as positive."""

    @field_validator("penalty", mode="before")
    @classmethod
    def _penalty(cls, value: object) -> object:
        if isinstance(value, str):
            upper = value.upper()
            return None if upper == "NONE" else upper
        return value

    _norm = field_validator("optimizer", "early_stop", "batch_strategy", mode="before")(_lower)

    @field_validator("batch_size")
    @classmethod
    def _batch(cls, value: int) -> int:
        if value != -1 and value < 1:
            raise ValueError("batch_size must be -1 (full batch) or a positive number of rows")
        return value

    @field_validator("validation_freqs")
    @classmethod
    def _freqs(cls, value: int | list[int] | None) -> int | list[int] | None:
        if isinstance(value, int) and value < 1:
            raise ValueError("validation_freqs must be a positive number of epochs")
        if isinstance(value, list) and any(v < 0 for v in value):
            raise ValueError("validation_freqs lists epochs, which count from 0")
        return value

    @model_validator(mode="after")
    def _random_batches(self) -> HeteroLRParam:
        if self.batch_strategy == "random" and self.batch_size == -1:
            raise ValueError("batch_strategy 'random' draws batch_size rows: set batch_size")
        return self

    def validates_at(self, epoch: int) -> bool:
        """Whether validation runs after ``epoch`` (0-based), as FATE schedules it."""
        freqs = self.validation_freqs
        if freqs is None:
            return False
        if isinstance(freqs, int):
            return (epoch + 1) % freqs == 0
        return epoch in freqs

    @property
    def needs_loss(self) -> bool:
        """Whether convergence is judged on the (encrypted, Taylor-approximated) loss."""
        return self.early_stop in ("diff", "abs")

    @property
    def feature_frac_bits(self) -> int:
        """Fractional bits used to encode plaintext features in the gradient product."""
        return self.floating_point_precision or 53
