"""The compiler driver: run the pipeline pass by pass, snapshotting the IR after each.

    comp = nkipy_kg.compile(kernel, target="trn2", stop_after="legalize-layout")
    for snap in comp.snapshots:
        print(snap.index, snap.name, snap.changed, snap.seconds)

The full pipeline ends in NISA IR (stage 26, `linalg-to-nisa`): `comp.nisa_ir` is
what a device runs, `comp.memref_ir` the memref IR after stage 25 (what the CPU JIT
runs). Either is None when compilation stopped before it.

Snapshots are taken in Python (`str(module)`) between passes, never by scraping
MLIR's stderr printing. Invalid IR never reaches a C++ pass: the module is verified
after every pass.
"""

from __future__ import annotations

import shlex
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nkipy_kg import passes as _passes
from nkipy_kg._mlir import MLIRError, PassManager, ir, make_context
from nkipy_kg.errors import IRError, NkipyError, PassError, source_loc_from_mlir
from nkipy_kg.pipeline import MEMREF_STAGE, NISA_STAGE, PIPELINE, Stage, resolve_stop
from nkipy_kg.targets import get_target


@dataclass(frozen=True)
class Snapshot:
    """The IR after one stage (index 0 is the traced input)."""

    index: int
    name: str
    group: str
    ir: str                   # pretty IR
    ir_with_locations: str    # the same with `loc(...)` (file:line:col of the user's source)
    seconds: float
    changed: bool
    op_counts: dict[str, int]
    options: str = ""

    @property
    def pipeline_element(self) -> str:
        return f"{self.name}{{{self.options}}}" if self.options else self.name


@dataclass
class Compilation:
    """Everything one run of the pipeline produced."""

    kernel: str
    target: str
    snapshots: list[Snapshot] = field(default_factory=list)
    error: NkipyError | None = None

    @property
    def final_ir(self) -> str:
        """The IR after the last stage that ran (NISA IR when the whole pipeline ran)."""
        return self.snapshots[-1].ir

    @property
    def memref_ir(self) -> str | None:
        """The IR after the last memref-level stage (25), or None if compilation stopped earlier."""
        return self.snapshots[MEMREF_STAGE].ir if len(self.snapshots) > MEMREF_STAGE else None

    @property
    def nisa_ir(self) -> str | None:
        """The final NISA IR (after `linalg-to-nisa`), or None if compilation stopped earlier."""
        return self.snapshots[NISA_STAGE].ir if len(self.snapshots) > NISA_STAGE else None

    @property
    def nisa_ir_with_locations(self) -> str | None:
        """`nisa_ir` with source locations (what the simulator runs, so its errors are located)."""
        return self.snapshots[NISA_STAGE].ir_with_locations if len(self.snapshots) > NISA_STAGE else None

    @property
    def ok(self) -> bool:
        return self.error is None

    def snapshot(self, name: str) -> Snapshot:
        """The snapshot after the stage `name` (as `stop_after` spells it)."""
        return self.snapshots[resolve_stop(name, tuple(s for s in PIPELINE))]

    def repro(self, index: int) -> str:
        """A shell command reproducing stage `index` from the IR before it."""
        snap = self.snapshots[index]
        source = f"{index - 1:02d}_{self.snapshots[index - 1].name}.mlir"
        return f"nkipy-kg-opt {source} --pass-pipeline={shlex.quote(f'builtin.module({snap.pipeline_element})')}"


def _op_counts(module: ir.Module) -> dict[str, int]:
    counts: Counter[str] = Counter()

    def visit(op: ir.Operation) -> ir.WalkResult:
        counts[op.name] += 1
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    counts.pop("builtin.module", None)
    return dict(counts)


def _snapshot(index: int, stage_name: str, group: str, module: ir.Module, seconds: float,
              previous: str | None, options: str = "") -> Snapshot:
    text = str(module)
    return Snapshot(index, stage_name, group, text, module.operation.get_asm(enable_debug_info=True),
                    seconds, previous is None or text != previous, _op_counts(module), options)


def _pass_error(err: Exception, stage: Stage, comp: Compilation, index: int) -> PassError:
    if isinstance(err, PassError):
        err.pass_name = err.pass_name or stage.name
        err.repro = err.repro or comp.repro(index)
        return PassError(err.message, err.loc, err.hint, err.pass_name, err.ir_excerpt, err.repro)
    if isinstance(err, MLIRError):
        diags = list(err.error_diagnostics)
        first = diags[0] if diags else None
        loc = source_loc_from_mlir(str(first.location)) if first else None
        message = first.message if first else str(err)
        notes = "\n".join(n.message for d in diags for n in d.notes)[:4000]
        return PassError(message, loc, pass_name=stage.name, ir_excerpt=notes, repro=comp.repro(index))
    if isinstance(err, NkipyError):
        return PassError(err.message, err.loc, err.hint, stage.name, repro=comp.repro(index))
    return PassError(f"internal error: {type(err).__name__}: {err}", None, pass_name=stage.name,
                     repro=comp.repro(index))


def _module_text(fn_or_module: Any, specs: Sequence[Any] | None) -> tuple[str, str]:
    """(MLIR text with locations, kernel name) from a traced/plain function or IR."""
    from nkipy_kg.frontend.tracer import TracedFunction, trace

    if isinstance(fn_or_module, str):
        return fn_or_module, "module"
    if isinstance(fn_or_module, ir.Module):
        return fn_or_module.operation.get_asm(enable_debug_info=True), "module"
    traced = fn_or_module if isinstance(fn_or_module, TracedFunction) else trace(fn_or_module)
    module = traced.to_mlir(specs=specs) if specs is not None else traced.to_mlir()
    return module.operation.get_asm(enable_debug_info=True), traced.name


def run_stages(text: str, kernel: str, target: str, stop: int, dump_dir: str | Path | None,
               pass_options: dict[str, str] | None = None) -> Compilation:
    comp = Compilation(kernel=kernel, target=target)
    dump = Path(dump_dir) if dump_dir is not None else None
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
    with make_context():
        try:
            module = ir.Module.parse(text)
        except MLIRError as err:
            raise IRError(f"input IR does not parse: {err}") from None
        comp.snapshots.append(_snapshot(0, "input", "input", module, 0.0, None))
        _dump(dump, comp.snapshots[-1])
        for i, stage in enumerate(PIPELINE[:stop], start=1):
            options = " ".join(o for o in (stage.options_for(target), (pass_options or {}).get(stage.name, "")) if o)
            pm = PassManager()
            _passes.get(stage.name).add_to(pm, options)
            start = time.perf_counter()
            try:
                pm.run(module.operation)
                module.operation.verify()
            except Exception as err:  # noqa: BLE001 - every failure becomes a located PassError
                comp.snapshots.append(Snapshot(i, stage.name, stage.phase, "", "", time.perf_counter() - start,
                                               False, {}, options))
                comp.error = _pass_error(err, stage, comp, i)
                comp.snapshots.pop()
                return comp
            snap = _snapshot(i, stage.name, stage.phase, module, time.perf_counter() - start,
                             comp.snapshots[-1].ir, options)
            comp.snapshots.append(snap)
            _dump(dump, snap)
            # The next pass runs on exactly the printed stage (what the explorer shows and
            # its repro commands feed to nkipy-kg-opt). In memory, canonicalize can hoist a
            # constant out of a named linalg op's body (`linalg.reciprocal`'s 1.0), which
            # the op's printed form does not show: cse then saw a use the text lacks.
            module = ir.Module.parse(snap.ir_with_locations)
    return comp


def _dump(dump: Path | None, snap: Snapshot) -> None:
    if dump is not None:
        (dump / f"{snap.index:02d}_{snap.name}.mlir").write_text(snap.ir_with_locations)


def compile(fn_or_module: Any, target: str = "trn2", stop_after: str | int | None = None,  # noqa: A001
            dump_dir: str | Path | None = None, specs: Sequence[Any] | None = None,
            raise_on_error: bool = True, kernel_name: str | None = None,
            pass_options: dict[str, str] | None = None) -> Compilation:
    """Trace (if needed) and run the pipeline; see `Compilation` and `Snapshot`.

    `pass_options` adds options to stages by pass name, e.g.
    `{"insert-spill-reload": "sbuf-capacity=4096"}` to force spilling.
    """
    tgt = get_target(target).name
    stop = resolve_stop(stop_after)
    try:
        text, kernel = _module_text(fn_or_module, specs)
    except NkipyError as err:
        raise err.with_traceback(None) from None
    kernel = kernel_name or kernel
    comp = run_stages(text, kernel, tgt, stop, dump_dir, pass_options)
    if comp.error is not None and raise_on_error:
        err = comp.error
        err.compilation = comp  # the stages before the failure stay inspectable
        raise err.with_traceback(None)
    return comp


def apply_complete_knob_pipeline(mlir_str: str, target: str = "trn2", stop_after: str | int | None = None,
                                 dump_dir: str | Path | None = None) -> str:
    """Upstream-compatible entry point: MLIR text in, the IR after `stop_after` out."""
    return compile(mlir_str, target=target, stop_after=stop_after, dump_dir=dump_dir).final_ir
