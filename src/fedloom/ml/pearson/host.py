"""HeteroPearson at the host: it owns the Paillier key of the cross products.

1. The host sends ``[rows, column positions]``, receives the guest's, and checks that the
   revealed products cannot determine its standardised columns (:func:`.common.check_rows`).
2. It generates a key pair, sends the public key and each standardised column encrypted with
   fresh randomness: the guest, without the private key, learns nothing from them.
3. It decrypts the guest's masked products ``Z_hᵀZ_g + R`` (uniformly hiding, so it learns
   nothing) and returns them; the guest removes ``R``.
4. It receives the correlations ``Z_gᵀZ_h / n`` the guest revealed (FATE reveals the result to
   both parties) and checks their shape and range.
"""

from __future__ import annotations

import numpy as np

from fedloom.crypto import CipherVector, RawPlaintexts
from fedloom.crypto.keys import generate_keypair
from fedloom.crypto.paillier import DEFAULT_KEY_LENGTH
from fedloom.federation import Context
from fedloom.ml.pearson.common import (
    KeyGen,
    Matrix,
    PearsonError,
    PearsonResult,
    check_peer_shape,
    check_rows,
    local_correlation,
    standardize,
    vif,
)

FRAC_BITS = 40
"""Fixed-point precision of the encrypted standardised values (error far below 1e-6)."""


class HeteroPearsonHost:
    """The host's side; ``keygen`` (tests only) replaces 2048-bit Paillier key generation."""

    def __init__(
        self,
        *,
        cross_parties: bool = True,
        calc_local_vif: bool = True,
        key_length: int = DEFAULT_KEY_LENGTH,
        keygen: KeyGen | None = None,
    ) -> None:
        self.cross_parties = cross_parties
        self.calc_local_vif = calc_local_vif
        self.key_length = key_length
        self.keygen = keygen

    def fit(self, ctx: Context, x: Matrix, columns: list[int]) -> PearsonResult:
        """Correlate the host's selected columns (positions ``columns`` of its table)."""
        z, constant = standardize(x)
        local = local_correlation(z, constant)
        result = PearsonResult(local, vif(local) if self.calc_local_vif else None)
        if not self.cross_parties:
            return result
        ctx.guest.put("shape", [int(z.shape[0]), list(columns)])
        rows, guest_columns = check_peer_shape(ctx.guest.get("shape"))
        if rows != z.shape[0]:
            raise PearsonError("the parties' tables have different numbers of rows")
        check_rows(rows, len(guest_columns))
        if self.keygen is not None:
            public, private = self.keygen(self.key_length)
        else:
            public, private = generate_keypair("paillier", self.key_length)
        ctx.guest.put("pubkey", public)
        ctx.guest.put("z_host", [public.encrypt(z[:, j], FRAC_BITS) for j in range(z.shape[1])])
        masked = ctx.guest.get("masked_products")
        expected = z.shape[1] * len(guest_columns)
        if not isinstance(masked, CipherVector) or len(masked) != expected:
            raise PearsonError("malformed masked products from the guest")
        if masked.public_key != public:
            raise PearsonError("the guest's products are not under this host's key")
        raw: RawPlaintexts = private.decrypt_raw(masked)
        ctx.guest.put("masked_plain", raw)
        corr = ctx.guest.get("corr")
        shape = (len(guest_columns), z.shape[1])
        if not isinstance(corr, np.ndarray) or corr.dtype != np.float64 or corr.shape != shape:
            raise PearsonError("malformed correlations from the guest")
        finite = corr[np.isfinite(corr)]
        if np.any(np.abs(finite) > 1.0 + 1e-9):
            raise PearsonError("correlations from the guest are out of range")
        host_view = corr.T.copy()
        host_view[constant, :] = np.nan
        result.corr = host_view
        result.remote_columns = guest_columns
        return result
