"""The ``components`` section of a DSL: each component's outputs and inputs, resolved.

Inputs refer to other components' outputs (``intersection_0.data``), to a deployed model in a
predict job (``pipeline.<component>.model``), or to a cache (``intersect_0.cache``); every
reference is checked against the module's declaration and the referenced component's outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from fedloom.dsl.errors import ErrorCollector, join_path
from fedloom.dsl.plan import InputRef
from fedloom.dsl.spec import (
    CACHE_SLOTS,
    DATA_SLOTS,
    MODEL_SLOTS,
    OUTPUT_KINDS,
    PIPELINE,
    ModuleSpec,
)

NAME = re.compile(r"[A-Za-z0-9_\-]+")
"""Component and output names: letters, digits, ``_`` and ``-``."""
COMPONENTS = "dsl.components"


@dataclass
class Component:
    """One DSL component while the job is parsed: its spec, raw inputs, outputs, resolved inputs."""

    name: str
    module: str
    spec: ModuleSpec | None
    raw_inputs: object
    outputs: dict[str, list[str]]
    inputs: list[InputRef] = field(default_factory=list)


def parse_outputs(
    value: object, spec: ModuleSpec | None, path: str, errors: ErrorCollector
) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(path, 'must be an object such as {"data": ["data"], "model": ["model"]}')
        return {}
    outputs: dict[str, list[str]] = {}
    for kind, names in value.items():
        kind_path = join_path(path, kind)
        if kind not in OUTPUT_KINDS:
            errors.add(kind_path, f"unknown output kind; expected {' or '.join(OUTPUT_KINDS)}")
        elif not isinstance(names, list) or not all(
            isinstance(n, str) and NAME.fullmatch(n) for n in names
        ):
            errors.add(kind_path, "must be a list of output names (letters, digits, '_', '-')")
        elif len(set(names)) != len(names):
            errors.add(kind_path, "an output name appears twice")
        elif spec is not None and len(names) > _output_count(spec, kind):
            count = _output_count(spec, kind)
            errors.add(
                kind_path,
                f"{spec.module} has {count} {kind} output{'s' if count > 1 else ''}; "
                f"declare at most {count} name{'s' if count > 1 else ''}",
            )
        else:
            outputs[kind] = list(names)
    return outputs


def _output_count(spec: ModuleSpec, kind: str) -> int:
    return len(spec.data_output_names) if kind == "data" else 1


def parse_inputs(
    comp: Component, components: dict[str, Component], errors: ErrorCollector, predict: bool
) -> list[InputRef]:
    path = join_path(COMPONENTS, comp.name, "input")
    spec, raw = comp.spec, comp.raw_inputs
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.add(path, 'must be an object such as {"data": {"data": ["reader_0.data"]}}')
        return []
    slots: list[tuple[str, Literal["data", "model", "cache"], object, str]] = []
    for key, value in raw.items():
        key_path = join_path(path, key)
        if key == "data":
            if not isinstance(value, dict):
                errors.add(key_path, 'must be an object such as {"data": ["reader_0.data"]}')
                continue
            for slot, refs in value.items():
                slot_path = join_path(key_path, slot)
                if slot not in DATA_SLOTS:
                    errors.add(slot_path, f"unknown data input; FATE's are {', '.join(DATA_SLOTS)}")
                elif spec is not None and slot not in spec.data_inputs:
                    takes = ", ".join(spec.data_inputs) or "none"
                    errors.add(slot_path, f"{spec.module} takes no data input {slot!r} ({takes})")
                else:
                    slots.append((slot, "data", refs, slot_path))
        elif key in MODEL_SLOTS:
            if spec is not None and key not in spec.model_inputs:
                errors.add(key_path, f"{spec.module} takes no {key} input (no model loading)")
            else:
                slots.append((key, "model", value, key_path))
        elif key in CACHE_SLOTS:
            if spec is not None and key not in spec.cache_inputs:
                errors.add(key_path, f"{spec.module} takes no cache input")
            else:
                slots.append((key, "cache", value, key_path))
        else:
            errors.add(
                key_path, "unknown input; FATE inputs are data, model, isometric_model and cache"
            )

    inputs: list[InputRef] = []
    counts: dict[str, int] = {}
    for slot, kind, refs, slot_path in slots:
        if not isinstance(refs, list) or not refs:
            errors.add(slot_path, 'must be a non-empty list such as ["reader_0.data"]')
            continue
        counts[slot] = len(refs)
        for i, ref in enumerate(refs):
            ref_path = slot_path if len(refs) == 1 else join_path(slot_path, i)
            resolved = _resolve(ref, slot, kind, comp, components, ref_path, errors, predict)
            if resolved is not None:
                inputs.append(resolved)
    if spec is not None:
        wanted = [("data", s, r) for s, r in spec.data_inputs.items()]
        wanted += [("", s, r) for s, r in spec.model_inputs.items()]
        wanted += [("", s, r) for s, r in spec.cache_inputs.items()]
        for group, slot, (least, most) in wanted:
            slot_path = join_path(path, group, slot)
            count = counts.get(slot, 0)
            if count < least:
                errors.add(slot_path, f"required: {spec.module} reads its input from here")
            elif count > most:
                errors.add(slot_path, f"{spec.module} takes at most {most} input(s) here")
    return inputs


def _resolve(
    ref: object,
    slot: str,
    kind: Literal["data", "model", "cache"],
    comp: Component,
    components: dict[str, Component],
    path: str,
    errors: ErrorCollector,
    predict: bool,
) -> InputRef | None:
    if not isinstance(ref, str) or "." not in ref:
        errors.add(path, f"expected '<component>.<output>', got {ref!r}")
        return None
    name, output = ref.split(".", 1)
    if name == PIPELINE:
        return _deployed(ref, slot, kind, path, errors, predict)
    if name == "args":
        errors.add(path, "'args.' references are DSL v1; DSL v2 reads data through a Reader")
        return None
    upstream = components.get(name)
    if upstream is None:
        errors.add(path, f"no component {name!r} in dsl.components")
        return None
    if upstream is comp:
        errors.add(path, "a component cannot read its own output")
        return None
    declared = upstream.outputs.get(kind, [])
    if output not in declared:
        errors.add(path, f"{name} declares no {kind} output {output!r} (output.{kind}: {declared})")
        return None
    if upstream.spec is not None and kind not in upstream.spec.outputs:
        errors.add(path, f"{name} ({upstream.module}) produces no {kind} output")
        return None
    return InputRef(slot, kind, name, output)


def _deployed(
    ref: str,
    slot: str,
    kind: Literal["data", "model", "cache"],
    path: str,
    errors: ErrorCollector,
    predict: bool,
) -> InputRef | None:
    """A ``pipeline.<component>.model`` reference: the deployed model of a predict job."""
    parts = ref.split(".")
    if not predict:
        errors.add(path, "'pipeline.' references name a deployed model; only predict jobs have one")
    elif kind != "model" or len(parts) != 3 or parts[2] != "model" or not NAME.fullmatch(parts[1]):
        errors.add(path, f"expected 'pipeline.<component>.model' in a model input, got {ref!r}")
    else:
        return InputRef(slot, "model", f"{PIPELINE}.{parts[1]}", "model")
    return None
