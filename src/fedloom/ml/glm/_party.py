"""What the guest and the hosts of a GLM share: configuration, masking, the fitted model."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fedloom.ml.glm._common import HeteroLRModel, check_features
from fedloom.ml.glm.family import Family
from fedloom.ml.glm.params import HeteroLRParam


class GlmParty:
    """A data-holding role of a GLM; subclasses set ``family``.

    ``masking=False`` exists solely so tests can show that masking does not change the model.
    """

    family: ClassVar[Family]

    def __init__(self, param: HeteroLRParam | None = None, *, masking: bool = True) -> None:
        self.param = param or HeteroLRParam()
        self.masking = masking
        self.model: HeteroLRModel | None = None

    def _scoring(
        self, x: ArrayLike, model: HeteroLRModel | None, what: str
    ) -> tuple[NDArray[np.float64], HeteroLRModel]:
        """The rows to score, checked against ``model`` (or the fitted one)."""
        model = model or self.model
        if model is None:
            raise ValueError("predict needs a fitted or loaded model")
        features = check_features(x, what)
        if features.shape[1] != model.weights.size:
            raise ValueError(
                f"{what} have {features.shape[1]} columns, the model {model.weights.size}"
            )
        return features, model
