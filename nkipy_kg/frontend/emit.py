"""Tensor-level IR emission helpers shared by every rule family.

They work on MLIR values plus static shapes and dtypes; wrapping results into
`TracedArray`s is the rules' business. Every helper takes the `loc` of the user line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import arith, ir, linalg, tensor
from nkipy_kg.frontend.builder import tensor_type

Shape = tuple[int, ...]
BodyFn = Callable[[list[ir.Value]], ir.Value]

PARALLEL = "parallel"
REDUCTION = "reduction"


def empty(shape: Shape, dtype: np.dtype, loc: ir.Location) -> ir.Value:
    return tensor.EmptyOp(list(shape), dtypes.mlir_type(dtype), loc=loc).result


def scalar_attr(value: float | int | bool, dtype: np.dtype) -> ir.Attribute:
    t = dtypes.mlir_type(dtype)
    if dtypes.is_float(dtype):
        return ir.FloatAttr.get(t, float(value))
    if dtypes.is_bool(dtype):
        return ir.IntegerAttr.get(t, int(bool(value)))
    return ir.IntegerAttr.get(t, int(value))


def scalar_const(value: float | int | bool, dtype: np.dtype, loc: ir.Location) -> ir.Value:
    """An `arith.constant` scalar in the current block (e.g. inside a linalg body)."""
    return arith.ConstantOp(dtypes.mlir_type(dtype), scalar_attr(value, dtype), loc=loc).result


def fill(value: float | int | bool, shape: Shape, dtype: np.dtype, loc: ir.Location) -> ir.Value:
    """`linalg.fill` of a fresh `tensor.empty` with a compile-time scalar."""
    init = empty(shape, dtype, loc)
    scalar = scalar_const(value, dtype, loc)
    op = linalg.FillOp([tensor_type(shape, dtype)], [scalar], [init], loc=loc)
    linalg.fill_builtin_region(op.operation)
    return op.results[0]


def fill_value(scalar: ir.Value, shape: Shape, dtype: np.dtype, loc: ir.Location) -> ir.Value:
    init = empty(shape, dtype, loc)
    op = linalg.FillOp([tensor_type(shape, dtype)], [scalar], [init], loc=loc)
    linalg.fill_builtin_region(op.operation)
    return op.results[0]


def dense_const(array: np.ndarray, loc: ir.Location) -> ir.Value:
    """A compile-time constant tensor (`arith.constant dense<...>`)."""
    dtype = np.dtype(array.dtype)
    t = tensor_type(array.shape, dtype)
    if array.size and (array == array.flat[0]).all():
        attr = ir.DenseElementsAttr.get_splat(t, scalar_attr(array.flat[0].item(), dtype))
    elif dtype == dtypes.bfloat16:
        attr = ir.DenseElementsAttr.get(np.ascontiguousarray(array).view(np.uint16), type=t)
    else:  # bool arrays too: the bindings bit-pack np.bool_ buffers for i1 themselves
        attr = ir.DenseElementsAttr.get(np.ascontiguousarray(array), type=t)
    return arith.ConstantOp(t, attr, loc=loc).result


def iterator_attr(kinds: Sequence[str]) -> ir.ArrayAttr:
    return ir.ArrayAttr.get([ir.Attribute.parse(f"#linalg.iterator_type<{k}>") for k in kinds])


def identity_map(rank: int) -> ir.AffineMap:
    return ir.AffineMap.get_identity(rank)


def broadcast_map(in_shape: Shape, out_shape: Shape) -> ir.AffineMap:
    """NumPy right-aligned broadcasting: missing leading dims dropped, size-1 dims pinned to 0."""
    n = len(out_shape)
    offset = n - len(in_shape)
    exprs = []
    for j, size in enumerate(in_shape):
        k = offset + j
        stretched = size == 1 and out_shape[k] != 1
        exprs.append(ir.AffineConstantExpr.get(0) if stretched else ir.AffineDimExpr.get(k))
    return ir.AffineMap.get(n, 0, exprs)


def generic(inputs: Sequence[ir.Value], input_maps: Sequence[ir.AffineMap], out_shape: Shape,
            out_dtype: np.dtype, body: BodyFn, loc: ir.Location, *,
            iterators: Sequence[str] | None = None, out_map: ir.AffineMap | None = None,
            init: ir.Value | None = None) -> ir.Value:
    """A single-result `linalg.generic`; `body(block_args)` returns the yielded value."""
    n_loops = len(iterators) if iterators is not None else len(out_shape)
    iterators = iterators or [PARALLEL] * n_loops
    out_map = out_map or identity_map(n_loops)
    init = init if init is not None else empty(out_shape, out_dtype, loc)
    maps = ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in [*input_maps, out_map]])
    op = linalg.GenericOp([tensor_type(out_shape, out_dtype)], list(inputs), [init], maps,
                          iterator_attr(iterators), loc=loc)
    arg_types = [ir.ShapedType(v.type).element_type for v in [*inputs, init]]
    block = op.regions[0].blocks.append(*arg_types, arg_locs=[loc] * len(arg_types))
    with ir.InsertionPoint(block):
        linalg.YieldOp([body(list(block.arguments))], loc=loc)
    return op.results[0]


def named(op_class: type, inputs: Sequence[ir.Value], out_shape: Shape, dtype: np.dtype,
          loc: ir.Location) -> ir.Value:
    """A named structured op (`linalg.add`, `linalg.exp`, ...) with a fresh init."""
    init = empty(out_shape, dtype, loc)
    op = op_class([tensor_type(out_shape, dtype)], list(inputs), [init], loc=loc)
    linalg.fill_builtin_region(op.operation)
    return op.results[0]


def transpose(value: ir.Value, shape: Shape, dtype: np.dtype, perm: Sequence[int],
              loc: ir.Location) -> ir.Value:
    out_shape = tuple(shape[p] for p in perm)
    init = empty(out_shape, dtype, loc)
    op = linalg.TransposeOp([tensor_type(out_shape, dtype)], value, init, list(perm), loc=loc)
    linalg.fill_builtin_region(op.operation)
    return op.results[0]


def extract_slice(value: ir.Value, offsets: Sequence[int | ir.Value], sizes: Sequence[int],
                  strides: Sequence[int], result_shape: Shape, dtype: np.dtype,
                  loc: ir.Location) -> ir.Value:
    """`tensor.extract_slice`; dims absent from `result_shape` (size 1) are dropped."""
    dyn_offsets, static_offsets = _split_dynamic(offsets)
    return tensor.ExtractSliceOp(tensor_type(result_shape, dtype), value, dyn_offsets, [], [],
                                 static_offsets, list(sizes), list(strides), loc=loc).result


def insert_slice(source: ir.Value, dest: ir.Value, offsets: Sequence[int | ir.Value],
                 sizes: Sequence[int], strides: Sequence[int], loc: ir.Location) -> ir.Value:
    dyn_offsets, static_offsets = _split_dynamic(offsets)
    return tensor.InsertSliceOp(source, dest, dyn_offsets, [], [], static_offsets, list(sizes),
                                list(strides), loc=loc).result


_DYNAMIC = ir.ShapedType.get_dynamic_size()


def _split_dynamic(offsets: Sequence[int | ir.Value]) -> tuple[list[ir.Value], list[int]]:
    dynamic = [o for o in offsets if isinstance(o, ir.Value)]
    static = [_DYNAMIC if isinstance(o, ir.Value) else int(o) for o in offsets]
    return dynamic, static


def collapse(value: ir.Value, groups: Sequence[Sequence[int]], out_shape: Shape, dtype: np.dtype,
             loc: ir.Location) -> ir.Value:
    reassoc = ir.ArrayAttr.get([ir.ArrayAttr.get([_i64(d) for d in g]) for g in groups])
    return tensor.CollapseShapeOp(tensor_type(out_shape, dtype), value, reassoc, loc=loc).result


def expand(value: ir.Value, groups: Sequence[Sequence[int]], out_shape: Shape, dtype: np.dtype,
           loc: ir.Location) -> ir.Value:
    reassoc = ir.ArrayAttr.get([ir.ArrayAttr.get([_i64(d) for d in g]) for g in groups])
    return tensor.ExpandShapeOp(tensor_type(out_shape, dtype), value, reassoc, [], list(out_shape),
                                loc=loc).result


def _i64(v: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), v)
