"""The centralized reference for HeteroLR: scikit-learn on the joined rows (docs/benchmarks.md).

Needs scikit-learn (the ``bench``/``dev`` extra); only benchmarks and the demo call it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fedloom.ml.glm.params import HeteroLRParam


def centralized_scores(
    x: NDArray[np.float64], y: NDArray[np.float64], param: HeteroLRParam
) -> NDArray[np.float64]:
    """Training-set probabilities of LogisticRegression with the mapped penalty and budget."""
    from sklearn.linear_model import LogisticRegression

    kwargs: dict[str, Any] = {"max_iter": param.max_iter, "fit_intercept": True}
    if param.penalty is None or param.alpha == 0:
        kwargs["penalty"] = None
    elif param.penalty == "L2":
        kwargs.update(penalty="l2", C=1.0 / (param.alpha * len(y)))
    else:
        kwargs.update(penalty="l1", C=1.0 / (param.alpha * len(y)), solver="saga")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(**kwargs).fit(x, y)
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)
