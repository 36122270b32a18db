"""FATE's ``new_sample_id``: replace the shared ids by fresh random ids known to both sides.

After a synced intersection every party holds the same sorted list of shared ids. The
``sample_id_generator`` draws one random 32-hex-digit id per shared row and sends the list, in
that canonical order, to the other side(s) under the tag ``new_sample_ids``. The new ids are
independent of the real ones, so they tell the receiver nothing but the count it already knows.

- generator ``guest``: the guest sends the list to every host;
- generator ``host``: only with one host (with several, they would each draw different ids);
  it sends the list to the guest.

With ``join_method: left_join`` (guest generator only) the guest also draws new ids for its
rows that are not shared and sends them as ``left_join_ids``; every party then outputs those
rows too, the hosts with missing values. The hosts learn the guest's input size, nothing else.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

import numpy as np

from fedloom.federation import Context
from fedloom.ml.psi.common import IntersectionError, IntersectionResult
from fedloom.ml.psi.params import IntersectParam

NEW_SAMPLE_IDS = "new_sample_ids"
LEFT_JOIN_IDS = "left_join_ids"
NEW_ID_HEX = 32


def draw_ids(count: int) -> list[str]:
    """``count`` distinct random ids of 32 hex digits."""
    out: set[str] = set()
    while len(out) < count:
        out.add(secrets.token_hex(NEW_ID_HEX // 2))
    return sorted(out)


def check_new_ids(
    value: object, count: int | None, peer: object, tag: str = NEW_SAMPLE_IDS
) -> list[str]:
    """``value`` if it is ``count`` (any number when None) distinct 32-hex-digit ids, else an
    IntersectionError."""
    if not isinstance(value, list) or (count is not None and len(value) != count):
        raise IntersectionError(f"{peer}: {tag} must be a list of {count or 'new'} ids")
    hexdigits = set("0123456789abcdef")
    for x in value:
        if not isinstance(x, str) or len(x) != NEW_ID_HEX or not set(x) <= hexdigits:
            raise IntersectionError(f"{peer}: {tag} holds a malformed id")
    if len(set(value)) != len(value):
        raise IntersectionError(f"{peer}: {tag} repeats an id")
    return value


def check_generator(ctx: Context, params: IntersectParam) -> None:
    """ValueError before any exchange when the generator cannot serve this job's parties."""
    if params.new_sample_id and params.sample_id_generator == "host":
        if len(ctx.parties.hosts) != 1:
            raise ValueError("sample_id_generator 'host' needs exactly one host")


def finish_sample_ids(
    ctx: Context, params: IntersectParam, result: IntersectionResult
) -> IntersectionResult:
    """``result`` with ``new_ids`` drawn or received, when ``params.new_sample_id``."""
    if not params.new_sample_id:
        return result
    if result.ids is None:  # refused by IntersectParam; a broken invariant otherwise
        raise IntersectionError("new_sample_id needs a synced intersection")
    count = len(result.ids)
    check_generator(ctx, params)
    if params.join_method == "left_join":
        return _left_join(ctx, result)
    generator = ctx.is_guest == (params.sample_id_generator == "guest")
    if generator:
        new = draw_ids(count)
        secrets.SystemRandom().shuffle(new)
        if ctx.is_guest:
            ctx.hosts.put(NEW_SAMPLE_IDS, new)
        else:
            ctx.guest.put(NEW_SAMPLE_IDS, new)
    elif ctx.is_guest:
        peer = ctx.hosts[0]
        new = check_new_ids(peer.get(NEW_SAMPLE_IDS), count, peer.party)
    else:
        new = check_new_ids(ctx.guest.get(NEW_SAMPLE_IDS), count, ctx.guest.party)
    return replace(result, new_ids=new)


def _left_join(ctx: Context, result: IntersectionResult) -> IntersectionResult:
    """New ids for the shared rows and for the guest's other rows, drawn by the guest; the
    hosts get both lists (the second only tells them the guest's input size)."""
    assert result.ids is not None and result.positions is not None
    count = len(result.ids)
    if ctx.is_guest:
        left = np.setdiff1d(np.arange(result.input_count), result.positions).astype(np.int64)
        drawn = draw_ids(count + len(left))
        secrets.SystemRandom().shuffle(drawn)
        new, left_ids = drawn[:count], drawn[count:]
        ctx.hosts.put(NEW_SAMPLE_IDS, new)
        ctx.hosts.put(LEFT_JOIN_IDS, left_ids)
        return replace(result, new_ids=new, left_ids=left_ids, left_positions=left)
    guest = ctx.guest
    new = check_new_ids(guest.get(NEW_SAMPLE_IDS), count, guest.party)
    left_ids = check_new_ids(guest.get(LEFT_JOIN_IDS), None, guest.party, LEFT_JOIN_IDS)
    if set(left_ids) & set(new):
        raise IntersectionError(f"{guest.party}: {LEFT_JOIN_IDS} repeats a shared id")
    return replace(result, new_ids=new, left_ids=left_ids)
