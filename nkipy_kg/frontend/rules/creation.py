"""Creation family: zeros/ones/full/empty (and their *_like forms) inside traced code.

While a function is traced, `np.zeros/ones/full/empty` (and `np.array/asarray` of a
traced array) are redirected here so that `acc = np.zeros(...); acc[i] = x` builds
IR instead of a host array. Every other NumPy array computed from Python values
stays a host array and enters the IR as a dense compile-time constant.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg.frontend import emit
from nkipy_kg.errors import ShapeError, UnsupportedError
from nkipy_kg.frontend.rules import guarded, rule
from nkipy_kg.frontend.locations import is_internal, user_source_loc
from nkipy_kg.frontend.rules.common import lift, loc
from nkipy_kg.frontend.traced_array import TracedArray

_ORIGINAL = {name: getattr(np, name) for name in ("zeros", "ones", "full", "empty", "array", "asarray")}


def _shape(shape: Any, what: str) -> tuple[int, ...]:
    dims = tuple(int(d) for d in shape) if isinstance(shape, (tuple, list)) else (int(shape),)
    if any(d < 0 for d in dims):
        raise ShapeError(f"{what}: negative dimensions are not allowed, got {dims}", user_source_loc(what))
    return dims


def _dtype(dtype: Any, what: str) -> np.dtype:
    try:
        return dtypes.to_dtype(dtype)
    except (TypeError, ValueError) as err:
        raise UnsupportedError(f"{what}: {err}", user_source_loc(what)) from None


def full_array(shape: Any, fill_value: Any, dtype: Any, what: str) -> TracedArray:
    dims = _shape(shape, what)
    dt = _dtype(dtype if dtype is not None else np.asarray(fill_value).dtype, what)
    return TracedArray(emit.fill(np.asarray(fill_value).item(), dims, dt, loc(what)), dims, dt)


def empty_array(shape: Any, dtype: Any, what: str) -> TracedArray:
    dims = _shape(shape, what)
    dt = _dtype(dtype if dtype is not None else np.float64, what)
    return TracedArray(emit.empty(dims, dt, loc(what)), dims, dt)


def _zeros(shape: Any, dtype: Any = float, order: str = "C", **kw: Any) -> TracedArray:
    return full_array(shape, 0, dtype, "np.zeros")


def _ones(shape: Any, dtype: Any = None, order: str = "C", **kw: Any) -> TracedArray:
    return full_array(shape, 1, dtype if dtype is not None else float, "np.ones")


def _full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", **kw: Any) -> TracedArray:
    return full_array(shape, fill_value, dtype, "np.full")


def _empty(shape: Any, dtype: Any = float, order: str = "C", **kw: Any) -> TracedArray:
    return empty_array(shape, dtype, "np.empty")


def _array(obj: Any, dtype: Any = None, *args: Any, **kw: Any) -> Any:
    if isinstance(obj, TracedArray):
        return obj if dtype is None else obj.astype(dtype)
    return _ORIGINAL["array"](obj, dtype, *args, **kw)


def _asarray(obj: Any, dtype: Any = None, *args: Any, **kw: Any) -> Any:
    if isinstance(obj, TracedArray):
        return obj if dtype is None else obj.astype(dtype)
    return _ORIGINAL["asarray"](obj, dtype, *args, **kw)


def _from_user(name: str, traced: Any) -> Any:
    """Use the traced version only when user code calls; NumPy and nkipy-kg keep the original."""
    original = _ORIGINAL[name]

    def dispatch(*args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_code.co_filename
        if is_internal(caller):
            return original(*args, **kwargs)
        return guarded(f"np.{name}", lambda: traced(*args, **kwargs))

    return functools.wraps(original)(dispatch)


@contextmanager
def patched_constructors() -> Iterator[None]:
    """Redirect np.zeros/ones/full/empty/array/asarray to traced versions while tracing."""
    replacements = {"zeros": _zeros, "ones": _ones, "full": _full, "empty": _empty,
                    "array": _array, "asarray": _asarray}
    for name, fn in replacements.items():
        setattr(np, name, _from_user(name, fn))
    try:
        yield
    finally:
        for name, fn in _ORIGINAL.items():
            setattr(np, name, fn)


def _like(fill: Any, what: str):
    def impl(a: Any, dtype: Any = None, order: str = "K", subok: bool = True, shape: Any = None,
             **kw: Any) -> TracedArray:
        x = lift(a, what)
        dims = _shape(shape, what) if shape is not None else x.shape
        dt = dtype if dtype is not None else x.dtype
        if fill is None:
            return empty_array(dims, dt, what)
        return full_array(dims, fill, dt, what)
    return impl


rule(np.zeros_like)(_like(0, "np.zeros_like"))
rule(np.ones_like)(_like(1, "np.ones_like"))
rule(np.empty_like)(_like(None, "np.empty_like"))


@rule(np.full_like)
def full_like(a: Any, fill_value: Any, dtype: Any = None, order: str = "K", subok: bool = True,
              shape: Any = None, **kw: Any) -> TracedArray:
    x = lift(a, "np.full_like")
    return full_array(_shape(shape, "np.full_like") if shape is not None else x.shape, fill_value,
                      dtype if dtype is not None else x.dtype, "np.full_like")
