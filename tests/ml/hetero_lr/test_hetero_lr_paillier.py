"""HeteroLR with real Paillier: masking hides every gradient from the arbiter, changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import gmpy2
import numpy as np
import pytest
from lr_support import fit_parties, make_data

from fedloom.crypto import (
    CipherVector,
    PaillierPrivateKey,
    PaillierPublicKey,
    generate_paillier_keypair,
)
from fedloom.crypto.cipher import Mpz
from fedloom.ml.hetero_lr import HeteroLRParam

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARAM = HeteroLRParam(
    max_iter=3,
    learning_rate=0.1,
    alpha=0.01,
    early_stop="diff",
    tol=0.0,
    encrypt_param={"key_length": 512},
    init_param={"init_method": "zeros", "random_seed": 1},
)


@cache
def _keys() -> tuple[PaillierPublicKey, PaillierPrivateKey]:
    return generate_paillier_keypair(512)


class RecordingKey(PaillierPrivateKey):
    """The arbiter's private key, recording every raw decryption it performs."""

    def __init__(self, public: PaillierPublicKey, p: int, q: int) -> None:
        super().__init__(public, p, q)
        self.decrypted: list[list[Mpz]] = []

    def raw_decrypt(self, ciphertexts: Sequence[Mpz]) -> list[Mpz]:
        out = super().raw_decrypt(ciphertexts)
        self.decrypted.append(out)
        return out


def _recording_keygen() -> tuple[RecordingKey, object]:
    public, private = _keys()
    recorder = RecordingKey(public, int(private.p), int(private.q))
    return recorder, lambda bits: (public, recorder)


def test_arbiter_decrypts_only_masked_gradients_and_masks_change_nothing() -> None:
    xg, y, hosts = make_data(rows=40)
    masked_key, masked_gen = _recording_keygen()
    clear_key, clear_gen = _recording_keygen()
    _, g1, h1, _ = fit_parties(PARAM, xg, y, hosts, keygen=masked_gen, masking=True)
    _, g2, h2, _ = fit_parties(PARAM, xg, y, hosts, keygen=clear_gen, masking=False)

    assert g1.model is not None and g2.model is not None
    np.testing.assert_array_equal(g1.model.weights, g2.model.weights)
    assert g1.model.intercept == g2.model.intercept
    assert h1[0].model is not None and h2[0].model is not None
    np.testing.assert_array_equal(h1[0].model.weights, h2[0].model.weights)

    # Per batch the arbiter decrypts: guest gradient (4 values), host gradient (4), loss (2).
    assert len(masked_key.decrypted) == len(clear_key.decrypted) == 3 * 3
    gradients = 0
    for seen, truth in zip(masked_key.decrypted, clear_key.decrypted, strict=True):
        if len(truth) == 2:
            assert seen == truth  # the loss is revealed to the arbiter by design
            continue
        gradients += len(truth)
        for masked_value, true_value in zip(seen, truth, strict=True):
            assert masked_value != true_value
    assert gradients == 3 * (4 + 4)


def test_residual_is_rerandomised_so_the_host_cannot_strip_its_forward() -> None:
    xg, y, hosts = make_data(rows=30)
    _, gen = _recording_keygen()
    result, *_ = fit_parties(PARAM.model_copy(update={"max_iter": 1}), xg, y, hosts, keygen=gen)
    host_party = next(p for p in result.received if p.role == "host")
    guest_party = next(p for p in result.received if p.role == "guest")
    forward = next(r.value for r in result.received[guest_party] if r.tag.endswith("/forward"))
    residual = next(r.value for r in result.received[host_party] if r.tag.endswith("/residual"))
    assert isinstance(forward, CipherVector) and isinstance(residual, CipherVector)
    key = forward.public_key
    assert isinstance(key, PaillierPublicKey)
    # Without fresh randomness residual = forward^(0.25·2^2) · (1 + m·n), so the quotient
    # would be ≡ 1 (mod n) and reveal m = 0.25·z_guest + 0.5 − y to the host.
    for c_forward, c_residual in zip(forward.ciphertexts, residual.ciphertexts, strict=True):
        quotient = c_residual * gmpy2.invert(c_forward, key.nsquare) % key.nsquare
        assert quotient % key.n != 1


def test_real_paillier_trains_the_same_model_as_the_plaintext_stand_in() -> None:
    xg, y, hosts = make_data(rows=40)
    _, gen = _recording_keygen()
    _, real, real_hosts, real_arbiter = fit_parties(PARAM, xg, y, hosts, keygen=gen)
    _, plain, plain_hosts, plain_arbiter = fit_parties(PARAM, xg, y, hosts)
    assert real.model is not None and plain.model is not None
    np.testing.assert_array_equal(real.model.weights, plain.model.weights)
    assert real_hosts[0].model is not None and plain_hosts[0].model is not None
    np.testing.assert_array_equal(real_hosts[0].model.weights, plain_hosts[0].model.weights)
    assert real_arbiter.model is not None and plain_arbiter.model is not None
    assert real_arbiter.model.loss_history == plain_arbiter.model.loss_history
