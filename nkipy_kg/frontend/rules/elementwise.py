"""Elementwise family: ufuncs, astype, where, clip.

Same-shape float ops with a linalg named op become that op (`linalg.add`,
`linalg.exp`, ...), which later passes pattern-match; everything else is one
`linalg.generic` with NumPy broadcasting maps and Python scalars materialised as
`arith.constant`s inside the body.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import arith, linalg
from nkipy_kg.errors import UnsupportedError
from nkipy_kg.frontend import emit, scalar
from nkipy_kg.frontend.rules import UFUNC_METHODS, rule
from nkipy_kg.frontend.rules.common import (
    broadcast_shape, is_scalar, is_traced, lift, loc, scalar_value, stand_in,
)
from nkipy_kg.frontend.locations import user_source_loc
from nkipy_kg.frontend.traced_array import TracedArray

# ufunc -> linalg named op, used when every operand already has the result's shape
# and dtype (floats only: the named ops' integer bodies differ from NumPy's).
NAMED_FLOAT = {
    "add": linalg.AddOp, "subtract": linalg.SubOp, "multiply": linalg.MulOp,
    "divide": linalg.DivOp, "maximum": linalg.MaxOp, "minimum": linalg.MinOp,
    "exp": linalg.ExpOp, "log": linalg.LogOp, "sqrt": linalg.SqrtOp, "tanh": linalg.TanhOp,
    "absolute": linalg.AbsOp, "negative": linalg.NegFOp, "reciprocal": linalg.ReciprocalOp,
    "square": linalg.SquareOp, "floor": linalg.FloorOp, "ceil": linalg.CeilOp,
}
_ALIASES = {"true_divide": "divide", "abs": "absolute", "mod": "remainder", "fabs": "absolute",
            "conjugate": "positive", "conj": "positive"}
# power(x, c) with these constant exponents is exactly another ufunc.
_POWER_SPECIAL = {2: "square", 1: "positive", 0.5: "sqrt", -1: "reciprocal"}


def astype(x: TracedArray, dtype: Any) -> TracedArray:
    """`x.astype(dtype)`: one cast generic (a fresh wrapper when the dtype is unchanged)."""
    target = dtypes.to_dtype(dtype) if isinstance(dtype, str) else np.dtype(dtype)
    if target not in dtypes.SUPPORTED:
        raise UnsupportedError(f"astype: dtype {target} is not supported", user_source_loc("astype"))
    if target == x.dtype:
        return TracedArray(x.value, x.shape, x.dtype)
    where = loc("astype")
    value = emit.generic([x.value], [emit.identity_map(x.ndim)], x.shape, target,
                         lambda a: scalar.cast(a[0], x.dtype, target, where), where)
    return TracedArray(value, x.shape, target)


def apply_ufunc(ufunc: np.ufunc, inputs: tuple, out: Any = None, where: Any = True,
                dtype: Any = None, **kwargs: Any) -> TracedArray:
    name = _ALIASES.get(ufunc.__name__, ufunc.__name__)
    what = f"np.{ufunc.__name__}"
    if out is not None or where is not True or kwargs.get("casting") not in (None, "same_kind"):
        raise UnsupportedError(f"{what}: out=, where= and casting= are not supported in traced kernels",
                               user_source_loc(what))
    table = scalar.UNARY if len(inputs) == 1 else scalar.BINARY
    if name not in table:
        raise UnsupportedError(f"{what} is not supported in traced kernels", user_source_loc(what),
                               hint="supported ufuncs: " + ", ".join(sorted({*scalar.UNARY, *scalar.BINARY})))
    # Result dtypes first: NumPy must see power's two operands, not the rewritten unary op.
    out_dtype, loop_dtype = _dtypes(ufunc, name, inputs, dtype)
    if name == "power" and len(inputs) == 2 and is_scalar(inputs[1]) and is_traced(inputs[0]) \
            and scalar_value(inputs[1]) in _POWER_SPECIAL and dtypes.is_float(loop_dtype):
        name = _POWER_SPECIAL[scalar_value(inputs[1])]
        inputs = inputs[:1]
    return _emit(name, what, inputs, loop_dtype, out_dtype)


def _dtypes(ufunc: np.ufunc, name: str, inputs: tuple, dtype: Any) -> tuple[np.dtype, np.dtype]:
    """(result dtype, dtype the operation is computed in), as NumPy decides them."""
    if dtype is not None:
        forced = np.dtype(dtype)
        return (np.dtype(np.bool_) if name in scalar.PREDICATES else forced), forced
    ins = [stand_in(x) for x in inputs]
    out_dtype = dtypes.numpy_result_dtype(ufunc, *ins)
    if name in scalar.LOGICAL:
        return out_dtype, np.dtype(np.bool_)
    if name in scalar.PREDICATES:
        loop = dtypes.numpy_result_dtype(np.add, *ins) if len(ins) == 2 else np.asarray(ins[0]).dtype
        if len(ins) == 1 and not dtypes.is_float(loop):
            loop = np.dtype(np.float32)  # isnan(int) etc.: NumPy's answer is fixed; compute in f32
        return out_dtype, loop
    return out_dtype, out_dtype


def _emit(name: str, what: str, inputs: tuple, loop_dtype: np.dtype,
          out_dtype: np.dtype) -> TracedArray:
    tensors = [astype(lift(x, what), loop_dtype) for x in inputs if not is_scalar(x)]
    shape = broadcast_shape([t.shape for t in tensors], what) if tensors else ()
    where = loc(what)
    named = NAMED_FLOAT.get(name)
    if (named is not None and len(tensors) == len(inputs) and dtypes.is_float(loop_dtype)
            and loop_dtype == out_dtype and all(t.shape == shape for t in tensors)):
        return TracedArray(emit.named(named, [t.value for t in tensors], shape, out_dtype, where),
                           shape, out_dtype)
    body_fn = (scalar.UNARY if len(inputs) == 1 else scalar.BINARY)[name]

    def body(args: list) -> Any:
        try:
            result = body_fn(_block_operands(inputs, args, loop_dtype, where), loop_dtype, where)
        except scalar.NotDefined:
            raise UnsupportedError(f"{what} on {loop_dtype} arrays is not supported in traced kernels",
                                   user_source_loc(what), hint="cast to a float dtype first") from None
        produced = np.dtype(np.bool_) if name in scalar.PREDICATES | scalar.LOGICAL else loop_dtype
        return scalar.cast(result, produced, out_dtype, where)

    maps = [emit.broadcast_map(t.shape, shape) for t in tensors]
    value = emit.generic([t.value for t in tensors], maps, shape, out_dtype, body, where)
    return TracedArray(value, shape, out_dtype)


def _block_operands(inputs: Sequence[Any], args: list, dtype: np.dtype, where: Any) -> list:
    """Block arguments for the tensor inputs, in-body constants (cast to `dtype`) for scalars."""
    it = iter(args)
    return [scalar.cast(emit.scalar_const(scalar_value(x), _scalar_dtype(x, dtype), where),
                        _scalar_dtype(x, dtype), dtype, where) if is_scalar(x) else next(it)
            for x in inputs]


def _scalar_dtype(x: Any, loop_dtype: np.dtype) -> np.dtype:
    """The dtype a scalar constant is written in before conversion to the loop dtype."""
    if isinstance(x, (np.generic, np.ndarray)) and np.dtype(x.dtype) in dtypes.SUPPORTED:
        return np.dtype(x.dtype)
    if isinstance(x, bool):
        return np.dtype(np.bool_)
    return loop_dtype


@rule(np.where)
def where_(condition: Any, x: Any = None, y: Any = None) -> TracedArray:
    what = "np.where"
    if x is None or y is None:
        raise UnsupportedError("np.where(condition) without x and y has a data-dependent shape",
                               user_source_loc(what), hint="use np.where(condition, x, y)")
    out_dtype = dtypes.numpy_result_dtype(np.where, np.ones(1, bool), stand_in(x), stand_in(y))
    cond = astype(lift(condition, what), np.dtype(np.bool_))
    operands = [cond] + [x if is_scalar(x) else astype(lift(x, what), out_dtype),
                         y if is_scalar(y) else astype(lift(y, what), out_dtype)]
    tensors = [t for t in operands if is_traced(t)]
    shape = broadcast_shape([t.shape for t in tensors], what)
    here = loc(what)

    def body(args: list) -> Any:
        cond, *values = _block_operands(operands, args, out_dtype, here)
        return arith.SelectOp(cond, *values, loc=here).result

    value = emit.generic([t.value for t in tensors], [emit.broadcast_map(t.shape, shape) for t in tensors],
                         shape, out_dtype, body, here)
    return TracedArray(value, shape, out_dtype)


@rule(np.clip)
def clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, *,
         min: Any = None, max: Any = None, **kwargs: Any) -> TracedArray:  # noqa: A002 - NumPy's names
    """np.clip(a, a_min, a_max), or NumPy >= 2.1's spelling np.clip(a, min=..., max=...)."""
    lower = a_min if a_min is not None else min
    upper = a_max if a_max is not None else max
    result = a
    if lower is not None:
        result = apply_ufunc(np.maximum, (result, lower), out=out)
    if upper is not None:
        result = apply_ufunc(np.minimum, (result, upper), out=out)
    # np.clip promotes all three operands together (bf16 clipped to a Python int is f32).
    out_dtype = dtypes.numpy_result_dtype(np.clip, stand_in(a), stand_in(lower), stand_in(upper))
    return astype(lift(result, "np.clip"), out_dtype)


@rule(np.round, np.around)
def round_(a: Any, decimals: int = 0, out: Any = None) -> TracedArray:
    if decimals != 0:
        scale = 10.0 ** decimals
        return apply_ufunc(np.divide, (apply_ufunc(np.rint, (apply_ufunc(np.multiply, (a, scale)),)), scale))
    return apply_ufunc(np.rint, (a,), out=out)


@rule(np.astype) if hasattr(np, "astype") else (lambda f: f)
def astype_fn(x: Any, dtype: Any, copy: bool = True, **kwargs: Any) -> TracedArray:
    return astype(lift(x, "np.astype"), dtype)


def _reduce_method(fn_name: str):
    def reduce(array: Any, axis: Any = 0, dtype: Any = None, out: Any = None,
               keepdims: bool = False, **kwargs: Any) -> TracedArray:
        return getattr(np, fn_name)(array, axis=axis, keepdims=keepdims)
    return reduce


for _ufunc, _fn in [("add", "sum"), ("multiply", "prod"), ("maximum", "max"), ("minimum", "min"),
                    ("logical_and", "all"), ("logical_or", "any")]:
    UFUNC_METHODS[(_ufunc, "reduce")] = _reduce_method(_fn)
