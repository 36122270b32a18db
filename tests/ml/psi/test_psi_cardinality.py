"""cardinality_only: the guest learns |∩| and nothing from which ids or positions follow."""

from __future__ import annotations

import numpy as np
import pytest
from options_support import guest_of, hosts_of, ids, params, party, run, tags, values
from psi_support import leaks, unkeyed
from pydantic import ValidationError

from fedloom.crypto import x25519
from fedloom.federation import PartyFailed

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("method", ["ecdh", "dh"])
@pytest.mark.parametrize("sync", [False, True])
def test_the_guest_learns_the_count_only(method: str, sync: bool) -> None:
    shared = ids("shared", 0, 23)
    guest = ids("guest-only", 0, 30) + shared
    host = ids("host-only", 0, 17) + shared[::-1]
    p = params(intersect_method=method, cardinality_only=True, sync_cardinality=sync)
    result = run(p, guest, [host], batch_size=16)
    g_res, (h_res,) = guest_of(result), hosts_of(result)
    assert g_res.count == 23 and g_res.cardinality == 23
    assert g_res.ids is None and g_res.positions is None and not g_res.known
    assert h_res.ids is None and h_res.positions is None
    assert h_res.count == (23 if sync else None)

    g, h = party(result, "guest"), party(result, "host")
    # what crosses: no positions, no intersection; the host gets the count only with sync
    assert not any("intersect_positions" in t for t in tags(result, h) | tags(result, g))
    assert ("intersect_cardinality" in tags(result, h)) == sync
    assert leaks(result, g, unkeyed(host, [])) == []
    assert leaks(result, h, unkeyed(guest, [])) == []


def test_replies_are_shuffled_over_the_whole_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guest cannot tell which of its ids matched: the host answers its queries in a
    secret order over all batches. With both secrets captured, this test can see where each
    guest id's answer went; the guest cannot."""
    secrets_made: list[bytes] = []
    original = x25519.generate_secret

    def spy() -> bytes:
        secrets_made.append(original())
        return secrets_made[-1]

    monkeypatch.setattr(x25519, "generate_secret", spy)
    guest = ids("u", 0, 64)
    host = ids("u", 0, 8)  # the shared ids are the guest's first 8, all in its first batch
    p = params(intersect_method="ecdh", cardinality_only=True)
    result = run(p, guest, [host], batch_size=16)
    assert guest_of(result).count == 8
    host_secret, guest_secret = secrets_made  # the host keys first, before its hello
    replies = values(result, party(result, "guest"), "/reply")
    assert [len(r) for r in replies] == [16, 16, 16, 16]
    points = x25519.hash_to_points([x.encode() for x in guest])
    doubly = x25519.mask(host_secret, x25519.mask(guest_secret, points))
    where = {bytes(row): i for i, row in enumerate(np.concatenate(replies))}
    landed = [where[bytes(row)] for row in doubly]
    assert sorted(landed) == list(range(64))  # a permutation of the guest's queries
    assert landed != list(range(64))
    assert len({i // 16 for i in landed[:8]}) > 1  # the first batch's answers are spread out


def test_rsa_cardinality_and_combinations_are_refused() -> None:
    with pytest.raises(ValidationError, match="learn which of its ids match"):
        params(intersect_method="rsa", cardinality_only=True)
    with pytest.raises(ValidationError, match="Bloom filter reveals"):
        params(intersect_method="ecdh", cardinality_only=True, preprocess={})
    with pytest.raises(ValidationError, match="cardinality_only runs only"):
        params(sync_cardinality=True)


def test_cardinality_needs_one_host_and_matching_params() -> None:
    p = params(intersect_method="ecdh", cardinality_only=True)
    with pytest.raises(PartyFailed, match="exactly one host"):
        run(p, ["a"], [["a"], ["a"]])
    with pytest.raises(PartyFailed, match="cardinality_only") as info:
        run(p, ["a"], [["a"]], host_params=params(intersect_method="ecdh"))
    assert info.value.party.role == "guest"
