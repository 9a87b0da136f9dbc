"""Activation + row sum rows of `linalg-to-nisa` (run after every instruction exists).

Softmax computes `e = exp(x - m)` and then `sum(e)` over the free axes; lowered op by
op that is a ScalarE activation and a VectorE `tensor_reduce_arith` over the tile
it just wrote. ScalarE can accumulate its output while it writes it
(`activation_reduce`, neuroncore-model.md §2.1), so the pair is one instruction:

    "nisa.activation"(%e, %x, %negm) {op = "exp"}            "nisa.activation_reduce"(%e, %x, %s, %negm)
    %s = "nisa.alloc"() : memref<128x1xf32>          ->           {op = "exp"}
    "nisa.tensor_reduce_arith"(%s, %e) {op = "add", num_r_dim = 1}

Only when nothing between them writes `%e`, the reduction covers every free axis
and `%e` is fp32 (the accumulator sums fp32 results before dst's rounding, which
equals the reduction's sum exactly only when dst does not round).
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.nisa_lowering_common import attrs, index_in, root, segments


def fold_reductions_into_activations(module_op: ir.Operation, skip: list[ir.Operation] = ()) -> None:
    """`skip`: instructions to leave alone (hand-written custom-op bodies)."""
    for reduce_op in collect(module_op, _is_row_sum):
        activation = _producer(reduce_op)
        if activation is not None and activation not in skip and reduce_op not in skip:
            _fuse(activation, reduce_op)


def _is_row_sum(op: ir.Operation) -> bool:
    if op.name != "nisa.tensor_reduce_arith" or "negate" in op.attributes:
        return False
    if ir.StringAttr(op.attributes["op"]).value != "add":
        return False
    src = ir.MemRefType(op.operands[1].type)
    num_r_dim = ir.IntegerAttr(op.attributes["num_r_dim"]).value if "num_r_dim" in op.attributes else 1
    return num_r_dim == src.rank - 1 and str(src.element_type) == "f32"


def _producer(reduce_op: ir.Operation) -> ir.Operation | None:
    """The activation right before `reduce_op` (in its block) that wrote its source."""
    src, res = reduce_op.operands[1], reduce_op.operands[0]
    res_alloc = res.owner.operation if isinstance(res, ir.OpResult) else None
    if res_alloc is None or res_alloc.name != "nisa.alloc":
        return None
    ops = [op.operation for op in reduce_op.block.operations]
    for op in reversed(ops[:index_in(ops, reduce_op)]):
        if op == res_alloc:
            continue
        if op.name == "nisa.activation" and op.operands[0] == src:
            return op
        if op.name.startswith("nisa.") and op.operands and _writes(op, src):
            return None
        if op.name == "scf.for" or (op.name.startswith("nisa.") and res in list(op.operands)):
            return None
    return None




def _writes(op: ir.Operation, buffer: ir.Value) -> bool:
    if op.name in ("nisa.alloc", "nisa.release"):
        return False
    return root(op.operands[0]) == root(buffer)


def _fuse(activation: ir.Operation, reduce_op: ir.Operation) -> None:
    res = reduce_op.operands[0]
    res.owner.operation.move_before(activation)
    sizes = list(ir.DenseI32ArrayAttr(activation.attributes["operandSegmentSizes"]))
    dst, src, *scalars = list(activation.operands)
    keep = {k: activation.attributes[k] for k in ("op", "engine") if k in activation.attributes}
    with ir.InsertionPoint(activation), activation.location:
        ir.Operation.create("nisa.activation_reduce", results=[], operands=[dst, src, res, *scalars],
                            attributes={**keep, **attrs(operandSegmentSizes=segments(
                                True, True, True, sizes[2] == 1, sizes[3] == 1))},
                            loc=activation.location).verify()
    activation.erase()
    reduce_op.erase()
