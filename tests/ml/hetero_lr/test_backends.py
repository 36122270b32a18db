"""HeteroLR on each crypto backend and scheme: python-paillier, fedloom's engine, OU.

The backend is a local choice (same keys, same wire format), so a fit must train the same
model whichever backend computes it; Okamoto–Uchiyama must train what the stand-in trains.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest
from lr_support import fit_parties, make_data
from pydantic import ValidationError

from fedloom.crypto import PaillierPrivateKey, PaillierPublicKey, generate_paillier_keypair
from fedloom.crypto.phe_backend import PhePaillierPrivateKey, PhePaillierPublicKey
from fedloom.federation import JobParties, run_parties
from fedloom.ml.evaluation import auc
from fedloom.ml.hetero_lr import HeteroLRGuest, HeteroLRHost, HeteroLRParam

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SETTINGS: dict[str, Any] = {
    "max_iter": 3,
    "learning_rate": 0.1,
    "alpha": 0.01,
    "early_stop": "diff",
    "tol": 0.0,
    "init_param": {"init_method": "zeros", "random_seed": 1},
}


@cache
def _paillier() -> tuple[PaillierPublicKey, PaillierPrivateKey]:
    return generate_paillier_keypair(512)


def paillier_keygen(bits: int) -> tuple[PaillierPublicKey, PaillierPrivateKey]:
    """One 512-bit key pair for every fit of this module (fedloom backend objects)."""
    return _paillier()


@cache
def _ou() -> Any:
    from fedloom.crypto.ou import generate_ou_keypair

    return generate_ou_keypair(1152)


def ou_keygen(bits: int) -> Any:
    """One 1152-bit Okamoto–Uchiyama key pair for the module.

    OU's plaintexts have about k/3 bits: a 768-bit key holds 253, fewer than the encrypted loss
    (~280 bits at 53 fractional bits) needs; 1152 bits hold 382.
    """
    return _ou()


def _param(**encrypt: Any) -> HeteroLRParam:
    return HeteroLRParam(**SETTINGS, encrypt_param={"key_length": 512, **encrypt})


def _count_calls(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> list[int]:
    """Count calls of ``cls.name`` (from any party's thread)."""
    calls: list[int] = []
    original: Callable[..., Any] = getattr(cls, name)

    def counted(self: Any, *args: Any) -> Any:
        calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(cls, name, counted)
    return calls


def _fit(
    param: HeteroLRParam, keygen: Callable[[int], Any], host_param: HeteroLRParam | None = None
) -> tuple[Any, ...]:
    xg, y, hosts = make_data(rows=200)
    _, guest, host_roles, arbiter = fit_parties(
        param, xg, y, hosts, keygen=keygen, host_param=host_param
    )
    assert guest.model is not None and host_roles[0].model is not None
    assert arbiter.model is not None
    return guest.model, host_roles[0].model, arbiter.model


def test_phe_backend_trains_the_same_model_as_fedloom(monkeypatch: pytest.MonkeyPatch) -> None:
    g_ref, h_ref, a_ref = _fit(_param(), paillier_keygen)
    dots = _count_calls(monkeypatch, PhePaillierPublicKey, "raw_dot")
    encryptions = _count_calls(monkeypatch, PhePaillierPublicKey, "raw_encrypt")
    decryptions = _count_calls(monkeypatch, PhePaillierPrivateKey, "raw_decrypt")
    g_phe, h_phe, a_phe = _fit(_param(backend="phe"), paillier_keygen)
    # Every party computed with python-paillier: guest and host products and encryptions,
    # arbiter decryptions.
    assert dots and encryptions and decryptions
    np.testing.assert_allclose(g_phe.weights, g_ref.weights, rtol=0, atol=1e-9)
    assert g_phe.intercept == pytest.approx(g_ref.intercept, abs=1e-9)
    np.testing.assert_allclose(h_phe.weights, h_ref.weights, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a_phe.loss_history, a_ref.loss_history, rtol=0, atol=1e-9)
    assert g_phe.n_iter == g_ref.n_iter == 3


def test_parties_may_choose_different_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host computes with python-paillier, guest and arbiter with fedloom's engine: the
    same ciphertexts cross, so the model is the one all-fedloom parties train."""
    g_ref, h_ref, a_ref = _fit(_param(), paillier_keygen)
    dots = _count_calls(monkeypatch, PhePaillierPublicKey, "raw_dot")
    decryptions = _count_calls(monkeypatch, PhePaillierPrivateKey, "raw_decrypt")
    g_mix, h_mix, a_mix = _fit(_param(), paillier_keygen, host_param=_param(backend="phe"))
    assert dots  # the host's gradient products
    assert not decryptions  # the arbiter kept fedloom's engine
    np.testing.assert_allclose(g_mix.weights, g_ref.weights, rtol=0, atol=1e-9)
    np.testing.assert_allclose(h_mix.weights, h_ref.weights, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a_mix.loss_history, a_ref.loss_history, rtol=0, atol=1e-9)


def test_the_algorithm_config_takes_canonical_names_only() -> None:
    # FATE's spellings ("Paillier", "PHE") are the component parameters' to map
    # (tests/components/test_encrypt_param.py); the algorithm's config checks types only.
    with pytest.raises(ValidationError, match=r"encrypt_param\.method"):
        _param(method="Paillier")
    with pytest.raises(ValidationError, match=r"encrypt_param\.backend"):
        _param(backend="PHE")
    assert _param(method="ou").encrypt_param.method == "ou"


def _predict(guest: HeteroLRGuest, host: HeteroLRHost, xg: Any, xh: Any) -> Any:
    parties = JobParties.of(guest=9999, hosts=[10000], arbiter=8888)
    return run_parties(
        parties,
        {
            parties.guest: lambda ctx: guest.predict(ctx, xg),
            parties.hosts[0]: lambda ctx: host.predict(ctx, xh),
            parties.arbiter: lambda ctx: None,
        },
    ).results[parties.guest]


def test_ou_trains_the_same_model_as_the_plaintext_stand_in() -> None:
    xg, y, hosts = make_data(rows=200)
    param = HeteroLRParam(**SETTINGS, encrypt_param={"method": "ou", "key_length": 1152})
    _, ou_guest, ou_hosts, ou_arbiter = fit_parties(param, xg, y, hosts, keygen=ou_keygen)
    _, plain_guest, plain_hosts, plain_arbiter = fit_parties(param, xg, y, hosts)
    for ours, plain in ((ou_guest, plain_guest), (ou_hosts[0], plain_hosts[0])):
        assert ours.model is not None and plain.model is not None
        np.testing.assert_allclose(ours.model.weights, plain.model.weights, rtol=0, atol=1e-6)
    assert ou_arbiter.model is not None and plain_arbiter.model is not None
    np.testing.assert_allclose(
        ou_arbiter.model.loss_history, plain_arbiter.model.loss_history, rtol=0, atol=1e-6
    )
    ou_auc = auc(y, _predict(ou_guest, ou_hosts[0], xg, hosts[0]))
    plain_auc = auc(y, _predict(plain_guest, plain_hosts[0], xg, hosts[0]))
    assert ou_auc == pytest.approx(plain_auc, abs=1e-6) and ou_auc > 0.8
