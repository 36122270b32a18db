"""Helpers of the PSI option tests: run a guest and hosts with any params and role kwargs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fedloom.federation import HarnessResult, JobParties, Party, run_parties
from fedloom.ml.psi import IntersectionGuest, IntersectionHost, IntersectionResult, IntersectParam


def params(**fields: Any) -> IntersectParam:
    """IntersectParam with test-sized RSA keys unless given."""
    fields.setdefault("rsa_params", {"key_length": 1024})
    return IntersectParam.model_validate(fields)


def run(
    guest_params: IntersectParam,
    guest_ids: Sequence[str],
    host_ids: Sequence[Sequence[str]],
    *,
    host_params: IntersectParam | None = None,
    guest_kwargs: dict[str, Any] | None = None,
    host_kwargs: Sequence[dict[str, Any]] | None = None,
    batch_size: int = 32,
) -> HarnessResult:
    """One guest (9999) and one host (10000 + i) per entry of ``host_ids``, inline crypto."""
    parties = JobParties.of(guest=9999, hosts=[10000 + i for i in range(len(host_ids))])
    assert parties.guest is not None
    hp = host_params if host_params is not None else guest_params
    gk = {"batch_size": batch_size, "workers": 1, **(guest_kwargs or {})}
    tasks: dict[Party, Any] = {
        parties.guest: lambda ctx: IntersectionGuest(guest_params, **gk).run(ctx, guest_ids)
    }
    for i, (host, ids) in enumerate(zip(parties.hosts, host_ids, strict=True)):
        extra = host_kwargs[i] if host_kwargs is not None else {}
        hk = {"batch_size": batch_size + 5, "workers": 1, **extra}
        tasks[host] = lambda ctx, ids=ids, hk=hk: IntersectionHost(hp, **hk).run(ctx, ids)
    return run_parties(parties, tasks, timeout=120)


def guest_of(result: HarnessResult) -> IntersectionResult:
    """The guest's result."""
    (res,) = [v for p, v in result.results.items() if p.role == "guest"]
    assert isinstance(res, IntersectionResult)
    return res


def hosts_of(result: HarnessResult) -> list[IntersectionResult]:
    """The hosts' results in party order."""
    return [v for p, v in sorted(result.results.items()) if p.role == "host"]


def party(result: HarnessResult, role: str, index: int = 0) -> Party:
    """The ``index``-th party of ``role``."""
    return sorted(p for p in result.received if p.role == role)[index]


def tags(result: HarnessResult, who: Party) -> set[str]:
    """Every tag ``who`` received."""
    return {r.tag for r in result.received[who]}


def values(result: HarnessResult, who: Party, suffix: str) -> list[Any]:
    """The values ``who`` received under tags ending with ``suffix``."""
    return [r.value for r in result.received[who] if r.tag.endswith(suffix)]


def ids(prefix: str, start: int, stop: int) -> list[str]:
    """``prefix-00000start`` ... ids."""
    return [f"{prefix}-{i:06d}" for i in range(start, stop)]
