"""Shape family: transpose, reshape, expand_dims, squeeze, broadcast_to, concatenate,
stack, split, repeat, tile, copy.

Reshapes are always `tensor.collapse_shape` / `tensor.expand_shape` (through a 1-D
collapse when no direct reassociation exists), so no `tensor.reshape` with a shape
operand ever reaches the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import linalg
from nkipy_kg.errors import ShapeError, UnsupportedError
from nkipy_kg.frontend import emit
from nkipy_kg.frontend.rules import rule
from nkipy_kg.frontend.rules.common import lift, loc, normalize_axes, normalize_axis, reject, stand_in
from nkipy_kg.frontend.rules.elementwise import astype
from nkipy_kg.frontend.locations import user_source_loc
from nkipy_kg.frontend.traced_array import TracedArray

Shape = tuple[int, ...]


def _view(x: TracedArray, value: Any, shape: Shape) -> TracedArray:
    return TracedArray(value, shape, x.dtype, base=x.base if x.base is not None else x)


def _groups(big: Shape, small: Shape) -> list[list[int]] | None:
    """Contiguous groups of `big`'s dims whose products are `small`'s dims, or None."""
    if not small:
        return [] if all(d == 1 for d in big) else None
    groups: list[list[int]] = []
    i = 0
    for d in small:
        group: list[int] = []
        prod = 1
        while i < len(big) and (not group or prod < d):
            if d == 1 and big[i] != 1:
                return None
            group.append(i)
            prod *= big[i]
            i += 1
            if d == 1:
                break
        if not group or prod != d:  # `big` ran out: a trailing 1 of `small` has no dim to group
            return None
        groups.append(group)
    if i < len(big):
        if any(d != 1 for d in big[i:]):
            return None
        groups[-1].extend(range(i, len(big)))
    return groups


def _resolve_shape(shape: Any, size: int, what: str) -> Shape:
    dims = tuple(int(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    if dims.count(-1) > 1:
        raise ShapeError(f"{what}: can only specify one unknown dimension", user_source_loc(what))
    if -1 in dims:
        known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
        if known == 0 or size % known:
            raise ShapeError(f"{what}: cannot reshape array of size {size} into shape {shape}",
                             user_source_loc(what))
        dims = tuple(size // known if d == -1 else d for d in dims)
    if int(np.prod(dims, dtype=np.int64)) != size or any(d < 0 for d in dims):
        raise ShapeError(f"{what}: cannot reshape array of size {size} into shape {shape}",
                         user_source_loc(what))
    return dims


def reshape(x: TracedArray, shape: Any, what: str = "np.reshape") -> TracedArray:
    new = _resolve_shape(shape, x.size, what)
    if new == x.shape:
        return _view(x, x.value, new)
    here = loc(what)
    if (g := _groups(x.shape, new)) is not None:
        return _view(x, emit.collapse(x.value, g, new, x.dtype, here), new)
    if (g := _groups(new, x.shape)) is not None:
        return _view(x, emit.expand(x.value, g, new, x.dtype, here), new)
    flat = (x.size,)
    value = emit.collapse(x.value, [list(range(x.ndim))], flat, x.dtype, here)
    return _view(x, emit.expand(value, [list(range(len(new)))], new, x.dtype, here), new)


@rule(np.reshape)
def reshape_fn(a: Any, /, shape: Any = None, order: str = "C", *, newshape: Any = None,
               copy: Any = None) -> TracedArray:
    if order != "C":
        raise UnsupportedError("np.reshape: only order='C' is supported", user_source_loc("np.reshape"))
    return reshape(lift(a, "np.reshape"), shape if shape is not None else newshape)


@rule(np.ravel)
def ravel(a: Any, order: str = "C") -> TracedArray:
    x = lift(a, "np.ravel")
    return reshape(x, (x.size,), "np.ravel")


@rule(np.transpose, np.permute_dims) if hasattr(np, "permute_dims") else rule(np.transpose)
def transpose(a: Any, axes: Any = None) -> TracedArray:
    what = "np.transpose"
    x = lift(a, what)
    perm = tuple(reversed(range(x.ndim))) if axes is None else \
        tuple(normalize_axis(p, x.ndim, what) for p in axes)
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError(f"{what}: axes {axes} are not a permutation of {x.ndim} dims", user_source_loc(what))
    if perm == tuple(range(x.ndim)):
        return _view(x, x.value, x.shape)
    value = emit.transpose(x.value, x.shape, x.dtype, perm, loc(what))
    return _view(x, value, tuple(x.shape[p] for p in perm))


@rule(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> TracedArray:
    x = lift(a, "np.swapaxes")
    i, j = normalize_axis(axis1, x.ndim, "np.swapaxes"), normalize_axis(axis2, x.ndim, "np.swapaxes")
    perm = list(range(x.ndim))
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(x, perm)


@rule(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> TracedArray:
    x = lift(a, "np.moveaxis")
    src = [normalize_axis(s, x.ndim, "np.moveaxis") for s in np.atleast_1d(source)]
    dst = [normalize_axis(d, x.ndim, "np.moveaxis") for d in np.atleast_1d(destination)]
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


@rule(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> TracedArray:
    x = lift(a, "np.expand_dims")
    axes = normalize_axes(axis, x.ndim + len(np.atleast_1d(axis)), "np.expand_dims")
    shape = list(x.shape)
    for ax in axes:
        shape.insert(ax, 1)
    return reshape(x, tuple(shape), "np.expand_dims")


@rule(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> TracedArray:
    what = "np.squeeze"
    x = lift(a, what)
    axes = tuple(i for i, d in enumerate(x.shape) if d == 1) if axis is None else normalize_axes(axis, x.ndim, what)
    if any(x.shape[i] != 1 for i in axes):
        raise ShapeError(f"{what}: cannot select an axis to squeeze out which has size not equal to one",
                         user_source_loc(what))
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes), what)


def broadcast_to(x: TracedArray, shape: Shape, what: str = "np.broadcast_to") -> TracedArray:
    shape = tuple(int(d) for d in shape)
    if x.shape == shape:
        return x
    try:
        if tuple(np.broadcast_shapes(x.shape, shape)) != shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"{what}: cannot broadcast shape {x.shape} to {shape}", user_source_loc(what)) from None
    value = emit.generic([x.value], [emit.broadcast_map(x.shape, shape)], shape, x.dtype,
                         lambda args: args[0], loc(what))
    return TracedArray(value, shape, x.dtype)


@rule(np.broadcast_to)
def broadcast_to_fn(array: Any, shape: Any, subok: bool = False) -> TracedArray:
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (int(shape),)
    return broadcast_to(lift(array, "np.broadcast_to"), shape)


@rule(np.concatenate)
def concatenate(arrays: Sequence[Any], axis: Any = 0, out: Any = None, dtype: Any = None,
                casting: str = "same_kind") -> TracedArray:
    what = "np.concatenate"
    reject(what, out=out)
    parts = [lift(a, what) for a in arrays]
    if not parts:
        raise ShapeError(f"{what}: need at least one array to concatenate", user_source_loc(what))
    if axis is None:
        parts, axis = [ravel(p) for p in parts], 0
    out_dtype = np.dtype(dtype) if dtype is not None else \
        dtypes.numpy_result_dtype(np.concatenate, [stand_in(p) for p in parts])
    ax = normalize_axis(axis, parts[0].ndim, what)
    for p in parts[1:]:
        if p.ndim != parts[0].ndim or any(p.shape[i] != parts[0].shape[i] for i in range(p.ndim) if i != ax):
            raise ShapeError(f"{what}: shapes {[q.shape for q in parts]} do not match outside axis {ax}",
                             user_source_loc(what))
    shape = list(parts[0].shape)
    shape[ax] = sum(p.shape[ax] for p in parts)
    here = loc(what)
    result = emit.empty(tuple(shape), out_dtype, here)
    offset = 0
    for p in parts:
        offsets = [offset if i == ax else 0 for i in range(p.ndim)]
        result = emit.insert_slice(astype(p, out_dtype).value, result, offsets, p.shape, [1] * p.ndim, here)
        offset += p.shape[ax]
    return TracedArray(result, tuple(shape), out_dtype)


@rule(np.stack)
def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, dtype: Any = None,
          casting: str = "same_kind") -> TracedArray:
    parts = [lift(a, "np.stack") for a in arrays]
    if len({p.shape for p in parts}) > 1:
        raise ShapeError(f"np.stack: all input arrays must have the same shape, got {[p.shape for p in parts]}",
                         user_source_loc("np.stack"))
    ax = normalize_axis(axis, parts[0].ndim + 1, "np.stack")
    return concatenate([expand_dims(p, ax) for p in parts], axis=ax, out=out, dtype=dtype)


@rule(np.vstack)
def vstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> TracedArray:
    parts = [lift(a, "np.vstack") for a in tup]
    return concatenate([reshape(p, (1, p.shape[0])) if p.ndim == 1 else p for p in parts], 0, dtype=dtype)


@rule(np.hstack)
def hstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> TracedArray:
    parts = [lift(a, "np.hstack") for a in tup]
    return concatenate(parts, 0 if parts[0].ndim == 1 else 1, dtype=dtype)


def _split(x: TracedArray, indices_or_sections: Any, axis: int, even: bool, what: str) -> list[TracedArray]:
    ax = normalize_axis(axis, x.ndim, what)
    n = x.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or (even and n % k):
            raise ShapeError(f"{what}: array split does not result in an equal division "
                             f"({n} into {k})", user_source_loc(what))
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        bounds = list(np.cumsum([0] + sizes))
    else:
        bounds = [0] + [min(max(int(i), 0), n) for i in indices_or_sections] + [n]
    here = loc(what)
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        hi = max(hi, lo)
        shape = tuple(hi - lo if i == ax else d for i, d in enumerate(x.shape))
        offsets = [lo if i == ax else 0 for i in range(x.ndim)]
        value = emit.extract_slice(x.value, offsets, shape, [1] * x.ndim, shape, x.dtype, here)
        out.append(_view(x, value, shape))
    return out


@rule(np.split)
def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[TracedArray]:
    return _split(lift(ary, "np.split"), indices_or_sections, axis, True, "np.split")


@rule(np.array_split)
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[TracedArray]:
    return _split(lift(ary, "np.array_split"), indices_or_sections, axis, False, "np.array_split")


@rule(np.repeat)
def repeat(a: Any, repeats: Any, axis: Any = None) -> TracedArray:
    what = "np.repeat"
    x = lift(a, what)
    if not isinstance(repeats, (int, np.integer)):
        raise UnsupportedError(f"{what}: only a single integer repeat count is supported",
                               user_source_loc(what))
    if axis is None:
        x, axis = ravel(x), 0
    ax = normalize_axis(axis, x.ndim, what)
    r = int(repeats)
    spread = reshape(x, x.shape[:ax + 1] + (1,) + x.shape[ax + 1:], what)
    wide = broadcast_to(spread, x.shape[:ax + 1] + (r,) + x.shape[ax + 1:], what)
    return reshape(wide, x.shape[:ax] + (x.shape[ax] * r,) + x.shape[ax + 1:], what)


@rule(np.tile)
def tile(A: Any, reps: Any) -> TracedArray:  # noqa: N803 - NumPy's name
    what = "np.tile"
    x = lift(A, what)
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    rank = max(x.ndim, len(reps))
    x = reshape(x, (1,) * (rank - x.ndim) + x.shape, what)
    reps = (1,) * (rank - len(reps)) + reps
    spread = reshape(x, tuple(v for d in x.shape for v in (1, d)), what)
    wide = broadcast_to(spread, tuple(v for r, d in zip(reps, x.shape) for v in (r, d)), what)
    return reshape(wide, tuple(r * d for r, d in zip(reps, x.shape)), what)


@rule(np.copy)
def copy(a: Any, order: str = "K", subok: bool = False) -> TracedArray:
    x = lift(a, "np.copy")
    value = emit.named(linalg.CopyOp, [x.value], x.shape, x.dtype, loc("np.copy"))
    return TracedArray(value, x.shape, x.dtype)
