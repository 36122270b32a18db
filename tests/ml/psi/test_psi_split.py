"""RSA split_calculation: each party signs half of the ids; both learn the intersection only."""

from __future__ import annotations

import pytest
from options_support import guest_of, hosts_of, ids, params, party, run, tags, values
from psi_support import leaks, unkeyed
from pydantic import ValidationError

from fedloom.crypto import rsa_blind
from fedloom.federation import PartyFailed
from fedloom.ml.psi import IntersectionGuest
from fedloom.ml.psi.common import IdHash
from fedloom.ml.psi.split import odd_mask

pytestmark = pytest.mark.integration

SPLIT = {"key_length": 1024, "split_calculation": True}


@pytest.mark.parametrize("salt", ["", "s"])
def test_split_calculation_finds_the_intersection(salt: str) -> None:
    shared = ids("shared", 0, 40)
    guest = ids("guest-only", 0, 50) + shared
    host = shared[::-1] + ids("host-only", 0, 45)
    p = params(intersect_method="rsa", rsa_params={**SPLIT, "salt": salt})
    result = run(p, guest, [host], batch_size=16)
    g_res, (h_res,) = guest_of(result), hosts_of(result)
    assert g_res.ids == h_res.ids == sorted(shared)
    assert g_res.positions is not None and h_res.positions is not None
    assert [guest[i] for i in g_res.positions] == sorted(shared)
    assert [host[i] for i in h_res.positions] == sorted(shared)


def test_each_side_signs_half_and_sees_only_keyed_values() -> None:
    shared = ids("shared", 0, 30)
    guest = ids("guest-only", 0, 40) + shared
    host = shared + ids("host-only", 0, 35)
    result = run(params(intersect_method="rsa", rsa_params=SPLIT), guest, [host])
    g, h = party(result, "guest"), party(result, "host")
    # each party received the other's public key, in its half's hello
    (host_hello,) = values(result, g, "split-even/hello")
    (guest_hello,) = values(result, h, "split-odd/hello")
    keys = [
        rsa_blind.RSABlindPublicKey(hello["setup"]["n"], hello["setup"]["e"])
        for hello in (host_hello, guest_hello)
    ]
    assert keys[0] != keys[1]
    # the halves are a public split of the ids: each side queries only its half's ids
    odd = odd_mask(guest, IdHash())
    guest_queries = sum(len(q) for q in values(result, h, "/query"))
    assert guest_queries == int((~odd).sum())
    host_queries = sum(len(q) for q in values(result, g, "/query"))
    assert host_queries == int(odd_mask(host, IdHash()).sum())
    # nothing unkeyed about the other's ids crosses, under either key
    host_only = [x for x in host if x not in shared]
    guest_only = [x for x in guest if x not in shared]
    assert leaks(result, g, unkeyed(host_only, keys)) == []
    assert leaks(result, h, unkeyed(guest_only, keys)) == []
    assert {t for t in tags(result, h) if t.endswith("intersect_positions")} == {
        "split-even/intersect_positions"
    }


def test_split_calculation_refusals() -> None:
    with pytest.raises(ValidationError, match="needs sync_intersect_ids"):
        params(intersect_method="rsa", sync_intersect_ids=False, rsa_params=SPLIT)
    with pytest.raises(ValidationError, match="rsa intersections only"):
        params(intersect_method="ecdh", rsa_params=SPLIT)
    p = params(intersect_method="rsa", rsa_params=SPLIT)
    with pytest.raises(ValueError, match="split_calculation"):
        IntersectionGuest(p, make_cache=True)
    with pytest.raises(PartyFailed, match="exactly one host"):
        run(p, ["a"], [["a"], ["a"]])
