"""Pass `insert-memref-dealloc`: free each on-chip (SBUF, PSUM) buffer right after its last use.

NISA allocates SBUF and PSUM statically per kernel; a `memref.dealloc` tells the
backend's allocator where a buffer's bytes become reusable. Placing it at the last
use rather than at the end of the scope keeps lifetimes short, which is also what
`insert-spill-reload` assumes when it renames a reloaded buffer (the spilled
buffer's last use is its spill copy, so it is freed there).

    %t = memref.alloc() : memref<128x512xf32, 3 : i32>
    %v = memref.subview %t[0, 0] [128, 256] [1, 1] : ... to memref<128x256xf32, strided<...>, 3 : i32>
    scf.for %i = %c0 to %c4 step %c1 {
      linalg.exp ins(%v : ...) outs(%v : ...)
    }
    memref.copy %t, %out : ...
    return

becomes

    ...
    memref.copy %t, %out : ...
    memref.dealloc %t : memref<128x512xf32, 3 : i32>
    return

Rules:
- every `memref.alloc` outside nkipy regions must carry an nkipy memory space
  (1-5); otherwise a located PassError: an intermediate never got a placement.
- SBUF (3) and PSUM (2) allocs get a dealloc; HBM (1), SharedHbm (4) and
  Constant (5) are left alone (kernel inputs/outputs and DRAM scratch).
- uses are followed through view ops (subview, collapse/expand_shape, cast,
  reinterpret_cast, ...) and mapped to their ancestor op in the alloc's block;
  the dealloc goes right after the last of them, or before the block's
  terminator when the buffer is never used.
- a buffer that leaves its block (a use, possibly through views, by the block's
  terminator: `func.return`, `scf.yield`, ...) is not freed; a returned buffer
  belongs to the caller.

Better than the reference (nkigen `InsertMemrefDealloc.cpp`): a buffer yielded
out of a loop or an `scf.if` is not freed inside its block (the reference only
recognises `func.return`), and a buffer that already has a `memref.dealloc` is
not freed twice, so the pass is idempotent.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, memref
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect_named, is_inside_nkipy_region, memory_space, pass_error
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "insert-memref-dealloc"

VIEW_OPS = frozenset({"memref.subview", "memref.collapse_shape", "memref.expand_shape", "memref.reinterpret_cast",
                      "memref.cast", "memref.reshape", "memref.view", "memref.transpose",
                      "memref.memory_space_cast"})
ON_CHIP = frozenset({MemSpace.Sbuf, MemSpace.Psum})


@python_pass(PASS_NAME, "free SBUF/PSUM buffers right after their last use")
def insert_memref_dealloc(module_op: ir.Operation) -> None:
    """Insert a `memref.dealloc` after the last use of every SBUF/PSUM alloc not returned."""
    allocs = [op.operation for op in collect_named(module_op, "memref.alloc") if not is_inside_nkipy_region(op)]
    for alloc in allocs:
        if memory_space(alloc.results[0].type) is None:
            raise pass_error(PASS_NAME, alloc, "memref.alloc must have an nkipy memory space annotation "
                             "(SBUF, PSUM, HBM, or SHAREDHBM)",
                             hint="an earlier pass (annotate-memory-space) left this buffer unplaced")
    for alloc in allocs:
        if memory_space(alloc.results[0].type) in ON_CHIP:
            _insert_dealloc(alloc)


def _insert_dealloc(alloc: ir.Operation) -> None:
    block = alloc.block
    users: list[ir.Operation] = []
    _users_through_views(alloc.results[0], users)
    if any(user.name == "memref.dealloc" for user in users):
        return  # already freed
    anchors = [a for a in (_ancestor_in(user, block) for user in users) if a is not None]
    ops = [op.operation for op in block.operations]
    terminator = ops[-1] if ops and ops[-1].name in _TERMINATORS else None
    if terminator is not None and any(a == terminator for a in anchors):
        return  # leaves the block: returned or yielded
    with alloc.location:
        if not anchors:
            if terminator is None:
                memref.DeallocOp(alloc.results[0], ip=ir.InsertionPoint(block))
            else:
                memref.DeallocOp(alloc.results[0], ip=ir.InsertionPoint(terminator))
            return
        last = anchors[0]
        for anchor in anchors[1:]:
            if last.is_before_in_block(anchor):
                last = anchor
        memref.DeallocOp(alloc.results[0], ip=ir.InsertionPoint.after(last))


# Ops that end a block and may pass a buffer out of it.
_TERMINATORS = frozenset({"func.return", "scf.yield", "scf.condition", "affine.yield", "scf.reduce",
                          "scf.forall.in_parallel", "linalg.yield", "cf.br", "cf.cond_br"})


def _users_through_views(value: ir.Value, out: list[ir.Operation]) -> None:
    for use in value.uses:
        owner = use.owner.operation
        out.append(owner)
        if owner.name in VIEW_OPS:
            for result in owner.results:
                _users_through_views(result, out)


def _ancestor_in(op: ir.Operation, block: ir.Block) -> ir.Operation | None:
    """`op` or its ancestor whose block is `block`, or None."""
    while op is not None and op.name != "func.func":
        if op.block == block:
            return op
        op = op.parent
    return None
