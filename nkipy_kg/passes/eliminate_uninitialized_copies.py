"""Pass `eliminate-uninitialized-copies`: erase `memref.copy` out of a buffer nobody wrote yet.

Bufferizing a tiled loop nest promotes every output tile: the tile of the
(still empty) result buffer is copied into the fresh SBUF/PSUM tile before the
compute op overwrites it. When the result buffer is a `memref.alloc` that
nothing has written before the copy, the copy moves garbage: on NeuronCore it
costs a DMA and makes the simulator report an uninitialised read. The pass
erases it:

    %out = memref.alloc() : memref<256x256xf32>
    scf.for %i = ... {
      %s = memref.subview %out[%o, 0] [128, 256] [1, 1] : ... to memref<128x256xf32, strided<[256, 1], offset: ?>>
      %acc = memref.alloc() : memref<128x256xf32, 2 : i32>
      memref.copy %s, %acc : ... to memref<128x256xf32, 2 : i32>        // erased
      linalg.matmul ins(...) outs(%acc : memref<128x256xf32, 2 : i32>)
      memref.copy %acc, %s2 : ...
    }

The copy's source is followed through views (subview, cast, collapse/expand,
reshape, reinterpret_cast) to its base. The copy is erased when the base is a
`memref.alloc` and no use of the alloc or of any view of it writes before the
copy in program order (compared in the nearest common ancestor block).

Stricter than the reference, which would miss these writes:
- a write later in the body of a loop that contains the copy but not the alloc
  happens before the copy on the next iteration, so it counts, unless write
  and copy touch the same tile, i.e. subviews of one buffer with identical
  offsets/sizes/strides that vary with that loop (tiling writes tile(i) back
  after reading tile(i); different iterations touch different tiles);
- a buffer passed to an op we do not know (a call, an unknown op) may be
  written by it, so that use counts as a write; the reference only knew copies,
  stores and DPS inits.
A copy of a view onto an identical view (bufferization's write-back of a tile
updated in place, e.g. one head of a decomposed batch matmul) is no write: it
would otherwise hide every uninitialised copy of that head from the next
iteration of the head loop.
Copies are examined in program order on the live IR, so a chain (copy from an
uninitialised A into B, then from B into C) is removed entirely.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.common import collect_named
from nkipy_kg.passes.memref_helpers import (all_uses, base_memref, defining_op, enclosing_loops,
                                            executes_before, is_inside, writes)
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "eliminate-uninitialized-copies"
STATIC_ATTRS = ("static_offsets", "static_sizes", "static_strides")


@python_pass(PASS_NAME, "erase memref.copy whose source is an alloc never written before the copy")
def eliminate_uninitialized_copies(module_op: ir.Operation) -> None:
    for copy in collect_named(module_op, "memref.copy"):
        if _reads_uninitialized(copy):
            copy.erase()


def _reads_uninitialized(copy: ir.Operation) -> bool:
    base = base_memref(copy.operands[0])
    alloc = defining_op(base)
    if alloc is None or alloc.name != "memref.alloc":
        return False
    for use in all_uses(base):
        owner = use.owner.operation
        if owner == copy or not writes(use) or _is_self_copy(owner):
            continue
        if executes_before(owner, copy):
            return False
        written = owner.operands[use.operand_number]
        if _loop_carried(owner, written, copy, alloc):
            return False
    return True


def _is_self_copy(op: ir.Operation) -> bool:
    """A copy of a view onto the same view (bufferization's write-back of a tile that was
    updated in place, `copy %head, %head'` of one batch-matmul head): it writes nothing new."""
    return op.name == "memref.copy" and _same_view(op.operands[0], op.operands[1])


def _same_view(a: ir.Value, b: ir.Value) -> bool:
    """`a` and `b` are the same value or subviews with equal offsets/sizes/strides of the same view."""
    if a == b:
        return True
    op_a, op_b = defining_op(a), defining_op(b)
    if op_a is None or op_b is None or op_a.name != "memref.subview" or op_b.name != "memref.subview":
        return False
    if any(str(op_a.attributes[k]) != str(op_b.attributes[k]) for k in STATIC_ATTRS):
        return False
    rest_a, rest_b = list(op_a.operands)[1:], list(op_b.operands)[1:]
    return rest_a == rest_b and _same_view(op_a.operands[0], op_b.operands[0])


def _loop_carried(write: ir.Operation, written: ir.Value, copy: ir.Operation, alloc: ir.Operation) -> bool:
    """Whether a loop around `write` and `copy` (not around the alloc) runs `write` before a later `copy`.

    Not if both touch the same iteration-dependent tile: tiled loops write tile(i) and
    read tile(i), and distinct iterations touch distinct tiles.
    """
    for loop in enclosing_loops(copy):
        if is_inside(write, loop) and not is_inside(alloc, loop) and not _same_tile(written, copy.operands[0], loop):
            return True
    return False


def _same_tile(a: ir.Value, b: ir.Value, loop: ir.Operation) -> bool:
    """Both subviews of one buffer with identical offsets/sizes/strides that vary with `loop`."""
    op_a, op_b = defining_op(a), defining_op(b)
    if op_a is None or op_b is None or op_a.name != "memref.subview" or op_b.name != "memref.subview":
        return False
    if list(op_a.operands) != list(op_b.operands):
        return False
    if any(str(op_a.attributes[k]) != str(op_b.attributes[k]) for k in STATIC_ATTRS):
        return False
    return any(_varies_in(v, loop) for v in op_a.operands)  # offsets, or the source view (a head)


def _varies_in(value: ir.Value, loop: ir.Operation) -> bool:
    """Whether `value` can differ between iterations of `loop` (it depends on a block
    argument inside it, e.g. the induction variable)."""
    op = defining_op(value)
    if op is None:
        return value.owner.owner == loop or is_inside(value.owner.owner, loop)
    return is_inside(op, loop) and any(_varies_in(v, loop) for v in op.operands)
