"""Copy-elision rows of `linalg-to-nisa` (run after every instruction exists).

An op lowered into a fresh tile that is then only copied into a view of another
buffer (the fused softmax writes each row block's probabilities into the head's
`p` buffer this way) can write the view itself:

    %t = "nisa.alloc"() : memref<128x2048xbf16, 3 : i32>
    "nisa.tensor_scalar_arith"(%t, %e, %r) {op0 = "multiply"}    ->   "nisa.tensor_scalar_arith"(%view, %e, %r) {op0 = "multiply"}
    "nisa.tensor_copy"(%view, %t)
    "nisa.release"(%t)

The copy is a full pass over the tile on VectorE or ScalarE. Only when the copy
converts nothing (same shape and dtype), both tiles are in SBUF, `%t` has no other
reader, and nothing between the op and the copy touches the view's buffer; the view's
defining ops (and its buffer's alloc) move up to the op when they can.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.nisa_lowering_common import VIEW_OPS, root, space, user

_WRITERS = ("nisa.tensor_scalar_arith", "nisa.tensor_tensor_arith", "nisa.activation", "nisa.tensor_copy",
            "nisa.reciprocal", "nisa.select", "nisa.iota", "nisa.memset")


def elide_copies(module_op: ir.Operation, skip: list[ir.Operation] = ()) -> None:
    """`skip`: instructions to leave alone (hand-written custom-op bodies)."""
    for copy_op in collect(module_op, _is_plain_copy):
        if copy_op in skip:
            continue
        writer = _sole_writer(copy_op)
        if writer is not None and writer not in skip and _hoist_view(copy_op.operands[0], writer):
            _forward(writer, copy_op)


def _is_plain_copy(op: ir.Operation) -> bool:
    if op.name != "nisa.tensor_copy" or len(op.operands) != 2:
        return False
    dst, src = op.operands
    dt, st = ir.MemRefType(dst.type), ir.MemRefType(src.type)
    return dt.shape == st.shape and dt.element_type == st.element_type \
        and space(dst) == MemSpace.Sbuf and space(src) == MemSpace.Sbuf


def _sole_writer(copy_op: ir.Operation) -> ir.Operation | None:
    """The op right before `copy_op` in its block (allocs, releases and views aside) that
    wrote its source, a fresh alloc only that op writes and only the copy reads."""
    src = copy_op.operands[1]
    alloc_op = src.owner.operation if isinstance(src, ir.OpResult) else None
    if alloc_op is None or alloc_op.name != "nisa.alloc" or alloc_op.block != copy_op.block:
        return None
    writer = None
    for use in src.uses:
        reader = user(use)
        if reader == copy_op or reader.name == "nisa.release":
            continue
        if writer is not None or reader.name not in _WRITERS or use.operand_number != 0 \
                or sum(1 for v in reader.operands if v == src) != 1 or reader.block != copy_op.block:
            return None
        writer = reader
    if writer is None:
        return None
    dst_root = root(copy_op.operands[0])
    between = _between(writer, copy_op)
    if between is None:
        return None
    for op in between:
        if op.name.startswith("nisa.") and any(root(v) == dst_root for v in op.operands
                                               if isinstance(v.type, ir.MemRefType)):
            return None
        if op.name == "scf.for":
            return None
    return writer




def _between(first: ir.Operation, last: ir.Operation) -> list[ir.Operation] | None:
    ops = [op.operation for op in first.block.operations]
    i = next(k for k, op in enumerate(ops) if op == first)
    j = next(k for k, op in enumerate(ops) if op == last)
    return ops[i + 1:j] if i < j else None


def _hoist_view(view: ir.Value, writer: ir.Operation) -> bool:
    """Make `view` available at `writer`: move its defining view ops and its buffer's
    `nisa.alloc` (in the writer's block, after it) up to just before it, when their other
    operands already are; False if not."""
    chain = []
    value = view
    while isinstance(value, ir.OpResult) and value.owner.operation.name in VIEW_OPS:
        chain.append(value.owner.operation)
        value = value.owner.operation.operands[0]
    if isinstance(value, ir.OpResult) and value.owner.operation.name == "nisa.alloc":
        chain.append(value.owner.operation)  # no operands: it can move anywhere in its block
    late = [op for op in reversed(chain) if op.block == writer.block and _after(op, writer)]
    moved = set()
    for op in late:
        for operand in op.operands:
            owner = operand.owner.operation if isinstance(operand, ir.OpResult) else None
            if owner is not None and owner.block == writer.block and _after(owner, writer) and owner not in moved:
                return False
        moved.add(op)
    for op in late:
        op.move_before(writer)
    return True


def _after(op: ir.Operation, anchor: ir.Operation) -> bool:
    for other in anchor.block.operations:
        if other.operation == op:
            return False
        if other.operation == anchor:
            return True
    return False


def _forward(writer: ir.Operation, copy_op: ir.Operation) -> None:
    tmp, view = copy_op.operands[1], copy_op.operands[0]
    writer.operands[0] = view
    copy_op.erase()
    for use in list(tmp.uses):
        user(use).erase()  # the release
    tmp.owner.operation.erase()
