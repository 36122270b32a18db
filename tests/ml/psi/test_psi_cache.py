"""Intersection caches: a run makes them, a later run against the same peer uses them."""

from __future__ import annotations

import numpy as np
import pytest
from options_support import guest_of, hosts_of, ids, params, party, run, tags, values

from fedloom.federation import HarnessResult, PartyFailed
from fedloom.ml.psi import IntersectionError, IntersectParam
from fedloom.ml.psi.cache import GuestCache, HostCache, from_arrays, to_arrays

pytestmark = pytest.mark.integration

METHODS = ["rsa", "ecdh", "dh"]


def _make(p: IntersectParam, guest: list[str], hosts: list[list[str]]) -> HarnessResult:
    return run(
        p,
        guest,
        hosts,
        guest_kwargs={"make_cache": True},
        host_kwargs=[{"make_cache": True} for _ in hosts],
    )


def _use(
    p: IntersectParam, guest: list[str], hosts: list[list[str]], made: HarnessResult
) -> HarnessResult:
    gc = from_arrays(to_arrays(guest_of(made).cache))  # through the file format
    hcs = [from_arrays(to_arrays(h.cache)) for h in hosts_of(made)]
    return run(
        p,
        guest,
        hosts,
        guest_kwargs={"cache": gc},
        host_kwargs=[{"cache": hc} for hc in hcs],
    )


@pytest.mark.parametrize("method", METHODS)
def test_a_cached_run_skips_the_hosts_own_ids(method: str) -> None:
    p = params(intersect_method=method)
    host_a, host_b = ids("u", 10, 80), ids("u", 30, 60) + ids("b", 0, 9)
    made = _make(p, ids("u", 0, 50), [host_a, host_b])
    assert guest_of(made).ids == ids("u", 30, 50)
    gcache = guest_of(made).cache
    assert isinstance(gcache, GuestCache) and set(gcache.entries) == {10000, 10001}
    assert all(isinstance(h.cache, HostCache) for h in hosts_of(made))

    later_guest = ids("u", 40, 75)  # the guest's ids may change, the hosts' may not
    used = _use(p, later_guest, [host_a, host_b], made)
    assert guest_of(used).ids == ids("u", 40, 60)
    assert [h.ids for h in hosts_of(used)] == [ids("u", 40, 60)] * 2
    g = party(used, "guest")
    assert values(used, g, "/values") == []  # the hosts sent no own values this time
    first_queries = values(made, party(made, "host"), "/query")
    again = values(used, party(used, "host"), "/query")
    # fresh guest randomness: no query value of the cached run repeats the first run's
    old = {bytes(r) for q in first_queries for r in q}
    assert not any(bytes(r) in old for q in again for r in q)
    old_replies = {bytes(r) for q in values(made, g, "/reply") for r in q}
    assert not any(bytes(r) in old_replies for q in values(used, g, "/reply") for r in q)


def test_the_cache_file_format_has_no_objects() -> None:
    made = _make(params(intersect_method="ecdh"), ids("u", 0, 5), [ids("u", 0, 5)])
    for cache in (guest_of(made).cache, hosts_of(made)[0].cache):
        arrays = to_arrays(cache)
        assert all(a.dtype != object for a in arrays.values())
        assert "meta" in arrays


@pytest.mark.parametrize("method", ["rsa", "ecdh"])
def test_a_cache_of_another_method_key_or_peer_is_refused(method: str) -> None:
    p = params(intersect_method=method)
    made = _make(p, ids("u", 0, 5), [ids("u", 0, 5)])
    gc, (hc,) = guest_of(made).cache, [h.cache for h in hosts_of(made)]
    other = "dh" if method == "rsa" else "rsa"
    with pytest.raises(PartyFailed, match="cache was made by intersect_method"):
        run(params(intersect_method=other), ["a"], [["a"]], host_kwargs=[{"cache": hc}])
    with pytest.raises(PartyFailed, match="another id list"):
        run(
            p,
            ids("u", 0, 5),
            [ids("u", 0, 6)],
            guest_kwargs={"cache": gc},
            host_kwargs=[{"cache": hc}],
        )
    # a second caching run has another run id and key: its host does not match the old cache
    fresh = _make(p, ids("u", 0, 5), [ids("u", 0, 5)])
    (hc2,) = [h.cache for h in hosts_of(fresh)]
    with pytest.raises(PartyFailed, match=r"another run|another key") as info:
        run(
            p,
            ids("u", 0, 5),
            [ids("u", 0, 5)],
            guest_kwargs={"cache": gc},
            host_kwargs=[{"cache": hc2}],
        )
    assert info.value.party.role == "guest"
    with pytest.raises(PartyFailed, match="neither makes nor uses"):
        run(p, ["a"], [["a"]], guest_kwargs={"cache": gc})
    with pytest.raises(PartyFailed, match="disagree"):
        run(p, ["a"], [["a"]], host_kwargs=[{"make_cache": True}], guest_kwargs={"cache": gc})
    salted = params(intersect_method=method, **{f"{method}_params": {"salt": "x"}})
    if method == "rsa":
        salted = params(intersect_method="rsa", rsa_params={"salt": "x", "key_length": 1024})
    with pytest.raises(IntersectionError, match="other hashing or key"):
        hc.check(salted, 9999, ids("u", 0, 5))
    with pytest.raises(IntersectionError, match="made with guest"):
        hc.check(p, 9998, ids("u", 0, 5))
    with pytest.raises(IntersectionError, match="holds nothing of host"):
        gc.entry(p, 10005, "x", "")


def test_cache_use_is_checked_at_construction() -> None:
    from fedloom.ml.psi import IntersectionGuest, IntersectionHost

    made = _make(params(intersect_method="ecdh"), ["a"], [["a"]])
    with pytest.raises(ValueError, match="not both"):
        IntersectionGuest(params(), make_cache=True, cache=guest_of(made).cache)
    card = params(intersect_method="ecdh", cardinality_only=True)
    with pytest.raises(ValueError, match="cardinality_only"):
        IntersectionHost(card, make_cache=True)
    with pytest.raises(ValueError, match="run_preprocess"):
        IntersectionGuest(params(preprocess={}), make_cache=True)


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"meta": np.frombuffer(b"{}", np.uint8)},
        {"meta": np.frombuffer(b'{"format": "x"}', np.uint8)},
    ],
)
def test_an_unreadable_cache_is_refused(broken: dict[str, np.ndarray]) -> None:
    with pytest.raises(IntersectionError, match="not a readable intersection cache"):
        from_arrays(broken)


def test_a_host_cache_with_a_bad_order_is_refused() -> None:
    made = _make(params(intersect_method="ecdh"), ["a", "b"], [["a", "b"]])
    arrays = to_arrays(hosts_of(made)[0].cache)
    arrays["order"] = np.array([0, 0], dtype=np.int64)
    with pytest.raises(IntersectionError, match="not a permutation"):
        from_arrays(arrays)
    assert "intersect_positions" in tags(made, party(made, "host"))
