"""The typed configuration of the GLM algorithms (HeteroLR, HeteroLinR, HeteroPoisson).

These are plain, frozen, typed records in canonical form (lower-case option names, ``"L1"`` /
``"L2"`` / None penalties). They check types only: FATE's parameter names, aliases, letter
case, ranges and cross-field rules are validated once, by the components' parameter models
(``fedloom.components._glm_param.GlmParam.to_ml`` fills this config). The defaults are FATE's
HeteroLR defaults, for code that drives the algorithms directly (tests, benchmarks).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fedloom.crypto import DEFAULT_KEY_LENGTH


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class InitParam(_Config):
    """How weights start: FATE's init_param."""

    init_method: Literal["random_uniform", "random_normal", "zeros", "ones", "const"] = (
        "random_uniform"
    )
    init_const: float = 1.0
    fit_intercept: bool = True
    random_seed: int | None = None


class EncryptParam(_Config):
    """Which additively homomorphic scheme the arbiter generates, its key length, and who
    computes a Paillier key's operations at each party (``backend``: fedloom's engine or
    python-paillier, a fedloom extension)."""

    method: Literal["paillier", "ou"] = "paillier"
    key_length: int = DEFAULT_KEY_LENGTH
    backend: Literal["fedloom", "phe"] = "fedloom"


class SqnParam(_Config):
    """FATE's sqn_param: pairs every ``update_interval_L`` batches, ``memory_M`` kept, the
    Hessian-vector product on ``sample_size`` rows drawn with ``random_seed``."""

    update_interval_L: int = 3
    memory_M: int = 5
    sample_size: int = 5000
    random_seed: int | None = None


class HeteroLRParam(_Config):
    """The configuration of one GLM fit (guest + hosts + arbiter)."""

    penalty: Literal["L1", "L2"] | None = "L2"
    tol: float = 1e-4
    alpha: float = 1.0
    optimizer: Literal["sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd", "sqn"] = (
        "rmsprop"
    )
    batch_size: int = -1
    shuffle: bool = True
    batch_strategy: Literal["full", "random"] = "full"
    masked_rate: float = 5.0
    """Random batches: masking rows added per training row (:mod:`.batches`)."""
    learning_rate: float = 0.01
    init_param: InitParam = InitParam()
    max_iter: int = 100
    early_stop: Literal["diff", "abs", "weight_diff"] = "diff"
    encrypt_param: EncryptParam = EncryptParam()
    decay: float = 1.0
    decay_sqrt: bool = True
    floating_point_precision: int | None = 23
    validation_freqs: int | list[int] | None = None
    """Validate after epoch ``e`` when ``(e + 1) % freqs == 0`` (int) or ``e in freqs`` (list)."""
    early_stopping_rounds: int | None = None
    """Stop when a validation metric has not improved for this many validations; the model
    then keeps the weights of the best validation (of the first metric)."""
    metrics: list[str] = Field(default_factory=lambda: ["auc", "ks"])
    """Scalar validation metrics (``fedloom.ml.glm.validation.SCALAR_METRICS``)."""
    use_first_metric_only: bool = False
    sqn_param: SqnParam = SqnParam()
    threshold: float = 0.5
    """The class-1 probability from which validation metrics count a row as positive."""

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
