"""How a table's data is laid out: FATE's upload ``meta`` (``with_meta`` + ``meta``).

Keys (FATE names): ``input_format`` (``dense`` | ``sparse`` | ``tag``), ``delimiter`` (splits a
row; for sparse/tag tables the features text after the id), ``tag_with_value``,
``tag_value_delimitor``, ``with_label``, ``label_name``, ``label_type``. FATE's match-id keys
(``id_list``, ``id_range``) are refused: fedloom aligns parties on the table's id column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

INPUT_FORMATS = ("dense", "sparse", "tag")
"""FATE's input formats."""
LABEL_TYPES = ("int", "int64", "long", "float", "float64")
"""Label types fedloom reads (labels are numbers)."""
_NO_MATCH_ID = "fedloom aligns parties on the table's id column (no match ids)"
_REFUSED = {
    "id_list": f"match-id lists are not supported: {_NO_MATCH_ID}",
    "id_range": f"match-id ranges are not supported: {_NO_MATCH_ID}",
}
_ALIASES = {"delimitor": "delimiter", "tag_value_delimiter": "tag_value_delimitor"}


class TableOptionError(ValueError):
    """An upload option or a ``meta`` key has a wrong value; ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


def one_char(param: str, value: object) -> str:
    """``value`` if it is one character other than a quote or a line break."""
    if not isinstance(value, str) or len(value) != 1 or value in '"\r\n':
        raise TableOptionError(
            param, f"must be one character (not a quote or line break): {value!r}"
        )
    return value


@dataclass(frozen=True)
class TableFormat:
    """The layout of a table's rows (FATE's upload meta), with FATE's defaults.

    ``given`` lists the keys the uploader set; the others are defaults.
    """

    input_format: str = "dense"
    delimiter: str = ","
    tag_with_value: bool = False
    tag_value_delimitor: str = ":"
    with_label: bool = False
    label_name: str = "y"
    label_type: str = "int"
    given: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def dense(self) -> bool:
        """True for dense tables (one column per feature)."""
        return self.input_format == "dense"

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None, param: str = "meta") -> TableFormat:
        """Validate FATE's upload ``meta``; errors name ``param.key``."""
        if meta is None:
            return cls()
        if not isinstance(meta, Mapping):
            raise TableOptionError(param, "must be a JSON object")
        values: dict[str, Any] = {}
        known = [f.name for f in fields(cls) if f.name != "given"]
        for raw_key, value in meta.items():
            key = _ALIASES.get(raw_key, raw_key)
            where = f"{param}.{raw_key}"
            if key in _REFUSED:
                raise TableOptionError(where, _REFUSED[key])
            if key not in known:
                raise TableOptionError(where, f"unknown key; known keys: {', '.join(known)}")
            values[key] = _check(where, key, value)
        made = cls(**values, given=frozenset(values))
        if not made.dense and made.tag_value_delimitor == made.delimiter:
            raise TableOptionError(f"{param}.tag_value_delimitor", "must differ from the delimiter")
        return made

    def to_meta(self) -> dict[str, Any]:
        """The format as JSON-safe FATE meta (every key, defaults included)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "given"}


def stored_format(meta: Mapping[str, Any] | None) -> TableFormat:
    """The format recorded with a stored table (its other keys are upload options)."""
    known = {f.name for f in fields(TableFormat)} - {"given"}
    return TableFormat.from_meta({k: v for k, v in (meta or {}).items() if k in known})


def _check(where: str, key: str, value: Any) -> Any:
    if key in ("tag_with_value", "with_label"):
        if not isinstance(value, bool):
            raise TableOptionError(where, f"must be true or false, got {value!r}")
        return value
    if key in ("delimiter", "tag_value_delimitor"):
        return one_char(where, value)
    if not isinstance(value, str) or not value.strip():
        raise TableOptionError(where, f"must be a non-empty string, got {value!r}")
    if key == "input_format":
        return _choice(where, value.lower(), INPUT_FORMATS)
    if key == "label_type":
        return _choice(where, value.lower(), LABEL_TYPES)
    return value.strip()


def _choice(where: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise TableOptionError(where, f"expected one of {', '.join(allowed)}, got {value!r}")
    return value
