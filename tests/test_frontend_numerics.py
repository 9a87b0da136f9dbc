"""Every traced op, JIT-run on the CPU and compared with NumPy (`verify_against_numpy`).

The ufunc tests are parametrized over the scalar tables in `nkipy_kg.frontend.scalar`
and the function tests over `nkipy_kg.frontend.rules.FUNCTIONS`: an op added to a
table without a case here fails `test_every_function_has_a_numeric_case`. A dtype
NumPy rejects for an op must be rejected by tracing too (a `TraceError`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from nkipy_kg import TraceError, UnsupportedError, fori_loop, verify_against_numpy
from nkipy_kg.frontend import scalar
from nkipy_kg.frontend.rules import FUNCTIONS, UFUNC_METHODS

from frontend_helpers import BF16, rand

DTYPES = {"f32": np.dtype(np.float32), "f16": np.dtype(np.float16), "bf16": BF16,
          "i32": np.dtype(np.int32), "bool": np.dtype(np.bool_)}
FLOATS = ("f32", "f16", "bf16")

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's own x/0, log(0), ...


def check(fn: Callable[..., Any], *arrays: np.ndarray, **tol: float) -> None:
    report = verify_against_numpy(fn, *arrays, **tol)
    assert report.passed, str(report)
    assert report  # truthiness is the verdict
    for out in report.outputs:
        assert out.max_abs_error >= 0 and out.max_rel_error >= 0


def numpy_accepts(fn: Callable[..., Any], *arrays: np.ndarray) -> bool:
    try:
        fn(*arrays)
    except TypeError:
        return False
    return True


def check_or_rejected(fn: Callable[..., Any], *arrays: np.ndarray, **tol: float) -> None:
    """NumPy defines fn on these dtypes -> the trace matches it; else tracing raises a TraceError."""
    if numpy_accepts(fn, *[a.copy() for a in arrays]):
        check(fn, *arrays, **tol)
        return
    with pytest.raises(TraceError):
        verify_against_numpy(fn, *arrays)


# -- ufunc inputs that stay in each op's domain -------------------------------------------

# (low, high) of float inputs; ints use the integers inside the interval.
UNARY_DOMAIN = {
    "log": (0.1, 4.0), "log2": (0.1, 4.0), "log10": (0.1, 4.0), "log1p": (-0.5, 4.0),
    "sqrt": (0.0, 4.0), "arcsin": (-0.95, 0.95), "arccos": (-0.95, 0.95), "arctanh": (-0.9, 0.9),
    "arccosh": (1.05, 4.0), "tan": (-1.2, 1.2), "exp": (-4.0, 4.0), "exp2": (-4.0, 4.0),
}
AWAY_FROM_ZERO = {"reciprocal", "divide", "floor_divide", "remainder"}  # float operands (2nd for binary)
# Ops NumPy defines on these dtypes that nkipy-kg rejects on purpose (UnsupportedError).
UNSUPPORTED = {("reciprocal", "i32"), ("reciprocal", "bool")}


def operand(name: str, dtype: str, shape: tuple[int, ...], seed: int, second: bool = False) -> np.ndarray:
    dt = DTYPES[dtype]
    if dtype == "bool":
        return rand(shape, dt, seed=seed)
    low, high = UNARY_DOMAIN.get(name, (-3.0, 3.0))
    if name == "power":
        low, high = (-2.0, 2.0) if second else (0.1, 3.0)
    if dtype == "i32":
        if name in ("left_shift", "right_shift", "power") and second:
            return rand(shape, dt, low=0, high=3 if name == "power" else 7, seed=seed)
        return rand(shape, dt, low=math.ceil(low) if name in UNARY_DOMAIN else -9,
                    high=math.floor(high) if name in UNARY_DOMAIN else 9, seed=seed)
    values = rand(shape, np.float32, low=low, high=high, seed=seed)
    if name in AWAY_FROM_ZERO and (second or name == "reciprocal"):
        values = np.where(values < 0, values - 0.5, values + 0.5)
    return values.astype(dt)


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name", sorted(scalar.UNARY))
def test_unary_ufunc(name: str, dtype: str):
    ufunc = getattr(np, name)

    def kernel(x):
        return ufunc(x)

    x = operand(name, dtype, (4, 8), seed=1)
    if (name, dtype) in UNSUPPORTED:
        with pytest.raises(UnsupportedError, match=f"np.{name} on .* is not supported"):
            verify_against_numpy(kernel, x)
        return
    check_or_rejected(kernel, x)


@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4), (2, 1, 3, 4)], ids=lambda s: f"rank{len(s)}")
@pytest.mark.parametrize("name", ["exp", "negative", "sqrt", "sign", "isfinite", "logical_not", "rint"])
def test_unary_ufunc_ranks_0_to_4(name: str, shape: tuple[int, ...]):
    ufunc = getattr(np, name)
    check(lambda x: ufunc(x), operand(name, "f32", shape, seed=2))


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name", sorted(scalar.BINARY))
def test_binary_ufunc_with_broadcasting(name: str, dtype: str):
    ufunc = getattr(np, name)

    def kernel(x, y):
        return ufunc(x, y)

    x = operand(name, dtype, (4, 8), seed=3)
    y = operand(name, dtype, (8,), seed=4, second=True)
    check_or_rejected(kernel, x, y)


@pytest.mark.parametrize("dtype", ["f32", "i32"])
@pytest.mark.parametrize("name", sorted(scalar.BINARY))
def test_binary_ufunc_with_python_scalars(name: str, dtype: str):
    ufunc = getattr(np, name)
    c = 2 if dtype == "i32" or name in ("left_shift", "right_shift", "power") else 1.5

    def kernel(x):
        return ufunc(x, c), ufunc(c, x) if name not in ("left_shift", "right_shift", "power") else ufunc(x, 1)

    check_or_rejected(kernel, operand(name, dtype, (3, 5), seed=5, second=True))


@pytest.mark.parametrize("shapes", [
    ((4, 8), (8,)), ((4, 1), (1, 8)), ((2, 1, 4), (3, 1)), ((), (5,)), ((2, 3, 1, 4), (3, 5, 1)),
    ((1,), (2, 2, 2, 2)),
], ids=str)
@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "arctan2", "greater_equal", "logical_xor"])
def test_binary_broadcast_shapes(name: str, shapes: tuple[tuple[int, ...], tuple[int, ...]]):
    ufunc = getattr(np, name)
    a, b = shapes
    check(lambda x, y: ufunc(x, y), rand(a, seed=6), rand(b, seed=7))
    check(lambda x, y: ufunc(y, x), rand(a, seed=6), rand(b, seed=7))


@pytest.mark.parametrize("name, ref", [
    ("abs", np.absolute), ("mod", np.remainder), ("true_divide", np.divide), ("fabs", np.absolute),
    ("conjugate", np.positive), ("conj", np.positive),
])
def test_ufunc_aliases(name: str, ref: np.ufunc):
    ufunc = getattr(np, name)
    args = [rand((4, 6), seed=8), operand("divide", "f32", (4, 6), seed=9, second=True)][:ref.nin]
    check(lambda *xs: ufunc(*xs), *args)


def test_comparisons_return_bool_arrays():
    def kernel(a, b):
        return a < b, a <= 0.5, a == b, a != 1, b > a.astype(np.int32), np.greater_equal(a, b)

    a = rand((4, 8), seed=10)
    b = a.copy()
    b[::2] += 1.0
    report = verify_against_numpy(kernel, a, b)
    assert report.passed, str(report)
    assert all(out.dtype == np.bool_ for out in report.actual)
    assert all(o.max_abs_error == 0 for o in report.outputs)


@pytest.mark.parametrize("dtype", ["i32", "f32"])
def test_floor_divide_and_remainder_signs_and_zero_divisors(dtype: str):
    values = np.array([-7, -6, -1, 0, 1, 6, 7, 9], dtype=DTYPES[dtype])
    a = np.repeat(values, len(values)).reshape(8, 8)
    b = np.tile(np.array([-3, -2, -1, 1, 2, 3, 4, -4 if dtype == "f32" else 0], DTYPES[dtype]), (8, 1))

    def kernel(x, y):
        return x // y, x % y, np.floor_divide(x, 3), np.remainder(-5, y), np.mod(x, -2)

    report = verify_against_numpy(kernel, a, b)
    assert report.passed, str(report)
    if dtype == "i32":  # x // 0 and x % 0 are 0 in NumPy, and here
        assert (report.actual[0][:, -1] == 0).all() and (report.actual[1][:, -1] == 0).all()


@pytest.mark.parametrize("dtype", [np.int32, np.int8])
def test_shifts_by_counts_outside_the_bit_width(dtype: type):
    x = np.array([1, -1, 5, -8, 7, 64, -3, 0], dtype)
    counts = np.array([40, 40, 32, 9, -1, 31, 100, 5], dtype)

    def kernel(a, b):
        return a << b, a >> b, np.left_shift(a, 3), np.right_shift(-2, b)

    report = verify_against_numpy(kernel, x, counts)
    assert report.passed, str(report)
    assert report.actual[0][0] == 0 and report.actual[1][1] == -1  # NumPy's answers, not poison


def test_power_special_exponents():
    def kernel(x):
        return x ** 2, x ** 0.5, x ** -1, x ** 1, 2.0 ** x, x ** 3, np.power(x, 2.5)

    check(kernel, rand((4, 8), low=0.5, high=3.0, seed=11))
    check(kernel, rand((4, 8), np.float16, low=0.5, high=3.0, seed=11))


def test_operators_and_methods():
    def kernel(x, y, i):
        return (-x, +x, abs(x), x - y, 1 - x, x / 2, 2 / y, x.T, x.mT, x.astype(np.int32), x.flatten(),
                x.ravel(), x.copy(), x.swapaxes(0, 1), x.squeeze(), x.clip(-0.5, 0.5), i & 3, i | 4, i ^ 5,
                i << 1, i >> 1, ~i, ~(x > 0), x.dot(y.T), x.take([0, 2], axis=1), x.transpose(1, 0),
                x.reshape(2, 16), x.reshape((16, 2)), x.repeat(2, axis=1), len(x) * x, x.sum(1),
                x.prod(0), x.mean(), x.var(0), x.std(1), x.max(1), x.min(0), (x > 0).any(0), (x > 0).all(1))

    check(kernel, rand((4, 8), seed=12), rand((4, 8), low=0.5, high=2.0, seed=13),
          rand((4, 8), np.int32, low=-9, high=9, seed=14))


def test_mixed_dtype_promotion():
    def kernel(a, b, h, i, m):
        return a + b, h * b, b + i, a * np.float32(2) + np.int32(3), i / 2, m + i, m * h, i + True

    check(kernel, rand((3, 4), np.float32, seed=15), rand((3, 4), BF16, seed=16),
          rand((3, 4), np.float16, seed=17), rand((3, 4), np.int32, low=-5, high=5, seed=18),
          rand((3, 4), np.bool_, seed=19))


def test_other_dtypes_reached_by_promotion():
    def kernel(x8, x64, f64):
        return x8 + x8, x64 * 3, np.exp(f64), x8.astype(np.float32)

    check(kernel, rand((3, 4), np.int8, low=-9, high=9, seed=20), rand((3, 4), np.int64, low=-9, high=9, seed=21),
          rand((3, 4), np.float64, seed=22))


# -- the function table --------------------------------------------------------------------

ALL = tuple(DTYPES)


@dataclass(frozen=True)
class Case:
    """One use of a NumPy function: `kernel(*inputs)` with inputs of `shapes`, in `dtypes`."""

    kernel: Callable[..., Any]
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...] = ALL


def _empty_like_filled(x):
    e = np.empty_like(x)
    e[...] = x + 1
    return e


FUNCTION_CASES: dict[str, list[Case]] = {
    "sum": [
        Case(lambda x: np.sum(x), ((3, 4),)),
        Case(lambda x: np.sum(x, axis=(0, 2), keepdims=True), ((2, 3, 4, 2),)),
        Case(lambda x: np.sum(x, -1), ((3, 5),)),
        Case(lambda x: np.sum(x, 1, None, None, True), ((3, 5),)),  # positional axis and keepdims
    ],
    "prod": [
        Case(lambda x: np.prod(x, axis=1), ((3, 4),)),
        Case(lambda x: np.prod(x, axis=(0, -1)), ((2, 3, 2),)),
    ],
    "max": [
        Case(lambda x: np.max(x, axis=0), ((3, 4),)),
        Case(lambda x: np.max(x, axis=(1, 2), keepdims=True), ((2, 3, 4),)),
    ],
    "amax": [Case(lambda x: np.amax(x), ((3, 4),)), Case(lambda x: np.amax(x, -2), ((2, 3, 4),))],
    "min": [
        Case(lambda x: np.min(x, axis=-1), ((3, 4),)),
        Case(lambda x: np.min(x, 0, keepdims=True), ((3, 4),)),
    ],
    "amin": [Case(lambda x: np.amin(x, axis=(0, 1)), ((3, 4, 2),))],
    "mean": [
        Case(lambda x: np.mean(x, axis=0), ((3, 4),)),
        Case(lambda x: np.mean(x, axis=(-1, 0), keepdims=True), ((2, 3, 4),)),
        Case(lambda x: np.mean(x), ((16, 16),)),
    ],
    "var": [
        Case(lambda x: np.var(x, axis=1), ((3, 8),), FLOATS + ("i32",)),
        Case(lambda x: np.var(x, axis=0, ddof=1, keepdims=True), ((6, 4),), FLOATS + ("i32",)),
    ],
    "std": [
        Case(lambda x: np.std(x, axis=-1), ((3, 8),), FLOATS + ("i32",)),
        Case(lambda x: np.std(x), ((4, 4),), FLOATS),
    ],
    "any": [
        Case(lambda x: np.any(x > 0.5, axis=1), ((3, 4),)),
        Case(lambda x: np.any(x), ((3, 4),)),
        Case(lambda x: np.any(x, axis=(0, 1), keepdims=True), ((3, 4, 2),)),
    ],
    "all": [Case(lambda x: np.all(x, axis=0), ((3, 4),)), Case(lambda x: np.all(x < 1.5), ((3, 4),))],
    "matmul": [
        Case(lambda a, b: np.matmul(a, b), ((8, 16), (16, 4)), ALL[:4]),
        Case(lambda a, b: a @ b, ((2, 3, 4, 8), (3, 8, 5)), FLOATS),
        Case(lambda a, b: a @ b, ((2, 4, 8), (8, 5)), FLOATS),
        Case(lambda a, b: a @ b, ((8,), (8, 5)), ("f32", "i32")),
        Case(lambda a, b: a @ b, ((3, 8), (8,)), ("f32", "i32")),
        Case(lambda a, b: a @ b, ((8,), (8,)), ("f32",)),
        Case(lambda a, b: a @ b, ((1, 4, 8), (2, 8, 3)), ("f32",)),
    ],
    "dot": [
        Case(lambda a, b: np.dot(a, b), ((8, 16), (16, 4)), ALL[:4]),
        Case(lambda a, b: np.dot(a, b), ((8,), (8, 3)), FLOATS),
        Case(lambda a, b: np.dot(a[0, 0], b), ((2, 2), (3, 4)), ("f32",)),
    ],
    "transpose": [
        Case(lambda x: np.transpose(x), ((2, 3, 4),)),
        Case(lambda x: np.transpose(x, (1, 2, 0)), ((2, 3, 4),)),
        Case(lambda x: np.transpose(x, (0, -1, 1)), ((2, 3, 4),)),
    ],
    "swapaxes": [Case(lambda x: np.swapaxes(x, 0, -1), ((2, 3, 4),))],
    "moveaxis": [
        Case(lambda x: np.moveaxis(x, 0, -1), ((2, 3, 4),)),
        Case(lambda x: np.moveaxis(x, [0, 1], [-1, -2]), ((2, 3, 4),)),
    ],
    "reshape": [
        Case(lambda x: np.reshape(x, (4, -1)), ((2, 3, 4),)),
        Case(lambda x: np.reshape(x, (3, 8)), ((2, 3, 4),)),
        Case(lambda x: np.reshape(x, ()), ((1, 1),)),
        Case(lambda x: np.reshape(x, (1, 1, 1)), ((),)),
        Case(lambda x: np.reshape(x, (8, 1)), ((8,),)),
        Case(lambda x: x.reshape(6, 2, 2), ((2, 3, 4),)),
    ],
    "ravel": [Case(lambda x: np.ravel(x), ((2, 3, 4),)), Case(lambda x: np.ravel(x.T), ((2, 3),))],
    "expand_dims": [
        Case(lambda x: np.expand_dims(x, (0, -1)), ((2, 3),)),
        Case(lambda x: np.expand_dims(x, 1), ((2, 3),)),
    ],
    "squeeze": [
        Case(lambda x: np.squeeze(x), ((1, 3, 1, 4),)),
        Case(lambda x: np.squeeze(x, axis=-2), ((1, 3, 1, 4),)),
    ],
    "broadcast_to": [
        Case(lambda x: np.broadcast_to(x, (2, 3, 4)), ((3, 1),)),
        Case(lambda x: np.broadcast_to(x, 5), ((1,),)),
    ],
    "concatenate": [
        Case(lambda a, b: np.concatenate([a, b], axis=-1), ((2, 3), (2, 5))),
        Case(lambda a, b: np.concatenate((a, b, a)), ((2, 3), (1, 3))),
        Case(lambda a, b: np.concatenate((a, b), axis=None), ((2, 3), (4,))),
    ],
    "stack": [
        Case(lambda a, b: np.stack([a, b], axis=1), ((2, 3), (2, 3))),
        Case(lambda a, b: np.stack((a, b, a), axis=-1), ((2, 3), (2, 3))),
    ],
    "vstack": [
        Case(lambda a, b: np.vstack([a, b]), ((3,), (3,))),
        Case(lambda a, b: np.vstack([a, b]), ((2, 3), (1, 3))),
    ],
    "hstack": [
        Case(lambda a, b: np.hstack([a, b]), ((2, 3), (2, 1))),
        Case(lambda a, b: np.hstack([a, b]), ((3,), (2,))),
    ],
    "split": [
        Case(lambda x: tuple(np.split(x, 2, axis=1)), ((2, 4),)),
        Case(lambda x: tuple(np.split(x, [1, 3])), ((5, 4),)),
    ],
    "array_split": [Case(lambda x: tuple(np.array_split(x, 3, axis=-1)), ((2, 7),))],
    "repeat": [
        Case(lambda x: np.repeat(x, 3, axis=1), ((2, 4),)),
        Case(lambda x: np.repeat(x, 2), ((2, 4),)),
        Case(lambda x: np.repeat(x, 2, axis=-1), ((2, 3, 2),)),
    ],
    "tile": [
        Case(lambda x: np.tile(x, (2, 3)), ((2, 4),)),
        Case(lambda x: np.tile(x, 2), ((2, 4),)),
        Case(lambda x: np.tile(x, (2, 1, 1)), ((2, 4),)),
    ],
    "copy": [Case(lambda x: np.copy(x), ((2, 4),))],
    "where": [
        Case(lambda c, a, b: np.where(c > 0.5, a, b), ((2, 4), (2, 4), (4,))),
        Case(lambda c, a: np.where(c, a, 0), ((2, 4), (2, 4))),
        Case(lambda c: np.where(c > 0, 1.0, -1.0), ((2, 4),), ("f32", "i32")),
    ],
    "clip": [
        Case(lambda x: np.clip(x, -0.5, 0.5), ((2, 4),), ALL[:4]),
        Case(lambda x, lo: np.clip(x, lo, 1), ((2, 4), (4,)), ALL[:4]),
        Case(lambda x: np.clip(x, None, 0.5), ((2, 4),), FLOATS),
        Case(lambda x: x.clip(max=1), ((2, 4),), ALL[:4]),
        Case(lambda x: x.clip(min=-1), ((2, 4),), ALL[:4]),
    ],
    "round": [
        Case(lambda x: np.round(x * 10), ((2, 4),), FLOATS),
        Case(lambda x: np.round(x, 2), ((2, 4),), ("f32",)),
    ],
    "around": [
        Case(lambda x: np.around(x, 1), ((2, 4),), ("f32",)),
        Case(lambda x: np.around(x * 3), ((2, 4),), FLOATS),
    ],
    "astype": [
        Case(lambda x: np.astype(x * 3, np.int32), ((2, 4),)),
        Case(lambda x: np.astype(x, BF16), ((2, 4),)),
        Case(lambda x: np.astype(x, np.float16), ((2, 4),)),
        Case(lambda x: np.astype(x, bool), ((2, 4),)),
        Case(lambda x: np.astype(x, np.float32), ((2, 4),)),
    ],
    "zeros_like": [
        Case(lambda x: np.zeros_like(x) + x, ((2, 4),)),
        Case(lambda x: np.zeros_like(x, dtype=np.int32), ((2, 4),)),
    ],
    "ones_like": [
        Case(lambda x: np.ones_like(x, dtype=np.int32), ((2, 4),)),
        Case(lambda x: np.ones_like(x, shape=(3,)), ((2, 4),)),
    ],
    "full_like": [
        Case(lambda x: np.full_like(x, 3), ((2, 4),)),
        Case(lambda x: np.full_like(x, 0.5, dtype=np.float32), ((2, 4),)),
    ],
    "empty_like": [Case(_empty_like_filled, ((2, 4),))],
    "take": [
        Case(lambda x: np.take(x, np.array([3, -1, 0]), axis=1), ((2, 4),)),
        Case(lambda x: np.take(x, [1, 5]), ((2, 4),)),
        Case(lambda x: np.take(x, 2, axis=-1), ((2, 4),)),
        Case(lambda x: np.take(x, [[0, 1], [1, 1]], axis=0), ((2, 4),)),
    ],
}


def _function_params() -> list:
    params = []
    for name in sorted({f.__name__ for f in FUNCTIONS}):
        for i, case in enumerate(FUNCTION_CASES.get(name, [])):
            params += [pytest.param(case, dt, id=f"{name}-{i}-{dt}") for dt in case.dtypes]
    return params


def test_every_function_has_a_numeric_case():
    missing = sorted({f.__name__ for f in FUNCTIONS} - set(FUNCTION_CASES))
    assert not missing, f"functions without a numeric test in FUNCTION_CASES: {missing}"
    stale = sorted(set(FUNCTION_CASES) - {f.__name__ for f in FUNCTIONS})
    assert not stale, f"FUNCTION_CASES names functions the frontend does not register: {stale}"


@pytest.mark.parametrize("case, dtype", _function_params())
def test_function(case: Case, dtype: str):
    arrays = [rand(shape, DTYPES[dtype], seed=30 + i) for i, shape in enumerate(case.shapes)]
    check_or_rejected(case.kernel, *arrays)


@pytest.mark.parametrize("key", sorted(UFUNC_METHODS), ids="-".join)
def test_ufunc_reduce_methods(key: tuple[str, str]):
    ufunc = getattr(np, key[0])
    x = rand((3, 4, 2), seed=40)
    x = x > 0 if key[0].startswith("logical") else x
    check(lambda a: (getattr(ufunc, key[1])(a), getattr(ufunc, key[1])(a, axis=-1, keepdims=True)), x)


@pytest.mark.parametrize("shape, axis, keepdims", [
    ((), None, False), ((7,), 0, False), ((7,), -1, True), ((3, 5), 1, False), ((3, 5), (0, 1), True),
    ((2, 3, 4), (0, 2), False), ((2, 3, 4), -2, True), ((2, 3, 4, 5), (1, 3), False), ((2, 3, 4, 5), (-1, 0), True),
    ((2, 3, 4, 5), None, True),
], ids=str)
@pytest.mark.parametrize("dtype", ["f32", "bf16", "i32"])
def test_reductions_over_ranks_and_axes(shape: tuple[int, ...], axis: Any, keepdims: bool, dtype: str):
    def kernel(x):
        return (np.sum(x, axis=axis, keepdims=keepdims), np.max(x, axis=axis, keepdims=keepdims),
                np.min(x, axis, keepdims=keepdims), np.mean(x, axis=axis, keepdims=keepdims),
                np.any(x > 0, axis=axis, keepdims=keepdims))

    check(kernel, rand(shape, DTYPES[dtype], seed=41))


def test_large_reduction_accumulates_in_f32_for_bf16():
    x = rand((8, 4096), BF16, low=0.0, high=1.0, seed=42)
    report = verify_against_numpy(lambda a: np.sum(a, axis=1), x)
    assert report.passed, str(report)
    exact = x.astype(np.float64).sum(axis=1)
    assert np.allclose(report.actual[0].astype(np.float64), exact, rtol=1e-2)


# -- creation inside traced code -------------------------------------------------------------

def test_constructors_build_ir_inside_traced_code():
    def kernel(x):
        z = np.zeros((2, 4), np.float32)
        o = np.ones((2, 4))
        f = np.full((2, 4), 7, dtype=np.int32)
        e = np.empty((2, 4), np.float32)
        e[:] = 1.5
        a = np.array(x, dtype=np.float16)
        b = np.asarray(x)
        return z + x, o * x, f + x, e, a, b, np.zeros(3, dtype=bool), np.full(4, 2.5)

    check(kernel, rand((2, 4), seed=50))


def test_compile_time_constants():
    def kernel(x, m):
        table = np.arange(8, dtype=np.float32)
        mask = np.array([True, False] * 4)
        scale = np.linspace(0.0, 1.0, 8).astype(BF16)
        return (x + table, x * np.arange(8), np.where(mask, x, 0.0), m * scale, x + np.float32(3),
                np.sqrt(np.arange(1, 9, dtype=np.float32)) + x, x @ np.eye(8, dtype=np.float32))

    check(kernel, rand((3, 8), seed=51), rand((3, 8), BF16, seed=52))


# -- indexing ------------------------------------------------------------------------------

INDEX_KEYS = [
    1, -1, (0, 0), (-1, -2), slice(1, 3), slice(None, None, 2), slice(1, 7, 3), slice(-3, None), slice(-100, 100),
    slice(5, 2), (slice(None), 3), (Ellipsis, -2), (Ellipsis, 1, slice(None)), (None,), (slice(None), None, 2),
    (None, Ellipsis, None), (1, slice(None, None, 2), None), (slice(None), [0, 3, -1]), ([2, 0],), (-2, [1, 1]),
]


@pytest.mark.parametrize("key", INDEX_KEYS, ids=repr)
def test_static_getitem(key: Any):
    check(lambda x: x[key], rand((5, 6, 4), seed=60))


def test_iterating_a_traced_array():
    check(lambda x: tuple(x), rand((3, 4), seed=61))


@pytest.mark.parametrize("key, value", [
    (slice(1, 3), "rows"), (0, 5.0), ((slice(None), slice(None, None, 3)), -1.0), ((Ellipsis, -1), "col"),
    ((-1, slice(2, 4)), "pair"), (Ellipsis, 0), ((None, 2), "row"), ((2,), 1),
], ids=repr)
def test_static_setitem(key: Any, value: Any):
    def kernel(x, y):
        out = x.copy()
        source = {"rows": y[:2], "col": y[:, 0], "pair": y[0, :2], "row": y[1]}.get(value, value)
        out[key] = source
        return out

    check(kernel, rand((4, 6), seed=62), rand((4, 6), seed=63))


def test_setitem_casts_and_broadcasts_like_numpy():
    def kernel(x, i):
        out = np.zeros((4, 6), np.float32)
        out[1:3] = i[0]          # int row broadcast over two rows, cast to f32
        out[0] = x[0].astype(BF16)
        out[3, ::2] = True
        return out

    check(kernel, rand((4, 6), seed=64), rand((4, 6), np.int32, low=-9, high=9, seed=65))


@pytest.mark.parametrize("dtype", ["f32", "bf16", "i32"])
def test_take_with_traced_indices_incl_negative(dtype: str):
    def kernel(x, idx):
        return np.take(x, idx, axis=0), np.take(x, idx, axis=-1), x[idx], np.take(x, idx)

    idx = np.array([[0, 4], [-1, 2], [-5, 3]], np.int32)
    check(kernel, rand((5, 5), DTYPES[dtype], seed=66), idx)


def test_take_with_constant_indices():
    def kernel(x):
        return np.take(x, np.array([3, -1, 0]), axis=1), x[:, [0, 2]], x[[1]], np.take(x, [[0], [3]], axis=0)

    check(kernel, rand((4, 5, 2), seed=67))


# -- fori_loop -----------------------------------------------------------------------------

def test_fori_loop_dynamic_slices():
    def kernel(x):
        def body(i, acc):
            return acc + x[i * 16:(i + 1) * 16]
        return fori_loop(0, 4, body, np.zeros((16, 8), np.float32))

    check(kernel, rand((64, 8), seed=70))


def test_fori_loop_setitem_at_loop_index():
    def kernel(x):
        def body(i, acc):
            acc[i] = x[i].sum(axis=-1)
            return acc
        return fori_loop(0, 4, body, np.zeros((4, 8), np.float32))

    check(kernel, rand((4, 8, 8), seed=71))


def test_fori_loop_tuple_carry_online_max_and_sum():
    def kernel(x):
        def body(i, carry):
            total, peak = carry
            block = x[:, i * 8:(i + 1) * 8]
            return total + block.sum(axis=1), np.maximum(peak, block.max(axis=1))
        return fori_loop(0, 4, body, (np.zeros((4,), np.float32), np.full((4,), -np.inf, np.float32)))

    check(kernel, rand((4, 32), seed=72))


def test_nested_fori_loops_and_offset_bounds():
    def kernel(x):
        def outer(i, acc):
            def inner(j, a):
                a[i, j] = x[i, j * 2:(j + 1) * 2].sum()
                return a
            return fori_loop(0, 4, inner, acc)
        grid = fori_loop(0, 4, outer, np.zeros((4, 4), np.float32))
        shifted = fori_loop(2, 5, lambda i, a: a * 2.0 + x[i - 2, :4], np.zeros((4,), np.float32))
        reversed_sum = fori_loop(0, 4, lambda i, a: a + x[3 - i] * 0.5, np.zeros((8,), np.float32))
        return grid, shifted, reversed_sum

    check(kernel, rand((4, 8), seed=73))


def test_fori_loop_partial_row_setitem_and_bf16_carry():
    def kernel(x):
        def body(i, acc):
            acc[i, 1:3] = x[i, :2] * 2
            return acc
        return fori_loop(0, 4, body, np.zeros((4, 8), BF16))

    check(kernel, rand((4, 8), BF16, seed=74))


def test_fori_loop_runs_eagerly_without_traced_carry():
    def kernel(x):
        n = fori_loop(0, 3, lambda i, acc: acc + i, 0)
        return x * n

    check(kernel, rand((4,), seed=75))
