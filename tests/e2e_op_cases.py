"""The op table of `test_e2e_ops_simulate.py`: one small kernel per supported frontend
op, its input domain and shapes, and the known gaps (strict xfails) with the exact
first line of their error. Kept apart so the test module stays short; the kernels'
source lines here are what located errors must point at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg.errors import PassError, SimError  # noqa: F401 (gap table)

SHAPE = (256, 1024)
DTYPES = {"f32": np.dtype(np.float32), "bf16": dtypes.bfloat16}


@dataclass(frozen=True)
class Case:
    fn: Callable
    domains: tuple[tuple[float, float], ...] = ((-3.0, 3.0),)   # one (low, high) per input
    shapes: tuple[tuple[int, ...], ...] = (SHAPE,)
    away_from_zero: tuple[int, ...] = ()                         # inputs kept |x| >= 0.5

    def inputs(self, dtype: np.dtype, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        out = []
        for i, shape in enumerate(self.shapes):
            low, high = self.domains[min(i, len(self.domains) - 1)]
            x = rng.uniform(low, high, size=shape).astype(np.float32)
            if i in self.away_from_zero:
                x = np.where(x < 0, x - 0.5, x + 0.5).astype(np.float32)
            out.append(x.astype(dtype))
        return out


def _fill_empty(x):
    y = np.empty_like(x)
    y[:, :] = x * 2.0
    return y


def _u(name: str, low: float = -3.0, high: float = 3.0, **kw) -> Case:
    ufunc = getattr(np, name)
    return Case(lambda x: ufunc(x), ((low, high),), **kw)


def _b(name: str, dom2: tuple[float, float] = (-3.0, 3.0), **kw) -> Case:
    ufunc = getattr(np, name)
    return Case(lambda x, y: ufunc(x, y), ((-3.0, 3.0), dom2), (SHAPE, SHAPE), **kw)


POS = (0.1, 4.0)
UNARY_CASES = {
    "exp": _u("exp", -4.0, 4.0), "exp2": _u("exp2", -4.0, 4.0), "expm1": _u("expm1", -2.0, 2.0),
    "log": _u("log", *POS), "log2": _u("log2", *POS), "log10": _u("log10", *POS),
    "log1p": _u("log1p", -0.5, 4.0), "sqrt": _u("sqrt", 0.0, 4.0), "cbrt": _u("cbrt"),
    "tanh": _u("tanh"), "sin": _u("sin"), "cos": _u("cos"), "tan": _u("tan", -1.2, 1.2),
    "arcsin": _u("arcsin", -0.95, 0.95), "arccos": _u("arccos", -0.95, 0.95), "arctan": _u("arctan", -1.5, 1.5),
    "sinh": _u("sinh"), "cosh": _u("cosh"), "arcsinh": _u("arcsinh"), "arccosh": _u("arccosh", 1.05, 4.0),
    "arctanh": _u("arctanh", -0.9, 0.9), "floor": _u("floor"), "ceil": _u("ceil"), "trunc": _u("trunc"),
    "rint": _u("rint"), "negative": _u("negative"), "positive": _u("positive"), "absolute": _u("absolute"),
    "square": _u("square"), "reciprocal": _u("reciprocal", away_from_zero=(0,)), "sign": _u("sign"),
    "logical_not": _u("logical_not"), "isnan": _u("isnan"), "isinf": _u("isinf"), "isfinite": _u("isfinite"),
}
BINARY_CASES = {
    name: _b(name) for name in (
        "add", "subtract", "multiply", "maximum", "minimum", "fmax", "fmin", "arctan2", "copysign",
        "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
        "logical_and", "logical_or", "logical_xor")
}
BINARY_CASES.update({
    "divide": _b("divide", away_from_zero=(1,)), "floor_divide": _b("floor_divide", away_from_zero=(1,)),
    "remainder": _b("remainder", away_from_zero=(1,)),
    "power": Case(lambda x, y: np.power(x, y), ((0.1, 3.0), (-2.0, 2.0)), (SHAPE, SHAPE)),
})
X2 = (SHAPE, SHAPE)
UNIT, MM = ((-1.0, 1.0),), ((256, 256), (256, 1024))
FUNCTION_CASES = {
    # reductions
    "sum_axis1": Case(lambda x: np.sum(x, axis=1)),
    "sum_axis0": Case(lambda x: np.sum(x, axis=0)),
    "sum_all": Case(lambda x: np.sum(x)),
    "sum_keepdims": Case(lambda x: np.sum(x, axis=1, keepdims=True)),
    "max_axis1": Case(lambda x: np.max(x, axis=1)),
    "max_axis0": Case(lambda x: np.max(x, axis=0)),
    "min_axis1": Case(lambda x: np.min(x, axis=1)),
    "amax_axis1": Case(lambda x: np.amax(x, axis=1)),
    "amin_axis0": Case(lambda x: np.amin(x, axis=0)),
    "prod_axis1": Case(lambda x: np.prod(x, axis=1), ((0.99, 1.01),)),
    "mean_axis1": Case(lambda x: np.mean(x, axis=1)),
    "mean_axis0": Case(lambda x: np.mean(x, axis=0)),
    "var_axis1": Case(lambda x: np.var(x, axis=1)),
    "std_axis1": Case(lambda x: np.std(x, axis=1)),
    "all_axis1": Case(lambda x: np.all(x > -2.9, axis=1)),
    "any_axis1": Case(lambda x: np.any(x > 2.9, axis=1)),
    "all_axis0": Case(lambda x: np.all(x > -2.9, axis=0)),   # partition-axis min of bools: -max(-x) in f32
    "any_axis0": Case(lambda x: np.any(x > 2.9, axis=0)),
    "add_reduce": Case(lambda x: np.add.reduce(x, axis=1)),
    # matmul
    # inputs in [-1, 1]: fp32 accumulation error over K = 256 (~ sqrt(K) eps |a| |b| per
    # output) then stays inside the elementwise fp32 tolerance
    "matmul": Case(lambda a, b: a @ b, UNIT, MM),
    "np_matmul": Case(lambda a, b: np.matmul(a, b), UNIT, MM),
    "dot": Case(lambda a, b: np.dot(a, b), UNIT, MM),
    # shape
    "transpose": Case(lambda x: np.transpose(x)),
    "dot_T": Case(lambda x: x.T),
    "swapaxes": Case(lambda x: np.swapaxes(x, 0, 1)),
    "moveaxis": Case(lambda x: np.moveaxis(x, 0, 1)),
    "reshape": Case(lambda x: np.reshape(x, (512, 512))),
    "reshape_3d": Case(lambda x: np.reshape(x, (256, 8, 128))),
    "ravel": Case(lambda x: np.ravel(x)),
    "expand_dims": Case(lambda x: np.expand_dims(x, 0)),
    "squeeze": Case(lambda x: np.squeeze(x, 1), shapes=((256, 1, 1024),)),
    "broadcast_to": Case(lambda v: np.broadcast_to(v, SHAPE), shapes=((1024,),)),
    "broadcast_row_add": Case(lambda x, v: x + v, shapes=(SHAPE, (1024,))),
    "broadcast_col_mul": Case(lambda x, v: x * v, shapes=(SHAPE, (256, 1))),
    "scalar_add": Case(lambda x: x + 1.5),
    "scalar_rsub": Case(lambda x: 2.0 - x),
    "concatenate_axis0": Case(lambda x, y: np.concatenate([x, y], axis=0), shapes=X2),
    "concatenate_axis1": Case(lambda x, y: np.concatenate([x, y], axis=1), shapes=X2),
    "stack": Case(lambda x, y: np.stack([x, y]), shapes=X2),
    "vstack": Case(lambda x, y: np.vstack([x, y]), shapes=X2),
    "hstack": Case(lambda x, y: np.hstack([x, y]), shapes=X2),
    "split": Case(lambda x: np.split(x, 2, axis=1)),
    "array_split": Case(lambda x: np.array_split(x, 2, axis=0)),
    "repeat": Case(lambda x: np.repeat(x, 2, axis=1), shapes=((256, 512),)),
    "tile": Case(lambda x: np.tile(x, (1, 2)), shapes=((256, 512),)),
    "copy": Case(lambda x: np.copy(x)),
    # indexing
    "slice_cols": Case(lambda x: x[:, 256:768]),
    "slice_rows": Case(lambda x: x[64:192]),
    "slice_step": Case(lambda x: x[::2, ::2]),
    "take": Case(lambda x: np.take(x, [3, 1, 200], axis=0)),
    # elementwise functions
    "where": Case(lambda c, x, y: np.where(c > 0, x, y), shapes=(SHAPE, SHAPE, SHAPE)),
    "clip": Case(lambda x: np.clip(x, -1.0, 1.0)),
    "round": Case(lambda x: np.round(x)),
    "around": Case(lambda x: np.around(x, 1)),
    "astype_f32": Case(lambda x: x.astype(np.float32)),
    "np_astype_f32": Case(lambda x: np.astype(x, np.float32)),
    # creation
    "zeros_like": Case(lambda x: x + np.zeros_like(x)),
    "ones_like": Case(lambda x: x * np.ones_like(x)),
    "full_like": Case(lambda x: x + np.full_like(x, 2.0)),
    "empty_like": Case(lambda x: _fill_empty(x)),
}
CASES: dict[str, Case] = {**UNARY_CASES, **BINARY_CASES, **FUNCTION_CASES}

# Ufunc rows and functions without a float case, and why.
EXCLUDED = {
    "invert": "integer/bool only", "bitwise_and": "integer/bool only", "bitwise_or": "integer/bool only",
    "bitwise_xor": "integer/bool only", "left_shift": "integer only", "right_shift": "integer only",
}
# Function rule name -> the cases that cover it.
FUNCTION_COVERAGE = {
    "sum": "sum_axis1", "max": "max_axis1", "min": "min_axis1", "amax": "amax_axis1", "amin": "amin_axis0",
    "prod": "prod_axis1", "mean": "mean_axis1", "var": "var_axis1", "std": "std_axis1", "all": "all_axis1",
    "any": "any_axis1", "matmul": "np_matmul", "dot": "dot", "transpose": "transpose",
    "permute_dims": "transpose", "swapaxes": "swapaxes", "moveaxis": "moveaxis", "reshape": "reshape",
    "ravel": "ravel", "expand_dims": "expand_dims", "squeeze": "squeeze", "broadcast_to": "broadcast_to",
    "concatenate": "concatenate_axis0", "stack": "stack", "vstack": "vstack", "hstack": "hstack",
    "split": "split", "array_split": "array_split", "repeat": "repeat", "tile": "tile", "copy": "copy",
    "take": "take", "where": "where", "clip": "clip", "round": "round", "around": "around",
    "astype": "np_astype_f32", "zeros_like": "zeros_like", "ones_like": "ones_like",
    "full_like": "full_like", "empty_like": "empty_like",
}

# Known gaps: the ops have no single NISA instruction (math.* below, rounding) or hit a
# limit of another pipeline stage. Each is a strict xfail asserting exactly this error.
BOTH = ("f32", "bf16")
# --- gaps: generated from a full run (exception, first line, cases, dtypes)
_GAPS: list[tuple[type, str, tuple[str, ...], tuple[str, ...]]] = [
]
# Known gaps whose error carries no source location yet (internal errors).
UNLOCATED: set[tuple[str, str]] = set()
# --- end of gaps
# (case, dtype) -> (exception, first line of its message without the location).
NOT_YET: dict[tuple[str, str], tuple[type, str]] = {
    (case, dt): (exc, message) for exc, message, cases, dts in _GAPS for case in cases for dt in dts
}


# Partial tiles (200 x 300), a long partition axis (384 x 96), 3-D, a single row,
# 1-D, and a free axis wider than one PSUM bank: (case, input shapes).
SHAPE_CASES: list[tuple[str, tuple[tuple[int, ...], ...]]] = [
    ("exp", ((200, 300),)), ("add", ((200, 300), (200, 300))), ("greater", ((384, 96), (384, 96))),
    ("where", ((64, 4, 128),) * 3), ("exp", ((1, 512),)), ("add", ((512,), (512,))), ("exp", ((64, 4, 128),)),
    ("broadcast_row_add", ((200, 300), (300,))), ("broadcast_row_add", ((384, 96), (96,))),
    ("matmul", ((200, 300), (300, 256))), ("matmul", ((384, 96), (96, 256))), ("matmul", ((1, 512), (512, 256))),
    ("where", ((512,),) * 3), ("broadcast_row_add", ((128, 2048), (2048,))),
]


def shape_label(shapes: tuple[tuple[int, ...], ...]) -> str:
    return "_".join("x".join(map(str, s)) for s in shapes)


# --- shape gaps: generated from a full run ((case, shapes, dtype) -> (exception, first line))
SHAPE_GAPS: dict[tuple[str, str, str], tuple[type, str]] = {
}
# --- end of shape gaps
