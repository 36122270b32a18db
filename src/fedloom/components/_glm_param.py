"""The FATE parameters shared by HeteroLR, HeteroLinR and HeteroPoisson, and their base model.

Options fedloom implements are passed on; options that only matter for features it does not
have (stepwise selection) are accepted while those features stay switched off,
and refused with the reason otherwise.

Validation during training comes from the top-level ``validation_freqs``,
``early_stopping_rounds``, ``metrics`` and ``use_first_metric_only`` or, as FATE ≥ 1.7 spells
it, from ``callback_param`` with the ``PerformanceEvaluate`` / ``EarlyStopping`` callbacks;
a setting given both ways must agree.
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
    field_validator,
    model_validator,
)

from fedloom.components.base import FateParam, lower, supported
from fedloom.components.evaluation import normalise_metrics
from fedloom.crypto import DEFAULT_KEY_LENGTH
from fedloom.ml.glm.validation import check_metric_names
from fedloom.ml.hetero_lr import HeteroLRParam

Number = StrictInt | StrictFloat


def positive_rounds(value: int | None) -> int | None:
    """``early_stopping_rounds``: None or a positive number of validations."""
    if value is not None and value < 1:
        raise ValueError("early_stopping_rounds must be a positive number of validations")
    return value


def epoch_schedule(value: int | list[int] | None) -> int | list[int] | None:
    """``validation_freqs``: None, every n epochs (n ≥ 1), or a list of 0-based epochs."""
    if isinstance(value, int) and value < 1:
        raise ValueError("validation_freqs must be a positive number of epochs")
    if isinstance(value, list) and any(v < 0 for v in value):
        raise ValueError("validation_freqs lists epochs, which count from 0")
    return value


class InitParam(FateParam):
    """FATE's ``init_param``."""

    init_method: Literal["random_uniform", "random_normal", "zeros", "ones", "const"] = (
        "random_uniform"
    )
    init_const: Number = 1
    fit_intercept: StrictBool = True
    random_seed: StrictInt | None = None

    _lower = field_validator("init_method", mode="before")(lower)


class EncryptParam(FateParam):
    """FATE's ``encrypt_param``, with fedloom's 2048-bit default key length.

    ``method`` is ``"Paillier"`` or Okamoto–Uchiyama (``"ou"``), in any letter case.
    ``backend`` is a fedloom extension, not a FATE parameter: ``"fedloom"`` (default) or
    ``"phe"`` to compute Paillier with python-paillier, as FATE does; ``"phe"`` needs Paillier.
    """

    method: StrictStr | None = "Paillier"
    key_length: StrictInt = Field(default=DEFAULT_KEY_LENGTH, ge=512)
    backend: Literal["fedloom", "phe"] = "fedloom"

    _lower = field_validator("backend", mode="before")(lower)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("HeteroLR always encrypts; method None (no encryption) is refused")
        why = "FATE ≥ 1.7 dropped it for safety"
        supported(
            value.lower(),
            ("paillier", "ou"),
            {"iterativeaffine": why, "randomiterativeaffine": why},
        )
        return "Paillier" if value.lower() == "paillier" else "ou"

    @model_validator(mode="after")
    def _backend_supports_method(self) -> EncryptParam:
        if self.backend == "phe" and self.method != "Paillier":
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


class EncryptedModeCalculatorParam(FateParam):
    """FATE's ``encrypted_mode_calculator_param`` (strict mode: fresh randomness everywhere)."""

    mode: StrictStr = "strict"
    re_encrypted_rate: Number = Field(default=1, ge=0, le=1)

    only_default: ClassVar[Mapping[str, str]] = {
        "mode": "every ciphertext is freshly randomised (FATE's 'strict' mode)"
    }
    _lower = field_validator("mode", mode="before")(lower)


class PredictParam(FateParam):
    """FATE's ``predict_param``."""

    threshold: Number = 0.5


class CrossValidationParam(FateParam):
    """FATE's ``cv_param`` (hetero mode, folds drawn by the guest).

    ``output_fold_history`` adds each fold's training-row metrics to the task's metrics;
    ``history_with_value`` (FATE: keep predicted values in the history) is not supported.
    """

    n_splits: StrictInt = Field(default=5, ge=1)
    mode: Literal["hetero", "homo"] = "hetero"
    role: Literal["guest", "host", "arbiter"] = "guest"
    shuffle: StrictBool = True
    random_seed: StrictInt | None = Field(default=1, ge=1)
    need_cv: StrictBool = False
    output_fold_history: StrictBool = True
    history_with_value: StrictBool = False
    history_value_type: Literal["score", "instance"] = "score"
    """What the fold output holds: the out-of-fold ``score`` s, or the ``instance`` s (the
    guest's rows with their fold)."""

    only_default: ClassVar[Mapping[str, str]] = {
        "mode": "vertical (hetero) folds only",
        "history_with_value": "fold histories hold metrics, not predicted values",
    }
    _lower = field_validator("mode", "role", "history_value_type", mode="before")(lower)


class StepwiseParam(FateParam):
    """FATE's ``stepwise_param``; stepwise selection (``need_stepwise``) is not supported."""

    score_name: Literal["aic", "bic"] = "aic"
    mode: Literal["hetero", "homo"] = "hetero"
    role: Literal["guest", "host", "arbiter"] = "guest"
    direction: Literal["both", "forward", "backward"] = "both"
    max_step: StrictInt = Field(default=10, ge=1)
    nvmin: StrictInt = Field(default=2, ge=2)
    nvmax: StrictInt | None = Field(default=None, ge=2)
    need_stepwise: StrictBool = False

    only_default: ClassVar[Mapping[str, str]] = {
        "need_stepwise": "stepwise feature selection is not supported"
    }
    _lower = field_validator("score_name", "mode", "role", "direction", mode="before")(lower)


class SQNParam(FateParam):
    """FATE's ``sqn_param``, used by the 'sqn' optimizer (``fedloom.ml.glm.sqn``)."""

    update_interval_L: StrictInt = Field(default=3, ge=1)
    memory_M: StrictInt = Field(default=5, ge=1)
    sample_size: StrictInt = Field(default=5000, ge=1)
    random_seed: StrictInt | None = Field(default=None, ge=1)


class CallbackParam(FateParam):
    """FATE's ``callback_param``: ``EarlyStopping``, ``PerformanceEvaluate`` and
    ``ModelCheckpoint`` (the model is saved once, when training ends: ``save_freq`` 1).

    As in FATE, the callbacks listed decide what runs: ``validation_freqs`` takes effect with
    ``PerformanceEvaluate`` or ``EarlyStopping``, ``early_stopping_rounds`` with
    ``EarlyStopping`` (FATE's warm-start example sets both beside ``ModelCheckpoint`` only)."""

    callbacks: list[StrictStr] = Field(default_factory=list)
    validation_freqs: StrictInt | list[StrictInt] | None = None
    early_stopping_rounds: StrictInt | None = None
    metrics: list[StrictStr] | None = None
    """Validation metrics; unset, empty or null: FATE's defaults for the task type."""
    use_first_metric_only: StrictBool = False
    save_freq: StrictInt = Field(default=1, ge=1)

    only_default: ClassVar[Mapping[str, str]] = {
        "save_freq": "the model is saved once, when training ends"
    }

    @field_validator("callbacks")
    @classmethod
    def _callbacks(cls, value: list[str]) -> list[str]:
        for name in value:
            supported(name, CALLBACKS, {})
        return value

    _rounds = field_validator("early_stopping_rounds")(positive_rounds)
    _freqs = field_validator("validation_freqs")(epoch_schedule)


CALLBACKS = ("EarlyStopping", "PerformanceEvaluate", "ModelCheckpoint")
"""FATE's callbacks fedloom runs."""


class GlmParam(FateParam):
    """The parameters FATE's linear models share (``LogisticParam``, ``LinearParam``,
    ``PoissonParam``); ``metric_kind`` says which metrics apply."""

    metric_kind: ClassVar[str] = "binary"

    penalty: Literal["L1", "L2"] | None = "L2"
    tol: Number = Field(default=1e-4, ge=0)
    alpha: Number = Field(default=1.0, ge=0)
    optimizer: StrictStr = "rmsprop"
    batch_size: StrictInt = -1
    shuffle: StrictBool = True
    batch_strategy: StrictStr = "full"
    masked_rate: Number = Field(default=5, ge=0)
    learning_rate: Number = Field(default=0.01, gt=0)
    init_param: InitParam = InitParam()
    max_iter: StrictInt = Field(default=100, ge=1)
    early_stop: Literal["diff", "abs", "weight_diff"] = "diff"
    encrypt_param: EncryptParam = EncryptParam()
    encrypted_mode_calculator_param: EncryptedModeCalculatorParam = EncryptedModeCalculatorParam()
    cv_param: CrossValidationParam = CrossValidationParam()
    decay: Number = Field(default=1, ge=0)
    decay_sqrt: StrictBool = True
    sqn_param: SQNParam = SQNParam()
    validation_freqs: StrictInt | list[StrictInt] | None = None
    early_stopping_rounds: StrictInt | None = None
    metrics: list[StrictStr] | None = None
    use_first_metric_only: StrictBool = False
    floating_point_precision: StrictInt | None = Field(default=23, ge=1, le=53)
    stepwise_param: StepwiseParam = StepwiseParam()
    callback_param: CallbackParam = CallbackParam()

    @field_validator("penalty", mode="before")
    @classmethod
    def _penalty(cls, value: object) -> object:
        if isinstance(value, str):
            return None if value.upper() == "NONE" else value.upper()
        return value

    _lower = field_validator("optimizer", "batch_strategy", "early_stop", mode="before")(lower)

    @field_validator("optimizer")
    @classmethod
    def _optimizer(cls, value: str) -> str:
        return supported(
            value, ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd", "sqn"), {}
        )

    @field_validator("batch_strategy")
    @classmethod
    def _batches(cls, value: str) -> str:
        return supported(value, ("full", "random"), {})

    _rounds = field_validator("early_stopping_rounds")(positive_rounds)
    _freqs = field_validator("validation_freqs")(epoch_schedule)

    @model_validator(mode="after")
    def _validation(self) -> GlmParam:
        settings = self.validation_settings()
        if settings["early_stopping_rounds"] is not None and settings["validation_freqs"] is None:
            raise ValueError("early_stopping_rounds needs validation_freqs (and validate_data)")
        if self.batch_strategy == "random" and self.batch_size == -1:
            raise ValueError("batch_strategy 'random' draws batch_size rows: set batch_size")
        if settings["validation_freqs"] is not None:
            check_metric_names(self.metric_kind, settings["metrics"])
        if self.cv_param.need_cv and settings["early_stopping_rounds"] is not None:
            raise ValueError("cross validation does not stop early: drop early_stopping_rounds")
        return self

    def validation_settings(self) -> dict[str, Any]:
        """The effective validation settings from the top level and ``callback_param``."""
        callback = self.callback_param
        out: dict[str, Any] = {
            "validation_freqs": self.validation_freqs,
            "early_stopping_rounds": self.early_stopping_rounds,
            "metrics": self.validation_metrics(),
            "use_first_metric_only": self.use_first_metric_only or callback.use_first_metric_only,
        }
        given = {
            "validation_freqs": callback.validation_freqs
            if {"PerformanceEvaluate", "EarlyStopping"} & set(callback.callbacks)
            else None,
            "early_stopping_rounds": callback.early_stopping_rounds
            if "EarlyStopping" in callback.callbacks
            else None,
        }
        for name, value in given.items():
            if value is None:
                continue
            if out[name] is not None and out[name] != value:
                raise ValueError(f"{name} and callback_param.{name} disagree")
            out[name] = value
        if callback.metrics:
            out["metrics"] = normalise_metrics(list(callback.metrics), self.metric_kind)
        return out

    @field_validator("batch_size")
    @classmethod
    def _batch_size(cls, value: int) -> int:
        if value != -1 and value < 1:
            raise ValueError("batch_size must be -1 (all rows) or a positive number of rows")
        return value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: list[str] | None) -> list[str] | None:
        # FATE: an empty list means the task type's default metrics, as an unset one does.
        return normalise_metrics(value, cls.metric_kind) if value else None

    def validation_metrics(self) -> list[str]:
        """The metrics validation tracks (FATE's defaults when ``metrics`` is unset)."""
        if self.metrics:
            return list(self.metrics)
        if self.metric_kind == "binary":
            return ["auc", "ks"]
        return ["root_mean_squared_error", "mean_absolute_error"]

    def to_ml(self) -> HeteroLRParam:
        """The algorithm's parameters."""
        return HeteroLRParam.model_validate(
            {
                **self.validation_settings(),
                **self.ml_extra(),
                "penalty": self.penalty,
                "tol": self.tol,
                "alpha": self.alpha,
                "optimizer": self.optimizer,
                "batch_size": self.batch_size,
                "shuffle": self.shuffle,
                "batch_strategy": self.batch_strategy,
                "masked_rate": float(self.masked_rate),
                "learning_rate": self.learning_rate,
                "init_param": self.init_param.model_dump(),
                "max_iter": self.max_iter,
                "early_stop": self.early_stop,
                "encrypt_param": {
                    "method": (self.encrypt_param.method or "paillier").lower(),
                    "key_length": self.encrypt_param.key_length,
                    "backend": self.encrypt_param.backend,
                },
                "decay": self.decay,
                "decay_sqrt": self.decay_sqrt,
                "floating_point_precision": self.floating_point_precision,
                "sqn_param": self.sqn_param.model_dump(),
            }
        )

    def ml_extra(self) -> dict[str, Any]:
        """Module-specific entries of :meth:`to_ml` (none here)."""
        return {}

    def model_meta(self, module: str) -> dict[str, Any]:
        """FATE's ``model_meta`` (LRModelMeta / LinRModelMeta / PoissonModelMeta names) of a
        model trained with these parameters."""
        return {
            "module": module,
            "penalty": self.penalty,
            "tol": float(self.tol),
            "alpha": float(self.alpha),
            "optimizer": self.optimizer,
            "batch_size": self.batch_size,
            "learning_rate": float(self.learning_rate),
            "max_iter": self.max_iter,
            "early_stop": self.early_stop,
            "fit_intercept": self.init_param.fit_intercept,
            **self.meta_extra(),
        }

    def meta_extra(self) -> dict[str, Any]:
        """Module-specific entries of :meth:`model_meta` (none here)."""
        return {}
