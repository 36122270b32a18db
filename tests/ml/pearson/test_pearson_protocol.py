"""HeteroPearson protocol: numpy's corrcoef on the joined data, what crosses, refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fedloom.crypto import CipherVector, generate_paillier_keypair, generate_plain_keypair
from fedloom.federation import JobParties, KeyRing, PartyFailed, run_parties
from fedloom.ml.pearson import HeteroPearsonGuest, HeteroPearsonHost, PearsonError, vif

PARTIES = JobParties.of(guest=9999, hosts=[10000])
GUEST, HOST = PARTIES.guest, PARTIES.hosts[0]


def _data(rows: int = 80) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    base = rng.normal(size=(rows, 6))
    mix = base @ rng.normal(size=(6, 6))
    return mix[:, :3] * 50 + 3, mix[:, 3:] * 0.01 - 2


def _run(xg: np.ndarray, xh: np.ndarray, keygen: Any = generate_plain_keypair) -> Any:
    def guest(ctx: Any) -> Any:
        return HeteroPearsonGuest().fit(ctx.sub("p"), xg, list(range(xg.shape[1])))

    def host(ctx: Any) -> Any:
        algo = HeteroPearsonHost(key_length=512, keygen=keygen)
        return algo.fit(ctx.sub("p"), xh, [4, 0, 2][: xh.shape[1]])

    keyring = lambda: KeyRing(min_key_length=256, allow_plain=True)  # noqa: E731
    return run_parties(PARTIES, {GUEST: guest, HOST: host}, keyring=keyring, timeout=60)


@pytest.mark.unit
def test_matches_numpy_corrcoef_of_the_joined_data() -> None:
    xg, xh = _data()
    harness = _run(xg, xh)
    g, h = harness.results[GUEST], harness.results[HOST]
    full = np.corrcoef(np.hstack([xg, xh]), rowvar=False)
    assert np.abs(g.corr - full[:3, 3:]).max() < 1e-6
    assert np.abs(h.corr - full[3:, :3]).max() < 1e-6
    assert np.abs(g.local_corr - full[:3, :3]).max() < 1e-9
    assert np.abs(h.local_corr - full[3:, 3:]).max() < 1e-9
    assert g.remote_columns == [4, 0, 2] and h.remote_columns == [0, 1, 2]
    expected_vif = np.diag(np.linalg.inv(full[:3, :3]))
    assert np.allclose(g.local_vif, expected_vif)


@pytest.mark.slow
def test_with_real_paillier_and_what_the_guest_sees() -> None:
    xg, xh = _data(40)
    harness = _run(xg, xh, keygen=lambda bits: generate_paillier_keypair(bits))
    full = np.corrcoef(np.hstack([xg, xh]), rowvar=False)
    assert np.abs(harness.results[GUEST].corr - full[:3, 3:]).max() < 1e-6
    seen = {r.tag.rsplit("/", 1)[-1]: r.value for r in harness.received[GUEST]}
    # the host's columns reach the guest only as ciphertexts
    assert all(isinstance(c, CipherVector) for c in seen["z_host"])
    assert set(seen) == {"shape", "pubkey", "z_host", "masked_plain"}


@pytest.mark.unit
def test_refuses_too_few_rows() -> None:
    xg, xh = _data(5)
    with pytest.raises(PartyFailed) as info:
        _run(xg, xh)
    assert isinstance(info.value.error, PearsonError)
    assert "too few rows" in str(info.value.error)


@pytest.mark.unit
def test_constant_column_and_vif() -> None:
    xg, xh = _data()
    xg[:, 1] = 4.0
    g = _run(xg, xh).results[GUEST]
    assert np.all(np.isnan(g.corr[1])) and np.isnan(g.local_vif[1])
    assert np.isfinite(g.local_vif[[0, 2]]).all()
    collinear = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert np.isinf(vif(collinear)[:2]).all() and vif(collinear)[2] == pytest.approx(1.0)
