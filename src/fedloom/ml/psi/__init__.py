"""Sample alignment (private set intersection, FATE's ``Intersection``): RSA and ECDH methods.

``IntersectionGuest(params).run(ctx, ids)`` at the guest and ``IntersectionHost(params).run(ctx,
ids)`` at every host return an :class:`IntersectionResult` with the shared ids in sorted order
and their positions in the local input. See ``docs/psi.md`` for the protocols and what each
party learns.
"""

from fedloom.ml.psi.common import DEFAULT_BATCH_SIZES, IntersectionError, IntersectionResult
from fedloom.ml.psi.guest import IntersectionGuest
from fedloom.ml.psi.host import IntersectionHost
from fedloom.ml.psi.params import ECDHParams, IntersectMethod, IntersectParam, RSAParams

__all__ = [
    "DEFAULT_BATCH_SIZES",
    "ECDHParams",
    "IntersectMethod",
    "IntersectParam",
    "IntersectionError",
    "IntersectionGuest",
    "IntersectionHost",
    "IntersectionResult",
    "RSAParams",
]
