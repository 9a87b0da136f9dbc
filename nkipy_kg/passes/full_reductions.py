"""Reductions to a scalar, as reductions NISA has (used by `infer-layout`; registers no pass).

A layout puts one dim on the partitions, and NISA reduces either along the free
axes (`tensor_reduce_arith`, VectorE) or across partitions (`cross_partition_reduce`,
GpSimd), never both in one instruction; a rank-0 value has no partition dim at all.
So a reduction over every axis (`np.sum(x)`, `np.max(x)`, `np.all(x)`) is split
into a row reduction keeping dim 0 and a partition reduction of that column, into a
one-element vector that is collapsed to the rank-0 result:

    %s = linalg.generic {maps = [(d0, d1) -> (d0, d1), (d0, d1) -> ()], ["reduction", "reduction"]}
           ins(%x : tensor<256x1024xf32>) outs(%init : tensor<f32>)

becomes

    %rows = linalg.generic {maps = [(d0, d1) -> (d0, d1), (d0, d1) -> (d0, 0)], ["parallel", "reduction"]}
              ins(%x : tensor<256x1024xf32>) outs(%identity : tensor<256x1xf32>)   // fill of the combiner's identity
    %init1 = tensor.expand_shape %init [] output_shape [1] : tensor<f32> into tensor<1xf32>
    %tot = linalg.generic {maps = [(d0, d1) -> (d0, d1), (d0, d1) -> (d1)], ["reduction", "parallel"]}
              ins(%rows : tensor<256x1xf32>) outs(%init1 : tensor<1xf32>)
    %s = tensor.collapse_shape %tot [] : tensor<1xf32> into tensor<f32>

(a 1-D input skips the row step and is reduced as an `[N, 1]` column). Rank-0
elementwise ops (the bf16 result's `truncf`, np.mean's divide) are lifted to
one-element vectors the same way, reading the lifted values directly. Beyond the
reference, which failed on rank-0 layouts.
"""

from __future__ import annotations

import math

from nkipy_kg._mlir import arith, ir, linalg, tensor
from nkipy_kg.passes.common import collect, is_elementwise, is_inside_nkipy_region, iterator_types

# Combiner -> its identity (the row step's init), by element kind.
FLOAT_IDENTITY = {"arith.addf": 0.0, "arith.mulf": 1.0, "arith.maximumf": -math.inf, "arith.maxnumf": -math.inf,
                  "arith.minimumf": math.inf, "arith.minnumf": math.inf}
INT_IDENTITY = {"arith.addi": 0, "arith.muli": 1, "arith.ori": 0, "arith.xori": 0, "arith.andi": -1}


def split_full_reductions(func_op: ir.Operation) -> None:
    """Rewrite the function's reductions to a scalar and lift its rank-0 elementwise ops."""
    for op in collect(func_op, _is_full_reduction):
        with op.location:  # building types and attributes needs one
            _split(op)
    for op in collect(func_op, _is_rank0_elementwise):
        with op.location:
            _lift(op)


def _rank(value: ir.Value) -> int:
    return ir.RankedTensorType(value.type).rank if isinstance(value.type, ir.RankedTensorType) else -1


def _combiner(op: ir.Operation) -> ir.Operation | None:
    """The single binary op of a 1-input reduction body `yield (in <op> out)`."""
    block = op.regions[0].blocks[0]
    body = [o.operation for o in block.operations]
    if len(body) != 2 or len(body[0].results) != 1 or body[1].operands[0] != body[0].results[0]:
        return None
    operands, args = list(body[0].operands), list(block.arguments)
    if len(operands) != 2 or not all(any(v == a for a in args) for v in operands) or operands[0] == operands[1]:
        return None
    return body[0]


def _is_full_reduction(op: ir.Operation) -> bool:
    if op.name != "linalg.generic" or is_inside_nkipy_region(op) or len(op.operands) != 2:
        return False
    x, init = op.operands
    if _rank(init) != 0 or _rank(x) < 1 or not ir.RankedTensorType(x.type).has_static_shape:
        return False
    if any(t != "reduction" for t in iterator_types(op)):
        return False
    if ir.RankedTensorType(x.type).element_type != ir.RankedTensorType(init.type).element_type:
        return False  # the partition step reuses the body on the accumulator type
    read = ir.AffineMapAttr(ir.ArrayAttr(op.attributes["indexing_maps"])[0]).value
    if read != ir.AffineMap.get_identity(_rank(x), read.context):
        return False
    comb = _combiner(op)
    return comb is not None and (comb.name in FLOAT_IDENTITY or comb.name in INT_IDENTITY)


def _identity(comb: ir.Operation) -> ir.Attribute | None:
    et = comb.results[0].type
    if isinstance(et, ir.FloatType) and comb.name in FLOAT_IDENTITY:
        return ir.FloatAttr.get(et, FLOAT_IDENTITY[comb.name])
    if isinstance(et, ir.IntegerType) and comb.name in INT_IDENTITY:
        return ir.IntegerAttr.get(et, INT_IDENTITY[comb.name])
    return None


def _maps(*maps: ir.AffineMap) -> ir.ArrayAttr:
    return ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps])


def _iterators(*kinds: str) -> ir.ArrayAttr:
    return ir.ArrayAttr.get([ir.Attribute.parse(f"#linalg.iterator_type<{k}>") for k in kinds])


def _split(op: ir.Operation) -> None:
    x, init = op.operands
    shape = list(ir.RankedTensorType(x.type).shape)
    et = ir.RankedTensorType(init.type).element_type
    d = [ir.AffineDimExpr.get(i) for i in range(max(len(shape), 2))]
    zero = ir.AffineConstantExpr.get(0)
    with op.location, ir.InsertionPoint(op):
        if len(shape) == 1:
            column = _expand(x, [shape[0], 1], [[0, 1]])
        else:
            empty = tensor.EmptyOp([shape[0], 1], et).result
            identity = arith.ConstantOp(et, _identity(_combiner(op))).result
            filled = linalg.fill(identity, outs=[empty])
            rows = op.clone(ir.InsertionPoint(op))  # operands first: the clone goes here
            rows.operands[1] = filled
            rows.attributes["indexing_maps"] = _maps(ir.AffineMap.get_identity(len(shape)),
                                                     ir.AffineMap.get(len(shape), 0, [d[0], zero]))
            rows.attributes["iterator_types"] = _iterators("parallel", *["reduction"] * (len(shape) - 1))
            rows.results[0].set_type(ir.RankedTensorType.get([shape[0], 1], et))
            column = rows.results[0]
        init1 = _as_vector(init)
        total = op.clone(ir.InsertionPoint(op))
        total.operands[0] = column
        total.operands[1] = init1
        total.attributes["indexing_maps"] = _maps(ir.AffineMap.get_identity(2), ir.AffineMap.get(2, 0, [d[1]]))
        total.attributes["iterator_types"] = _iterators("reduction", "parallel")
        total.results[0].set_type(ir.RankedTensorType.get([1], et))
        scalar = tensor.CollapseShapeOp(init.type, total.results[0], ir.ArrayAttr.get([])).result
    op.results[0].replace_all_uses_with(scalar)
    op.erase()
    _erase_dead(init)


def _erase_dead(value: ir.Value) -> None:
    """Erase the rank-0 init chain (fill, empty) or collapse nothing reads any more: a
    dead fill would still write its buffer once bufferized."""
    while isinstance(value, ir.OpResult) and not list(value.uses) \
            and value.owner.operation.name in ("linalg.fill", "tensor.empty", "tensor.collapse_shape"):
        producer = value.owner.operation
        value = producer.operands[1] if producer.name == "linalg.fill" else None
        producer.erase()


def _expand(value: ir.Value, shape: list[int], groups: list[list[int]]) -> ir.Value:
    t = ir.RankedTensorType(value.type)
    i64 = ir.IntegerType.get_signless(64)
    attr = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, k) for k in g]) for g in groups])
    return tensor.ExpandShapeOp(ir.RankedTensorType.get(shape, t.element_type), value, attr, [], shape).result


def _as_vector(value: ir.Value) -> ir.Value:
    """A rank-0 tensor as a one-element vector: a lifted value's vector itself, a new
    `tensor.empty` / fill of one for an empty / filled init, else an `expand_shape`."""
    producer = value.owner.operation if isinstance(value, ir.OpResult) else None
    et = ir.RankedTensorType(value.type).element_type
    if producer is not None and producer.name == "tensor.collapse_shape" and _rank(producer.operands[0]) == 1:
        return producer.operands[0]
    if producer is not None and producer.name == "tensor.empty":
        return tensor.EmptyOp([1], et).result
    if producer is not None and producer.name == "linalg.fill" and _rank(producer.operands[1]) == 0:
        return linalg.fill(producer.operands[0], outs=[_as_vector(producer.operands[1])])
    return _expand(value, [1], [])


def _is_rank0_elementwise(op: ir.Operation) -> bool:
    return (is_elementwise(op) and not is_inside_nkipy_region(op) and len(op.results) == 1
            and _rank(op.results[0]) == 0)


def _lift(op: ir.Operation) -> None:
    """A rank-0 elementwise op on one-element vectors: lifted operands are read directly,
    others through an `expand_shape`; users see its result collapsed back."""
    old_operands = list(op.operands)
    with op.location, ir.InsertionPoint(op):
        for i, value in enumerate(old_operands):
            if _rank(value) == 0:
                op.operands[i] = _as_vector(value)
    if op.name == "linalg.generic":
        n = len(op.operands)
        d0 = ir.AffineDimExpr.get(0)
        maps = [ir.AffineMap.get(1, 0, [d0] if _rank(v) == 1 else []) for v in op.operands]
        op.attributes["indexing_maps"] = _maps(*maps[:n])
        op.attributes["iterator_types"] = _iterators("parallel")
    result = op.results[0]
    scalar_t = result.type
    result.set_type(ir.RankedTensorType.get([1], ir.RankedTensorType(scalar_t).element_type))
    with op.location, ir.InsertionPoint.after(op):
        scalar = tensor.CollapseShapeOp(scalar_t, result, ir.ArrayAttr.get([])).result
    for use in list(result.uses):
        if use.owner.operation != scalar.owner.operation:
            use.owner.operands[use.operand_number] = scalar
    for value in old_operands:
        _erase_dead(value)
