"""legalize-layout, demoted buffers: SBUF tiles for the ops that used them in place (registers no pass).

An SBUF buffer that cannot be laid out physically moves to SharedHbm
(`layout_physical.demote`: a tile with a non-unit middle dim, `[128, heads, d]` of a
`[seq, heads, d]` intermediate). knob-driven-tiling only staged operands that were in
HBM when it ran, so a linalg op may still read or write a view of the buffer in
place; NISA engines reach SBUF/PSUM only. Each such operand gets an SBUF tile of the
view's shape:

    linalg.sub ins(%v, ...)            %t = memref.alloc() : memref<128x4x64xf32, 3 : i32>
                                  ->   memref.copy %v, %t
                                       linalg.sub ins(%t, ...)

and an init (written, and read first when the op reads its output: a reduction) is
computed in a tile and copied back after the op.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, memref
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.memref_helpers import after, num_dps_inits, view_closure


def stage_in_place_uses(alloc: ir.Operation, partitions: int) -> None:
    """Give every linalg operand that is a view of `alloc` (now in HBM) an SBUF tile."""
    for view in view_closure(alloc.results[0]):
        for use in list(view.uses):
            op = use.owner.operation
            if op.name.startswith("linalg.") and op.name != "linalg.yield":
                _stage(op, use.operand_number, view, partitions)


def _stage(op: ir.Operation, index: int, view: ir.Value, partitions: int) -> None:
    t = ir.MemRefType(view.type)
    if not t.has_static_shape or not t.shape or t.shape[0] > partitions:
        return  # not one tile: linalg-to-nisa reports the op (a located error)
    n_inputs = len(op.operands) - num_dps_inits(op)
    is_init = index >= n_inputs
    with op.location, ir.InsertionPoint(op):
        space = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), int(MemSpace.Sbuf))
        tile = memref.AllocOp(ir.MemRefType.get(t.shape, t.element_type, None, space), [], []).result
        if not is_init or _reads_init(op, index - n_inputs):
            memref.CopyOp(view, tile)
    op.operands[index] = tile
    if is_init:
        with op.location, after(op):
            memref.CopyOp(tile, view)


def _reads_init(op: ir.Operation, k: int) -> bool:
    """Whether the op's body reads its k-th init (a reduction's accumulator)."""
    if not len(op.regions) or not len(op.regions[0].blocks):
        return True
    block = op.regions[0].blocks[0]
    n_in = len(op.operands) - num_dps_inits(op)
    return len(list(block.arguments[n_in + k].uses)) > 0
