"""A host's side of a sampling protocol: prove nothing but that it holds the guest's ids
(a digest of the id set), then check and follow the guest's row positions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fedloom.federation import Context, FederationError
from fedloom.ml.sampling._common import id_digest


@dataclass(frozen=True)
class PartRules:
    """What a host accepts from the guest.

    ``count`` parts; ``partition``: every row in exactly one part (a split); else
    ``distinct``: no row twice within a part (downsampling); ``sizes``: the exact size of
    each part when the host can compute it from the shared parameters; ``max_rows``: the
    most rows all parts may hold together (upsampling).
    """

    count: int
    partition: bool = False
    distinct: bool = True
    sizes: tuple[int, ...] | None = None
    max_rows: int | None = None


def follow_parts(ctx: Context, ids: list[str], rules: PartRules) -> list[NDArray[np.int64]]:
    """The guest's parts as positions in this host's sorted-id order, each sorted, checked
    against ``rules``; a FederationError (naming no id) when they break them."""
    rows = len(ids)
    ctx.guest.put("id_digest", id_digest(ids))
    aligned = ctx.guest.get("aligned")
    if aligned is not True:
        raise ValueError("this host's table does not hold the guest's ids: intersect first")
    value = ctx.guest.get("parts")
    peer = ctx.guest.party
    if not isinstance(value, list) or len(value) != rules.count:
        raise FederationError(f"{peer} sent malformed parts")
    parts: list[NDArray[np.int64]] = []
    seen = np.zeros(rows, dtype=np.int64)
    for part in value:
        if not isinstance(part, np.ndarray) or part.dtype.kind not in "iu" or part.ndim != 1:
            raise FederationError(f"{peer} sent malformed parts")
        positions = part.astype(np.int64)
        if positions.size and (positions.min() < 0 or positions.max() >= rows):
            raise FederationError(f"{peer} sent rows outside 0..{rows - 1}")
        if np.any(np.diff(positions) < 0):
            raise FederationError(f"{peer} sent a part that is not sorted")
        if rules.distinct and np.any(np.diff(positions) == 0):
            raise FederationError(f"{peer} sent a part with a row twice")
        np.add.at(seen, positions, 1)
        parts.append(positions)
    if rules.partition and not np.all(seen == 1):
        raise FederationError(f"{peer} sent parts that do not hold every row once")
    if rules.sizes is not None and tuple(p.size for p in parts) != rules.sizes:
        raise FederationError(f"{peer} sent parts of other sizes than the parameters give")
    if rules.max_rows is not None and int(seen.sum()) > rules.max_rows:
        raise FederationError(f"{peer} sent more rows than the parameters allow")
    return parts
