"""HeteroPearson at the guest: it forms the encrypted cross products and reveals the result.

The guest receives the host's public key and its standardised columns encrypted, computes
``[[Z_hᵀZ_g]]`` homomorphically (a plaintext-by-ciphertext product per column pair), adds a
mask ``R`` uniform over the plaintext space and re-randomises before sending (fresh
randomness; the host decrypts only ``Z_hᵀZ_g + R``), removes ``R`` from what the host
returns, and sends the correlation matrix to the host, as FATE reveals it to both parties.
The guest learns the correlations only; it never holds the host's values or the private key.
"""

from __future__ import annotations

import numpy as np

from fedloom.crypto import CipherVector, PublicKey, RawPlaintexts
from fedloom.federation import Context
from fedloom.ml.pearson.common import (
    Matrix,
    PearsonError,
    PearsonResult,
    check_peer_shape,
    check_rows,
    local_correlation,
    standardize,
    vif,
)
from fedloom.ml.pearson.host import FRAC_BITS


class HeteroPearsonGuest:
    """The guest's side."""

    def __init__(self, *, cross_parties: bool = True, calc_local_vif: bool = True) -> None:
        self.cross_parties = cross_parties
        self.calc_local_vif = calc_local_vif

    def fit(self, ctx: Context, x: Matrix, columns: list[int]) -> PearsonResult:
        """Correlate the guest's selected columns (positions ``columns``) with the host's."""
        z, constant = standardize(x)
        local = local_correlation(z, constant)
        result = PearsonResult(local, vif(local) if self.calc_local_vif else None)
        if not self.cross_parties:
            return result
        rows = int(z.shape[0])
        ctx.hosts[0].put("shape", [rows, list(columns)])
        host = ctx.hosts[0]
        host_rows, host_columns = check_peer_shape(host.get("shape"))
        if host_rows != rows:
            raise PearsonError("the parties' tables have different numbers of rows")
        check_rows(rows, len(host_columns))
        public = host.get("pubkey")
        if not isinstance(public, PublicKey):
            raise PearsonError("the host sent no public key")
        encrypted = host.get("z_host")
        if (
            not isinstance(encrypted, list)
            or len(encrypted) != len(host_columns)
            or not all(
                isinstance(c, CipherVector) and len(c) == rows and c.public_key == public
                for c in encrypted
            )
        ):
            raise PearsonError("malformed encrypted columns from the host")
        products = CipherVector.concat([c.dot(z, FRAC_BITS) for c in encrypted])
        mask = public.new_mask(len(products))
        host.put("masked_products", mask.apply(products).rerandomize())
        raw = host.get("masked_plain")
        if not isinstance(raw, RawPlaintexts) or len(raw) != len(products):
            raise PearsonError("malformed decrypted products from the host")
        if raw.public_key != public or raw.frac_bits != products.frac_bits:
            raise PearsonError("malformed decrypted products from the host")
        cross = mask.remove(raw).reshape(len(host_columns), z.shape[1]).T / rows
        cross = np.clip(cross, -1.0, 1.0)
        cross[constant, :] = np.nan
        host.put("corr", np.ascontiguousarray(cross))
        result.corr = cross
        result.remote_columns = host_columns
        return result
