"""Pass-pipeline text for `nkipy-kg-opt`: parse it and plan the PassManager steps.

    builtin.module(strip-nkipy-annotations, canonicalize{max-iterations=3}, func.func(cse))

An element naming a registered Python pass becomes a Python step (`PassSpec.add_to`);
anything else is upstream pipeline text handed to `PassManager.add`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from nkipy_kg._mlir import PassManager, make_context
from nkipy_kg.passes import REGISTRY
from nkipy_kg.passes.registry import parse_options


class PipelineError(Exception):
    """A pipeline that cannot be built: exit code 2."""

    def __init__(self, message: str, unknown: bool = False) -> None:
        super().__init__(message)
        self.unknown = unknown


@dataclasses.dataclass(frozen=True)
class Element:
    """One parsed pipeline element: `name`, `name{options}` or `anchor(elements...)`."""

    name: str
    options: str = ""
    nested: tuple[Element, ...] | None = None

    def text(self) -> str:
        if self.nested is not None:
            return f"{self.name}({','.join(e.text() for e in self.nested)})"
        return f"{self.name}{{{self.options}}}" if self.options else self.name

    def has_python(self) -> bool:
        if self.nested is not None:
            return any(e.has_python() for e in self.nested)
        return self.name in REGISTRY and REGISTRY[self.name].is_python


@dataclasses.dataclass(frozen=True)
class Step:
    """What one `pm.add` receives: a Python pass by name, or upstream pipeline text."""

    label: str
    text: str
    python: bool = False
    options: str = ""

    def add_to(self, pm: PassManager) -> None:
        if self.python:
            REGISTRY[self.text].add_to(pm, self.options)
            return
        try:
            pm.add(self.text)
        except ValueError as exc:
            unknown = re.search(r"'([^']+)' does not refer to a registered pass", str(exc))
            if unknown:
                raise PipelineError(f"unknown pass '{unknown.group(1)}'; registered passes:", unknown=True) from None
            first = str(exc).splitlines()[0].split("error: ")[-1]
            raise PipelineError(f"invalid pass pipeline element '{self.text}': {first}") from None


_ELEMENT = re.compile(r"\s*(?P<name>[\w.\-]+)\s*(?:\{(?P<opts>.*)\})?\s*(?:\((?P<nested>.*)\))?\s*", re.S)


def parse_pipeline(text: str) -> list[Element]:
    """`builtin.module(a, b{opt=1}, func.func(c))` -> elements; the module anchor is optional."""
    elements = _parse_elements(text)
    if len(elements) == 1 and elements[0].name == "builtin.module" and elements[0].nested is not None:
        return list(elements[0].nested)
    return elements


def _parse_elements(text: str) -> list[Element]:
    if not text.strip():
        return []
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch in "({") - (ch in ")}")
        if depth < 0:
            raise PipelineError(f"unbalanced '{ch}' in pass pipeline '{text}'")
        if ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if depth:
        raise PipelineError(f"unbalanced brackets in pass pipeline '{text}'")
    elements = []
    for item in [*items, text[start:]]:
        m = _ELEMENT.fullmatch(item)
        if not m:
            raise PipelineError(f"cannot parse pass pipeline element '{item.strip()}'")
        nested = None if m["nested"] is None else tuple(_parse_elements(m["nested"]))
        elements.append(Element(m["name"], m["opts"] or "", nested))
    return elements


def plan_steps(elements: Sequence[Element], split_all: bool) -> list[Step]:
    """Steps for one PassManager. Anchored groups stay one upstream element unless they hold
    a Python pass or every pass is dumped; then each inner pass is its own step. Python
    passes always run on the module: they walk every function anyway."""
    return [step for e in elements for step in _steps(e, (), split_all)]


def _steps(e: Element, anchors: tuple[str, ...], split_all: bool) -> list[Step]:
    if e.nested is not None and (split_all or e.has_python()):
        return [s for inner in e.nested for s in _steps(inner, (*anchors, e.name), split_all)]
    spec = REGISTRY.get(e.name)
    if e.nested is None and spec is not None and spec.is_python:
        unknown = set(parse_options(e.options)) - set(spec.options)
        if unknown:
            raise PipelineError(f"pass '{e.name}' has no option(s) {', '.join(sorted(unknown))}")
        return [Step(e.name, e.name, python=True, options=e.options)]
    # Registered upstream passes use the registry's text (it may pin options).
    registered = e.nested is None and spec is not None and spec.upstream and not e.options
    text = spec.upstream if registered else e.text()
    for anchor in reversed(anchors):
        text = f"{anchor}({text})"
    return [Step(e.text(), text)]


def validate(steps: Sequence[Step]) -> None:
    """Build the PassManager once up front so a bad pipeline fails before any input is read."""
    with make_context():
        pm = PassManager()
        for step in steps:
            step.add_to(pm)


def compiler_pipeline(target: str, stop_after: str | None = None) -> list[Element]:
    """The stages `nkipy_kg.compile` runs (`nkipy_kg.pipeline.PIPELINE`), as CLI elements."""
    from nkipy_kg.pipeline import PIPELINE, resolve_stop
    from nkipy_kg.targets import TARGETS

    if target not in TARGETS:
        raise PipelineError(f"unknown target {target!r}; known targets: {', '.join(TARGETS)}")
    try:
        stop = resolve_stop(int(stop_after) if stop_after is not None and stop_after.isdigit() else stop_after)
    except ValueError as exc:
        raise PipelineError(f"--stop-after: {exc}") from None
    return [Element(s.name, s.options_for(target)) for s in PIPELINE[:stop]]


def pipeline_listing(target: str = "trn2") -> str:
    """One line per compiler stage: index, phase, pipeline element."""
    from nkipy_kg.pipeline import PIPELINE

    rows = [f"  {i:>2} {s.phase:<12} {Element(s.name, s.options_for(target)).text()}"
            for i, s in enumerate(PIPELINE, start=1)]
    return "\n".join(rows)
