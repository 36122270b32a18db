"""Feature binning at a host: its own split points; encrypted label sums for the guest.

The host bins its columns locally. When the guest asks for statistics it receives the guest's
public key and one ciphertext per row (the guest's labels, packed); it adds them up per bin
with homomorphic additions (a 0/1 bin-membership product), re-randomises the sums and returns
them with the number of bins of each column, keyed by the column's position only. It never
decrypts anything and never sends a split point or a value. With ``optimal`` binning it sends
the sums of its initial buckets, and the guest answers which neighbouring buckets to merge.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import gmpy2
import numpy as np
from numpy.typing import ArrayLike

from fedloom.crypto import CipherVector, PublicKey
from fedloom.crypto.phe_backend import with_backend
from fedloom.federation import Context, FederationError
from fedloom.ml.feature_binning._common import (
    MAX_BINS,
    ColumnBins,
    check_ends,
    check_matrix,
    expect,
    fit_columns,
    merged,
)
from fedloom.ml.feature_binning._sums import SumWorkers
from fedloom.ml.feature_binning.params import BinningConfig, ColumnSpec


@dataclass
class HostBinning:
    """A host's result: its columns' split points (and bins of its rows); no label data."""

    columns: list[ColumnBins]


class BinningHost:
    """A host's side of HeteroFeatureBinning."""

    def __init__(self, config: BinningConfig | None = None, *, workers: int | None = None):
        """``workers``: processes for the per-bin sums (default: the crypto pool's count)."""
        self.config = config or BinningConfig()
        self.workers = workers

    def fit(self, ctx: Context, x: ArrayLike, columns: list[ColumnSpec]) -> HostBinning:
        """Bin ``columns`` of ``x`` (rows aligned with the guest's); serve the guest's sums."""
        config = self.config
        matrix = check_matrix(x, columns)
        task = expect(ctx.guest.get("task"), dict, "task", ctx.guest)
        stats, optimal = task.get("stats"), task.get("optimal")
        if not isinstance(stats, bool) or not isinstance(optimal, bool):
            raise FederationError(f"{ctx.guest.party} sent a malformed task")
        wanted = not (config.local_only or config.skip_static)
        if stats != wanted or optimal != (config.method == "optimal" and wanted):
            raise ValueError(
                "the guest's binning settings (local_only, skip_static, method) differ from "
                "this host's"
            )
        if config.method == "optimal" and not stats:
            raise ValueError("optimal binning needs the guest's labels: not with local_only")
        if not stats:
            return HostBinning(fit_columns(matrix, columns, config))
        with SumWorkers(
            self.workers, matrix.shape[0]
        ) as workers:  # they start while the guest encrypts
            fitted = fit_columns(matrix, columns, config)
            key = self._key(ctx)
            # Build the key's randomness tables (for re-randomising the sums) while the guest
            # encrypts; one encryption of 0, thrown away, does it for any scheme.
            warm = threading.Thread(target=key.raw_encrypt, args=([gmpy2.mpz(0)],), daemon=True)
            warm.start()
            labels = ctx.guest.get("labels")
            warm.join()
            if not isinstance(labels, CipherVector) or labels.public_key != key:
                raise FederationError(f"{ctx.guest.party} sent labels that are not under its key")
            if len(labels) != matrix.shape[0]:
                raise FederationError(
                    f"{ctx.guest.party} sent labels for a different number of rows"
                )
            labels = CipherVector(key, labels.ciphertexts, labels.frac_bits, labels.bound_bits)
            ctx.guest.put("bin_sums", bin_sums(labels, fitted, workers, optimal))
        if optimal:
            plans = ctx.guest.get("merges")
            if not isinstance(plans, list) or len(plans) != len(fitted):
                raise FederationError(f"{ctx.guest.party} sent a malformed merge plan")
            fitted = [
                merged(col, check_ends(plan, col.size, ctx.guest)) if col.mergeable else col
                for col, plan in zip(fitted, plans, strict=True)
            ]
        return HostBinning(fitted)

    def _key(self, ctx: Context) -> PublicKey:
        """The guest's public key, of the configured scheme and length."""
        key = ctx.guest.get("pubkey")
        wanted = self.config.encrypt
        if not isinstance(key, PublicKey):
            raise FederationError(f"{ctx.guest.party} sent {type(key).__name__} as the key")
        if key.scheme not in (wanted.method, "plain") or key.key_length < wanted.key_length:
            raise FederationError(
                f"{ctx.guest.party} sent a {key.key_length}-bit {key.scheme} key; this host's "
                f"encrypt_param asks for {wanted.key_length}-bit {wanted.method}"
            )
        return with_backend(key, wanted.backend)


def bin_sums(
    labels: CipherVector, fitted: list[ColumnBins], workers: SumWorkers, optimal: bool = False
) -> dict[str, object]:
    """Per column and bin, the re-randomised sum of the rows' ciphertexts, with the layout
    (and, for optimal binning only, which columns are numeric, i.e. may be merged)."""
    sizes = [col.size for col in fitted]
    total = sum(sizes)
    if total > MAX_BINS:
        raise ValueError(f"{total} bins in all; at most {MAX_BINS} are summed for the guest")
    rows = len(labels)
    bound = labels.bound_bits + max(rows - 1, 1).bit_length()
    if bound > int(labels.public_key.codec.max_int).bit_length() - 1:
        raise FederationError("the guest's labels are too wide to be summed without overflow")
    bins = np.stack([col.bins for col in fitted], axis=1) if fitted else np.zeros((rows, 0))
    sums = workers.sums(labels.public_key, labels.ciphertexts, bins.astype(np.int64), sizes)
    vector = CipherVector(labels.public_key, sums, labels.frac_bits, bound)
    return {
        "columns": [col.spec.index for col in fitted],
        "bins": sizes,
        "mergeable": [col.mergeable for col in fitted] if optimal else [],
        "sums": vector.rerandomize(),
    }
