"""Model files of the GLM modules (HeteroLR, HeteroLinR, HeteroPoisson) with FATE's names.

Each party's file holds only its own part::

    {"module": "HeteroLR", "role": "guest" | "host" | "arbiter", "party_id": 9999,
     "model_meta": {FATE LRModelMeta / LinRModelMeta names: "module", "penalty", "tol",
                    "alpha", "optimizer", "batch_size", "learning_rate", "max_iter",
                    "early_stop", "fit_intercept", "need_one_vs_rest", ...},
     "model_param": {FATE LRModelParam names: "iters", "loss_history", "is_converged",
                     "best_iteration", and at the guest and hosts "header" and "weight"
                     (feature name → weight); the guest's also "intercept"}}

A host's part carries its own weights only (no intercept, no predictions, no labels); the
arbiter's carries the iteration count, convergence and the loss history. One-vs-rest models
(HeteroLR with more than two classes) keep FATE's layout: ``model_param.one_vs_rest_result``
= ``{"completed_models": [one model_param per class], "one_vs_rest_classes": [...]}``. Only
the guest knows the class values; hosts and the arbiter list the classes' positions
(``"0"``, ``"1"``, ...), which is all they learn (the number of classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.components.base import ComponentError, TaskCall
from fedloom.components.io import load_model
from fedloom.data import Table
from fedloom.ml.hetero_lr import HeteroLRModel


@dataclass(frozen=True)
class LoadedModel:
    """A party's part of a saved GLM model: one sub-model per class for one-vs-rest."""

    header: list[str]
    models: list[HeteroLRModel]
    classes: list[str]
    meta: dict[str, Any]


def model_param(model: HeteroLRModel, header: list[str] | None, role: str) -> dict[str, Any]:
    """FATE's ``model_param`` of one (sub-)model at ``role``."""
    param: dict[str, Any] = {
        "iters": int(model.n_iter),
        "loss_history": [float(v) for v in model.loss_history],
        "is_converged": bool(model.converged),
        "best_iteration": int(model.best_iteration),
    }
    if header is not None:
        param["header"] = list(header)
        param["weight"] = {
            name: float(w) for name, w in zip(header, model.weights.tolist(), strict=True)
        }
    if role == "guest":
        param["intercept"] = float(model.intercept)
    return param


def model_document(
    call: TaskCall,
    meta: dict[str, Any],
    models: list[HeteroLRModel],
    header: list[str] | None,
    classes: list[str] | None = None,
) -> dict[str, Any]:
    """A party's model file: ``models`` holds one model, or one per class for one-vs-rest."""
    params = [model_param(m, header, call.role) for m in models]
    if classes is None:
        body = params[0]
    else:
        first = params[0]
        body = {
            "iters": max(p["iters"] for p in params),
            "loss_history": [],
            "is_converged": all(p["is_converged"] for p in params),
            "best_iteration": -1,
            **({"header": first["header"]} if header is not None else {}),
            "one_vs_rest_result": {
                "completed_models": params,
                "one_vs_rest_classes": list(classes),
            },
        }
    return {
        "module": call.module,
        "role": call.role,
        "party_id": call.party_id,
        "model_meta": {**meta, "need_one_vs_rest": classes is not None},
        "model_param": body,
    }


def load_glm_model(call: TaskCall, path: Path) -> LoadedModel:
    """This party's part of a saved model of ``call.module``; ComponentError if it is not."""
    document = load_model(path)
    where = f"{call.module} model input"
    if document.get("module") != call.module:
        raise ComponentError(f"{where} is a {document.get('module')!r} model, not {call.module}")
    if document.get("role") != call.role:
        raise ComponentError(
            f"{where} is the {document.get('role')!r}'s part, not the {call.role}'s"
        )
    meta, body = document.get("model_meta"), document.get("model_param")
    if not isinstance(meta, dict) or not isinstance(body, dict):
        raise ComponentError(f"{where} has no model_meta / model_param objects")
    header = body.get("header", [])
    if call.role != "arbiter" and (
        not isinstance(header, list) or not all(isinstance(h, str) for h in header)
    ):
        raise ComponentError(f"{where}: model_param.header must be a list of names")
    ovr = body.get("one_vs_rest_result")
    if meta.get("need_one_vs_rest"):
        if not isinstance(ovr, dict) or not isinstance(ovr.get("completed_models"), list):
            raise ComponentError(f"{where}: one_vs_rest_result.completed_models is missing")
        subs = [_sub_model(call, m, header, where) for m in ovr["completed_models"]]
        classes = [str(c) for c in ovr.get("one_vs_rest_classes", [])]
        if len(classes) != len(subs):
            raise ComponentError(f"{where}: {len(subs)} models for {len(classes)} classes")
        return LoadedModel(list(header), subs, classes, meta)
    return LoadedModel(list(header), [_sub_model(call, body, header, where)], [], meta)


def _sub_model(call: TaskCall, body: object, header: list[str], where: str) -> HeteroLRModel:
    if not isinstance(body, dict):
        raise ComponentError(f"{where}: a model_param must be an object")
    try:
        weights = np.zeros(0)
        if call.role != "arbiter":
            weight = body["weight"]
            if not isinstance(weight, dict) or set(weight) != set(header):
                raise ComponentError(f"{where}: model_param.weight must name each header column")
            weights = np.asarray([float(weight[h]) for h in header], dtype=np.float64)
        return HeteroLRModel(
            role=call.role,
            weights=weights,
            intercept=float(body.get("intercept", 0.0)),
            n_iter=int(body["iters"]),
            converged=bool(body.get("is_converged", False)),
            loss_history=[float(v) for v in body.get("loss_history", [])],
            best_iteration=int(body.get("best_iteration", -1)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ComponentError):
            raise
        raise ComponentError(f"{where}: bad model_param ({exc!r})") from None


def aligned(table: Table, header: list[str], what: str) -> NDArray[np.float64]:
    """``table``'s features in ``header``'s column order; ComponentError naming any mismatch."""
    missing = [h for h in header if h not in table.header]
    extra = [h for h in table.header if h not in header]
    if missing or extra or len(set(table.header)) != len(table.header):
        raise ComponentError(
            f"the {what} columns do not match the model's header: missing {missing}, "
            f"not in the model {extra}"
        )
    if table.header == header:
        return table.features
    return table.features[:, [table.header.index(h) for h in header]]
