"""Tests for fedloom.ml.psi: both methods end to end over the in-memory transport.

Besides the intersection itself, these tests check what each party actually receives (from
``HarnessResult.received``): the host never sees a guest id or any unkeyed hash of one, the
guest never sees a non-intersecting host id or any unkeyed hash of one, and a host without
``sync_intersect_ids`` receives nothing about the intersection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from psi_support import METHODS
from psi_support import check_known as _check_known
from psi_support import guest_result as _guest
from psi_support import host_results as _hosts
from psi_support import leaks as _leaks
from psi_support import make_ids as _ids
from psi_support import param as _param
from psi_support import run_psi as _run
from psi_support import unkeyed as _unkeyed
from pydantic import ValidationError

from fedloom.crypto import rsa_blind
from fedloom.federation import (
    Context,
    HarnessResult,
    InMemoryTransport,
    JobParties,
    Messenger,
    Party,
    PartyFailed,
    run_parties,
)
from fedloom.ml.psi import (
    IntersectionError,
    IntersectionGuest,
    IntersectionHost,
    IntersectParam,
)
from fedloom.ml.psi.common import check_ids, check_positions, secure_permutation

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("sync", [True, False])
def test_one_host_partial_overlap(method: str, sync: bool) -> None:
    guest = _ids("user", 0, 150)[::-1]
    host = _ids("user", 90, 300)
    result = _run(method, guest, [host], sync=sync)
    expected = set(guest) & set(host)
    _check_known(_guest(result), guest, expected)
    (host_res,) = _hosts(result)
    if sync:
        _check_known(host_res, host, expected)
    else:
        assert not host_res.known and host_res.ids is None and host_res.positions is None
        assert host_res.count is None and not host_res.is_empty
        assert host_res.input_count == len(host)


@pytest.mark.parametrize("method", METHODS)
def test_two_hosts_share_the_final_intersection_only(method: str) -> None:
    guest = _ids("user", 0, 200)
    host_a = _ids("user", 50, 260)  # pairwise with guest: 50..199
    host_b = _ids("user", 120, 180) + _ids("other", 0, 40)  # final: 120..179
    result = _run(method, guest, [host_a, host_b], batch_size=33)
    expected = set(guest) & set(host_a) & set(host_b)
    assert len(expected) == 60
    _check_known(_guest(result), guest, expected)
    res_a, res_b = _hosts(result)
    _check_known(res_a, host_a, expected)
    _check_known(res_b, host_b, expected)
    for host, received in result.received.items():
        if host.role == "host":
            (positions,) = [r.value for r in received if r.tag.endswith("intersect_positions")]
            assert len(positions) == 60 and np.all(np.diff(positions) > 0)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("guest", "host"),
    [
        pytest.param(_ids("g", 0, 70), _ids("h", 0, 80), id="no-overlap"),
        pytest.param([], _ids("h", 0, 10), id="empty-guest"),
        pytest.param(_ids("g", 0, 10), [], id="empty-host"),
        pytest.param([], [], id="both-empty"),
    ],
)
def test_empty_intersection_is_an_explicit_empty_result(
    method: str, guest: list[str], host: list[str]
) -> None:
    result = _run(method, guest, [host])
    for res, inputs in ((_guest(result), guest), (_hosts(result)[0], host)):
        _check_known(res, inputs, set())
        assert res.is_empty and res.count == 0 and res.ids == []
        assert res.positions is not None and res.positions.shape == (0,)


@pytest.mark.parametrize("method", METHODS)
def test_full_overlap_in_different_orders(method: str) -> None:
    guest = _ids("user", 0, 100)
    host = list(reversed(guest))
    result = _run(method, guest, [host], batch_size=10)
    _check_known(_guest(result), guest, set(guest))
    _check_known(_hosts(result)[0], host, set(guest))


@pytest.mark.parametrize("method", METHODS)
def test_unicode_ids_are_compared_exactly(method: str) -> None:
    shared = ["用户-001", "émile", "😀", "a b\tc", "Ωmega", ""]
    guest = [*shared, "e\u0301mile", "zoë"]  # decomposed é is a different id
    host = ["zoe", *reversed(shared), "ÉMILE"]
    result = _run(method, guest, [host])
    _check_known(_guest(result), guest, set(shared))
    assert _guest(result).ids == sorted(shared)
    _check_known(_hosts(result)[0], host, set(shared))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("role", ["guest", "host"])
def test_duplicate_ids_are_refused(method: str, role: str) -> None:
    dup = ["a-1", "b-2", "c-3", "b-2", "a-1"]
    fine = _ids("x", 0, 5)
    guest, host = (dup, fine) if role == "guest" else (fine, dup)
    with pytest.raises(PartyFailed) as info:
        _run(method, guest, [host])
    assert info.value.party.role == role
    assert isinstance(info.value.error, ValueError) and "'b-2'" in str(info.value.error)


# What each party receives -------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("sync", "workers"), [(True, 1), (False, 1), (True, 2)], ids=["sync", "no-sync", "workers"]
)
def test_what_each_party_receives(method: str, sync: bool, workers: int) -> None:
    shared = _ids("shared", 0, 30)
    guest = shared + _ids("guest-only", 0, 40)
    host_a = _ids("host-a-only", 0, 35) + shared
    host_b = shared[:20] + _ids("host-b-only", 0, 25)
    result = _run(method, guest, [host_a, host_b], sync=sync, batch_size=16, workers=workers)
    parties = sorted(result.received)
    guest_party, hosts = parties[0], parties[1:]

    hello = {r.src: r.value for r in result.received[guest_party] if r.tag == "hello"}
    keys = []
    if method == "rsa":
        keys = [
            rsa_blind.RSABlindPublicKey(v["setup"]["n"], v["setup"]["e"]) for v in hello.values()
        ]
        assert _leaks(
            result, guest_party, {rsa_blind.ints_to_array([keys[0].n], 128).tobytes(): "n"}
        )

    for host in hosts:
        assert _leaks(result, host, _unkeyed(guest, keys)) == []
        tags = {r.tag for r in result.received[host]}
        assert all(r.src == guest_party for r in result.received[host])
        expected = {"query_batches"} | {t for t in tags if t.endswith("/query")}
        assert tags == (expected | {"intersect_positions"} if sync else expected)
    host_only = [x for x in host_a + host_b if x not in shared]
    assert _leaks(result, guest_party, _unkeyed(host_only, keys)) == []
    assert _leaks(result, guest_party, {x.encode(): x for x in host_a + host_b}) == []

    final = set(shared[:20])
    assert _guest(result).ids == sorted(final)
    for res in _hosts(result):
        assert res.ids == (sorted(final) if sync else None)


@pytest.mark.parametrize("method", METHODS)
def test_queries_are_randomised_per_run(method: str) -> None:
    ids = _ids("user", 0, 10)
    first, second = (_run(method, ids, [ids]) for _ in range(2))

    def queries(result: HarnessResult) -> bytes:
        host = _hosts_parties(result)[0]
        return b"".join(r.value.tobytes() for r in result.received[host] if r.tag.endswith("query"))

    assert queries(first) != queries(second)


def _hosts_parties(result: HarnessResult) -> list[Party]:
    return sorted(p for p in result.received if p.role == "host")


# Mismatches and misuse ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host_params", "field"),
    [
        (_param("ecdh"), "intersect_method"),
        (_param("rsa", sync=False), "sync_intersect_ids"),
    ],
)
def test_parameter_mismatch_fails_at_the_guest(host_params: IntersectParam, field: str) -> None:
    with pytest.raises(PartyFailed) as info:
        _run("rsa", _ids("u", 0, 5), [_ids("u", 0, 5)], host_params=host_params)
    assert info.value.party.role == "guest"
    assert isinstance(info.value.error, IntersectionError) and field in str(info.value.error)


def test_guest_refuses_an_rsa_key_shorter_than_its_policy() -> None:
    parties = JobParties.of(guest=9999, hosts=[10000])
    assert parties.guest is not None
    tasks = {
        parties.guest: lambda ctx: IntersectionGuest(_param("rsa", key_length=2048)).run(
            ctx, ["a"]
        ),
        parties.hosts[0]: lambda ctx: IntersectionHost(_param("rsa")).run(ctx, ["a"]),
    }
    with pytest.raises(PartyFailed, match="1024-bit RSA key") as info:
        run_parties(parties, tasks, timeout=30)
    assert info.value.party.role == "guest"


def test_roles_and_arguments_are_checked() -> None:
    parties = JobParties.of(guest=9999, hosts=[10000])
    assert parties.guest is not None
    host = parties.hosts[0]
    host_ctx = Context(
        local=host, parties=parties, messenger=Messenger(InMemoryTransport(), "j", host)
    )
    with pytest.raises(ValueError, match="at the guest"):
        IntersectionGuest().run(host_ctx, ["a"])
    guest = parties.guest
    guest_ctx = Context(
        local=guest, parties=parties, messenger=Messenger(InMemoryTransport(), "j", guest)
    )
    with pytest.raises(ValueError, match="at a host"):
        IntersectionHost().run(guest_ctx, ["a"])
    lonely = JobParties.of(guest=9999)
    lonely_ctx = Context(
        local=guest, parties=lonely, messenger=Messenger(InMemoryTransport(), "j", guest)
    )
    with pytest.raises(ValueError, match="at least one host"):
        IntersectionGuest().run(lonely_ctx, ["a"])
    with pytest.raises(ValueError, match="batch_size"):
        IntersectionHost(batch_size=0)
    with pytest.raises(TypeError, match="must be str"):
        check_ids(["a", 3])  # type: ignore[list-item]
    assert IntersectionGuest(_param("rsa")).batch_size == 10_000
    assert IntersectionHost(_param("ecdh")).batch_size == 100_000


def test_positions_from_the_guest_are_validated() -> None:
    assert check_positions(np.array([3, 0, 2]), 4).tolist() == [3, 0, 2]
    for bad in (np.array([0, 4]), np.array([-1]), np.array([1, 1]), np.array([0.5]), [1, 2]):
        with pytest.raises(IntersectionError, match="intersect_positions"):
            check_positions(bad, 4)


def test_secure_permutation_is_a_permutation() -> None:
    perm = secure_permutation(1000)
    assert sorted(perm.tolist()) == list(range(1000))
    assert perm.tolist() != list(range(1000))
    assert secure_permutation(0).shape == (0,)


# Parameters ---------------------------------------------------------------------------------


def test_params_defaults_follow_fate() -> None:
    p = IntersectParam()
    assert p.intersect_method == "rsa" and p.sync_intersect_ids is True
    assert p.rsa_params.key_length == 2048
    assert IntersectParam.model_validate({"intersect_method": "ECDH"}).intersect_method == "ecdh"
    assert IntersectParam.model_validate({"intersect_method": "Rsa", "ecdh_params": {}})


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ({"intersect_method": "raw"}, ("intersect_method",)),
        ({"intersect_method": 1}, ("intersect_method",)),
        ({"only_output_key": True}, ("only_output_key",)),
        ({"rsa_params": {"hash_method": "md5"}}, ("rsa_params", "hash_method")),
        ({"rsa_params": {"key_length": 512}}, ("rsa_params", "key_length")),
        ({"rsa_params": {"key_length": "2048"}}, ("rsa_params", "key_length")),
        ({"ecdh_params": {"curve": "curve25519"}}, ("ecdh_params", "curve")),
        ({"sync_intersect_ids": "yes"}, ("sync_intersect_ids",)),
    ],
)
def test_params_validation_names_the_field(data: dict[str, Any], loc: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        IntersectParam.model_validate(data)
    assert [e["loc"] for e in info.value.errors()] == [loc]
