"""The binning protocol between the guest and hosts: exact counts, and what crosses the wire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from fedloom.crypto import (
    CipherVector,
    PublicKey,
    generate_paillier_keypair,
    generate_plain_keypair,
)
from fedloom.federation import (
    Context,
    FederationError,
    HarnessResult,
    JobParties,
    KeyRing,
    Party,
    PartyFailed,
    run_parties,
)
from fedloom.ml.feature_binning import (
    BinningConfig,
    BinningGuest,
    BinningHost,
    ColumnSpec,
    EncryptConfig,
    GuestBinning,
    HostBinning,
    woe_iv,
)
from fedloom.ml.feature_binning.splits import bin_index

PARTIES = JobParties.of(guest=9999, hosts=[10000, 10001])
GUEST = Party("guest", 9999)
HOSTS = PARTIES.hosts
KeyGen = Callable[[int], Any]


def relaxed() -> KeyRing:
    """Admit the stand-in and small keys (tests only)."""
    return KeyRing(min_key_length=256, allow_plain=True)


def dataset(rows: int = 600, seed: int = 2, classes: int = 2) -> tuple[np.ndarray, ...]:
    """Guest features + labels and two hosts' features of one problem."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 7))
    z = x @ rng.normal(size=7) + 0.5 * rng.normal(size=rows)
    if classes == 2:
        y = (z > 0).astype(float)
    else:
        y = np.digitize(z, np.quantile(z, np.linspace(0, 1, classes + 1)[1:-1])).astype(float)
    x[:, 4] = np.round(x[:, 4])  # a few distinct values
    return x[:, :3], y, x[:, 3:5], x[:, 5:]


def specs(width: int) -> list[ColumnSpec]:
    """Every column, numeric."""
    return [ColumnSpec(i, f"c{i}") for i in range(width)]


def run(
    config: BinningConfig,
    keygen: KeyGen = generate_plain_keypair,
    classes: int = 2,
    host_specs: list[list[ColumnSpec]] | None = None,
) -> tuple[HarnessResult, tuple[np.ndarray, ...]]:
    """Fit at the guest and both hosts."""
    data = dataset(classes=classes)
    xg, y, xh0, xh1 = data

    def guest(ctx: Context) -> GuestBinning:
        return BinningGuest(config, keygen=keygen).fit(ctx, xg, specs(3), y)

    def host(x: np.ndarray, index: int) -> Callable[[Context], HostBinning]:
        chosen = host_specs[index] if host_specs else specs(x.shape[1])
        return lambda ctx: BinningHost(config).fit(ctx, x, chosen)

    tasks: dict[Party, Callable[[Context], Any]] = {
        GUEST: guest,
        HOSTS[0]: host(xh0, 0),
        HOSTS[1]: host(xh1, 1),
    }
    return run_parties(PARTIES, tasks, keyring=relaxed, timeout=60), data


def recount(column: np.ndarray, points: list[float], y: np.ndarray) -> tuple[list[int], list[int]]:
    """Centralised per-bin event / non-event counts."""
    bins = bin_index(column, points)
    events = np.bincount(bins, weights=y, minlength=len(points)).astype(int)
    totals = np.bincount(bins, minlength=len(points))
    return events.tolist(), (totals - events).tolist()


def check_against_centralised(harness: HarnessResult, data: tuple[np.ndarray, ...]) -> None:
    """Every column's counts equal the joined data's under the reported split points."""
    xg, y, *host_x = data
    guest: GuestBinning = harness.results[GUEST]
    for col, stats in zip(guest.columns, guest.stats, strict=True):
        events, non_events = recount(xg[:, col.spec.index], col.points, y)
        assert stats[0]["event_count_array"] == events
        assert stats[0]["non_event_count_array"] == non_events
    for (party_id, columns), host, x in zip(guest.hosts, HOSTS, host_x, strict=True):
        assert party_id == host.party_id
        fitted: HostBinning = harness.results[host]
        assert [c.index for c in columns] == [c.spec.index for c in fitted.columns]
        for seen, own in zip(columns, fitted.columns, strict=True):
            events, non_events = recount(x[:, own.spec.index], own.points, y)
            assert seen.stats[0]["event_count_array"] == events
            assert seen.stats[0]["non_event_count_array"] == non_events
            expected = woe_iv(events, non_events, 0.5)["iv"]
            assert abs(seen.stats[0]["iv"] - expected) < 1e-6


@pytest.mark.integration
@pytest.mark.parametrize("method", ["quantile", "bucket"])
def test_every_column_matches_a_centralised_recount(method: str) -> None:
    harness, data = run(BinningConfig(method=method, bin_num=6))  # type: ignore[arg-type]
    check_against_centralised(harness, data)
    guest: GuestBinning = harness.results[GUEST]
    assert all(col.size <= 6 for col in guest.columns)


@pytest.mark.integration
@pytest.mark.slow
def test_real_paillier_gives_the_same_counts_and_fresh_ciphertexts() -> None:
    key = generate_paillier_keypair(512)
    config = BinningConfig(bin_num=5, encrypt=EncryptConfig(key_length=512))
    first, data = run(config, keygen=lambda bits: key)
    check_against_centralised(first, data)
    second, _ = run(config, keygen=lambda bits: key)
    sent = [
        c
        for harness in (first, second)
        for party in PARTIES.all
        for r in harness.received[party]
        if isinstance(r.value, CipherVector)
        for c in r.value.ciphertexts
    ]
    assert len(sent) == len(set(sent))  # no ciphertext ever crosses twice


@pytest.mark.integration
@pytest.mark.slow
def test_the_curious_host_receives_only_a_key_flags_and_label_ciphertexts() -> None:
    public, private = generate_paillier_keypair(512)
    config = BinningConfig(bin_num=5, encrypt=EncryptConfig(key_length=512))
    harness, data = run(config, keygen=lambda bits: (public, private))
    y = data[1]
    for host in HOSTS:
        received = harness.received[host]
        assert [r.tag.rsplit("/", 1)[-1] for r in received] == ["task", "pubkey", "labels"]
        task, key, labels = (r.value for r in received)
        assert task == {"stats": True, "optimal": False}
        assert isinstance(key, PublicKey) and key == public
        assert isinstance(labels, CipherVector) and len(labels) == y.size
        # Nothing resembling the labels: ciphertexts of 0-rows and 1-rows look alike ...
        cts = [int(c) for c in labels.ciphertexts]
        assert len(set(cts)) == len(cts)
        ones = np.array([c % 2 for c in cts])
        assert abs(ones.mean() - 0.5) < 0.1
        # ... and only the key owner can read them.
        plain = private.decrypt_raw(labels).elements
        assert {int(v) >> 11 for v in plain} == {0, 1}


@pytest.mark.integration
def test_the_guest_sees_per_bin_counts_only_never_split_points_or_values() -> None:
    harness, data = run(BinningConfig(bin_num=4))
    hosts_values = [data[2], data[3]]
    for host, x in zip(HOSTS, hosts_values, strict=True):
        from_host = [r for r in harness.received[GUEST] if r.src == host]
        assert [r.tag.rsplit("/", 1)[-1] for r in from_host] == ["bin_sums"]
        message = from_host[0].value
        assert set(message) == {"columns", "bins", "mergeable", "sums"}
        assert message["columns"] == list(range(x.shape[1]))
        assert all(isinstance(b, int) for b in message["bins"])
        assert isinstance(message["sums"], CipherVector)
        assert message["mergeable"] == []  # which columns are numeric: for optimal only
        # The sums decrypt (the stand-in's "ciphertexts" are plaintexts) to exactly the
        # packed per-bin row and event counts: nothing of the host's values or split points.
        fitted: HostBinning = harness.results[host]
        slot = data[1].size.bit_length() + 1
        expected = []
        for col in fitted.columns:
            events, non_events = recount(x[:, col.spec.index], col.points, data[1])
            expected += [e + n + (e << slot) for e, n in zip(events, non_events, strict=True)]
        assert [int(v) for v in message["sums"].ciphertexts] == expected


@pytest.mark.integration
def test_multi_class_labels_give_one_vs_rest_counts_from_one_ciphertext_per_row() -> None:
    harness, data = run(BinningConfig(bin_num=4), classes=4)
    _, y, xh0, _ = data
    guest: GuestBinning = harness.results[GUEST]
    assert guest.classes == [0.0, 1.0, 2.0, 3.0]
    labels = next(r.value for r in harness.received[HOSTS[0]] if r.tag.endswith("labels"))
    assert len(labels) == y.size
    fitted: HostBinning = harness.results[HOSTS[0]]
    for k, c in enumerate(guest.classes):
        for seen, own in zip(guest.hosts[0][1], fitted.columns, strict=True):
            events, non_events = recount(xh0[:, own.spec.index], own.points, (y == c) * 1.0)
            assert seen.stats[k]["event_count_array"] == events
            assert seen.stats[k]["non_event_count_array"] == non_events


@pytest.mark.integration
def test_optimal_binning_merges_host_buckets_on_the_guests_advice() -> None:
    config = BinningConfig(method="optimal", bin_num=4)
    hosts = [specs(2), [ColumnSpec(0, "c0"), ColumnSpec(1, "c1", "category")]]
    harness, data = run(config, host_specs=hosts)
    check_against_centralised(harness, data)
    for host in HOSTS:
        fitted: HostBinning = harness.results[host]
        numeric = [c for c in fitted.columns if c.spec.kind == "numeric"]
        assert all(2 <= c.size <= 4 for c in numeric)


@pytest.mark.integration
@pytest.mark.slow
def test_per_bin_sums_on_two_processes_equal_the_single_process_sums() -> None:
    from fedloom.ml.feature_binning._sums import SumWorkers

    public, private = generate_paillier_keypair(512)
    rng = np.random.default_rng(4)
    rows = 5000
    values = rng.integers(0, 2, rows)
    cipher = public.encrypt(values.astype(float), 0)
    bins = np.stack([rng.integers(0, 7, rows), rng.integers(0, 3, rows)], axis=1)
    bins[:, 0][bins[:, 0] == 5] = 6  # bin 5 stays empty
    with SumWorkers(2) as two:
        sums = two.sums(public, cipher.ciphertexts, bins, [7, 3])
    with SumWorkers(1) as one:
        alone = one.sums(public, cipher.ciphertexts, bins, [7, 3])
    decoded = public.codec.decode_ints(private.raw_decrypt(sums))
    assert decoded == public.codec.decode_ints(private.raw_decrypt(alone))
    expected = [
        int(values[bins[:, j] == k].sum()) for j, size in enumerate([7, 3]) for k in range(size)
    ]
    assert decoded == expected


@pytest.mark.integration
@pytest.mark.slow
def test_okamoto_uchiyama_keys_give_the_same_counts() -> None:
    from fedloom.crypto import generate_ou_keypair

    key = generate_ou_keypair(1024)
    config = BinningConfig(bin_num=5, encrypt=EncryptConfig(method="ou", key_length=1024))
    harness, data = run(config, keygen=lambda bits: key)
    check_against_centralised(harness, data)


@pytest.mark.integration
def test_the_guest_refuses_bin_sums_that_do_not_add_up() -> None:
    _, y, _, _ = dataset()
    public, private = generate_plain_keypair(2048)

    def guest(ctx: Context) -> GuestBinning:
        config = BinningConfig(bin_num=3)
        return BinningGuest(config, keygen=lambda bits: (public, private)).fit(
            ctx, y[:, None], specs(1), y
        )

    def liar(ctx: Context) -> None:
        ctx.guest.get("task")
        ctx.guest.get("pubkey")
        labels = ctx.guest.get("labels")
        forged = labels.take([0, 1])  # two "bins" of one row each
        message = {"columns": [0], "bins": [2], "mergeable": [], "sums": forged}
        ctx.guest.put("bin_sums", message)

    def quiet(ctx: Context) -> None:
        ctx.guest.get("task")
        ctx.guest.get("pubkey")
        ctx.guest.get("labels")

    tasks: dict[Party, Callable[[Context], Any]] = {GUEST: guest, HOSTS[0]: liar, HOSTS[1]: quiet}
    with pytest.raises(PartyFailed, match="host 10000") as info:
        run_parties(PARTIES, tasks, keyring=relaxed, timeout=20)
    assert isinstance(info.value.error, FederationError)
    assert "do not add up" in str(info.value.error)


@pytest.mark.integration
def test_a_host_refuses_labels_under_a_key_it_was_not_given() -> None:
    other, _ = generate_plain_keypair(2048)
    public, _ = generate_plain_keypair(2048)

    def guest(ctx: Context) -> None:
        ctx.hosts.put("task", {"stats": True, "optimal": False})
        ctx.hosts.put("pubkey", public)
        ctx.hosts.put("labels", other.encrypt(np.ones(600), 0))

    def host(ctx: Context) -> HostBinning:
        return BinningHost(BinningConfig()).fit(ctx, np.zeros((600, 1)), specs(1))

    tasks: dict[Party, Callable[[Context], Any]] = {GUEST: guest, HOSTS[0]: host, HOSTS[1]: host}
    with pytest.raises(PartyFailed) as info:
        run_parties(PARTIES, tasks, keyring=relaxed, timeout=20)
    assert isinstance(info.value.error, FederationError)
    # the wire decoder already refuses ciphertexts under a key this host never received
    assert "key" in str(info.value.error)
