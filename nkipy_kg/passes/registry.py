"""Every pass nkipy-kg knows, by kebab-case name: ours (Python) and upstream (C++).

A pass is data: a `PassSpec`. The CLI (`nkipy-kg-opt --<name>`), the pipeline driver
and the explorer all read this one table. Python passes register themselves with
`@python_pass("name")` in their own module (one pass = one file); importing
`nkipy_kg.passes` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nkipy_kg._mlir import PassManager, ir

PassBody = Callable[[ir.Operation], None]


@dataclass(frozen=True)
class PassSpec:
    """One pass. Exactly one of `body` (Python) and `upstream` (C++ pipeline text) is set."""

    name: str
    summary: str
    body: PassBody | None = None
    upstream: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def is_python(self) -> bool:
        return self.body is not None

    def add_to(self, pm: PassManager, options: str = "") -> None:
        """Append this pass to `pm`; `options` is the text inside `{...}` if any."""
        if self.body is None:
            text = self.upstream if not options else f"{self.name}{{{options}}}"
            pm.add(text)
            return
        body = self.body
        parsed = parse_options(options)

        def run(op: ir.Operation, pass_) -> None:  # noqa: ANN001 - the bindings' pass handle
            body(op, **parsed) if parsed else body(op)

        pm.add(run, self.name)


REGISTRY: dict[str, PassSpec] = {}


def python_pass(name: str, summary: str = "", **options: str) -> Callable[[PassBody], PassBody]:
    """Register `fn(module_op, **options)` as the Python pass `name`."""

    def register(fn: PassBody) -> PassBody:
        if name in REGISTRY:
            raise ValueError(f"pass {name!r} registered twice")
        doc = summary or (fn.__doc__ or "").strip().splitlines()[0]
        REGISTRY[name] = PassSpec(name=name, summary=doc, body=fn, options=dict(options))
        return fn

    return register


def upstream_pass(name: str, summary: str, text: str | None = None) -> PassSpec:
    """Register an upstream C++ pass; `text` is its pipeline element (default: the name)."""
    spec = PassSpec(name=name, summary=summary, upstream=text or name)
    REGISTRY.setdefault(name, spec)
    return REGISTRY[name]


def parse_options(text: str) -> dict[str, str]:
    """`"target=trn2 sbuf-capacity=4096"` -> {"target": "trn2", "sbuf_capacity": "4096"}."""
    out: dict[str, str] = {}
    for item in text.split():
        key, _, value = item.partition("=")
        out[key.replace("-", "_")] = value or "true"
    return out


def run_passes(text: str, *names: str, options: dict[str, str] | None = None) -> str:
    """`text` after the registered passes `names` (in one PassManager), verified.

    `options` gives a pass its option text by name, e.g. {"infer-layout": "target=trn1"}.
    """
    from nkipy_kg._mlir import make_context

    with make_context():
        module = ir.Module.parse(text)
        pm = PassManager()
        for name in names:
            get(name).add_to(pm, (options or {}).get(name, ""))
        pm.run(module.operation)
        module.operation.verify()
        return str(module)


def get(name: str) -> PassSpec:
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown pass {name!r}; known passes: {known}")
    return REGISTRY[name]


for _name, _summary in [
    ("canonicalize", "upstream canonicalizer"),
    ("cse", "upstream common-subexpression elimination"),
    ("symbol-dce", "upstream dead-symbol elimination"),
    ("inline", "upstream inliner"),
]:
    upstream_pass(_name, _summary)
upstream_pass(
    "one-shot-bufferize",
    "upstream one-shot bufferization",
    "one-shot-bufferize{bufferize-function-boundaries allow-unknown-ops}",
)
