"""Gathers of `linalg-to-nisa`: the generic a computed-index `nkipy.gather` becomes
(`lower_nkipy_gather.lower_computed_gathers`, run by infer-layout) is one
`nisa.dma_copy_indirect` per tile.

After tiling and bufferization the gather is a parallel generic over an SBUF output
tile [P, F...] whose input is the [P, 1] index column and whose body loads rows of
a captured HBM buffer:

    linalg.generic ins(%idx : memref<128x1xi32, 3 : i32>) outs(%out : memref<128x256xf32, 3 : i32>) {
    ^bb0(%i: i32, %o: f32):
      %r = arith.index_cast %i : i32 to index
      %lo = arith.maxsi %r, %c0 : index          (the CPU JIT's clamp)
      %row = arith.minsi %lo, %c1023 : index
      %j = linalg.index 1 : index
      %v = memref.load %table[%row, %j] : memref<1024x256xf32, ..., 4 : i32>
      linalg.yield %v : f32
    }

becomes `"nisa.dma_copy_indirect"(%out, %table, %idx)`. The clamp is dropped: on the
device an index outside the table is an error (`oob_is_err`), where the CPU JIT, which
runs in the test process, clamps to stay inside the buffer.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.nisa_lowering_common import HBM, emit, error, shape, space

CLAMPS = ("arith.maxsi", "arith.minsi")


def is_gather(op: ir.Operation) -> bool:
    """A generic whose yielded value is a `memref.load` from a buffer it does not take as an operand."""
    body = [o.operation for o in op.regions[0].blocks[0].operations]
    yielded = body[-1].operands[0] if body[-1].operands else None
    return isinstance(yielded, ir.OpResult) and yielded.owner.operation.name == "memref.load"


def lower_gather_generic(op: ir.Operation) -> None:
    block = op.regions[0].blocks[0]
    load = block.operations[len(block.operations) - 1].operands[0].owner.operation
    table, coords = load.operands[0], list(load.operands)[1:]
    if len(op.operands) != 2:
        raise error(op, "a gather generic reads one index operand")
    idx, out = op.operands[0], op.operands[1]
    if space(table) not in HBM:
        raise error(op, f"a gather reads rows of an HBM buffer, not {table.type}")
    if _row_source(coords[0]) != block.arguments[0]:
        raise error(op, "a gather's row index must be its index operand (cast, possibly clamped)")
    for d, c in enumerate(coords[1:], start=1):
        if not (isinstance(c, ir.OpResult) and c.owner.operation.name == "linalg.index"
                and ir.IntegerAttr(c.owner.operation.attributes["dim"]).value == d):
            raise error(op, "a gather tiled along its row dims (a column offset) is not supported: "
                            "keep whole rows in a tile")
    if space(out) != MemSpace.Sbuf or space(idx) != MemSpace.Sbuf or shape(idx) != [shape(out)[0], 1]:
        raise error(op, f"a gather writes an SBUF tile from an SBUF [P, 1] index column, got "
                        f"{idx.type} -> {out.type}")
    if shape(table)[1:] != shape(out)[1:]:
        raise error(op, f"gathered rows {shape(out)[1:]} are not whole rows of {table.type}")
    emit(op, "dma_copy_indirect", [out, table, idx])
    op.erase()


def _row_source(value: ir.Value) -> ir.Value | None:
    """The value an index is cast (and clamped) from."""
    while isinstance(value, ir.OpResult) and value.owner.operation.name in CLAMPS:
        value = value.owner.operation.operands[0]
    if not (isinstance(value, ir.OpResult) and value.owner.operation.name == "arith.index_cast"):
        return None
    return value.owner.operation.operands[0]
