"""run_preprocess (Bloom filter before the PSI) and new_sample_id: results and what leaks."""

from __future__ import annotations

import numpy as np
import pytest
from options_support import guest_of, hosts_of, ids, params, party, run, tags, values
from pydantic import ValidationError

from fedloom.federation import PartyFailed
from fedloom.ml.psi import IntersectionError
from fedloom.ml.psi.bloom import BloomFilter, encode_items, filter_size
from fedloom.ml.psi.params import PreprocessParams

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("owner", ["guest", "host"])
@pytest.mark.parametrize("method", ["rsa", "ecdh"])
def test_preprocessing_filters_before_the_psi(owner: str, method: str) -> None:
    shared = ids("shared", 0, 20)
    guest = ids("guest-only", 0, 200) + shared
    host = shared[::-1] + ids("host-only", 0, 150)
    pre = {"filter_owner": owner, "false_positive_rate": 0.01, "preprocess_salt": "s"}
    result = run(params(intersect_method=method, preprocess=pre), guest, [host])
    g_res, (h_res,) = guest_of(result), hosts_of(result)
    assert g_res.ids == h_res.ids == sorted(shared)
    assert g_res.input_count == len(guest) and h_res.input_count == len(host)
    assert g_res.positions is not None and h_res.positions is not None
    assert [guest[i] for i in g_res.positions] == sorted(shared)
    assert [host[i] for i in h_res.positions] == sorted(shared)

    receiver = party(result, "host" if owner == "guest" else "guest")
    sender = party(result, owner)
    (message,) = values(result, receiver, "preprocess_filter")
    assert "preprocess_filter" not in tags(result, sender)
    # the filter is a membership oracle: the receiver tests its own ids (or any guess) and
    # learns the intersection up to false positives before any PSI
    bloom = BloomFilter.from_message(message, PreprocessParams.model_validate(pre), sender)
    mine = host if owner == "guest" else guest
    hits = bloom.contains(encode_items(mine, PreprocessParams.model_validate(pre)))
    assert set(shared) <= {x for x, hit in zip(mine, hits, strict=True) if hit}
    assert hits.sum() <= len(shared) + 8  # false positives at about 1 %
    # and the owner sees only about |∩| values in the PSI that follows (the filtered input)
    if owner == "guest":
        queries = values(result, party(result, "guest"), "/values")
    else:
        queries = values(result, party(result, "host"), "/query")
    assert sum(len(q) for q in queries) == hits.sum() < len(mine)


def test_filter_owner_host_with_two_hosts_keeps_ids_in_both_filters() -> None:
    guest = ids("u", 0, 100)
    host_a, host_b = ids("u", 30, 90), ids("u", 60, 120)
    result = run(
        params(intersect_method="ecdh", preprocess={"filter_owner": "host"}),
        guest,
        [host_a, host_b],
    )
    assert guest_of(result).ids == ids("u", 60, 90)
    assert sum(len(q) for q in values(result, party(result, "host", 0), "/query")) < 40


def test_the_bloom_filter_has_no_false_negatives_and_its_rate() -> None:
    p = PreprocessParams(false_positive_rate=0.01, random_state=7)
    items = encode_items(ids("in", 0, 2000), p)
    bloom = BloomFilter.build(items, p)
    assert bloom.contains(items).all()
    outside = bloom.contains(encode_items(ids("out", 0, 20000), p)).mean()
    assert outside < 0.02
    assert filter_size(1000, 0.001) == (14378, 10)
    again = BloomFilter.build(items, p)
    assert np.array_equal(again.bits, bloom.bits)  # random_state fixes the seed
    fresh = BloomFilter.build(items, PreprocessParams(false_positive_rate=0.01))
    assert fresh.seed != bloom.seed


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"hash_method": "sha512"}, "another hash_method"),
        ({"num_bits": 1 << 40}, "out of bounds"),
        ({"num_hashes": 0}, "out of bounds"),
        ({"num_hashes": True}, "not an int"),
        ({"seed": b"short"}, "seed"),
        ({"bits": np.zeros(3, np.uint8)}, "do not match"),
        ({"bits": np.zeros(1000, np.int64)}, "do not match"),
    ],
)
def test_a_peer_filter_is_validated(change: dict[str, object], match: str) -> None:
    p = PreprocessParams()
    message = {**BloomFilter.build(encode_items(["a"], p), p).to_message(), **change}
    with pytest.raises(IntersectionError, match=match):
        BloomFilter.from_message(message, p, "host 10000")
    with pytest.raises(IntersectionError, match="malformed"):
        BloomFilter.from_message([1], p, "host 10000")


def test_preprocess_params_refuse_unsafe_hashes() -> None:
    with pytest.raises(ValidationError, match="md5"):
        params(preprocess={"preprocess_method": "md5"})
    with pytest.raises(ValidationError):
        params(preprocess={"false_positive_rate": 0.9})


# new_sample_id ------------------------------------------------------------------------------


@pytest.mark.parametrize("generator", ["guest", "host"])
def test_new_sample_ids_are_shared_random_ids(generator: str) -> None:
    shared = ids("shared", 0, 15)
    guest, host = ids("g", 0, 10) + shared, shared[::-1] + ids("h", 0, 5)
    p = params(intersect_method="ecdh", new_sample_id=True, sample_id_generator=generator)
    result = run(p, guest, [host])
    g_res, (h_res,) = guest_of(result), hosts_of(result)
    assert g_res.new_ids is not None and g_res.new_ids == h_res.new_ids
    assert len(set(g_res.new_ids)) == 15 and not set(g_res.new_ids) & set(shared)
    assert all(len(x) == 32 for x in g_res.new_ids)
    receiver = party(result, "host" if generator == "guest" else "guest")
    (sent,) = values(result, receiver, "new_sample_ids")
    assert sent == g_res.new_ids
    again = guest_of(run(p, guest, [host])).new_ids
    assert again is not None and not set(again) & set(g_res.new_ids)


def test_new_sample_id_combinations_are_refused() -> None:
    with pytest.raises(ValidationError, match="needs sync_intersect_ids"):
        params(new_sample_id=True, sync_intersect_ids=False)
    with pytest.raises(ValidationError, match="without new_sample_id"):
        params(sample_id_generator="host")
    p = params(intersect_method="ecdh", new_sample_id=True, sample_id_generator="host")
    with pytest.raises(PartyFailed, match="exactly one host"):
        run(p, ["a"], [["a"], ["a"]])


def test_left_join_gives_the_hosts_fresh_ids_for_the_guests_other_rows() -> None:
    shared = ids("shared", 0, 6)
    guest = ids("g", 0, 9) + shared
    host_a, host_b = shared + ids("a", 0, 4), shared[::-1] + ids("b", 0, 7)
    p = params(intersect_method="ecdh", new_sample_id=True, join_method="left_join")
    result = run(p, guest, [host_a, host_b])
    g_res = guest_of(result)
    assert g_res.left_ids is not None and g_res.left_positions is not None
    assert [guest[i] for i in g_res.left_positions] == ids("g", 0, 9)
    for h_res in hosts_of(result):
        assert h_res.new_ids == g_res.new_ids and h_res.left_ids == g_res.left_ids
        assert h_res.left_positions is None
    everything = set(guest) | set(host_a) | set(host_b)
    assert not set(g_res.left_ids) & everything
    for i in range(2):
        (sent,) = values(result, party(result, "host", i), "left_join_ids")
        assert len(sent) == 9  # the guest's other rows: only their number is learned


def test_left_join_needs_new_sample_ids_from_the_guest() -> None:
    with pytest.raises(ValidationError, match="allows it only with new_sample_id"):
        params(join_method="left_join")
    with pytest.raises(ValidationError, match="allows it only with new_sample_id"):
        params(join_method="left_join", new_sample_id=True, sample_id_generator="host")
