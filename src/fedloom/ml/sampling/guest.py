"""The guest's side of a sampling protocol: check that every host holds the same ids, then
send the row positions of each part it drew.

Positions index the shared sorted-id order, so a host learns which of its own rows are in
each part and nothing else: after Intersection both sides hold exactly these ids already.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from fedloom.federation import Context
from fedloom.ml.sampling._common import id_digest


def share_parts(ctx: Context, ids: list[str], parts: list[NDArray[np.int64]]) -> None:
    """Send every host ``parts`` (positions in sorted-id order) once each host's id set is
    found equal to ``ids``; a ValueError (and a refusal to the hosts) otherwise."""
    own = id_digest(ids)
    digests = ctx.hosts.get("id_digest")
    same = all(isinstance(d, str) and d == own for d in digests)
    ctx.hosts.put("aligned", same)
    if not same:
        raise ValueError("a host's table does not hold the guest's ids: intersect the tables first")
    ctx.hosts.put("parts", [np.asarray(p, dtype=np.int64) for p in parts])
