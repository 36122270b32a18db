"""Example datasets generated locally (no downloads), written in FATE's CSV format.

Used by the demo and the benchmarks. ``make_breast_split`` needs scikit-learn (a dev/bench
extra) for its bundled copy of the breast-cancer data.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


def write_fate_csv(
    path: Path,
    ids: list[str],
    features: NDArray[np.float64],
    labels: NDArray[np.float64] | None = None,
) -> None:
    """Write ``id[,y],x0,...`` with full float precision."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        header = ["id"] + (["y"] if labels is not None else [])
        writer.writerow(header + [f"x{j}" for j in range(features.shape[1])])
        for i, sample_id in enumerate(ids):
            head = [sample_id] + ([str(int(labels[i]))] if labels is not None else [])
            writer.writerow(head + [repr(float(v)) for v in features[i]])


def make_breast_split(
    out_dir: Path, seed: int = 42, guest_features: int = 10, share: float = 0.85
) -> tuple[Path, Path]:
    """Split scikit-learn's bundled breast-cancer data vertically, as FATE's breast_hetero.

    Features are z-scored (as FATE's example files are). The guest keeps the label and the
    first ``guest_features`` columns, the host the rest. Each party holds a random ``share``
    of the 569 ids, so only part of the ids is shared (about share² of them).
    """
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    rng = np.random.default_rng(seed)
    ids = np.array([f"id{i}" for i in range(len(y))])
    guest_rows = np.sort(rng.choice(len(y), int(share * len(y)), replace=False))
    host_rows = np.sort(rng.choice(len(y), int(share * len(y)), replace=False))
    guest_path, host_path = out_dir / "breast_hetero_guest.csv", out_dir / "breast_hetero_host.csv"
    write_fate_csv(guest_path, list(ids[guest_rows]), x[guest_rows, :guest_features], y[guest_rows])
    write_fate_csv(host_path, list(ids[host_rows]), x[host_rows, guest_features:])
    return guest_path, host_path


def make_synthetic_split(
    out_dir: Path, rows: int, guest_features: int, host_features: int, seed: int = 42
) -> tuple[Path, Path]:
    """A credit-like vertical split of the given shape, written as FATE CSVs.

    Columns mix heavy-tailed amounts (log-normal), small ordinal codes and Gaussian scores,
    with correlated blocks; the label follows a logistic model with a ~22 % positive rate (as
    credit-default data). Guest and host each hold a random 95 % of the ids.
    """
    rng = np.random.default_rng(seed)
    width = guest_features + host_features
    latent = rng.normal(size=(rows, 4))
    columns = []
    for j in range(width):
        mix = latent[:, j % 4] + 0.7 * rng.normal(size=rows)
        match j % 3:
            case 0:
                columns.append(np.exp(1.0 + 0.8 * mix))
            case 1:
                columns.append(np.clip(np.round(1.5 + mix), -2, 8))
            case _:
                columns.append(mix)
    x = np.column_stack(columns)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    weights = rng.normal(scale=0.6, size=width) * (rng.random(width) < 0.7)
    logits = z @ weights - 1.5 + 0.3 * rng.normal(size=rows)
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logits))).astype(np.float64)
    ids = np.array([f"u{i}" for i in range(rows)])
    guest_rows = np.sort(rng.choice(rows, int(0.95 * rows), replace=False))
    host_rows = np.sort(rng.choice(rows, int(0.95 * rows), replace=False))
    stem = f"synthetic_{rows}x{guest_features}+{host_features}"
    guest_path, host_path = out_dir / f"{stem}_guest.csv", out_dir / f"{stem}_host.csv"
    write_fate_csv(guest_path, list(ids[guest_rows]), x[guest_rows, :guest_features], y[guest_rows])
    write_fate_csv(host_path, list(ids[host_rows]), x[host_rows, guest_features:])
    return guest_path, host_path
