"""The guest's draws: HeteroDataSplit's parts and FederatedSample's rows (numpy in, numpy out).

Positions index the rows in the parties' shared order (:func:`._common.sorted_order`); every
part is returned sorted ascending.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float64]
Positions = NDArray[np.int64]
Size = int | float | None


def split_sizes(rows: int, train: Size, validate: Size, test: Size) -> tuple[int, int, int]:
    """Row counts of the train, validate and test parts, FATE's rules.

    None everywhere means 0.8 / 0.2 / 0. Sizes are all fractions (floats in [0, 1]) or all
    row counts (ints); the ones given may not exceed the whole. What they leave goes to train
    when train is not given, else to test when test is not given, else to validate; any other
    size not given is 0. Fractions are rounded to rows; the part taking the remainder absorbs
    the rounding.
    """
    sizes: list[Size] = [train, validate, test]
    if all(s is None for s in sizes):
        sizes = [0.8, 0.2, 0.0]
    given = [s for s in sizes if s is not None]
    if len({type(s) for s in given}) > 1:
        raise ValueError("train_size, validate_size and test_size mix fractions and counts")
    fractions = isinstance(given[0], float)
    whole = 1.0 if fractions else rows
    if sum(given) > whole + 1e-9:
        raise ValueError(f"the sizes add up to {sum(given)}, more than {whole}")
    rest = next((i for i in (0, 2, 1) if sizes[i] is None), None)
    if rest is None:
        if fractions and abs(sum(given) - 1.0) > 1e-9:
            raise ValueError(f"the three fractions add up to {sum(given)}, not 1")
        rest = 0 if fractions else None
        if rest is None and sum(given) != rows:
            raise ValueError(f"the three counts add up to {sum(given)}, not the {rows} rows")
    counts = [0, 0, 0]
    for i, size in enumerate(sizes):
        if i != rest and size is not None:
            counts[i] = round(size * rows) if fractions else int(size)
    if rest is not None:
        counts[rest] = rows - sum(c for i, c in enumerate(counts) if i != rest)
        if counts[rest] < 0:
            raise ValueError("the sizes round to more rows than there are")
    return counts[0], counts[1], counts[2]


def strata(labels: Vector, split_points: list[float] | None) -> Vector:
    """The stratum of each row: its label, or its bin among ``split_points`` (bin i holds the
    values in ``(point[i-1], point[i]]``)."""
    if split_points is None:
        return labels
    points = np.sort(np.asarray(split_points, dtype=np.float64))
    return np.searchsorted(points, labels, side="left").astype(np.float64)


def draw_split(
    rows: int,
    counts: tuple[int, int, int],
    rng: np.random.Generator | None,
    groups: Vector | None = None,
) -> list[Positions]:
    """The train, validate and test positions: ``counts`` rows each, drawn with ``rng``
    (None: consecutive rows in order); with ``groups`` each group splits in the same
    proportions (rounded per group), so the counts are met approximately."""
    if groups is None:
        order = rng.permutation(rows) if rng is not None else np.arange(rows)
        a, b = counts[0], counts[0] + counts[1]
        return [np.sort(part).astype(np.int64) for part in (order[:a], order[a:b], order[b:])]
    if rng is None:
        raise ValueError("a stratified split needs shuffle (as scikit-learn's)")
    parts: list[list[Positions]] = [[], [], []]
    for value in np.unique(groups):
        members = rng.permutation(np.flatnonzero(groups == value))
        size = members.size
        n_val = min(round(size * counts[1] / rows), size)
        n_test = min(round(size * counts[2] / rows), size - n_val)
        cut = (size - n_val - n_test, size - n_test)
        parts[0].append(members[: cut[0]])
        parts[1].append(members[cut[0] : cut[1]])
        parts[2].append(members[cut[1] :])
    return [np.sort(np.concatenate(p)).astype(np.int64) for p in parts]


def draw_sample(
    rows: int,
    fractions: dict[float, float] | float,
    upsample: bool,
    rng: np.random.Generator,
    labels: Vector | None = None,
) -> Positions:
    """FederatedSample's rows: ``round(n·fraction)`` of them, distinct (downsample) or drawn
    with replacement (upsample); per class of ``labels`` with a fraction per class (a dict,
    stratified mode) or over all rows (a float, random mode). Sorted ascending."""
    if isinstance(fractions, float):
        groups = [(np.arange(rows, dtype=np.int64), fractions)]
    else:
        if labels is None:
            raise ValueError("stratified sampling needs the labels")
        missing = sorted({float(v) for v in np.unique(labels)} - set(fractions))
        if missing:
            raise ValueError(f"fractions give no rate for the label(s) {missing}")
        groups = [(np.flatnonzero(labels == value), f) for value, f in fractions.items()]
    drawn = []
    for members, fraction in groups:
        size = round(members.size * fraction)
        if not upsample and size > members.size:
            raise ValueError(f"downsampling cannot draw {size} of {members.size} rows")
        if members.size:
            drawn.append(rng.choice(members, size=size, replace=upsample))
    picked = np.concatenate(drawn) if drawn else np.zeros(0, dtype=np.int64)
    return np.sort(picked).astype(np.int64)
