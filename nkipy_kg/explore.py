"""What the explorer renders: one kernel's trip through the pipeline, as plain data.

    ex = explore(kernel, x, w, target="trn2")
    ex.stages[3].status, ex.stages[3].op_deltas     # "changed", {"linalg.mul": +1, ...}
    ex.diffs[3]                                     # difflib opcodes: stage 2 -> stage 3
    ex.save_html("softmax.html")                    # one self-contained file, no network
    ex = explore(kernel, x, w, run=True)            # + the Run tab: ex.run.time_us, .utilisation, .outputs

The explorer (static HTML or the `%%nkigen` widget) only reads `Exploration.to_json()`;
it never sees MLIR objects. Every stage of `PIPELINE` is listed: stages that ran,
the one that failed (with its error and repro command) and the ones that did not
run (after `stop_after`, after a failure, or whose pass is not registered yet).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from nkipy_kg import passes as _passes
from nkipy_kg.driver import Compilation, compile as compile_
from nkipy_kg.errors import NkipyError
from nkipy_kg.explore_locations import source_lines_for
from nkipy_kg.explore_run import RunView
from nkipy_kg.explore_source import KernelSource, kernel_source, widen
from nkipy_kg.frontend.tracer import TracedFunction, trace
from nkipy_kg.pipeline import PIPELINE, resolve_stop

SCHEMA = 1


@dataclass(frozen=True)
class StageView:
    """One row of the pass list and the IR shown for it.

    status: "input" (stage 0), "changed", "unchanged", "failed", or "not-run"
    (after stop_after or a failure) / "not-registered" (the pass does not exist yet).
    """

    index: int
    name: str
    phase: str
    status: str
    seconds: float = 0.0
    op_counts: dict[str, int] = field(default_factory=dict)
    op_deltas: dict[str, int] = field(default_factory=dict)
    ir: str = ""
    source_lines: tuple[int | None, ...] = ()   # per IR line: source line, or None
    repro: str = ""
    options: str = ""
    summary: str = ""                           # the pass's one-line docstring

    @property
    def ran(self) -> bool:
        return self.status in ("input", "changed", "unchanged")


@dataclass(frozen=True)
class StageDiff:
    """Line diff of stage `after - 1` -> `after`: difflib opcodes (tag, i1, i2, j1, j2)."""

    after: int
    opcodes: tuple[tuple[str, int, int, int, int], ...]
    added: int
    removed: int


@dataclass(frozen=True)
class StageError:
    """The pass failure that ended the run."""

    stage: int
    pass_name: str
    kind: str
    message: str
    rendered: str
    file: str = ""
    line: int | None = None


@dataclass
class Exploration:
    kernel: str
    target: str
    source: KernelSource | None
    stages: list[StageView]
    diffs: dict[int, StageDiff]
    error: StageError | None = None
    # Tile/memory/graph data per stage whose IR differs from the stage before (see
    # explore_diagrams.py, explore_memory.py, explore_graph.py); an unchanged stage shows the diagrams of the last one listed.
    diagrams: dict[int, dict[str, Any]] = field(default_factory=dict)
    # The Run tab: one device run of the fully compiled kernel (explore(..., run=True)).
    run: RunView | None = None

    @property
    def ran(self) -> list[StageView]:
        return [s for s in self.stages if s.ran]

    def to_dict(self) -> dict[str, Any]:
        """The explorer's input. Stage 0 carries its IR lines; every later stage that ran
        carries only the lines its diff inserts (`ir_delta`, one chunk per non-equal
        opcode with inserted lines), so the payload grows with the changes, not with
        the number of passes. `ir_lines_of` rebuilds a stage's lines."""
        stages = []
        for s in self.stages:
            row = asdict(s)
            row["seconds"] = round(s.seconds, 6)
            row["source_lines"] = list(s.source_lines)
            del row["ir"]
            diff = self.diffs.get(s.index)
            row["ir_lines"] = s.ir.splitlines() if s.ran and diff is None else []
            if diff is not None:
                new = s.ir.splitlines()
                row["ir_delta"] = [new[j1:j2] for tag, _i1, _i2, j1, j2 in diff.opcodes if tag != "equal" and j2 > j1]
            stages.append(row)
        return {
            "schema": SCHEMA,
            "kernel": self.kernel,
            "target": self.target,
            "source": asdict(self.source) if self.source else None,
            "stages": stages,
            "diffs": {str(k): asdict(d) for k, d in sorted(self.diffs.items())},
            "error": asdict(self.error) if self.error else None,
            "diagrams": {str(k): d for k, d in sorted(self.diagrams.items())},
            "run": self.run.to_dict() if self.run else None,
        }

    def to_json(self) -> str:
        """Stable JSON (sorted keys, no addresses); the only input of the explorer views."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def save_html(self, path: str | Path) -> Path:
        """Write one self-contained HTML file (inline JS/CSS, no network) and return its path."""
        from nkipy_kg.explore_html import render_html

        out = Path(path)
        out.write_text(render_html(self.to_json(), title=self.title), encoding="utf-8")
        return out

    @property
    def title(self) -> str:
        from nkipy_kg.explore_html import BRAND

        return f"{BRAND} · {self.kernel}"

    def _repr_html_(self) -> str:
        from nkipy_kg.explore_html import saved_output_html

        return saved_output_html(self)

    def __repr__(self) -> str:
        changed = sum(s.status == "changed" for s in self.stages)
        failed = f", failed={self.error.pass_name!r}" if self.error else ""
        run = f", {self.run.label()}" if self.run else ""
        return (f"Exploration(kernel={self.kernel!r}, target={self.target!r}, stages={len(self.ran)}/"
                f"{len(self.stages)}, changed={changed}{failed}{run})")


def ir_lines_of(data: dict[str, Any], index: int) -> list[str]:
    """Rebuild stage `index`'s IR lines from `to_dict()` data (what the explorer's JS does)."""
    stage = data["stages"][index]
    diff = data["diffs"].get(str(index))
    if diff is None:
        return list(stage["ir_lines"])
    before, chunks, out = ir_lines_of(data, index - 1), iter(stage["ir_delta"]), []
    for tag, i1, i2, j1, j2 in diff["opcodes"]:
        out += before[i1:i2] if tag == "equal" else (next(chunks) if j2 > j1 else [])
    return out


def _runnable(stop: int) -> int:
    """How many of the first `stop` stages have a registered pass (a prefix)."""
    for i, stage in enumerate(PIPELINE[:stop]):
        if stage.name not in _passes.REGISTRY:
            return i
    return stop


def _summary(name: str) -> str:
    spec = _passes.REGISTRY.get(name)
    return spec.summary if spec is not None else "not implemented yet"


def _deltas(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    ops = sorted(set(before) | set(after))
    return {op: after.get(op, 0) - before.get(op, 0) for op in ops if after.get(op, 0) != before.get(op, 0)}


def _diff(after: int, a: str, b: str) -> StageDiff:
    ops = difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False).get_opcodes()
    added = sum(j2 - j1 for tag, _i1, _i2, j1, j2 in ops if tag in ("insert", "replace"))
    removed = sum(i2 - i1 for tag, i1, i2, _j1, _j2 in ops if tag in ("delete", "replace"))
    return StageDiff(after, tuple(ops), added, removed)


def _failure(comp: Compilation) -> StageError:
    """The failed stage is the one after the last snapshot."""
    err, index = comp.error, len(comp.snapshots)
    assert err is not None
    loc = err.loc
    return StageError(index, getattr(err, "pass_name", "") or PIPELINE[index - 1].name, err.kind, err.message,
                      err.render(), loc.file if loc else "", loc.line if loc else None)


def exploration_of(comp: Compilation, source: KernelSource | None, diagrams: bool = True) -> Exploration:
    """Turn a (possibly failed) Compilation into the explorer's data."""
    from nkipy_kg.explore_diagrams import diagrams_for
    from nkipy_kg.explore_memory import spill_budget

    file = source.file if source else None
    stages: list[StageView] = []
    mapped: list[int] = []
    for snap in comp.snapshots:
        prev = stages[-1] if stages else None
        lines = tuple(source_lines_for(snap.ir, snap.ir_with_locations, file))
        mapped += [n for n in lines if n is not None]
        status = "input" if snap.index == 0 else ("changed" if snap.changed else "unchanged")
        stages.append(StageView(
            snap.index, snap.name, snap.group, status, snap.seconds, dict(snap.op_counts),
            _deltas(prev.op_counts, snap.op_counts) if prev else {}, snap.ir, lines,
            comp.repro(snap.index) if snap.index else "", snap.options))
    error = _failure(comp) if comp.error is not None else None
    if error is not None:
        stage = PIPELINE[error.stage - 1]
        stages.append(StageView(error.stage, stage.name, stage.phase, "failed", repro=getattr(comp.error, "repro", ""),
                                options=stage.options_for(comp.target)))
        if error.line is not None and error.file == file:
            mapped.append(error.line)
    for i in range(len(stages), len(PIPELINE) + 1):
        stage = PIPELINE[i - 1]
        status = "not-registered" if stage.name not in _passes.REGISTRY else "not-run"
        stages.append(StageView(i, stage.name, stage.phase, status, options=stage.options_for(comp.target)))
    stages = [replace(s, summary=_summary(s.name) if s.index else "the traced IR") for s in stages]
    diffs = {s.index: _diff(s.index, stages[s.index - 1].ir, s.ir) for s in stages[1:] if s.ran}
    if source is not None and mapped:
        source = widen(source, mapped)
    budget = next((spill_budget(s.options) for s in stages if s.name == "insert-spill-reload"), None)
    pictures = {s.index: diagrams_for(s.ir, comp.target, budget) for s in stages
                if diagrams and s.status in ("input", "changed")}
    return Exploration(comp.kernel, comp.target, source, stages, diffs, error, pictures)


def explore(fn_or_module: Any, *arrays: Any, target: str = "trn2", stop_after: str | int | None = None,
            specs: Sequence[Any] | None = None, kernel_name: str | None = None,
            pass_options: dict[str, str] | None = None, diagrams: bool = True, run: bool = False,
            device: Any = None, compare_numpy: bool = True, seed: int = 0) -> Exploration:
    """Trace `fn_or_module` (a function, a traced function, MLIR text or a module) and
    run the pipeline through `stop_after`, keeping every stage for the explorer.

    A failing pass does not raise: it becomes the failed stage (`Exploration.error`).
    Trace errors (the kernel cannot become IR at all) raise as usual.
    `pass_options` is passed to `compile` (e.g. {"insert-spill-reload": "sbuf-capacity=6144"});
    `diagrams=False` skips the tile/memory/graph data.

    `run=True` also runs the fully compiled kernel on `device` (None: the simulator) with
    `arrays`, or seeded random inputs (`seed`) when only specs are known, and fills
    `Exploration.run` (time, utilisation, timeline and, with `compare_numpy`, the check
    against the NumPy function). An unavailable device raises its DeviceError.
    """
    from nkipy_kg.explore_device import device_for, random_inputs, run_for_exploration

    runnable = _runnable(resolve_stop(stop_after))
    dev = device_for(device, target) if run else None
    source, traced = None, None
    module: Any = fn_or_module
    if callable(fn_or_module) and not isinstance(fn_or_module, str):
        traced = fn_or_module if isinstance(fn_or_module, TracedFunction) else trace(fn_or_module)
        source = kernel_source(traced)
        kernel_name = kernel_name or traced.name
        try:
            module = traced.to_mlir(*arrays, specs=specs)
        except NkipyError as err:
            raise err.with_traceback(None) from None
    comp = compile_(module, target=target, stop_after=runnable, raise_on_error=False, kernel_name=kernel_name,
                     pass_options=pass_options)
    ex = exploration_of(comp, source, diagrams)
    if not run:
        return ex
    if not arrays and traced is None:
        raise TypeError("explore(..., run=True) on MLIR input needs the input arrays")
    inputs = list(arrays) if arrays else random_inputs(traced.specs_for((), specs), seed)
    ex.run = run_for_exploration(comp, traced.fn if traced else None, inputs, dev, compare_numpy,
                                 source.file if source else None, pass_options)
    return ex
