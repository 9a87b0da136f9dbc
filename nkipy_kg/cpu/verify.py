"""`verify_against_numpy`: run a kernel's traced IR on the CPU (LLVM JIT) and compare
with running the Python function on NumPy arrays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nkipy_kg import dtypes, tolerance
from nkipy_kg.frontend.tracer import TracedFunction, trace


@dataclass(frozen=True)
class OutputCheck:
    """How one output of the kernel compares with NumPy's."""

    index: int
    shape: tuple[int, ...]
    dtype: str
    max_abs_error: float
    max_rel_error: float
    rtol: float
    atol: float
    passed: bool
    reason: str = ""

    def __str__(self) -> str:
        verdict = "ok" if self.passed else f"MISMATCH ({self.reason})"
        return (f"output {self.index} {self.shape} {self.dtype}: max abs err {self.max_abs_error:.3g}, "
                f"max rel err {self.max_rel_error:.3g} (rtol {self.rtol:g}, atol {self.atol:g}): {verdict}")


@dataclass(frozen=True)
class VerifyReport:
    """Result of `verify_against_numpy`; true when every output matches."""

    kernel: str
    outputs: tuple[OutputCheck, ...]
    actual: tuple[np.ndarray, ...]
    expected: tuple[np.ndarray, ...]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = f"{self.kernel}: {'PASSED' if self.passed else 'FAILED'} against NumPy"
        return "\n".join([head, *("  " + str(o) for o in self.outputs)])


def _as_tuple(x: Any) -> tuple[np.ndarray, ...]:
    items = x if isinstance(x, (tuple, list)) else (x,)
    return tuple(np.asarray(i) for i in items)


def _errors(actual: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    if actual.size == 0:
        return 0.0, 0.0
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    finite = np.isfinite(a) & np.isfinite(e)
    diff = np.abs(a - e)[finite]
    if diff.size == 0:
        return 0.0, 0.0
    rel = diff / np.maximum(np.abs(e[finite]), np.finfo(np.float64).tiny)
    return float(diff.max()), float(rel.max())


def _precision_rank(dtype: np.dtype) -> int:
    """Lower = less precise; ints and bools are exact."""
    if dtype == dtypes.bfloat16:
        return 0
    if dtypes.is_float(dtype):
        return {2: 1, 4: 2, 8: 3}[np.dtype(dtype).itemsize]
    return 4


def loosest_dtype(*candidates: np.dtype) -> np.dtype:
    """The least precise float dtype among a kernel's inputs and an output."""
    return min((np.dtype(d) for d in candidates), key=_precision_rank)


def compare(index: int, actual: np.ndarray, expected: np.ndarray, rtol: float | None,
            atol: float | None, input_dtypes: tuple[np.dtype, ...] = ()) -> OutputCheck:
    """Elementwise `|a - e| <= atol * max(1, max|e|) + rtol * |e|` (NaNs must match).

    Tolerances come from the least precise dtype the output depends on (an f64 result
    of f32 inputs carries f32 rounding). The absolute part scales with the output's
    largest magnitude because the rounding error of a sum (matmul, reduction) grows
    with the size of its terms, not of its (possibly cancelled) result.
    """
    governing = loosest_dtype(expected.dtype, *input_dtypes)
    d_rtol, d_atol = tolerance.for_dtype(governing)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    name = "bfloat16" if expected.dtype == dtypes.bfloat16 else expected.dtype.name
    if actual.shape != expected.shape:
        return OutputCheck(index, tuple(expected.shape), name, float("inf"), float("inf"), rtol, atol, False,
                           f"shape {actual.shape} != NumPy's {expected.shape}")
    if actual.dtype != expected.dtype:
        return OutputCheck(index, tuple(expected.shape), name, float("inf"), float("inf"), rtol, atol, False,
                           f"dtype {actual.dtype} != NumPy's {expected.dtype}")
    abs_err, rel_err = _errors(actual, expected)
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    finite = e[np.isfinite(e)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    ok = bool(np.allclose(a, e, rtol=rtol, atol=atol * scale, equal_nan=True))
    return OutputCheck(index, tuple(expected.shape), name, abs_err, rel_err, rtol, atol * scale, ok,
                       "" if ok else "values differ beyond tolerance")


def _upcast_reference(fn: Callable[..., Any], arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...] | None:
    """NumPy's result computed from float32 copies of low-precision inputs, or None.

    NumPy runs float16/bfloat16 reductions and matmuls in the low precision itself,
    which is less accurate than nkipy-kg's float32 accumulation; this second
    reference lets an accurate result pass.
    """
    if not any(dtypes.is_float(a.dtype) and a.dtype.itemsize < 4 for a in arrays):
        return None
    wide = [a.astype(np.float32) if dtypes.is_float(a.dtype) and a.dtype.itemsize < 4 else np.array(a)
            for a in arrays]
    try:
        return _as_tuple(fn(*wide))
    except Exception:  # noqa: BLE001 - a dtype-specific kernel may not run on f32; then no 2nd reference
        return None


def verify_against_numpy(fn: Callable[..., Any], *arrays: np.ndarray, rtol: float | None = None,
                         atol: float | None = None) -> VerifyReport:
    """Trace `fn` on the arrays' shapes/dtypes, JIT-run the IR, compare with NumPy's result."""
    from nkipy_kg.cpu.jit import compile_cpu

    traced = fn if isinstance(fn, TracedFunction) else trace(fn)
    module = traced.to_mlir(*arrays)
    kernel = compile_cpu(str(module), traced.name)
    actual = kernel(*arrays)
    expected = _as_tuple(traced.fn(*[np.array(a, copy=True) for a in arrays]))
    if len(actual) != len(expected):
        raise AssertionError(f"{traced.name}: IR returns {len(actual)} values, NumPy {len(expected)}")
    in_dtypes = tuple(np.asarray(a).dtype for a in arrays)
    wide = _upcast_reference(traced.fn, tuple(np.asarray(a) for a in arrays))
    checks = []
    for i, (a, e) in enumerate(zip(actual, expected)):
        check = compare(i, a, e, rtol, atol, in_dtypes)
        if not check.passed and wide is not None and len(wide) == len(expected) and wide[i].shape == e.shape:
            alt = compare(i, a, wide[i].astype(e.dtype), rtol, atol, in_dtypes)
            check = alt if alt.passed else check
        checks.append(check)
    checks = tuple(checks)
    return VerifyReport(traced.name, checks, tuple(actual), expected)
