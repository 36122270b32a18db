"""Sample alignment (private set intersection, FATE's ``Intersection``): RSA, ECDH and DH methods.

``IntersectionGuest(params).run(ctx, ids)`` at the guest and ``IntersectionHost(params).run(ctx,
ids)`` at every host return an :class:`IntersectionResult` with the shared ids in sorted order
and their positions in the local input (or, with ``cardinality_only``, only their number).
Options: salted hashing, Bloom-filter preprocessing (``bloom.py``), cardinality-only runs
(``cardinality.py``), new random sample ids (``sample_ids.py``) and caches (``cache.py``). See
``docs/psi.md`` for the protocols and what each party learns.
"""

from fedloom.ml.psi.cache import GuestCache, HostCache
from fedloom.ml.psi.common import DEFAULT_BATCH_SIZES, IntersectionError, IntersectionResult
from fedloom.ml.psi.guest import IntersectionGuest
from fedloom.ml.psi.host import IntersectionHost
from fedloom.ml.psi.params import (
    DHParams,
    ECDHParams,
    IntersectMethod,
    IntersectParam,
    PreprocessParams,
    RSAParams,
)

__all__ = [
    "DEFAULT_BATCH_SIZES",
    "DHParams",
    "ECDHParams",
    "GuestCache",
    "HostCache",
    "IntersectMethod",
    "IntersectParam",
    "IntersectionError",
    "IntersectionGuest",
    "IntersectionHost",
    "IntersectionResult",
    "PreprocessParams",
    "RSAParams",
]
