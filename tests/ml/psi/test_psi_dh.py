"""The DH (Pohlig–Hellman commutative encryption) method and the salt / hash_method options.

Checks the intersection, what each side receives (no id, no unkeyed hash of one, only group
elements keyed by the sender's secret), the group's parameters and the element checks.
"""

from __future__ import annotations

import gmpy2
import numpy as np
import pytest
from options_support import guest_of, hosts_of, ids, params, party, run, tags, values
from psi_support import leaks, unkeyed
from pydantic import ValidationError

from fedloom.crypto import dh_group
from fedloom.federation import PartyFailed
from fedloom.ml.psi import IntersectionError
from fedloom.ml.psi.common import IdHash
from fedloom.ml.psi.host import _answer, _Host
from fedloom.ml.psi.workers import Workers

pytestmark = pytest.mark.integration


def _dh_hashes(raw: list[bytes]) -> dict[bytes, str]:
    group = dh_group.DHGroup(2048)
    hashed = dh_group.hash_to_group(group, raw)
    return {bytes(row): f"H({i})" for i, row in enumerate(dh_group.to_array(group, hashed))}


@pytest.mark.parametrize("sync", [True, False])
def test_dh_intersection_and_what_each_side_receives(sync: bool) -> None:
    shared = ids("shared", 0, 12)
    guest = ids("guest-only", 0, 15) + shared
    host = shared[::-1] + ids("host-only", 0, 20)
    result = run(params(intersect_method="dh", sync_intersect_ids=sync), guest, [host])
    assert guest_of(result).ids == sorted(shared)
    (host_res,) = hosts_of(result)
    assert host_res.ids == (sorted(shared) if sync else None)

    g, h = party(result, "guest"), party(result, "host")
    # the host sees 2048-bit group elements keyed by the guest's secret, nothing else
    (query,) = values(result, h, "/query")
    assert query.shape == (len(guest), 256) and query.dtype == np.uint8
    assert leaks(result, h, unkeyed(guest, [])) == []
    assert leaks(result, h, _dh_hashes([x.encode() for x in guest])) == []
    expected = {"query_batches", "guest_ids/batch-0/query"}
    assert tags(result, h) == (expected | {"intersect_positions"} if sync else expected)
    # the guest sees the host's ids only keyed by the host's secret
    host_only = [x for x in host if x not in shared]
    assert leaks(result, g, unkeyed(host_only, [])) == []
    assert leaks(result, g, _dh_hashes([x.encode() for x in host])) == []
    for element in dh_group.from_array(dh_group.DHGroup(2048), values(result, g, "/values")[0]):
        assert gmpy2.jacobi(element, dh_group.DHGroup(2048).p) == 1


def test_dh_queries_are_fresh_per_run() -> None:
    first, second = (run(params(intersect_method="dh"), ["a", "b"], [["b"]]) for _ in range(2))
    q1, q2 = (values(r, party(r, "host"), "/query")[0] for r in (first, second))
    assert not np.array_equal(q1, q2)


# The last digits of each group's prime as RFC 2409 (1024) and RFC 3526 print them.
PUBLISHED_TAILS = {
    1024: "49286651ECE65381FFFFFFFFFFFFFFFF",
    2048: "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
    3072: "43DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    4096: "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF",
}


def test_dh_groups_are_published_safe_primes() -> None:
    assert set(dh_group.PRIMES) == set(PUBLISHED_TAILS)
    for bits, p in dh_group.PRIMES.items():
        assert p.bit_length() == bits and gmpy2.is_prime(p, 40) and gmpy2.is_prime((p - 1) // 2)
        assert hex(p).startswith("0xffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd1")
        assert f"{p:X}".endswith(PUBLISHED_TAILS[bits])
    group = dh_group.DHGroup(2048)
    k = dh_group.generate_exponent(group)
    assert 1 <= k < group.q
    for h in dh_group.hash_to_group(group, [b"a", b"b"]):
        assert gmpy2.jacobi(h, group.p) == 1


@pytest.mark.parametrize("bits", [512, 1536, 2047])
def test_dh_key_lengths_of_no_published_group_are_refused(bits: int) -> None:
    with pytest.raises(ValidationError, match="1024, 2048, 3072, 4096"):
        params(intersect_method="dh", dh_params={"key_length": bits})
    assert params(intersect_method="dh", dh_params={"key_length": 3072}).dh_params.key_length
    # FATE's default size is a published group too; sites refuse it by their key policy.
    assert params(intersect_method="dh", dh_params={"key_length": 1024}).dh_params.key_length


def test_dh_refuses_elements_outside_the_residue_group() -> None:
    host = _Host(params(intersect_method="dh"))
    group = dh_group.DHGroup(2048)
    good = dh_group.to_array(group, dh_group.hash_to_group(group, [b"x", b"y", b"z"]))
    for bad_value in (0, 1, group.p - 1, int(group.p) + 5):  # 0, 1, -1 (a non-residue), >= p
        rows = good.copy()
        rows[2] = np.frombuffer(int(bad_value % (1 << 2048)).to_bytes(256, "big"), np.uint8)
        with Workers(1) as pool, pytest.raises(IntersectionError, match="row 2"):
            _answer(host.reply(pool, rows), 256)


def test_dh_group_mismatch_fails_at_the_guest() -> None:
    with pytest.raises(PartyFailed, match="another DH group") as info:
        run(
            params(intersect_method="dh"),
            ["a"],
            [["a"]],
            host_params=params(intersect_method="dh", dh_params={"key_length": 3072}),
        )
    assert info.value.party.role == "guest"


# salt and hash_method ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["rsa", "ecdh", "dh"])
@pytest.mark.parametrize("hash_method", ["sha256", "sha512", "sm3"])
def test_salted_hashing_intersects_and_hides_the_salted_digests(
    method: str, hash_method: str
) -> None:
    hashing = {"salt": "pepper", "hash_method": hash_method}
    p = params(intersect_method=method, **{f"{method}_params": hashing})
    if method == "rsa":
        p = params(intersect_method=method, rsa_params={**hashing, "key_length": 1024})
    guest, host = ids("u", 0, 30), ids("u", 20, 45)
    result = run(p, guest, [host])
    assert guest_of(result).ids == ids("u", 20, 30)
    salted = IdHash(hash_method, "pepper").encode(guest)
    assert leaks(result, party(result, "host"), {s: "salted" for s in salted}) == []
    assert leaks(result, party(result, "host"), unkeyed(guest, [])) == []


@pytest.mark.parametrize("method", ["rsa", "ecdh", "dh"])
def test_different_salts_are_refused_at_the_guest(method: str) -> None:
    def with_salt(salt: str) -> dict[str, object]:
        extra = {"key_length": 1024} if method == "rsa" else {}
        return {"intersect_method": method, f"{method}_params": {"salt": salt, **extra}}

    with pytest.raises(PartyFailed, match="another salt or hash_method") as info:
        run(params(**with_salt("a")), ["x"], [["x"]], host_params=params(**with_salt("b")))
    assert info.value.party.role == "guest"


def test_the_salted_encoding() -> None:
    assert IdHash().encode(["é"]) == ["é".encode()]
    salted = IdHash("sha256", "s").encode(["a", "b"])
    assert len(salted) == 2 and all(len(x) == 32 for x in salted) and salted[0] != salted[1]
    assert IdHash("sha256", "t").encode(["a"]) != salted[:1]
    assert len(IdHash("sha512").encode(["a"])[0]) == 64


@pytest.mark.parametrize("unsafe", ["md5", "sha1", "none", "sha224"])
@pytest.mark.parametrize("method", ["rsa", "ecdh", "dh"])
def test_unsafe_hashes_are_refused(unsafe: str, method: str) -> None:
    with pytest.raises(ValidationError, match="is refused") as info:
        params(intersect_method=method, **{f"{method}_params": {"hash_method": unsafe}})
    assert info.value.errors()[0]["loc"] == (f"{method}_params", "hash_method")
