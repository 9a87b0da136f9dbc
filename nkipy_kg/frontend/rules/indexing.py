"""Indexing family: `x[key]`, `x[key] = v` and np.take.

Basic indexing (ints incl. negative, slices with positive steps, None, ...) is one
rank-reducing `tensor.extract_slice` plus an expand for new axes. One advanced
index (an integer array, traced or constant) is a gather along its axis
(`nkipy.gather`). Loop indices from `fori_loop` give dynamic offsets whose bounds
are checked for every iteration at trace time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg.dialects.nkipy import GatherOp
from nkipy_kg.errors import ShapeError, UnsupportedError
from nkipy_kg.frontend import emit
from nkipy_kg.frontend.builder import tensor_type
from nkipy_kg.frontend.control_flow import LoopIndex
from nkipy_kg.frontend.rules import rule
from nkipy_kg.frontend.rules.common import is_traced, lift, loc, normalize_axis, reject
from nkipy_kg.frontend.rules.elementwise import apply_ufunc, astype
from nkipy_kg.frontend.rules.shape import broadcast_to, ravel, reshape, transpose
from nkipy_kg.frontend.locations import user_source_loc
from nkipy_kg.frontend.traced_array import TracedArray

Offset = int | Any  # int or an index-typed ir.Value


@dataclass
class _Slice:
    """A normalised basic index over every dim of the source."""

    offsets: list[Offset] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    strides: list[int] = field(default_factory=list)
    dropped: list[bool] = field(default_factory=list)
    new_axes: list[int] = field(default_factory=list)  # positions in the result
    advanced: tuple[int, Any] | None = None  # (source dim, index array)

    @property
    def kept_shape(self) -> tuple[int, ...]:
        return tuple(s for s, d in zip(self.sizes, self.dropped) if not d)


def _is_advanced(k: Any) -> bool:
    return isinstance(k, (TracedArray, np.ndarray, list)) and not isinstance(k, bool)


def _check_bounds(idx: LoopIndex, size: int, dim: int, what: str) -> None:
    lo, hi = idx.bounds()
    if lo < 0 or hi + size > dim:
        raise ShapeError(f"{what}: loop index reaches [{lo}, {hi + size}) but the dimension has size {dim}",
                         user_source_loc(what))


def _normalize(x: TracedArray, key: Any, what: str) -> _Slice:
    key = key if isinstance(key, tuple) else (key,)
    consuming = [k for k in key if k is not None and k is not Ellipsis]
    if sum(k is Ellipsis for k in key) > 1:
        raise ShapeError(f"{what}: an index can only have a single ellipsis", user_source_loc(what))
    if len(consuming) > x.ndim:
        raise ShapeError(f"{what}: too many indices ({len(consuming)}) for an array of rank {x.ndim}",
                         user_source_loc(what))
    expanded: list[Any] = []
    for k in key:
        expanded.extend([slice(None)] * (x.ndim - len(consuming)) if k is Ellipsis else [k])
    if not any(k is Ellipsis for k in key):
        expanded.extend([slice(None)] * (x.ndim - len(consuming)))
    s = _Slice()
    dim = 0
    for k in expanded:
        if k is None:
            s.new_axes.append(sum(not d for d in s.dropped) + len(s.new_axes))
            continue
        _one(s, x, dim, k, what)
        dim += 1
    return s


def _one(s: _Slice, x: TracedArray, dim: int, k: Any, what: str) -> None:
    n = x.shape[dim]
    if isinstance(k, LoopIndex):
        _check_bounds(k, 1, n, what)
        s.offsets.append(k.value), s.sizes.append(1), s.strides.append(1), s.dropped.append(True)
        return
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
        i = int(k) + n if k < 0 else int(k)
        if not 0 <= i < n:
            raise ShapeError(f"{what}: index {int(k)} is out of bounds for axis {dim} with size {n}",
                             user_source_loc(what))
        s.offsets.append(i), s.sizes.append(1), s.strides.append(1), s.dropped.append(True)
        return
    if isinstance(k, slice):
        _slice(s, k, n, dim, what)
        return
    if _is_advanced(k):
        if np.dtype(k.dtype if is_traced(k) else np.asarray(k).dtype) == np.bool_:
            raise UnsupportedError(f"{what}: boolean mask indexing has a data-dependent shape",
                                   user_source_loc(what), hint="use np.where(mask, x, 0) to keep the shape")
        if s.advanced is not None:
            raise UnsupportedError(f"{what}: only one integer-array index per subscript is supported",
                                   user_source_loc(what))
        s.advanced = (dim, k)
        s.offsets.append(0), s.sizes.append(n), s.strides.append(1), s.dropped.append(False)
        return
    raise UnsupportedError(f"{what}: index of type {type(k).__name__} is not supported",
                           user_source_loc(what),
                           hint="use ints, slices, None, ..., a loop index or one integer array")


def _slice(s: _Slice, k: slice, n: int, dim: int, what: str) -> None:
    step = 1 if k.step is None else k.step
    if not isinstance(step, (int, np.integer)) or step <= 0:
        raise UnsupportedError(f"{what}: slice step must be a positive int, got {k.step}",
                               user_source_loc(what), hint="reverse with np.flip is not supported either")
    if isinstance(k.start, LoopIndex) or isinstance(k.stop, LoopIndex):
        start, stop = k.start, k.stop
        if not (isinstance(start, LoopIndex) and isinstance(stop, LoopIndex)) or step != 1:
            raise UnsupportedError(f"{what}: a dynamic slice needs loop-index start and stop with a "
                                   "static difference, e.g. x[i * 128:(i + 1) * 128]", user_source_loc(what))
        size = stop.minus(start)
        if size is None or size <= 0:
            raise UnsupportedError(f"{what}: the size of slice {start}:{stop} is not a positive constant",
                                   user_source_loc(what))
        _check_bounds(start, size, n, what)
        s.offsets.append(start.value), s.sizes.append(size), s.strides.append(1), s.dropped.append(False)
        return
    start, stop, step = slice(k.start, k.stop, int(step)).indices(n)
    size = len(range(start, stop, step))
    # An empty slice may start at n (x[5:2] on 5 rows); MLIR wants offsets inside the dim.
    start = start if size else 0
    s.offsets.append(start), s.sizes.append(size), s.strides.append(step), s.dropped.append(False)


def getitem(x: TracedArray, key: Any) -> TracedArray:
    what = "x[...]"
    s = _normalize(x, key, what)
    identity = (all(o == 0 for o in s.offsets if isinstance(o, int)) and
                all(isinstance(o, int) for o in s.offsets) and list(s.sizes) == list(x.shape)
                and not any(s.dropped) and all(st == 1 for st in s.strides))
    if identity:
        result = TracedArray(x.value, x.shape, x.dtype, base=x.base if x.base is not None else x)
    else:
        shape = s.kept_shape
        value = emit.extract_slice(x.value, s.offsets, s.sizes, s.strides, shape, x.dtype, loc(what))
        result = TracedArray(value, shape, x.dtype, base=x.base if x.base is not None else x)
    if s.advanced is not None:
        dim, index = s.advanced
        axis = sum(not d for d in s.dropped[:dim])
        result = take(result, index, axis=axis)
    if s.new_axes:
        shape = list(result.shape)
        for pos in s.new_axes:
            shape.insert(pos, 1)
        result = reshape(result, tuple(shape), what)
    return result


def setitem(x: TracedArray, key: Any, value: Any) -> None:
    what = "x[...] ="
    if x.base is not None:
        raise UnsupportedError(f"{what}: assigning into a view (a slice, reshape or transpose of another "
                               "array) would have to update that array too", user_source_loc(what),
                               hint="assign into the original array: base[i:j] = v")
    key = tuple(k for k in (key if isinstance(key, tuple) else (key,)) if k is not None)
    s = _normalize(x, key, what)
    if s.advanced is not None:
        raise UnsupportedError(f"{what}: assignment through an integer-array index (scatter) is not supported",
                               user_source_loc(what))
    target = s.kept_shape
    v = astype(lift(value, what), x.dtype) if not np.isscalar(value) or is_traced(value) else None
    here = loc(what)
    if v is None:
        src = emit.fill(np.asarray(value).astype(x.dtype).item(), target, x.dtype, here)
    else:
        src = broadcast_to(v, target, what).value
    x.value = emit.insert_slice(src, x.value, s.offsets, s.sizes, s.strides, here)


@rule(np.take)
def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> TracedArray:
    what = "np.take"
    reject(what, out=out)
    if mode != "raise":  # clip/wrap would change which element an out-of-range index reads
        raise UnsupportedError(f"{what}: only mode='raise' is supported, got mode={mode!r}",
                               user_source_loc(what))
    x = lift(a, what)
    if axis is None:
        x, axis = ravel(x), 0
    ax = normalize_axis(axis, x.ndim, what)
    if isinstance(indices, (int, np.integer)):
        return getitem(x, (slice(None),) * ax + (int(indices),))
    n = x.shape[ax]
    if is_traced(indices):
        idx = indices
        if not dtypes.is_int(idx.dtype):
            raise UnsupportedError(f"{what}: indices must be integers, got {idx.dtype}", user_source_loc(what))
        idx = _wrap_negative(idx, n)  # NumPy wraps negative indices once: i < 0 -> i + n
    else:
        host = np.asarray(indices)
        if not np.issubdtype(host.dtype, np.integer):
            raise UnsupportedError(f"{what}: indices must be integers, got {host.dtype}", user_source_loc(what))
        if host.size and (host.min() < -n or host.max() >= n):
            raise ShapeError(f"{what}: index out of bounds for axis {ax} with size {n}", user_source_loc(what))
        idx = lift(np.where(host < 0, host + n, host).astype(np.int32), what)
    flat = reshape(idx, (idx.size,), what)
    front = transpose(x, [ax] + [d for d in range(x.ndim) if d != ax]) if ax else x
    rest = front.shape[1:]
    out_shape = (flat.shape[0], *rest)
    here = loc(what)
    init = emit.empty(out_shape, x.dtype, here)
    gathered = GatherOp(front.value, flat.value, init, result=tensor_type(out_shape, x.dtype), loc=here).result
    result = reshape(TracedArray(gathered, out_shape, x.dtype), (*idx.shape, *rest), what)
    if ax:
        k = idx.ndim
        perm = list(range(k, k + ax)) + list(range(k)) + list(range(k + ax, result.ndim))
        result = transpose(result, perm)
    return result


def _wrap_negative(idx: TracedArray, n: int) -> TracedArray:
    from nkipy_kg.frontend.rules.elementwise import where_
    return where_(apply_ufunc(np.less, (idx, 0)), apply_ufunc(np.add, (idx, idx.dtype.type(n))), idx)
