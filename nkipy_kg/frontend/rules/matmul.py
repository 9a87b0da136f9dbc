"""Matmul family: np.matmul / @ (incl. batched and 1-D operands) and np.dot (≤ 2-D).

2-D operands become `linalg.matmul` into a zero-filled init; batched ones
`linalg.batch_matmul` over the flattened batch. A batched lhs against a 2-D rhs
(the `x @ W` of every layer) is flattened to one 2-D matmul instead. float16 and
bfloat16 accumulate in float32 (PSUM's precision) and round once; bf16 @ bf16 (f32
in NumPy) keeps its operands in bf16 and only the accumulator in f32, as TensorE does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import linalg
from nkipy_kg.errors import ShapeError, UnsupportedError
from nkipy_kg.frontend import emit
from nkipy_kg.frontend.builder import tensor_type
from nkipy_kg.frontend.rules import rule
from nkipy_kg.frontend.rules.common import broadcast_shape, lift, loc, reject
from nkipy_kg.frontend.rules.elementwise import astype
from nkipy_kg.frontend.rules.shape import broadcast_to, reshape
from nkipy_kg.frontend.locations import user_source_loc
from nkipy_kg.frontend.traced_array import TracedArray


def _contract(op_class: type, a: TracedArray, b: TracedArray, out_shape: tuple[int, ...],
              out_dtype: np.dtype, what: str) -> TracedArray:
    acc = np.dtype(np.float32) if dtypes.is_float(out_dtype) and out_dtype.itemsize < 4 else out_dtype
    here = loc(what)
    init = emit.fill(0, out_shape, acc, here)
    op = op_class([tensor_type(out_shape, acc)], [a.value, b.value], [init], loc=here)
    linalg.fill_builtin_region(op.operation)
    raw = TracedArray(op.results[0], out_shape, acc)
    result = astype(raw, out_dtype)
    result.knob_target = raw.value
    return result


@rule(np.matmul)
def matmul(a: Any, b: Any, out: Any = None, **kwargs: Any) -> TracedArray:
    what = "np.matmul"
    reject(what, out=out)
    x, y = lift(a, what), lift(b, what)
    if x.ndim == 0 or y.ndim == 0:
        raise ShapeError(f"{what}: operands must have at least one dimension, got shapes "
                         f"{x.shape} and {y.shape}", user_source_loc(what), hint="use * for scalars")
    out_dtype = dtypes.numpy_result_dtype(np.matmul, dtypes.stand_in(x.dtype, 2), dtypes.stand_in(y.dtype, 2))
    if dtypes.is_bool(out_dtype):
        raise UnsupportedError(f"{what} on bool arrays is not supported", user_source_loc(what),
                               hint="cast to an integer or float dtype first")
    operand_dtype = out_dtype
    if x.dtype == y.dtype and dtypes.is_float(x.dtype) and dtypes.is_float(out_dtype) \
            and x.dtype.itemsize < out_dtype.itemsize:
        # bf16 @ bf16 is f32 in NumPy: multiply the narrow operands and accumulate in
        # f32 (linalg.matmul extends in its body). Products of two bf16/f16 values are
        # exact in f32, so this equals upcasting first, without moving f32 operands.
        operand_dtype = x.dtype
    x, y = astype(x, operand_dtype), astype(y, operand_dtype)
    squeeze_m, squeeze_n = x.ndim == 1, y.ndim == 1
    if squeeze_m:
        x = reshape(x, (1, x.shape[0]))
    if squeeze_n:
        y = reshape(y, (y.shape[0], 1))
    (m, k), (k2, n) = x.shape[-2:], y.shape[-2:]
    if k != k2:
        raise ShapeError(f"{what}: contraction dims differ: {x.shape} @ {y.shape} (K={k} vs {k2})",
                         user_source_loc(what))
    batch = broadcast_shape([x.shape[:-2], y.shape[:-2]], what)
    if not batch:
        result = _contract(linalg.MatmulOp, x, y, (m, n), out_dtype, what)
    elif y.ndim == 2:
        flat = reshape(x, (int(np.prod(x.shape[:-1])), k))
        core = _contract(linalg.MatmulOp, flat, y, (flat.shape[0], n), out_dtype, what)
        result = reshape(core, (*batch, m, n))
        result.knob_target = core.knob_target
    else:
        nb = int(np.prod(batch))
        xb = reshape(broadcast_to(x, (*batch, m, k)), (nb, m, k))
        yb = reshape(broadcast_to(y, (*batch, k, n)), (nb, k, n))
        core = _contract(linalg.BatchMatmulOp, xb, yb, (nb, m, n), out_dtype, what)
        result = reshape(core, (*batch, m, n))
        result.knob_target = core.knob_target
    final = result.shape
    if squeeze_m:
        final = final[:-2] + final[-1:]
    if squeeze_n:
        final = final[:-1]
    target = result.knob_target
    if final != result.shape:
        result = reshape(result, final)
    result.knob_target = target
    return result


@rule(np.dot)
def dot(a: Any, b: Any, out: Any = None) -> TracedArray:
    x, y = lift(a, "np.dot"), lift(b, "np.dot")
    if x.ndim > 2 or y.ndim > 2:
        raise UnsupportedError("np.dot on arrays of rank > 2 is not supported", user_source_loc("np.dot"),
                               hint="use np.matmul (or @), whose batching rules differ from np.dot's")
    if x.ndim == 0 or y.ndim == 0:
        from nkipy_kg.frontend.rules.elementwise import apply_ufunc
        return apply_ufunc(np.multiply, (x, y))
    result = matmul(x, y, out=out)
    # np.dot and np.matmul can disagree on the result dtype (ml_dtypes: bf16 @ bf16 is f32,
    # np.dot(bf16, bf16) is bf16): round the f32-accumulated product once, to np.dot's.
    out_dtype = dtypes.numpy_result_dtype(np.dot, dtypes.stand_in(x.dtype, 2), dtypes.stand_in(y.dtype, 2))
    if out_dtype == result.dtype:
        return result
    rounded = astype(result, out_dtype)
    rounded.knob_target = result.knob_target
    return rounded
