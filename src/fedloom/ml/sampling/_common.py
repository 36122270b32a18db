"""What the guest and the hosts of a sampling protocol share: the id-set digest, the common
row order and how labels are named."""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray


def sorted_order(ids: list[str]) -> NDArray[np.int64]:
    """Row indices of ``ids`` in sorted-id order: the order every party shares once their id
    sets are equal (positions sent between parties index this order)."""
    return np.asarray(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)


def id_digest(ids: list[str]) -> str:
    """SHA-256 of the sorted id set (each id length-prefixed), hex: equal digests mean equal
    id sets; the digest says nothing else about the ids."""
    digest = hashlib.sha256()
    for sample_id in sorted(ids):
        raw = sample_id.encode("utf-8")
        digest.update(len(raw).to_bytes(8, "big"))
        digest.update(raw)
    return digest.hexdigest()


def label_key(value: float) -> str:
    """A label's name as FATE writes it in models: ``"1"`` for 1.0, ``"0.5"`` otherwise."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)
