"""Small helpers every rule family uses: lifting operands, axes, wrapping results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg.errors import ShapeError, UnsupportedError
from nkipy_kg.frontend import builder as _builder
from nkipy_kg.frontend import emit
from nkipy_kg.frontend.locations import user_source_loc
from nkipy_kg.frontend.traced_array import TracedArray


def is_traced(x: Any) -> bool:
    return isinstance(x, TracedArray)


def is_scalar(x: Any) -> bool:
    """Python/NumPy scalars and 0-d arrays: they become constants inside op bodies."""
    return isinstance(x, (bool, int, float, np.generic)) or (isinstance(x, np.ndarray) and x.ndim == 0)


def scalar_value(x: Any) -> bool | int | float:
    return x.item() if isinstance(x, (np.generic, np.ndarray)) else x


def loc(what: str):  # noqa: ANN201 - ir.Location
    return _builder.current().loc(what)


def lift(x: Any, what: str) -> TracedArray:
    """A traced array from `x`: traced arrays pass through, NumPy data becomes a constant."""
    if isinstance(x, TracedArray):
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(e, TracedArray) for e in x):
        raise UnsupportedError(f"{what}: a Python list mixing traced arrays is not an array here",
                               user_source_loc(what), hint="use np.stack or np.concatenate")
    array = np.asarray(x)
    if array.dtype == object or array.dtype not in dtypes.SUPPORTED:
        raise UnsupportedError(f"{what}: constant of dtype {array.dtype} is not supported",
                               user_source_loc(what))
    return TracedArray(emit.dense_const(array, loc(what)), array.shape, array.dtype)


def stand_in(x: Any) -> Any:
    """What to hand NumPy to learn a result dtype: arrays of the right dtype, scalars as is."""
    if isinstance(x, TracedArray):
        return dtypes.stand_in(x.dtype)
    if isinstance(x, np.ndarray) and x.ndim > 0:
        return np.ones(1, dtype=x.dtype)
    if isinstance(x, (list, tuple)):
        return np.ones(1, dtype=np.asarray(x).dtype)
    return x


def normalize_axis(axis: int, ndim: int, what: str) -> int:
    if not isinstance(axis, (int, np.integer)):
        raise UnsupportedError(f"{what}: axis must be a Python int, got {type(axis).__name__}",
                               user_source_loc(what))
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{what}: axis {axis} is out of bounds for an array of rank {ndim}",
                         user_source_loc(what))
    return int(axis) % ndim if ndim else 0


def normalize_axes(axis: Any, ndim: int, what: str) -> tuple[int, ...]:
    """None -> every axis; int or tuple -> sorted, non-negative, without repeats."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(normalize_axis(a, ndim, what) for a in items)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{what}: repeated axis in {axis}", user_source_loc(what))
    return tuple(sorted(axes))


def reject(what: str, **kwargs: Any) -> None:
    """Raise for NumPy keyword arguments we do not implement (given a non-default value)."""
    for name, value in kwargs.items():
        if value is not None and value is not np._NoValue:
            raise UnsupportedError(f"{what}: the argument {name}= is not supported in traced kernels",
                                   user_source_loc(what))


def broadcast_shape(shapes: Sequence[tuple[int, ...]], what: str) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"{what}: shapes {', '.join(map(str, shapes))} cannot be broadcast together",
                         user_source_loc(what)) from None
