"""`TracedArray`: the stand-in for an ndarray while a kernel is traced.

It holds an SSA value plus the static shape and dtype, and routes every NumPy entry
point (operators, ufuncs, `np.*` functions, methods, indexing) to the rule tables
in `nkipy_kg.frontend.rules`. Anything that would need the run-time *values*
(`if x > 0:`, `float(x)`) is a `ControlFlowError` pointing at the user's line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nkipy_kg._mlir import ir
from nkipy_kg.errors import ControlFlowError, ShapeError
from nkipy_kg.frontend.locations import user_source_loc


class TracedArray:
    """A traced tensor value: `.value` (MLIR SSA value), `.shape`, `.dtype`."""

    __array_priority__ = 1000
    __hash__ = None  # `==` builds IR, as on ndarrays

    def __init__(self, value: ir.Value, shape: tuple[int, ...], dtype: np.dtype,
                 base: TracedArray | None = None) -> None:
        self.value = value
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        # The array this one is a view of (basic indexing, reshape, transpose): writing
        # into a view would have to update its base, which tracing cannot express.
        self.base = base
        # The value knobs annotate: the compute op's own result when this array is a
        # cast or reshape of it (e.g. a bf16 matmul accumulated in f32, then rounded).
        self.knob_target: ir.Value = value

    # -- ndarray attributes ------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def T(self) -> TracedArray:  # noqa: N802 - NumPy's name
        return np.transpose(self)

    @property
    def mT(self) -> TracedArray:  # noqa: N802 - NumPy's name
        return np.swapaxes(self, -1, -2)

    def __len__(self) -> int:
        if not self.shape:  # NumPy raises TypeError; a located error tells which line
            raise ShapeError("len() of a 0-d array", user_source_loc())
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"TracedArray(shape={self.shape}, dtype={self.dtype})"

    # -- values are unknown while tracing ----------------------------------------------
    def _no_value(self, what: str) -> ControlFlowError:
        return ControlFlowError(
            f"{what} needs the run-time value of a traced array {self.shape} {self.dtype}",
            user_source_loc(),
            hint="kernels are traced once with symbolic arrays; use np.where(cond, a, b) "
                 "for data-dependent choices and nkipy_kg.fori_loop for loops",
        )

    def __bool__(self) -> bool:
        raise self._no_value("Python control flow (if/while/and/or/not)")

    def __float__(self) -> float:
        raise self._no_value("float()")

    def __int__(self) -> int:
        raise self._no_value("int()")

    def __index__(self) -> int:
        raise self._no_value("using an array as a Python index")

    def __complex__(self) -> complex:
        raise self._no_value("complex()")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise self._no_value("converting to a NumPy array (np.asarray / np.array)")

    def tolist(self) -> list:
        raise self._no_value("tolist()")

    def item(self, *args: Any) -> Any:
        raise self._no_value("item()")

    # -- NumPy protocols ----------------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from nkipy_kg.frontend.rules import dispatch_ufunc

        return dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        from nkipy_kg.frontend.rules import dispatch_function

        return dispatch_function(func, args, kwargs)

    # -- indexing ----------------------------------------------------------------------
    def __getitem__(self, key: Any) -> TracedArray:
        from nkipy_kg.frontend.rules import guarded, indexing

        return guarded("x[...]", lambda: indexing.getitem(self, key))

    def __setitem__(self, key: Any, value: Any) -> None:
        from nkipy_kg.frontend.rules import guarded, indexing

        guarded("x[...] =", lambda: indexing.setitem(self, key, value))

    # -- methods (NumPy's spelling, forwarded to the np.* rules) -------------------------
    def astype(self, dtype: Any, copy: bool = True) -> TracedArray:
        from nkipy_kg.frontend.rules import elementwise, guarded

        return guarded("astype", lambda: elementwise.astype(self, dtype))

    def reshape(self, *shape: Any, order: str = "C") -> TracedArray:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return np.reshape(self, shape, order=order)

    def transpose(self, *axes: Any) -> TracedArray:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return np.transpose(self, axes or None)

    def swapaxes(self, a: int, b: int) -> TracedArray:
        return np.swapaxes(self, a, b)

    def squeeze(self, axis: Any = None) -> TracedArray:
        return np.squeeze(self, axis=axis)

    def flatten(self) -> TracedArray:
        return np.reshape(self, (self.size,))

    def ravel(self) -> TracedArray:
        return np.ravel(self)

    def copy(self) -> TracedArray:
        return np.copy(self)

    def sum(self, *a: Any, **k: Any) -> TracedArray:
        return np.sum(self, *a, **k)

    def prod(self, *a: Any, **k: Any) -> TracedArray:
        return np.prod(self, *a, **k)

    def mean(self, *a: Any, **k: Any) -> TracedArray:
        return np.mean(self, *a, **k)

    def var(self, *a: Any, **k: Any) -> TracedArray:
        return np.var(self, *a, **k)

    def std(self, *a: Any, **k: Any) -> TracedArray:
        return np.std(self, *a, **k)

    def max(self, *a: Any, **k: Any) -> TracedArray:
        return np.max(self, *a, **k)

    def min(self, *a: Any, **k: Any) -> TracedArray:
        return np.min(self, *a, **k)

    def any(self, *a: Any, **k: Any) -> TracedArray:
        return np.any(self, *a, **k)

    def all(self, *a: Any, **k: Any) -> TracedArray:
        return np.all(self, *a, **k)

    def clip(self, *a: Any, **k: Any) -> TracedArray:
        return np.clip(self, *a, **k)

    def dot(self, other: Any) -> TracedArray:
        return np.dot(self, other)

    def repeat(self, repeats: Any, axis: Any = None) -> TracedArray:
        return np.repeat(self, repeats, axis=axis)

    def take(self, indices: Any, axis: Any = None) -> TracedArray:
        return np.take(self, indices, axis=axis)


def _binary(name: str, reflected: bool = False):
    ufunc = getattr(np, name)

    def op(self: TracedArray, other: Any) -> Any:
        from nkipy_kg.frontend.rules import dispatch_ufunc

        return dispatch_ufunc(ufunc, "__call__", (other, self) if reflected else (self, other), {})

    return op


def _unary(name: str):
    ufunc = getattr(np, name)

    def op(self: TracedArray) -> Any:
        from nkipy_kg.frontend.rules import dispatch_ufunc

        return dispatch_ufunc(ufunc, "__call__", (self,), {})

    return op


for _dunder, _ufunc in [
    ("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "divide"),
    ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "power"),
    ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"),
    ("lshift", "left_shift"), ("rshift", "right_shift"),
]:
    setattr(TracedArray, f"__{_dunder}__", _binary(_ufunc))
    setattr(TracedArray, f"__r{_dunder}__", _binary(_ufunc, reflected=True))
for _dunder, _ufunc in [("lt", "less"), ("le", "less_equal"), ("gt", "greater"),
                        ("ge", "greater_equal"), ("eq", "equal"), ("ne", "not_equal")]:
    setattr(TracedArray, f"__{_dunder}__", _binary(_ufunc))
for _dunder, _ufunc in [("neg", "negative"), ("pos", "positive"), ("abs", "absolute"),
                        ("invert", "invert")]:
    setattr(TracedArray, f"__{_dunder}__", _unary(_ufunc))


def _matmul(self: TracedArray, other: Any) -> Any:
    return np.matmul(self, other)


def _rmatmul(self: TracedArray, other: Any) -> Any:
    return np.matmul(other, self)


TracedArray.__matmul__ = _matmul
TracedArray.__rmatmul__ = _rmatmul
