"""A GLM at the arbiter: owns the key pair, decrypts masked values, judges convergence."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ClassVar

import numpy as np

from fedloom.crypto import CipherVector, PrivateKey, PublicKey
from fedloom.crypto.keys import Method, generate_keypair
from fedloom.crypto.phe_backend import Backend, private_key_with_backend, with_backend
from fedloom.federation import Context, FederationError
from fedloom.ml.glm._common import (
    HeteroLRModel,
    check_topology,
    expect,
    expect_cipher,
    receive_setup,
)
from fedloom.ml.glm._validate import PeerValidation
from fedloom.ml.glm.family import Family
from fedloom.ml.glm.params import HeteroLRParam
from fedloom.ml.glm.sqn import SqnArbiter

KeyPair = tuple[PublicKey, PrivateKey]
KeyGen = Callable[[int], KeyPair]


class GlmArbiter:
    """The arbiter's side of fit. It never sees features, labels, weights or gradients.

    Keys come from ``encrypt_param`` (method, key length, backend); ``keygen``, a test and
    benchmark hook taking the key length, replaces the generation (its keys are then moved to
    the configured backend).
    """

    def __init__(self, param: HeteroLRParam | None = None, *, keygen: KeyGen | None = None) -> None:
        self.param = param or HeteroLRParam()
        self.keygen = keygen
        self.model: HeteroLRModel | None = None

    family: ClassVar[Family]

    def generate(self, method: Method, key_length: int, backend: Backend) -> KeyPair:
        """A fresh key pair (``fedloom.crypto.keys.generate_keypair``)."""
        return generate_keypair(method, key_length, backend)

    def _keys(self) -> tuple[PublicKey, PrivateKey]:
        encrypt = self.param.encrypt_param
        if self.keygen is None:
            return self.generate(encrypt.method, encrypt.key_length, encrypt.backend)
        public, private = self.keygen(encrypt.key_length)
        return (
            with_backend(public, encrypt.backend),
            private_key_with_backend(private, encrypt.backend),
        )

    def fit(self, ctx: Context, *, warm_start: HeteroLRModel | None = None) -> HeteroLRModel:
        """Serve one training run; returns the loss history and convergence summary.

        ``warm_start`` (the arbiter's part of a saved model) continues its loss history; the
        first epoch is the guest's, which must equal the model's iteration count.
        """
        param = self.param
        check_topology(ctx, param, self.family)
        fit_ctx = ctx.sub("fit")
        public, private = self._keys()
        fit_ctx.guest.put("pubkey", public)
        fit_ctx.hosts.put("pubkey", public)
        start, validates = receive_setup(fit_ctx, warm_start, needs_model=False)
        history = list(warm_start.loss_history) if warm_start is not None else []
        model = HeteroLRModel("arbiter", np.zeros(0), n_iter=start, loss_history=history)
        previous_loss: float | None = history[-1] if history else None
        checker = PeerValidation(param, None) if validates else None
        sqn_param = param.sqn_param
        sqn = (
            SqnArbiter(sqn_param.update_interval_L, sqn_param.memory_M)
            if param.optimizer == "sqn"
            else None
        )
        for epoch, it_ctx in fit_ctx.iterations(param.max_iter, start):
            sizes = expect(it_ctx.guest.get("batch_sizes"), list, "batch_sizes", it_ctx.guest)
            total_loss = 0.0
            for (_, b_ctx), size in zip(it_ctx.batches(len(sizes)), sizes, strict=True):
                self._serve_gradients(b_ctx, private)
                if param.needs_loss:
                    enc = expect_cipher(b_ctx.guest.get("loss"), public, 2, "loss", b_ctx.guest)
                    data_sum, penalty = private.decrypt(enc)
                    total_loss += (data_sum / size + penalty) * size
                if sqn is not None:
                    sqn.after_batch(
                        b_ctx, public, private, partial(self._serve_gradients, private=private)
                    )
            model.n_iter += 1
            converged = False
            if param.needs_loss:
                loss = total_loss / sum(sizes)
                model.loss_history.append(loss)
                if param.early_stop == "abs":
                    converged = loss < param.tol
                elif previous_loss is not None:
                    converged = abs(previous_loss - loss) < param.tol
                previous_loss = loss
            else:
                diffs = [
                    expect(p.get("weight_diff_sq"), float, "weight_diff_sq", p)
                    for p in [it_ctx.guest, *it_ctx.hosts]
                ]
                converged = float(np.sqrt(sum(diffs))) < param.tol
            model.converged = converged
            it_ctx.guest.put("converged", converged)
            it_ctx.hosts.put("converged", converged)
            stop = False
            if checker is not None and param.validates_at(epoch):
                stop = checker.run(it_ctx, epoch, np.zeros(0))
            if converged or stop:
                break
        if checker is not None:
            checker.finish(fit_ctx, model, np.zeros(0))
        self.model = model
        return model

    def _serve_gradients(self, ctx: Context, private: PrivateKey) -> None:
        """Decrypt each party's masked vector (gradient or Hessian product) under ``ctx``."""
        for peer in [ctx.guest, *ctx.hosts]:
            masked = expect(peer.get("gradient"), CipherVector, "gradient", peer)
            peer.put("gradient_plain", self._decrypt_raw(private, masked, peer.party))

    @staticmethod
    def _decrypt_raw(private: PrivateKey, masked: CipherVector, party: object) -> object:
        if masked.public_key != private.public_key:
            raise FederationError(f"{party} sent a gradient under a foreign key")
        return private.decrypt_raw(masked)
