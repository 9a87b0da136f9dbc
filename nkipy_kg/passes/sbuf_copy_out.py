"""Row 4 of `eliminate-same-memspace-copy` (registers no pass): write a tile in place.

knob-driven-tiling computes every tile into a fresh SBUF buffer and bufferization
copies it into the SBUF value it belongs to (`tensor.insert_slice`):

    %t = memref.alloc() : memref<128x128xbf16, 3 : i32>
    linalg.generic ... outs(%t : memref<128x128xbf16, 3 : i32>)
    %d = memref.subview %e[%i, %j] [128, 128] [1, 1] : ... 3 : i32> to ...
    memref.copy %t, %d

becomes (one Vector-engine tensor_copy per tile less on the device)

    %d = memref.subview %e[%i, %j] [128, 128] [1, 1] : ...
    linalg.generic ... outs(%d : ...)

when `%t` is a fresh 2-D SBUF alloc used only by linalg ops before the copy (so
nothing reads it afterwards), `%d` is an SBUF view with the same shape and element
type, and nothing touches `%d`'s buffer from `%t`'s first use up to the copy (an
earlier write there would be seen early, or overwritten). `%d`'s view is rebuilt
before the first use (views are pure).
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.memref_helpers import (all_uses, available_at, base_memref, defining_op, executes_before,
                                            sorted_by_program_order, space_of, use_kind)


def write_in_place(copy: ir.Operation) -> bool:
    src, dst = copy.operands
    if space_of(src) != MemSpace.Sbuf or space_of(dst) != MemSpace.Sbuf:
        return False
    alloc = defining_op(src)
    if alloc is None or alloc.name != "memref.alloc" or alloc.block != copy.block:
        return False
    src_t, dst_t = ir.MemRefType(src.type), ir.MemRefType(dst.type)
    if src_t.shape != dst_t.shape or src_t.element_type != dst_t.element_type:
        return False
    if src_t.rank != 2:
        return False  # legalize-layout rewrites 1-D and unit-dim tiles by their own allocs, not views
    users = [u.owner.operation for u in src.uses if u.owner.operation != copy]
    if not users or not all(u.name.startswith("linalg.") for u in users):
        return False  # views or annotations of %t would need retyping
    if not all(executes_before(u, copy) for u in users):
        return False  # %t is read after the copy
    first = sorted_by_program_order(users)[0]
    for use in all_uses(base_memref(dst)):
        op = use.owner.operation
        if op != copy and use_kind(use) != "none" and not executes_before(op, first) and executes_before(op, copy):
            return False  # the destination's buffer is used while the tile is computed
    target = available_at(dst, first)
    copy.erase()
    src.replace_all_uses_with(target)
    alloc.erase()
    return True
