"""A host's side of a federated selection filter: it sends the positions (in its own table)
of its columns still in play and receives the ones the guest keeps. It learns only that
choice; the guest learns the positions, never names or values."""

from __future__ import annotations

from fedloom.federation import Context


class SelectionError(ValueError):
    """A peer's selection message is malformed; the message carries no names or values."""


def check_positions(value: object) -> list[int]:
    """A list of distinct non-negative column positions, in increasing order."""
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise SelectionError("malformed column positions from a peer")
    if len(set(value)) != len(value):
        raise SelectionError("repeated column positions from a peer")
    return sorted(value)


def federated_choice(ctx: Context, left: list[int]) -> list[int]:
    """Send ``left`` (positions of this host's columns in play) and return the kept subset."""
    ctx.guest.put("left", sorted(left))
    kept = check_positions(ctx.guest.get("keep"))
    if not set(kept) <= set(left):
        raise SelectionError("the guest kept a column this host does not have in play")
    return kept
