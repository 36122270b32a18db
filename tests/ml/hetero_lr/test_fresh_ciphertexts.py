"""Every ciphertext a party sends is fresh: the same values encrypted twice never repeat.

HeteroLR is run twice on identical data with identical seeds, so both runs encrypt exactly the
same plaintexts at every step. Every ciphertext any party sends, on every path (forward,
forward square, penalty, residual, packed gradient, loss), over both runs, must be distinct.
A message broadcast to several hosts (the guest's residual) is one encryption delivered to each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest
from lr_support import fit_parties, make_data

from fedloom.crypto import (
    CipherVector,
    PaillierPublicKey,
    PrivateKey,
    PublicKey,
    generate_ou_keypair,
)
from fedloom.crypto import generate_paillier_keypair as paillier_keypair
from fedloom.federation import HarnessResult
from fedloom.ml.hetero_lr import HeteroLRParam

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KeyPair = tuple[PublicKey, PrivateKey]


@cache
def _paillier() -> KeyPair:
    return paillier_keypair(512)


@cache
def _paillier_full() -> KeyPair:
    public, private = _paillier()
    assert isinstance(public, PaillierPublicKey)
    full = PaillierPublicKey(int(public.n), randomness="full")
    return full, type(private)(full, private.p, private.q)  # type: ignore[call-arg, attr-defined]


@cache
def _ou() -> KeyPair:
    # OU plaintexts hold ~k/3 bits: 1152 bits leave room for the encrypted loss and its mask.
    return generate_ou_keypair(1152)


KEYS: dict[str, tuple[Callable[[], KeyPair], dict[str, Any]]] = {
    "paillier-djn": (_paillier, {"key_length": 512}),
    "paillier-full": (_paillier_full, {"key_length": 512}),
    "paillier-phe": (_paillier, {"key_length": 512, "backend": "phe"}),
    "ou": (_ou, {"key_length": 1152, "method": "ou"}),
}


def _sent_ciphertexts(result: HarnessResult) -> Iterator[tuple[str, int]]:
    """(tag, ciphertext) of every message sent; a broadcast to several hosts counts once."""
    messages: dict[tuple[str, str], list[int]] = {}
    for log in result.received.values():
        for item in log:
            if isinstance(item.value, CipherVector):
                cts = [int(c) for c in item.value.ciphertexts]
                key = (str(item.src), item.tag)
                assert messages.setdefault(key, cts) == cts, f"{key} differs between recipients"
    for (_, tag), cts in messages.items():
        for c in cts:
            yield tag, c


def _tags(result: HarnessResult) -> set[str]:
    return {tag.rsplit("/", 1)[-1] for tag, _ in _sent_ciphertexts(result)}


def _run_twice(param: HeteroLRParam, hosts: int, keys: Callable[[], KeyPair]) -> list[Any]:
    xg, y, host_data = make_data(rows=24, host_cols=(3,) * hosts)
    runs = []
    for _ in range(2):
        result, *_ = fit_parties(param, xg, y, host_data, keygen=lambda bits: keys())
        runs.append(result)
    return runs


@pytest.mark.parametrize("scheme", sorted(KEYS))
@pytest.mark.parametrize(
    ("early_stop", "batch_size", "hosts", "paths"),
    [
        ("diff", -1, 1, {"forward", "forward_square", "penalty", "residual", "gradient", "loss"}),
        ("weight_diff", 10, 2, {"forward", "residual", "gradient"}),
    ],
)
def test_no_ciphertext_is_ever_sent_twice(
    scheme: str, early_stop: str, batch_size: int, hosts: int, paths: set[str]
) -> None:
    keys, encrypt_param = KEYS[scheme]
    param = HeteroLRParam(
        max_iter=2,
        batch_size=batch_size,
        early_stop=early_stop,  # type: ignore[arg-type]
        tol=0.0,
        encrypt_param=encrypt_param,
        init_param={"init_method": "zeros", "random_seed": 3},
    )
    first, second = _run_twice(param, hosts, keys)
    assert paths <= _tags(first), f"paths not exercised: {paths - _tags(first)}"
    sent = [c for run in (first, second) for _, c in _sent_ciphertexts(run)]
    assert len(sent) > 50
    repeated = len(sent) - len(set(sent))
    assert repeated == 0, f"{repeated} ciphertexts were sent more than once"
