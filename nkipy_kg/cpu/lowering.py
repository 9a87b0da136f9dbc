"""Lowering of a kernel module (tensor- or memref-level) to the LLVM dialect, for the CPU JIT.

The pipeline is data (`NKIPY_PASSES` + `UPSTREAM_PASSES`): our Python passes first (they remove or
rewrite the Python-defined nkipy ops, which upstream passes cannot handle), then
upstream bufferization and conversion to LLVM. `pipeline_steps` drops
bufferization for memref-level IR and deallocation for IR that frees its own buffers. Everything runs in one
`PassManager`; a tiny Python marker pass after each step records how far it got,
so a failure names the pass that failed without one PassManager per step.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from nkipy_kg._mlir import MLIRError, PassManager, ir, linalg, memref
from nkipy_kg.cpu.custom_ops import CustomCalls
from nkipy_kg.cpu.memref_prep import strip_memory_spaces
from nkipy_kg.errors import NkipyError, PassError
from nkipy_kg.passes import get as get_pass

# Runs on tensors, before anything upstream sees the module.
NKIPY_PASSES = ("strip-nkipy-annotations", "lower-nkipy-gather", "zero-init-empty-tensors")

# Upstream steps, in order. Found to work on torch-mlir==20261001 (see mlir-notes.md).
UPSTREAM_PASSES = (
    # Identity layouts at function boundaries: the caller passes dense NumPy arrays.
    "one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map"
    " allow-return-allocs-from-loops}",
    # Bufferization re-creates memory spaces (`alloc_tensor {memory_space = 3 : i32}`
    # from promoted tiles); LLVM lowering would turn them into address spaces.
    "strip-memory-spaces",  # Python step, see memref_prep.strip_memory_spaces
    "copy-duplicate-results",  # Python step, see _copy_duplicate_results
    # Custom-op calls -> runtime callbacks into their NumPy reference (cpu/custom_ops.py).
    "custom-op-callbacks",  # Python step, bound per kernel by lower_to_llvm
    # Results become caller-allocated out-params; a result that is a static alloc is
    # replaced by the out-param itself (no copy). The kernel is public, hence modify-public.
    "buffer-results-to-out-params{hoist-static-allocs modify-public-functions}",
    "memref-copy-to-linalg",  # Python step, see _memref_copy_to_linalg
    # Frees temporaries; without it every call leaks its intermediate buffers.
    "buffer-deallocation-pipeline",
    "convert-linalg-to-loops",
    "expand-strided-metadata",
    # After expand-strided-metadata: it emits affine.apply for subview offsets.
    "lower-affine",
    "convert-scf-to-cf",
    # f16/bf16 math ops and bf16 arith ops are computed in f32 (exact: f32 holds a
    # bf16 sum or product before the one rounding), and bf16 extf/truncf become
    # integer bit manipulation: on hosts without AVX512-BF16, LLVM would otherwise
    # legalize bf16 through compiler-rt calls (__truncsfbf2) the JIT cannot link.
    "math-extend-to-supported-types",
    "arith-emulate-unsupported-floats{source-types=bf16 target-type=f32}",
    "arith-expand{include-bf16}",
    # Integer power (math.ipowi) has no LLVM intrinsic: expand it to a loop in a helper func.
    "convert-math-to-funcs",
    "convert-math-to-llvm",
    # What LLVM has no intrinsic for (erf, ...) becomes a libm call, resolved in-process.
    "convert-math-to-libm",
    "finalize-memref-to-llvm",
    "convert-arith-to-llvm",
    "convert-index-to-llvm",
    "convert-func-to-llvm",
    "convert-cf-to-llvm",
    "convert-ub-to-llvm",
    "reconcile-unrealized-casts",
    # reconcile-unrealized-casts leaves casts it cannot fold in place, and LLVM
    # translation then fails with a message on C++ stderr: check here instead.
    "check-llvm-only",  # Python step, see _check_llvm_only
)


def _memref_copy_to_linalg(op: ir.Operation, pass_: object = None) -> None:
    """Rewrite `memref.copy %a, %b` as `linalg.copy ins(%a) outs(%b)`.

    A memref.copy between non-identity layouts lowers to a call to `memrefCopy`
    from libmlir_c_runner_utils, which the wheel does not ship; linalg.copy
    becomes plain loops instead.
    """
    copies: list[ir.Operation] = []

    def collect(inner: ir.Operation) -> ir.WalkResult:
        if inner.name == "memref.copy":
            copies.append(inner)
        return ir.WalkResult.ADVANCE

    op.walk(collect)
    for copy in copies:
        source, target = copy.operands
        with copy.location, ir.InsertionPoint(copy):
            linalg.copy(source, outs=[target])  # OpDSL builder: location from `with`
        copy.erase()


def _copy_duplicate_results(op: ir.Operation, pass_: object = None) -> None:
    """Return a fresh copy for every repeated `func.return` operand.

    buffer-results-to-out-params{hoist-static-allocs} segfaults when one alloc is
    returned twice (it replaces the alloc by the first out-param, then again);
    after this step every returned buffer is distinct.
    """
    returns: list[ir.Operation] = []

    def collect(inner: ir.Operation) -> ir.WalkResult:
        if inner.name == "func.return":
            returns.append(inner)
        return ir.WalkResult.ADVANCE

    op.walk(collect)
    for ret in returns:
        seen: set[ir.Value] = set()
        for i, value in enumerate(list(ret.operands)):
            if value not in seen:
                seen.add(value)
                continue
            with ret.location, ir.InsertionPoint(ret):
                fresh = memref.AllocOp(ir.MemRefType(value.type), [], []).result
                memref.CopyOp(value, fresh)
            ret.operands[i] = fresh


def _check_llvm_only(op: ir.Operation, pass_: object = None) -> None:
    """PassError listing the ops that are not LLVM dialect ops after lowering."""
    leftovers: dict[str, str] = {}

    def collect(inner: ir.Operation) -> ir.WalkResult:
        name = inner.name
        if not name.startswith("llvm.") and name != "builtin.module" and name not in leftovers:
            leftovers[name] = str(inner.location)
        return ir.WalkResult.ADVANCE

    op.walk(collect)
    if not leftovers:
        return
    listing = "\n".join(f"  {name} at {loc}" for name, loc in leftovers.items())
    raise PassError(f"ops left after lowering to LLVM (no conversion for them):\n{listing}",
                    pass_name="check-llvm-only")


_PYTHON_STEPS: dict[str, Callable[[ir.Operation, object], None]] = {
    "strip-memory-spaces": lambda op, pass_=None: strip_memory_spaces(op),
    "copy-duplicate-results": _copy_duplicate_results,
    "memref-copy-to-linalg": _memref_copy_to_linalg,
    "check-llvm-only": _check_llvm_only,
}


def pipeline_steps(bufferize: bool = True, deallocate: bool = True) -> tuple[str, ...]:
    """The steps for one module: memref-level IR skips bufferization, and IR that
    frees its own buffers skips deallocation (buffer-deallocation-pipeline rejects
    `memref.dealloc`: "memory free side-effect on MemRef value not supported!")."""
    skip = set()
    if not bufferize:
        skip.add(UPSTREAM_PASSES[0])
    if not deallocate:
        skip.add("buffer-deallocation-pipeline")
    return NKIPY_PASSES + tuple(s for s in UPSTREAM_PASSES if s not in skip)


def repro_pipeline(until: str, steps: tuple[str, ...] = pipeline_steps()) -> str:
    """The pipeline up to and including `until`, as `nkipy-kg-opt --pass-pipeline` text.

    The JIT-internal Python steps are not registered passes, so they are left out.
    """
    listed = list(steps)
    listed = listed[: listed.index(until) + 1] if until in listed else listed
    return "builtin.module(" + ",".join(s for s in listed if s not in _PYTHON_STEPS
                                        and s != "custom-op-callbacks") + ")"


def lower_to_llvm(module: ir.Module, *, bufferize: bool = True, deallocate: bool = True,
                  custom_calls: CustomCalls | None = None) -> None:
    """Run the CPU pipeline (`pipeline_steps`) on `module` in place; PassError on any failure.

    The module must already verify (the caller parsed it); the pass manager
    verifies after every step, so no C++ pass sees IR a Python pass broke.
    `custom_calls` collects the custom-op callbacks to register on the engine.
    """
    steps = pipeline_steps(bufferize, deallocate)
    python_steps = {**_PYTHON_STEPS, "custom-op-callbacks": (custom_calls or CustomCalls()).rewrite}
    done: list[str] = []
    pm = PassManager()
    for name in NKIPY_PASSES:
        get_pass(name).add_to(pm)
        _add_marker(pm, name, done)
    for step in steps[len(NKIPY_PASSES):]:
        if step in python_steps:
            pm.add(python_steps[step], step)
        else:
            pm.add(step)
        _add_marker(pm, step, done)
    try:
        pm.run(module.operation)
    except NkipyError:
        raise
    except MLIRError as exc:
        failed = steps[len(done)] if len(done) < len(steps) else "verification"
        raise PassError(
            f"lowering to LLVM failed in `{failed}`:\n" + format_diagnostics(exc),
            pass_name=failed,
            repro=f"nkipy-kg-opt kernel.mlir --pass-pipeline='{repro_pipeline(failed, steps)}'"
            " (JIT-internal Python steps omitted)",
        ) from None


def _add_marker(pm: PassManager, name: str, done: list[str]) -> None:
    pm.add(lambda op, pass_: done.append(name), f"done:{name}")


def format_diagnostics(exc: MLIRError, filename: str = "<kernel>") -> str:
    """One `file:line:col: error: message` line per diagnostic, notes indented below.

    Notes are cut to a few lines: "see current operation" notes print whole functions.
    """
    lines = []
    for diag in exc.error_diagnostics:
        lines.append(f"{render_location(diag.location, filename)}: error: {diag.message}")
        for note in diag.notes:
            text = "\n    ".join(_head(note.message, 8))
            lines.append(f"  {render_location(note.location, filename)}: note: {text}")
    return "\n".join(lines) or exc.message


_FILE_LINE_COL = re.compile(r'"(?P<file>[^"]*)":(?P<line>\d+):(?P<col>\d+)')


def render_location(loc: ir.Location, filename: str) -> str:
    """`loc("-":3:5)` -> `filename:3:5` (the parser names every buffer "-")."""
    m = _FILE_LINE_COL.search(str(loc))
    if not m:
        return str(loc)
    name = filename if m.group("file") in ("-", "") else m.group("file")
    return f"{name}:{m.group('line')}:{m.group('col')}"


def _head(text: str, n: int) -> list[str]:
    lines = text.strip().splitlines()
    return lines if len(lines) <= n else lines[:n] + [f"... ({len(lines) - n} more lines)"]
