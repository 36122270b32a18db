"""The guest's side of a federated selection filter (IV or correlation filters with
``select_federated``): it learns which of each host's columns are still in play (positions in
the host's table, never names or values) and tells each host which of them it keeps."""

from __future__ import annotations

from fedloom.federation import Context
from fedloom.ml.feature_selection.host import SelectionError, check_positions


def gather_left(ctx: Context) -> list[list[int]]:
    """Each host's positions still in play (job order)."""
    return [check_positions(value) for value in ctx.hosts.get("left")]


def send_keep(ctx: Context, left: list[list[int]], keep: list[list[int]]) -> None:
    """Tell each host the positions it keeps (a subset of its ``left``)."""
    if len(keep) != len(left):
        raise SelectionError("one decision per host is needed")
    for handle, had, kept in zip(ctx.hosts, left, keep, strict=True):
        if not set(kept) <= set(had):
            raise SelectionError("a host decision keeps a column the host does not have")
        handle.put("keep", sorted(set(kept)))
