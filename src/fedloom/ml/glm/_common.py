"""Pieces shared by the guest and host of HeteroLR: checks, batches, the masked exchange."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.crypto import CipherVector, PublicKey, RawPlaintexts
from fedloom.crypto.packing import pack, unpack
from fedloom.crypto.phe_backend import Backend, with_backend
from fedloom.federation import Context, FederationError, PartyHandle
from fedloom.ml.glm.family import Family
from fedloom.ml.glm.params import HeteroLRParam

T = TypeVar("T")


@dataclass
class HeteroLRModel:
    """One party's share of a trained model: only its own coefficients."""

    role: str
    weights: NDArray[np.float64]
    intercept: float = 0.0
    n_iter: int = 0
    converged: bool = False
    loss_history: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    """Wall time of each training epoch as this party saw it."""
    best_iteration: int = -1
    """The validation epoch whose weights the model keeps (early stopping), else -1."""
    validation: list[dict[str, float | None]] = field(default_factory=list)
    """The guest's validation metrics, one dict per validation (with its ``iteration``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for model storage."""
        return {
            "role": self.role,
            "weights": self.weights.tolist(),
            "intercept": self.intercept,
            "n_iter": self.n_iter,
            "converged": self.converged,
            "loss_history": list(self.loss_history),
            "epoch_seconds": list(self.epoch_seconds),
            "best_iteration": self.best_iteration,
            "validation": [dict(v) for v in self.validation],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeteroLRModel:
        """Inverse of :meth:`to_dict`."""
        return cls(
            role=str(data["role"]),
            weights=np.asarray(data["weights"], dtype=np.float64),
            intercept=float(data.get("intercept", 0.0)),
            n_iter=int(data.get("n_iter", 0)),
            converged=bool(data.get("converged", False)),
            loss_history=[float(x) for x in data.get("loss_history", [])],
            epoch_seconds=[float(x) for x in data.get("epoch_seconds", [])],
            best_iteration=int(data.get("best_iteration", -1)),
            validation=[
                {str(k): None if v is None else float(v) for k, v in row.items()}
                for row in data.get("validation", [])
            ],
        )


def check_features(x: ArrayLike, what: str = "features") -> NDArray[np.float64]:
    """A finite 2-D float matrix, or a ValueError naming the first bad cell."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{what} must be a 2-D matrix, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{what} has no rows")
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        row, col = bad[0]
        raise ValueError(
            f"{what}[{row}, {col}] is {arr[row, col]}; features must be finite (fill missing "
            "values with DataTransform's missing_fill or FeatureImputation)"
        )
    return arr


def check_topology(ctx: Context, param: HeteroLRParam, family: Family) -> None:
    """Refuse set-ups the protocol cannot run, identically at every party."""
    if ctx.parties.guest is None or ctx.parties.arbiter is None or not ctx.parties.hosts:
        raise ValueError("the protocol needs one guest, at least one host and an arbiter")
    if family.single_host and len(ctx.parties.hosts) > 1:
        raise ValueError(
            f"the {family.name} model needs exactly one host: exp(z_h1 + z_h2) would be a "
            "product of two hosts' ciphertexts, which additive encryption cannot form"
        )
    if param.optimizer == "sqn" and not family.supports_sqn:
        raise ValueError(
            f"the sqn optimizer is not available for the {family.name} model: its Hessian "
            "weighs rows by their prediction, a product of two encrypted values"
        )
    if param.needs_loss and len(ctx.parties.hosts) > 1:
        raise ValueError(
            f"early_stop={param.early_stop!r} needs the loss, which the protocol computes with "
            "one host only; with several hosts use early_stop='weight_diff' (as FATE does)"
        )


def expect(value: object, kind: type[T], what: str, peer: PartyHandle) -> T:
    """Type-check a value received from a peer, naming the peer and message when it is wrong."""
    if not isinstance(value, kind):
        raise FederationError(
            f"{peer.party} sent {type(value).__name__} as {what!r}; expected {kind.__name__}"
        )
    return value


def row_sets(
    value: object, rows: int, what: str, peer: PartyHandle
) -> tuple[list[NDArray[np.int64]], NDArray[np.int64]]:
    """A peer's list of row-position arrays (batches, folds), each checked to be integers in
    ``0..rows-1``; with how often each row occurs."""
    if not isinstance(value, list):
        raise FederationError(f"{peer.party} sent {type(value).__name__} as {what!r}")
    seen = np.zeros(rows, dtype=np.int64)
    for part in value:
        if not isinstance(part, np.ndarray) or part.dtype.kind not in "iu" or part.ndim != 1:
            raise FederationError(f"{peer.party} sent malformed {what}")
        if part.size and (part.min() < 0 or part.max() >= rows):
            raise FederationError(f"{peer.party} sent {what} rows outside 0..{rows - 1}")
        np.add.at(seen, part.astype(np.int64), 1)
    return [part.astype(np.int64) for part in value], seen


def expect_cipher(
    value: object, key: PublicKey, size: int, what: str, peer: PartyHandle
) -> CipherVector:
    """A CipherVector under ``key`` with ``size`` elements, or a FederationError.

    The vector is rebound to ``key`` itself, so that arithmetic on it runs on this party's
    backend (the wire decoder attaches the key object it knows, an equal key).
    """
    vector = expect(value, CipherVector, what, peer)
    if vector.public_key != key or len(vector) != size:
        raise FederationError(
            f"{peer.party} sent {what!r} with {len(vector)} values under "
            f"{vector.public_key!r}; expected {size} under {key!r}"
        )
    if vector.public_key is key:
        return vector
    return CipherVector(key, vector.ciphertexts, vector.frac_bits, vector.bound_bits)


def exchange_gradient(
    ctx: Context, key: PublicKey, gradient: CipherVector, masking: bool
) -> NDArray[np.float64]:
    """Have the arbiter decrypt ``gradient`` behind a random mask; return it in clear.

    Each value is masked statistically (the arbiter learns it with probability 2**-80 at most)
    and the masked values are packed several to a ciphertext, so the arbiter decrypts
    ⌈m / slots⌉ ciphertexts instead of m. ``masking=False`` exists solely so tests can show that
    masking does not change the trained model.
    """
    if not masking:
        ctx.arbiter.put("gradient", gradient.rerandomize())
        raw = _decrypted(ctx, key, len(gradient))
        return key.codec.decode(raw.elements, raw.frac_bits)
    mask = key.new_mask(len(gradient), bound_bits=gradient.bound_bits)
    slot_bits = mask.masked_bits
    assert slot_bits is not None  # masks drawn with bound_bits are statistical
    packed, layout = pack(mask.apply(gradient), slot_bits)
    ctx.arbiter.put("gradient", packed.rerandomize())
    return mask.remove(unpack(_decrypted(ctx, key, layout.packed_len), layout))


def _decrypted(ctx: Context, key: PublicKey, size: int) -> RawPlaintexts:
    raw = expect(ctx.arbiter.get("gradient_plain"), RawPlaintexts, "gradient_plain", ctx.arbiter)
    if raw.public_key != key or len(raw) != size:
        raise FederationError("the arbiter returned decrypted values of the wrong key or size")
    return raw


def receive_public_key(ctx: Context, backend: Backend = "fedloom") -> PublicKey:
    """The arbiter's public key for this fit, computed locally by ``backend``."""
    key = ctx.arbiter.get("pubkey")
    if not isinstance(key, PublicKey):
        raise FederationError(f"{ctx.arbiter.party} sent {type(key).__name__} as the public key")
    return with_backend(key, backend)


def end_epoch(
    ctx: Context,
    param: HeteroLRParam,
    model: HeteroLRModel,
    step: NDArray[np.float64],
    started: float,
) -> bool:
    """Close an epoch at a guest or host: report ‖Δw‖² if asked, learn whether to stop.

    ``step`` is this party's weight change over the epoch; ``model`` records the epoch count,
    its wall time since ``started`` (a ``time.perf_counter()`` reading) and the arbiter's
    convergence decision, which is returned.
    """
    if param.early_stop == "weight_diff":
        ctx.arbiter.put("weight_diff_sq", float(np.sum(step * step)))
    model.n_iter += 1
    model.converged = expect(ctx.arbiter.get("converged"), bool, "converged", ctx.arbiter)
    model.epoch_seconds.append(time.perf_counter() - started)
    return model.converged


def send_setup(ctx: Context, start: int, validate: bool) -> None:
    """Guest: tell hosts and arbiter the first epoch (warm start) and whether it validates."""
    setup = {"start": start, "validate": validate}
    ctx.hosts.put("setup", setup)
    ctx.arbiter.put("setup", setup)


def receive_setup(
    ctx: Context, warm_start: HeteroLRModel | None, *, needs_model: bool = True
) -> tuple[int, bool]:
    """Host or arbiter: the guest's (first epoch, validates), checked against ``warm_start``.

    Without ``needs_model`` (the arbiter, whose model holds only the loss history) a party
    without a warm-start model follows the guest's first epoch.
    """
    setup = expect(ctx.guest.get("setup"), dict, "setup", ctx.guest)
    start, validate = setup.get("start"), setup.get("validate")
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise FederationError(f"{ctx.guest.party} sent a bad first epoch")
    if not isinstance(validate, bool):
        raise FederationError(f"{ctx.guest.party} sent a bad validation flag")
    own = warm_start.n_iter if warm_start is not None else 0
    if start != own and (warm_start is not None or needs_model):
        raise ValueError(
            f"the guest continues training from epoch {start}, this party's model from {own}: "
            "warm starts need every party's model of the same training job"
        )
    return start, validate


def warm_weights(warm_start: HeteroLRModel | None, width: int, what: str) -> NDArray[np.float64]:
    """The weights a warm start continues from, checked against ``width`` features."""
    assert warm_start is not None
    if warm_start.weights.size != width:
        raise ValueError(
            f"the {what} model has {warm_start.weights.size} weights, the data {width} features"
        )
    return np.asarray(warm_start.weights, dtype=np.float64).copy()


def send_partial_scores(ctx: Context, x: NDArray[np.float64], weights: NDArray[np.float64]) -> None:
    """Host: send ``x·w`` (this host's share of the linear predictor) to the guest."""
    ctx.guest.put("partial_score", x @ weights)


def add_partial_scores(ctx: Context, z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Guest: ``z`` plus every host's partial score for the same rows."""
    for host, part in zip(ctx.hosts, ctx.hosts.get("partial_score"), strict=True):
        scores = expect(part, np.ndarray, "partial_score", host)
        if scores.shape != z.shape or scores.dtype != np.float64:
            raise ValueError(f"{host.party} scored {scores.shape} rows, the guest {z.shape}")
        z = z + scores
    return z


def validation_stop(ctx: Context) -> bool:
    """Host or arbiter: the guest's decision after a validation (the only result it shares)."""
    return expect(ctx.guest.get("validation_stop"), bool, "validation_stop", ctx.guest)


def best_iteration(ctx: Context) -> int:
    """Host or arbiter: which validated epoch's weights the model keeps (-1: the last ones)."""
    best = expect(ctx.guest.get("best_iteration"), int, "best_iteration", ctx.guest)
    return int(best)


TASKS = ("fit", "predict", "cv")
"""What a GLM task does: train (from scratch or a warm start), predict with a saved model, or
cross-validate (``models`` is then the number of folds)."""


def announce_task(ctx: Context, task: str, models: int = 1) -> None:
    """Guest: tell the hosts and the arbiter (if the job has one) whether this task fits or
    predicts, and how many models (one-vs-rest: one per class; class values stay private)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}")
    message = {"task": task, "models": models}
    ctx.hosts.put("task", message)
    if ctx.parties.arbiter is not None:
        ctx.arbiter.put("task", message)


def await_task(ctx: Context) -> tuple[str, int]:
    """Host or arbiter: the guest's announcement (task, number of models)."""
    message = expect(ctx.guest.get("task"), dict, "task", ctx.guest)
    task, models = message.get("task"), message.get("models")
    if task not in TASKS or not isinstance(models, int) or isinstance(models, bool):
        raise FederationError(f"{ctx.guest.party} announced a malformed task")
    if not 1 <= models <= MAX_MODELS:
        raise FederationError(f"{ctx.guest.party} announced {models} models")
    return str(task), models


MAX_MODELS = 1000
"""The most sub-models (one-vs-rest classes) a party accepts to train."""
