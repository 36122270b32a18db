"""Job and task statuses (FATE's names) and the one table of the changes allowed between them.

Every status change of a stored job or task goes through :func:`check_transition` (the job
store calls it), so no code path can move a finished job back to ``running`` or a task from
``failed`` to ``success``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Status(StrEnum):
    """A job's or a task's status, spelled as FATE spells it."""

    WAITING = "waiting"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMEOUT = "timeout"


TERMINAL: frozenset[Status] = frozenset(
    {Status.SUCCESS, Status.FAILED, Status.CANCELED, Status.TIMEOUT}
)
"""Statuses that never change again."""

_ENDINGS = frozenset(TERMINAL)

TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.WAITING: frozenset({Status.RUNNING, *_ENDINGS}),
    Status.RUNNING: _ENDINGS,
    Status.SUCCESS: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELED: frozenset(),
    Status.TIMEOUT: frozenset(),
}
"""Status → the statuses it may move to (jobs and tasks alike)."""


class InvalidTransition(ValueError):
    """A status change the transition table does not allow."""


def parse_status(value: str) -> Status:
    """The :class:`Status` spelled ``value``; ValueError naming the known statuses otherwise."""
    try:
        return Status(value)
    except ValueError:
        known = ", ".join(s.value for s in Status)
        raise ValueError(f"unknown status {value!r}; expected one of {known}") from None


def allowed(current: str, new: str) -> bool:
    """Whether a job or task in ``current`` may move to ``new`` (staying put is not a move)."""
    return parse_status(new) in TRANSITIONS[parse_status(current)]


def check_transition(what: str, current: str, new: str) -> Status:
    """``new`` as a :class:`Status` if ``current → new`` is allowed; InvalidTransition otherwise."""
    if not allowed(current, new):
        raise InvalidTransition(f"{what} cannot go from {current} to {new}")
    return Status(new)


def is_terminal(value: str) -> bool:
    """Whether ``value`` is a final status."""
    return parse_status(value) in TERMINAL
