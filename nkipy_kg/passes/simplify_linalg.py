"""Pass `simplify-linalg`: put linalg ops in the forms the NISA backend maps one-to-one.

Runs after legalize-layout on memref IR. Rows:

1. **high-rank transpose** (rank > 3, exactly two dims swapped, e.g. `[0, 2, 1, 3]`)
   -> a loop over the other dims of 2-D `[1, 0]` slice transposes; HBM -> HBM goes
   through SBUF (copy in, transpose, copy out). `dma_transpose` knows `[1, 0]` only.
   HBM -> HBM with the last dim in place (a head shuffle) is one DMA copy per slab
   instead, with no transpose (`linalg_transposes`; beyond the reference).
2. **on-chip transpose of rank > 2 with two non-unit dims** -> one 2-D transpose of
   2-D views (a copy when the two dims keep their order).
3. **trivial-broadcast binary generic** (2 inputs, 1 output, all parallel, body one
   `arith.add/sub/mul/div` of the two block arguments, maps identity up to a
   constant 0 in an extent-1 dim) -> `linalg.add/sub/mul/div` with the body's operand
   order and `nkipy.op_id` kept.
4. **gather preparation**: an `nkipy.gather` source/indices that is an SBUF buffer
   filled by a single copy from HBM reads the HBM buffer instead (the gather is a
   DMA); the copy, the SBUF alloc and its dealloc go.

    linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%a, %b : ...) outs(%c : ...) attrs = {nkipy.op_id = 3 : i64} {
    ^bb0(%x: f32, %y: f32, %o: f32):
      %s = arith.subf %y, %x : f32
      linalg.yield %s : f32
    }

becomes

    linalg.sub {nkipy.op_id = 3 : i64} ins(%b, %a : ...) outs(%c : ...)

Unlike the reference, row 2 uses collapse_shape views of the existing buffers
instead of replacing the allocs by 2-D allocs plus expand_shape.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, linalg
from nkipy_kg.passes.common import OP_ID, collect, is_inside_nkipy_region
from nkipy_kg.passes.layout_copies import is_identity_op
from nkipy_kg.passes.linalg_transposes import (is_high_rank_swap, is_on_chip_two_dim, rewrite_high_rank_swap,
                                               rewrite_on_chip_two_dim)
from nkipy_kg.passes.memref_helpers import HBM_SPACES, defining_op, func_ops, is_declaration, space_of
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "simplify-linalg"

# body op -> named linalg op builder
BINARY = {
    "arith.addf": linalg.add, "arith.addi": linalg.add,
    "arith.subf": linalg.sub, "arith.subi": linalg.sub,
    "arith.mulf": linalg.mul, "arith.muli": linalg.mul,
    "arith.divf": linalg.div, "arith.divsi": linalg.div,
}


@python_pass(PASS_NAME, "NISA-friendly linalg: 2-D transposes, named binary ops, gathers reading HBM")
def simplify_linalg(module_op: ir.Operation) -> None:
    with module_op.context:
        for func_op in func_ops(module_op):
            if not is_declaration(func_op):
                _simplify(func_op)


def _simplify(func_op: ir.Operation) -> None:
    with func_op.location:  # fallback only: rewrites use the location of the op they replace
        for op in collect(func_op, lambda o: _is_memref_transpose(o) and is_high_rank_swap(o)):
            rewrite_high_rank_swap(op)
        for op in collect(func_op, lambda o: _is_memref_transpose(o) and is_on_chip_two_dim(o)):
            rewrite_on_chip_two_dim(op)
        for op in collect(func_op, _named_binary_for):
            _to_named(op)
        for op in collect(func_op, lambda o: o.name == "nkipy.gather"):
            _prepare_gather(op)


def _is_memref_transpose(op: ir.Operation) -> bool:
    return (op.name == "linalg.transpose" and not is_inside_nkipy_region(op)
            and isinstance(op.operands[0].type, ir.MemRefType))


def _named_binary_for(op: ir.Operation):  # noqa: ANN202 - a builder function or None
    """The named-op builder for a trivial-broadcast binary generic, else None."""
    if op.name != "linalg.generic" or is_inside_nkipy_region(op) or len(op.operands) != 3:
        return None
    if not all(isinstance(v.type, ir.MemRefType) for v in op.operands) or not is_identity_op(op):
        return None
    iterators = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    if any("parallel" not in it for it in iterators):
        return None
    body = op.regions[0].blocks[0]
    ops = [o.operation for o in body.operations]
    if len(ops) != 2 or ops[0].name not in BINARY or ops[1].name != "linalg.yield":
        return None
    args = list(body.arguments)[:2]
    if ops[1].operands[0] != ops[0].results[0] or sorted(map(_arg_index(args), ops[0].operands)) != [0, 1]:
        return None
    return BINARY[ops[0].name]


def _arg_index(args: list[ir.Value]):  # noqa: ANN202
    def index(v: ir.Value) -> int:
        return next((k for k, a in enumerate(args) if a == v), -1)
    return index


def _to_named(op: ir.Operation) -> None:
    build = _named_binary_for(op)
    body_op = list(op.regions[0].blocks[0].operations)[0].operation
    args = list(op.regions[0].blocks[0].arguments)[:2]
    order = [_arg_index(args)(v) for v in body_op.operands]
    lhs, rhs = (op.operands[k] for k in order)
    with op.location, ir.InsertionPoint(op):
        build(lhs, rhs, outs=[op.operands[2]])
    new = _op_before(op)
    if OP_ID in op.attributes:
        new.attributes[OP_ID] = op.attributes[OP_ID]
    op.erase()


def _op_before(op: ir.Operation) -> ir.Operation:
    ops = [o.operation for o in op.block.operations]
    return ops[ops.index(op) - 1]


def _prepare_gather(gather: ir.Operation) -> None:
    for k in (0, 1):
        holder, n, buffer = _buffer_operand(gather, k)
        copy = _single_hbm_fill_copy(buffer)
        if copy is None:
            continue
        holder.operands[n] = copy.operands[0]
        alloc = defining_op(buffer)
        copy.erase()
        for use in list(buffer.uses):
            if use.owner.name == "memref.dealloc":
                use.owner.operation.erase()
        if not list(buffer.uses):
            alloc.erase()


def _buffer_operand(gather: ir.Operation, k: int) -> tuple[ir.Operation, int, ir.Value]:
    """(op holding the memref, operand number, memref) for gather operand k (through to_tensor)."""
    value = gather.operands[k]
    producer = defining_op(value)
    if producer is not None and producer.name == "bufferization.to_tensor":
        return producer, 0, producer.operands[0]
    return gather, k, value


def _single_hbm_fill_copy(buffer: ir.Value) -> ir.Operation | None:
    """The only write of an SBUF alloc `buffer`, when it is a copy from HBM."""
    alloc = defining_op(buffer)
    if alloc is None or alloc.name != "memref.alloc" or space_of(buffer) is None or space_of(buffer) in HBM_SPACES:
        return None
    copies = [u.owner.operation for u in buffer.uses if u.owner.name == "memref.copy" and u.operand_number == 1]
    others = [u for u in buffer.uses if u.owner.name not in ("memref.copy", "memref.dealloc",
                                                                 "bufferization.to_tensor", "nkipy.gather")]
    if len(copies) != 1 or others or space_of(copies[0].operands[0]) not in HBM_SPACES:
        return None
    return copies[0]
