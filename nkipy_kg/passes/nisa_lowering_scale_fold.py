"""Constant-scale rows of `linalg-to-nisa` (run after every instruction exists).

Attention scales its scores, `y = x * c`, and then only takes their row max and
`exp(y - m)`. Lowered op by op, the scale is a full pass over the tile on its own
(`tensor_scalar_arith`), yet both readers can absorb it exactly:

    "nisa.tensor_scalar_arith"(%y, %x, %c) {op0 = "multiply"}
    "nisa.tensor_reduce_arith"(%m, %y) {op = "max"}      ->  "nisa.tensor_reduce_arith"(%m, %x) {op = "max"}
                                                              "nisa.tensor_scalar_arith"(%m, %m, %c) {op0 = "multiply"}
    "nisa.activation"(%e, %y, %negm) {op = "exp"}        ->  "nisa.activation"(%e, %x, %negm, %c) {op = "exp"}

Exact, not approximately equal: for a constant `c > 0`, rounding `c * v` is monotonic,
so the max (or min) of the rounded products is the rounded product of the max; and
an activation computes `op(src * scale + bias)` in fp32, the same fp32 product the
`tensor_scalar_arith` rounded `y` to. Hence only when `x` and `y` are fp32 tiles, `c`
is a positive finite constant, and every reader of `%y` is such a reduce or an
activation without a scale of its own.
"""

from __future__ import annotations

import math

from nkipy_kg._mlir import ir
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.nisa_lowering_common import attrs, constant_value, index_in, root, segments, user

_REDUCE = "nisa.tensor_reduce_arith"
_ACTIVATIONS = ("nisa.activation", "nisa.activation_reduce")
_SCALE_INDEX = {"nisa.activation": 3, "nisa.activation_reduce": 4}  # in operandSegmentSizes


def fold_scales_into_readers(module_op: ir.Operation, skip: list[ir.Operation] = ()) -> None:
    """`skip`: instructions to leave alone (hand-written custom-op bodies)."""
    for scale_op in collect(module_op, _is_constant_scale):
        if scale_op in skip:
            continue
        readers = _readers(scale_op)
        if readers is not None and not any(r in skip for r in readers):
            _fold(scale_op, readers)


def _is_constant_scale(op: ir.Operation) -> bool:
    if op.name != "nisa.tensor_scalar_arith" or "op1" in op.attributes or "reverse0" in op.attributes:
        return False
    if ir.StringAttr(op.attributes["op0"]).value != "multiply" or len(op.operands) != 3:
        return False
    c = constant_value(op.operands[2])
    dst, src = op.operands[0], op.operands[1]
    return c is not None and 0.0 < c < math.inf and _f32(dst) and _f32(src) \
        and ir.MemRefType(dst.type).shape == ir.MemRefType(src.type).shape


def _f32(value: ir.Value) -> bool:
    return str(ir.MemRefType(value.type).element_type) == "f32"


def _readers(scale_op: ir.Operation) -> list[ir.Operation] | None:
    """The instructions reading `y` (scale_op's dst), or None when any use of `y` is not
    a foldable reader in scale_op's block after it, or `x` is written before the last one."""
    y = scale_op.operands[0]
    alloc_op = y.owner.operation if isinstance(y, ir.OpResult) else None
    if alloc_op is None or alloc_op.name != "nisa.alloc":
        return None
    readers = []
    for use in y.uses:
        reader = user(use)
        if reader == scale_op or reader.name == "nisa.release":
            continue
        if reader.block != scale_op.block or not _foldable(reader, y, use.operand_number):
            return None
        readers.append(reader)
    if not readers:
        return None
    ops = [op.operation for op in scale_op.block.operations]
    first, last = index_in(ops, scale_op), max(index_in(ops, r) for r in readers)
    if any(index_in(ops, r) < first for r in readers):
        return None
    x_root = root(scale_op.operands[1])
    for op in ops[first + 1:last]:
        if op.name == "scf.for" or (op.name.startswith("nisa.") and op.name not in ("nisa.alloc", "nisa.release")
                                    and op.operands and root(op.operands[0]) == x_root):
            return None
    return readers


def _foldable(user: ir.Operation, y: ir.Value, operand_number: int) -> bool:
    if operand_number != 1 or sum(1 for v in user.operands if v == y) != 1:
        return False
    if user.name == _REDUCE:
        keys = set(_names(user)) - {"op", "num_r_dim", "engine"}
        return not keys and ir.StringAttr(user.attributes["op"]).value in ("max", "min") \
            and _f32(user.operands[0])
    if user.name in _ACTIVATIONS:
        sizes = list(ir.DenseI32ArrayAttr(user.attributes["operandSegmentSizes"]))
        return sizes[_SCALE_INDEX[user.name]] == 0
    return False


def _names(op: ir.Operation) -> list[str]:
    attributes = op.attributes
    return [attributes[i].name for i in range(len(attributes))]




def _fold(scale_op: ir.Operation, readers: list[ir.Operation]) -> None:
    y, x, c = list(scale_op.operands)
    folded = []  # an activation is re-created (one more operand): keep the new op
    for reader in readers:
        if reader.name == _REDUCE:
            _fold_into_reduce(reader, x, c, scale_op)
            folded.append(reader)
        else:
            folded.append(_fold_into_activation(reader, x, c))
    _move_release_after(x, folded, scale_op.block)
    for use in list(y.uses):
        if user(use).name == "nisa.release":
            user(use).erase()
    alloc_op = y.owner.operation
    scale_op.erase()
    alloc_op.erase()


def _fold_into_reduce(reduce_op: ir.Operation, x: ir.Value, c: ir.Value, scale_op: ir.Operation) -> None:
    reduce_op.operands[1] = x
    dst = reduce_op.operands[0]
    keep = {"engine": scale_op.attributes["engine"]} if "engine" in scale_op.attributes else {}
    with ir.InsertionPoint(reduce_op), reduce_op.location:
        # The [P, 1] rescale of the row result (MIN_II instead of a pass over the tile).
        rescale = ir.Operation.create("nisa.tensor_scalar_arith", results=[], operands=[dst, dst, c],
                                      attributes={**keep, **attrs(op0="multiply",
                                                                  operandSegmentSizes=segments(True, True, True, False))},
                                      loc=reduce_op.location)
    rescale.move_after(reduce_op)
    rescale.verify()


def _fold_into_activation(act: ir.Operation, x: ir.Value, c: ir.Value) -> ir.Operation:
    sizes = list(ir.DenseI32ArrayAttr(act.attributes["operandSegmentSizes"]))
    operands = list(act.operands)
    operands[1] = x
    sizes[_SCALE_INDEX[act.name]] = 1
    keep = {k: act.attributes[k] for k in _names(act) if k != "operandSegmentSizes"}
    with ir.InsertionPoint(act), act.location:
        folded = ir.Operation.create(act.name, results=[], operands=operands + [c],
                                     attributes={**keep, **attrs(operandSegmentSizes=segments(*(s == 1 for s in sizes)))},
                                     loc=act.location)
    folded.verify()
    act.erase()
    return folded


def _move_release_after(x: ir.Value, readers: list[ir.Operation], block: ir.Block) -> None:
    """x is now read by `readers`: its release (when in this block) goes after the last one."""
    ops = [op.operation for op in block.operations]
    last = max(index_in(ops, r) for r in readers)
    x_root = root(x)
    for i, op in enumerate(ops[:last]):
        if op.name == "nisa.release" and op.operands[0] == x_root:
            op.move_after(ops[last])
            return
