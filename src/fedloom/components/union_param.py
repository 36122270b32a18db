"""FATE's UnionParam."""

from __future__ import annotations

from pydantic import StrictBool

from fedloom.components.base import FateParam


class UnionParam(FateParam):
    """FATE's Union parameters.

    ``allow_missing``: tables whose headers differ are united by column name, a column a
    table lacks reading as missing (NaN) in its rows; without it every non-empty table must
    have the same header. ``keep_duplicate``: a row whose id an earlier table already gave
    is kept under the new id ``<id>_<input>`` (``<input>``: its input's key, ``data_1``...)
    instead of being dropped (the first table's row wins, as in FATE).
    """

    need_run: StrictBool = True
    allow_missing: StrictBool = False
    keep_duplicate: StrictBool = False
