"""Every supported frontend op as a one-op kernel: trace -> compile (ending in
`linalg-to-nisa`) -> simulate, compared with NumPy within `nkipy_kg.tolerance.for_dtype`,
in float32 and bfloat16, at 256 x 1024 (two partition tiles and two free tiles; matmul
256 x 256 x 1024: two tiles of M, K and N), plus a few ops at other shapes (partial
tiles, 3-D, 1-D). The op table and its known gaps live in `e2e_op_cases.py`.

The reference is NumPy in float64 on the same (exactly representable) inputs, so the
bf16 run checks that the kernel's bf16 rounding stays within the bf16 tolerance.

A known gap is a strict xfail that also asserts the exact first line of its error
(location stripped) and that the error is located on the kernel's source line.
`test_every_frontend_op_has_a_case` fails when a ufunc row or a function rule has no
case (or an `EXCLUDED` reason).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg.errors import NkipyError, PassError, SimError
from nkipy_kg.frontend import scalar
from nkipy_kg.frontend.rules import FUNCTIONS
from nkipy_kg.sim.api import simulate
from nkipy_kg.tolerance import for_dtype

from accuracy import assert_accurate

import e2e_op_cases
from e2e_op_cases import (
    CASES, DTYPES, EXCLUDED, FUNCTION_COVERAGE, NOT_YET, SHAPE_CASES, SHAPE_GAPS, UNLOCATED, Case, shape_label,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def lower(fn: Callable, inputs: list[np.ndarray]) -> str:
    """NISA text of `fn` for `inputs`, with source locations (so simulator errors are
    located): the pipeline's last stage is `linalg-to-nisa`."""
    comp = nkipy_kg.compile(nkipy_kg.trace(fn).to_mlir(*inputs))
    assert comp.nisa_ir_with_locations is not None
    return comp.nisa_ir_with_locations


def first_line(exc: NkipyError) -> str:
    prefix = f"[{exc.pass_name}] " if getattr(exc, "pass_name", "") else ""
    return f"{prefix}{exc.message.splitlines()[0]}"


def run_case(name: str, dtype: str) -> None:
    _check(CASES[name], dtype)


def _check(case: Case, dtype: str) -> None:
    inputs = case.inputs(DTYPES[dtype])
    text = lower(case.fn, inputs)
    assert "linalg." not in text and "memref.alloc" not in text and "memref.copy" not in text
    result = simulate(text, *inputs, target="trn2")
    # NumPy in float64 on the (exactly representable) inputs: the simulator's fp32
    # results are compared with the exact answer, not with another fp32 rounding.
    expected = case.fn(*[x.astype(np.float64) for x in inputs])
    in_dtype = case.fn(*inputs)
    expected = list(expected) if isinstance(expected, (tuple, list)) else [expected]
    in_dtype = list(in_dtype) if isinstance(in_dtype, (tuple, list)) else [in_dtype]
    assert len(result.outputs) == len(expected)
    rtol, atol = for_dtype(DTYPES[dtype])
    for got, want, numpy_got in zip(result.outputs, expected, in_dtype):
        assert_accurate(got, want, numpy_got, rtol, atol)

def _params():
    for name in CASES:
        for dtype in DTYPES:
            marks = ()
            if (name, dtype) in NOT_YET:
                exc, reason = NOT_YET[(name, dtype)]
                marks = (pytest.mark.xfail(raises=exc, strict=True, reason=reason),)
            yield pytest.param(name, dtype, marks=marks, id=f"{name}-{dtype}")


@pytest.mark.parametrize("name,dtype", list(_params()))
def test_op_on_simulator(name: str, dtype: str) -> None:
    try:
        run_case(name, dtype)
    except NkipyError as exc:
        known = NOT_YET.get((name, dtype))
        if known is None or not isinstance(exc, known[0]):
            raise
        # A known gap must fail exactly as recorded, located on the kernel's line.
        assert first_line(exc) == known[1]
        if (name, dtype) in UNLOCATED:
            assert exc.loc is None
            raise
        lines, start = inspect.getsourcelines(CASES[name].fn)
        assert exc.loc is not None and exc.loc.file == e2e_op_cases.__file__
        assert start <= exc.loc.line < start + len(lines)
        raise


def _shape_params():
    for name, shapes in SHAPE_CASES:
        for dtype in DTYPES:
            label = shape_label(shapes)
            gap = SHAPE_GAPS.get((name, label, dtype))
            marks = (pytest.mark.xfail(raises=gap[0], strict=True, reason=gap[1]),) if gap else ()
            yield pytest.param(name, shapes, dtype, marks=marks, id=f"{name}-{label}-{dtype}")


@pytest.mark.parametrize("name,shapes,dtype", list(_shape_params()))
def test_op_at_other_shapes(name: str, shapes: tuple, dtype: str) -> None:
    base = CASES[name]
    try:
        _check(Case(base.fn, base.domains, shapes, base.away_from_zero), dtype)
    except NkipyError as exc:
        gap = SHAPE_GAPS.get((name, shape_label(shapes), dtype))
        assert gap is not None and first_line(exc) == gap[1]
        raise


def test_every_frontend_op_has_a_case() -> None:
    ufuncs = set(scalar.UNARY) | set(scalar.BINARY)
    missing = sorted(u for u in ufuncs if u not in CASES and u not in EXCLUDED)
    assert missing == []
    names = {getattr(f, "__name__", str(f)) for f in FUNCTIONS}
    assert sorted(n for n in names if n not in FUNCTION_COVERAGE) == []
    assert set(FUNCTION_COVERAGE.values()) <= set(CASES)


def test_not_yet_entries_name_real_cases() -> None:
    assert {name for name, _ in NOT_YET} <= set(CASES)
    assert all(exc in (PassError, SimError) or issubclass(exc, NkipyError) for exc, _ in NOT_YET.values())


def test_reading_np_empty_like_is_a_located_sim_error() -> None:
    """np.empty_like memory is uninitialised on the device too: reading it fails at the line."""
    def kernel(x):
        return np.maximum(np.empty_like(x), x)  # reads garbage

    x = CASES["copy"].inputs(DTYPES["f32"])[0]
    text = lower(kernel, [x])
    with pytest.raises(SimError, match=r"reads uninitialised Sbuf memory") as info:
        simulate(text, x, target="trn2")
    lines, start = inspect.getsourcelines(kernel)
    assert info.value.loc is not None and info.value.loc.file == __file__
    assert info.value.loc.line == start + 1
