"""Random op graphs from hypothesis, traced, JIT-run and compared with NumPy.

A program is data: a list of steps over a growing pool of arrays (the f32 inputs
first), each step one unary / binary / scalar / reduction / reshape / transpose /
slice / matmul op on earlier pool entries with compatible shapes. `run_program`
interprets it with NumPy calls, so the same code runs as NumPy and under tracing,
and hypothesis prints (and shrinks) a failing program as plain tuples.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nkipy_kg import verify_against_numpy

from frontend_helpers import rand

Shape = tuple[int, ...]
Step = tuple

# Every op keeps values in a bounded range, so no step overflows or leaves its domain.
UNARY = {
    "tanh": np.tanh, "sin": np.sin, "abs": np.abs, "negative": np.negative,
    "exp_tanh": lambda x: np.exp(np.tanh(x)), "sqrt_abs1": lambda x: np.sqrt(np.abs(x) + 1.0),
    "log_abs1": lambda x: np.log1p(np.abs(x)), "square_tanh": lambda x: np.square(np.tanh(x)),
    "floor": np.floor, "sign": np.sign,
}
BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": lambda x, y: np.tanh(x) * y,
    "maximum": np.maximum, "minimum": np.minimum, "safe_divide": lambda x, y: x / (np.abs(y) + 1.0),
    "where_greater": lambda x, y: np.where(x > y, x, y * 0.5),
}
REDUCE = {"sum": np.sum, "max": np.max, "min": np.min, "mean": np.mean}
SCALARS = (0.5, 2.0, -1.5, 3)


def run_program(inputs: tuple[Any, ...], steps: list[Step]) -> tuple[Any, ...]:
    """Apply `steps` to the pool started by `inputs`; return the last two pool entries."""
    pool = list(inputs)
    for step in steps:
        kind, *args = step
        if kind == "unary":
            pool.append(UNARY[args[0]](pool[args[1]]))
        elif kind == "binary":
            pool.append(BINARY[args[0]](pool[args[1]], pool[args[2]]))
        elif kind == "scalar":
            pool.append(pool[args[0]] * args[1] + args[1])
        elif kind == "reduce":
            name, i, axis, keepdims = args
            pool.append(REDUCE[name](pool[i], axis=axis, keepdims=keepdims))
        elif kind == "reshape":
            pool.append(np.reshape(pool[args[0]], args[1]))
        elif kind == "transpose":
            pool.append(np.transpose(pool[args[0]], args[1]))
        elif kind == "slice":
            i, axis, start, step_ = args
            key = (slice(None),) * axis + (slice(start, None, step_),)
            pool.append(pool[i][key])
        elif kind == "matmul":
            pool.append(pool[args[0]] @ np.swapaxes(pool[args[1]], -1, -2))
        else:
            raise AssertionError(f"unknown step {step}")
    return tuple(pool[-2:])


def _reshape_targets(shape: Shape) -> list[Shape]:
    size = math.prod(shape)
    targets = {(size,), (1, size), (size, 1)}
    for i in range(len(shape) - 1):
        targets.add(shape[:i] + (shape[i] * shape[i + 1],) + shape[i + 2:])
    for i, d in enumerate(shape):
        for f in range(2, d):
            if d % f == 0:
                targets.add(shape[:i] + (f, d // f) + shape[i + 1:])
    return sorted(t for t in targets if len(t) <= 4)


def _broadcastable(a: Shape, b: Shape) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


@st.composite
def input_shapes(draw: st.DrawFn) -> list[Shape]:
    base = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    shapes = [base]
    for _ in range(draw(st.integers(0, 2))):
        drop = draw(st.integers(0, len(base) - 1))
        variant = tuple(1 if draw(st.booleans()) else d for d in base[drop:])
        shapes.append(variant)
    return shapes


@st.composite
def step(draw: st.DrawFn, shapes: list[Shape]) -> tuple[Step, Shape]:
    """One step over the pool whose entries have `shapes`, and the shape it produces."""
    n = len(shapes)
    i = draw(st.integers(0, n - 1))
    x = shapes[i]
    kinds = ["unary", "binary", "scalar", "reshape"] + (["reduce", "transpose", "slice"] if x else [])
    if len(x) >= 2 and any(len(s) >= 2 and s[-1] == x[-1] for s in shapes):
        kinds.append("matmul")
    kind = draw(st.sampled_from(kinds))
    if kind == "unary":
        return ("unary", draw(st.sampled_from(sorted(UNARY))), i), x
    if kind == "binary":
        partners = [j for j in range(n) if _broadcastable(x, shapes[j])]
        j = draw(st.sampled_from(partners))
        return ("binary", draw(st.sampled_from(sorted(BINARY))), i, j), tuple(np.broadcast_shapes(x, shapes[j]))
    if kind == "scalar":
        return ("scalar", i, draw(st.sampled_from(SCALARS))), x
    if kind == "reshape":
        target = draw(st.sampled_from(_reshape_targets(x)))
        return ("reshape", i, target), target
    if kind == "transpose":
        perm = tuple(draw(st.permutations(range(len(x)))))
        return ("transpose", i, perm), tuple(x[p] for p in perm)
    if kind == "slice":
        axis = draw(st.integers(0, len(x) - 1))
        start = draw(st.integers(0, max(x[axis] - 1, 0)))
        stride = draw(st.integers(1, 2))
        out = list(x)
        out[axis] = len(range(start, x[axis], stride))
        return ("slice", i, axis, start, stride), tuple(out)
    if kind == "matmul":
        j = draw(st.sampled_from([j for j in range(n) if len(shapes[j]) >= 2 and shapes[j][-1] == x[-1]]))
        a, b = x, shapes[j]
        batch = tuple(np.broadcast_shapes(a[:-2], b[:-2])) if _broadcastable(a[:-2], b[:-2]) else None
        if batch is None:
            return ("unary", "tanh", i), x
        return ("matmul", i, j), batch + (a[-2], b[-2])
    axes = draw(st.one_of(st.none(), st.integers(-len(x), len(x) - 1),
                          st.lists(st.integers(0, len(x) - 1), min_size=1, max_size=len(x), unique=True).map(tuple)))
    keepdims = draw(st.booleans())
    axis_set = set(range(len(x))) if axes is None else {a % len(x) for a in np.atleast_1d(axes).tolist()}
    out = tuple(1 if d in axis_set else s for d, s in enumerate(x) if keepdims or d not in axis_set)
    return ("reduce", draw(st.sampled_from(sorted(REDUCE))), i, axes, keepdims), out


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[Shape], list[Step]]:
    shapes = draw(input_shapes())
    steps: list[Step] = []
    pool = list(shapes)
    for _ in range(draw(st.integers(1, 6))):
        s, out = draw(step(pool))
        steps.append(s)
        pool.append(out)
    return shapes, steps


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs())
def test_random_op_graph_matches_numpy(program: tuple[list[Shape], list[Step]]):
    shapes, steps = program
    inputs = [rand(shape, np.float32, seed=k) for k, shape in enumerate(shapes)]

    def kernel(*xs):
        return run_program(xs, steps)

    # Reductions sum in a different order than NumPy's pairwise sums; cancellation in a
    # later subtract can then leave an error of a few ulp of the *terms*: loosen a little.
    report = verify_against_numpy(kernel, *inputs, rtol=1e-4, atol=1e-4)
    assert report.passed, f"{steps}\n{report}"
    expected = run_program(tuple(inputs), steps)
    assert [a.shape for a in report.actual] == [np.shape(e) for e in expected]


def test_program_interpreter_covers_every_op_kind():
    x = rand((2, 3), seed=1)
    steps = [("unary", "tanh", 0), ("binary", "add", 0, 1), ("scalar", 2, 2.0), ("reduce", "sum", 3, 1, True),
             ("reshape", 0, (3, 2)), ("transpose", 6, (1, 0)), ("slice", 7, 1, 1, 2), ("matmul", 0, 1)]
    out = run_program((x, x), steps)
    np.testing.assert_allclose(out[-1], x @ x.T, rtol=1e-6)
    np.testing.assert_allclose(out[-2], x.reshape(3, 2).T[:, 1::2], rtol=1e-6)
    report = verify_against_numpy(lambda a, b: run_program((a, b), steps), x, x)
    assert report.passed, str(report)
