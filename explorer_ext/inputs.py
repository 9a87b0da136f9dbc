"""Parse `%%nkigen --inputs "x=128x256:f32, w=256:bf16"` into input specs.

Each item is `[name=]DIMS:DTYPE` with DIMS like `128x256` (or empty for a scalar:
`s=:f32` or `s=f32`). Named items are matched to the kernel's parameters; unnamed
items are taken in order. Without `--inputs`, `--args a,b` names example arrays in the
notebook, and with neither the arrays named like the parameters are used.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

_ITEM = re.compile(r"^\s*(?:(?P<name>[A-Za-z_]\w*)\s*=\s*)?(?P<dims>\d+(?:\s*x\s*\d+)*)?\s*:?\s*(?P<dtype>[A-Za-z]\w*)\s*$")


class InputsError(ValueError):
    """A malformed `--inputs` / `--args` value."""


def parse_inputs(text: str) -> list[tuple[str | None, tuple[int, ...], str]]:
    """`"x=128x256:f32, w=256:bf16"` -> [("x", (128, 256), "f32"), ("w", (256,), "bf16")]."""
    items = []
    for raw in filter(None, (part.strip() for part in text.split(","))):
        m = _ITEM.match(raw)
        if m is None:
            raise InputsError(f"--inputs: cannot read {raw!r}; write NAME=DIMS:DTYPE, e.g. x=128x256:f32")
        dims = tuple(int(d) for d in re.split(r"\s*x\s*", m.group("dims"))) if m.group("dims") else ()
        items.append((m.group("name"), dims, m.group("dtype")))
    if not items:
        raise InputsError("--inputs is empty; write e.g. --inputs \"x=128x256:f32, w=256:bf16\"")
    return items


def _params(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    target = getattr(fn, "fn", fn)
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p for p in inspect.signature(target).parameters.values() if p.kind in kinds]


def specs_for(fn: Callable[..., Any], text: str) -> list[tuple[tuple[int, ...], str]]:
    """Specs in parameter order; parameters with defaults may be left out (at the end)."""
    items = parse_inputs(text)
    params = _params(fn)
    names = [p.name for p in params]
    if all(name is None for name, _, _ in items):
        if len(items) > len(params):
            raise InputsError(f"--inputs gives {len(items)} inputs but the kernel takes {len(params)}")
        return [(dims, dtype) for _, dims, dtype in items]
    given: dict[str, tuple[tuple[int, ...], str]] = {}
    for k, (name, dims, dtype) in enumerate(items):
        name = name if name is not None else (names[k] if k < len(names) else f"#{k}")
        if name not in names:
            raise InputsError(f"--inputs: the kernel has no parameter {name!r} (it takes {', '.join(names)})")
        given[name] = (dims, dtype)
    specs = []
    for p in params:
        if p.name in given:
            specs.append(given[p.name])
            continue
        if p.default is inspect.Parameter.empty:
            raise InputsError(f"--inputs: no shape for parameter {p.name!r}; add {p.name}=DIMS:DTYPE")
        break
    return specs


def arrays_for(names_text: str, namespace: dict[str, Any]) -> list[Any]:
    """`--args a,b`: the arrays named in the user's namespace, in order."""
    names = [n.strip() for n in names_text.split(",") if n.strip()]
    missing = [n for n in names if n not in namespace]
    if missing:
        raise InputsError(f"--args: {', '.join(missing)} not defined in the notebook")
    return [namespace[n] for n in names]


def arrays_named_like_params(fn: Callable[..., Any], namespace: dict[str, Any]) -> list[Any] | None:
    """The notebook's arrays named like the kernel's parameters (those without defaults),
    or None unless every such parameter has one."""
    params = [p for p in _params(fn) if p.default is inspect.Parameter.empty]
    found = [namespace.get(p.name) for p in params]
    if not params or not all(hasattr(a, "shape") and hasattr(a, "dtype") for a in found):
        return None
    return found
