"""Pieces both sides of HeteroPearson share: standardising, local correlation and VIF, checks.

Pearson's r of columns a and b is ``z_aᵀ z_b / n`` where ``z = (x − mean) / std`` (population
std): each party standardises its own columns, and only the cross products ``Z_gᵀ Z_h`` need
both parties (:mod:`.guest`, :mod:`.host`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from fedloom.crypto import PrivateKey, PublicKey

Matrix = NDArray[np.float64]
KeyGen = Callable[[int], tuple[PublicKey, PrivateKey]]
EXTRA_CONSTRAINTS = 2
"""Equations each party knows about its own standardised columns (mean 0, variance 1)."""


class PearsonError(ValueError):
    """The correlation cannot be computed safely or a peer's message is malformed; the message
    carries no values, ids or column names."""


@dataclass
class PearsonResult:
    """One party's outcome: its local correlations (and VIF) and the cross correlations with
    the other party (rows: this party's columns; columns: the other party's), if computed."""

    local_corr: Matrix
    local_vif: Matrix | None = None
    corr: Matrix | None = None
    remote_columns: list[int] = field(default_factory=list)
    """The other party's column positions (in its own table) of ``corr``'s columns."""


def standardize(x: Matrix) -> tuple[Matrix, NDArray[np.bool_]]:
    """``(x − mean) / std`` per column (population std), and which columns are constant
    (standardised to 0; their correlations are undefined)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"Pearson needs a non-empty 2-D matrix, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("Pearson needs finite values in every selected column (impute first)")
    centred = x - x.mean(axis=0)
    std = np.sqrt(np.mean(centred**2, axis=0))
    constant = std <= 1e-12 * np.maximum(1.0, np.abs(x).max(axis=0))
    z = np.where(constant, 0.0, centred / np.where(constant, 1.0, std))
    return z, constant


def local_correlation(z: Matrix, constant: NDArray[np.bool_]) -> Matrix:
    """The correlation matrix of standardised columns; NaN where a column is constant."""
    corr = (z.T @ z) / z.shape[0]
    np.fill_diagonal(corr, 1.0)
    corr[constant, :] = np.nan
    corr[:, constant] = np.nan
    clipped: Matrix = np.clip(corr, -1.0, 1.0)
    return clipped


def vif(corr: Matrix) -> Matrix:
    """Variance inflation factor of each column: the diagonal of the inverse correlation
    matrix of the non-constant columns (``1 / (1 − R²)``); NaN for a constant column,
    infinity for a column that the others determine exactly."""
    out = np.full(corr.shape[0], np.nan)
    usable = ~np.isnan(np.diag(corr))
    if not usable.any():
        return out
    sub = corr[np.ix_(usable, usable)]
    if np.linalg.matrix_rank(sub) < sub.shape[0]:
        inverse_diag = np.full(sub.shape[0], np.inf)
        pinv = np.linalg.pinv(sub)
        # columns outside every exact dependency keep their finite VIF
        free = np.abs(sub @ pinv - np.eye(sub.shape[0])).max(axis=0) < 1e-8
        inverse_diag[free] = np.diag(pinv)[free]
    else:
        inverse_diag = np.diag(np.linalg.inv(sub))
    out[usable] = inverse_diag
    return out


def check_rows(rows: int, peer_columns: int) -> None:
    """Refuse when the revealed cross products would let the peer solve for this party's
    standardised columns (no more rows than the peer's columns plus two constraints)."""
    if rows <= peer_columns + EXTRA_CONSTRAINTS:
        raise PearsonError(
            "too few rows for a safe cross-party correlation: the products revealed would "
            "determine a party's standardised columns; use more rows than the other party has "
            "features plus two"
        )


def check_peer_shape(value: object) -> tuple[int, list[int]]:
    """The peer's ``[rows, column positions]`` message, validated."""
    if not isinstance(value, list) or len(value) != 2:
        raise PearsonError("malformed shape message from the peer")
    rows, columns = value
    if not isinstance(rows, int) or rows < 0 or not isinstance(columns, list):
        raise PearsonError("malformed shape message from the peer")
    if not all(isinstance(c, int) and c >= 0 for c in columns) or len(set(columns)) != len(columns):
        raise PearsonError("malformed column positions from the peer")
    if not columns:
        raise PearsonError("the peer selected no columns for the correlation")
    return rows, columns
