"""Reduction family: sum, prod, max, min, mean, var, std, any, all.

One `linalg.generic` per reduction: the input map is the identity, reduced axes are
`reduction` iterators, the output map drops them (or pins them to 0 with keepdims),
and the init is a `linalg.fill` of the combiner's identity. float16/bfloat16 sums
accumulate in float32 (as PSUM does on the device) and round once at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import arith, ir
from nkipy_kg.errors import ShapeError
from nkipy_kg.frontend import emit, scalar
from nkipy_kg.frontend.rules import rule
from nkipy_kg.frontend.rules.common import lift, loc, normalize_axes, reject
from nkipy_kg.frontend.rules.elementwise import apply_ufunc, astype
from nkipy_kg.frontend.locations import user_source_loc
from nkipy_kg.frontend.traced_array import TracedArray

_NV = np._NoValue


def _identity(kind: str, dtype: np.dtype) -> float | int | bool:
    if kind == "sum":
        return 0
    if kind == "prod":
        return 1
    big = kind == "min"
    if dtypes.is_float(dtype):
        return float("inf") if big else float("-inf")
    if dtypes.is_bool(dtype):
        return big
    info = np.iinfo(dtype)
    return info.max if big else info.min


_COMBINE = {"sum": "add", "prod": "multiply", "max": "maximum", "min": "minimum"}


def _acc_dtype(kind: str, out_dtype: np.dtype) -> np.dtype:
    if kind in ("sum", "prod") and dtypes.is_float(out_dtype) and out_dtype.itemsize < 4:
        return np.dtype(np.float32)
    return out_dtype


def reduce(x: TracedArray, axes: tuple[int, ...], keepdims: bool, kind: str,
           out_dtype: np.dtype, what: str) -> TracedArray:
    """Reduce `x` over `axes` with `kind` in {sum, prod, max, min}; result in `out_dtype`."""
    acc = _acc_dtype(kind, out_dtype)
    x = astype(x, acc)
    here = loc(what)
    if keepdims:
        out_shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        exprs = [ir.AffineConstantExpr.get(0) if i in axes else ir.AffineDimExpr.get(i) for i in range(x.ndim)]
    else:
        out_shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        exprs = [ir.AffineDimExpr.get(i) for i in range(x.ndim) if i not in axes]
    out_map = ir.AffineMap.get(x.ndim, 0, exprs)
    iterators = [emit.REDUCTION if i in axes else emit.PARALLEL for i in range(x.ndim)]
    init = emit.fill(_identity(kind, acc), out_shape, acc, here)
    combine = scalar.BINARY[_COMBINE[kind]]
    value = emit.generic([x.value], [emit.identity_map(x.ndim)], out_shape, acc,
                         lambda a: combine([a[0], a[1]], acc, here), here,
                         iterators=iterators, out_map=out_map, init=init)
    return astype(TracedArray(value, out_shape, acc), out_dtype)


def _reduce_impl(kind: str, np_fn: Any, a: Any, axis: Any, dtype: Any, out: Any, keepdims: Any,
                 initial: Any, where: Any) -> TracedArray:
    what = f"np.{np_fn.__name__}"
    reject(what, out=out, initial=None if initial is _NV else initial,
           where=None if where is _NV else where)
    x = lift(a, what)
    axes = normalize_axes(axis, x.ndim, what)
    if kind in ("max", "min") and any(x.shape[i] == 0 for i in axes):
        raise ShapeError(f"{what}: zero-size reduction has no identity", user_source_loc(what))
    extra = {"dtype": dtype} if dtype is not None else {}
    out_dtype = dtypes.numpy_result_dtype(np_fn, dtypes.stand_in(x.dtype, x.ndim), axis=axis,
                                          keepdims=keepdims, **extra)
    return reduce(x, axes, bool(keepdims), kind, out_dtype, what)


def _reduction(kind: str, np_fn: Any):
    """sum/prod: NumPy's (a, axis, dtype, out, keepdims, initial, where) signature."""

    def impl(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
             initial: Any = _NV, where: Any = _NV) -> TracedArray:
        return _reduce_impl(kind, np_fn, a, axis, dtype, out, keepdims, initial, where)

    return impl


def _extremum(kind: str, np_fn: Any):
    """max/min: NumPy's (a, axis, out, keepdims, initial, where) signature."""

    def impl(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
             initial: Any = _NV, where: Any = _NV) -> TracedArray:
        return _reduce_impl(kind, np_fn, a, axis, None, out, keepdims, initial, where)

    return impl


rule(np.sum)(_reduction("sum", np.sum))
rule(np.prod)(_reduction("prod", np.prod))
rule(np.max, np.amax)(_extremum("max", np.max))
rule(np.min, np.amin)(_extremum("min", np.min))


def _logical(kind: str, np_fn: Any):
    what = f"np.{np_fn.__name__}"

    def impl(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
             where: Any = _NV) -> TracedArray:
        reject(what, out=out, where=None if where is _NV else where)
        x = astype(lift(a, what), np.dtype(np.bool_))
        return reduce(x, normalize_axes(axis, x.ndim, what), bool(keepdims), kind,
                      np.dtype(np.bool_), what)

    return impl


rule(np.all)(_logical("min", np.all))
rule(np.any)(_logical("max", np.any))


def _count(x: TracedArray, axes: tuple[int, ...]) -> int:
    return int(np.prod([x.shape[i] for i in axes], dtype=np.int64))


def _mean_parts(a: Any, axis: Any, dtype: Any, keepdims: bool, what: str,
                np_fn: Any) -> tuple[TracedArray, tuple[int, ...], np.dtype, np.dtype]:
    x = lift(a, what)
    axes = normalize_axes(axis, x.ndim, what)
    extra = {"dtype": dtype} if dtype is not None else {}
    out_dtype = dtypes.numpy_result_dtype(np_fn, dtypes.stand_in(x.dtype, x.ndim), axis=axis,
                                          keepdims=keepdims, **extra)
    # NumPy computes float16 means in float32 and integer means in float64.
    acc = np.dtype(np.float32) if dtypes.is_float(out_dtype) and out_dtype.itemsize < 4 else out_dtype
    return x, axes, out_dtype, acc


@rule(np.mean)
def mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         where: Any = _NV) -> TracedArray:
    what = "np.mean"
    reject(what, out=out, where=None if where is _NV else where)
    x, axes, out_dtype, acc = _mean_parts(a, axis, dtype, keepdims, what, np.mean)
    total = reduce(x, axes, bool(keepdims), "sum", acc, what)
    return astype(apply_ufunc(np.divide, (total, acc.type(_count(x, axes)))), out_dtype)


def _var(a: Any, axis: Any, dtype: Any, keepdims: bool, ddof: float, what: str,
         np_fn: Any) -> tuple[TracedArray, np.dtype]:
    x, axes, out_dtype, acc = _mean_parts(a, axis, dtype, keepdims, what, np_fn)
    xs = astype(x, acc)
    n = _count(x, axes)
    centre = apply_ufunc(np.divide, (reduce(xs, axes, True, "sum", acc, what), acc.type(n)))
    dev = apply_ufunc(np.subtract, (xs, centre))
    total = reduce(apply_ufunc(np.multiply, (dev, dev)), axes, bool(keepdims), "sum", acc, what)
    return apply_ufunc(np.divide, (total, acc.type(max(n - ddof, 0)))), out_dtype


@rule(np.var)
def var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
        keepdims: bool = False, where: Any = _NV, **kwargs: Any) -> TracedArray:
    reject("np.var", out=out, where=None if where is _NV else where)
    v, out_dtype = _var(a, axis, dtype, keepdims, ddof, "np.var", np.var)
    return astype(v, out_dtype)


@rule(np.std)
def std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
        keepdims: bool = False, where: Any = _NV, **kwargs: Any) -> TracedArray:
    reject("np.std", out=out, where=None if where is _NV else where)
    v, out_dtype = _var(a, axis, dtype, keepdims, ddof, "np.std", np.std)
    return astype(apply_ufunc(np.sqrt, (v,)), out_dtype)
