"""Tasks admit peers' public keys according to the site's FEDLOOM_MIN_KEY_LENGTH."""

from __future__ import annotations

import pytest

from services.executor.task_main import MIN_KEY_LENGTH_ENV, key_policy

pytestmark = pytest.mark.unit


def test_default_policy_is_2048_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIN_KEY_LENGTH_ENV, raising=False)
    ring = key_policy()
    assert ring.min_key_length == 2048 and not ring.allow_plain


def test_site_can_lower_it_for_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MIN_KEY_LENGTH_ENV, "1024")
    assert key_policy().min_key_length == 1024


@pytest.mark.parametrize(("value", "message"), [("abc", "number of bits"), ("256", "512-bit")])
def test_bad_values_are_named(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv(MIN_KEY_LENGTH_ENV, value)
    with pytest.raises(ValueError, match=message):
        key_policy()
