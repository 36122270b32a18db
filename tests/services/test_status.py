"""The status transition table: every status change of jobs and tasks goes through it."""

from __future__ import annotations

import pytest

from services.common.status import (
    TERMINAL,
    TRANSITIONS,
    InvalidTransition,
    Status,
    allowed,
    check_transition,
    is_terminal,
    parse_status,
)

pytestmark = pytest.mark.unit


def test_final_statuses_never_change() -> None:
    for final in TERMINAL:
        assert TRANSITIONS[final] == frozenset()
        for other in Status:
            assert not allowed(final, other)


def test_waiting_and_running_moves() -> None:
    assert allowed("waiting", "running")
    assert allowed("running", "success")
    assert allowed("waiting", "canceled")
    assert not allowed("running", "waiting")
    assert not allowed("running", "running")


def test_check_transition_names_the_change() -> None:
    assert check_transition("job 1", "running", "failed") is Status.FAILED
    with pytest.raises(InvalidTransition, match="job 1 cannot go from success to running"):
        check_transition("job 1", "success", "running")


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown status 'done'"):
        parse_status("done")
    with pytest.raises(ValueError, match="unknown status"):
        allowed("waiting", "done")
    assert is_terminal("timeout") and not is_terminal("waiting")
