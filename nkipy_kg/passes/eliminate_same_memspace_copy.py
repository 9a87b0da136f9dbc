"""Pass `eliminate-same-memspace-copy`: drop copies that move data onto itself or within SBUF.

Rows of the rewrite table, tried on every `memref.copy` until nothing changes:

1. **self-copy**: `copy %v, %v`, or both operands subviews of one buffer with
   identical offsets/sizes/strides -> erased. Bufferizing a tiled matmul leaves
   `memref.copy %v, %v`, which upstream canonicalize keeps.
2. **SBUF -> fresh SBUF alloc**: `copy %src, %alloc` with both in SBUF, same shape
   and element type, and no use of `%alloc` before the copy -> `%alloc`'s uses
   take `%src`; copy and alloc are erased. A round trip (`%alloc` updated, then
   copied back onto the same region of `%src`'s buffer, which nothing touches in
   between) is forwarded too: the copy back becomes a self-copy (row 1). PSUM -> PSUM is left alone, and so is
   the copy out of an SBUF partition-splitting `expand_shape` that
   canonicalize-reshape materialised (the reference would undo it here).
3. **HBM intermediate** (from `fori_loop`'s `acc[i] = x`): a fresh Hbm/SharedHbm
   `%tmp` written through subviews, then bulk-copied as `expand_shape`/`reshape`
   `MxN -> 1xMxN` into `subview(%out)[b, r, c]`: each subview of `%tmp` becomes a
   rank-reducing subview of `%out` at `[b, off0 + r, off1 + c]`, and the bulk
   copy, the expand, `%tmp` and its layouts go.

4. **fresh SBUF tile -> SBUF region** (`sbuf_copy_out.py`): a tile computed into a
   fresh alloc and then copied into an SBUF buffer is computed there directly.

    %t = memref.alloc() : memref<128x64xf32, 3 : i32>
    memref.copy %x, %t : memref<128x64xf32, 3 : i32> to memref<128x64xf32, 3 : i32>
    linalg.exp ins(%t : ...) outs(%y : ...)

becomes

    linalg.exp ins(%x : ...) outs(%y : ...)

Safer than the reference in row 2: forwarding makes `%alloc`'s later accesses hit
`%src`, so the copy stays when `%src`'s buffer is written after the copy, when
`%alloc` is written after the copy while `%src`'s buffer is still used afterwards,
or when `%src` is defined after one of `%alloc`'s users. `nkipy.layout` ops on
`%alloc` do not block the rewrite (the reference bails on them): they are dropped
when `%src` has its own layout, else moved onto `%src`.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, memref
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect_named
from nkipy_kg.passes.memref_helpers import (HBM_SPACES, all_uses, available_at, base_memref, defining_op,
                                            executes_before, func_ops, is_declaration, space_of,
                                            splits_sbuf_partition_dim, use_kind, writes)
from nkipy_kg.passes.layout_views import add_index
from nkipy_kg.passes.registry import python_pass
from nkipy_kg.passes.sbuf_copy_out import write_in_place

PASS_NAME = "eliminate-same-memspace-copy"
STATIC = ("static_offsets", "static_sizes", "static_strides")
DYNAMIC = ir.ShapedType.get_dynamic_size()  # "?" in static_offsets/sizes/strides


@python_pass(PASS_NAME, "erase self-copies, forward SBUF->SBUF copies into fresh allocs, drop HBM intermediates")
def eliminate_same_memspace_copy(module_op: ir.Operation) -> None:
    for func_op in func_ops(module_op):
        if is_declaration(func_op):
            continue
        # A rewrite erases only its own copy among the copies (plus allocs, views and
        # layouts), so the other handles stay valid through a sweep; sweep again while
        # a rewrite may have enabled another (forwarding can create a self-copy).
        while True:
            results = [_rewrite(copy) for copy in collect_named(func_op, "memref.copy")]
            if not any(results):
                break


def _rewrite(copy: ir.Operation) -> bool:
    for row in (_erase_self_copy, _forward_sbuf_copy, _drop_hbm_intermediate, write_in_place):
        if row(copy):
            return True
    return False


# -- row 1 ---------------------------------------------------------------------------------

def _erase_self_copy(copy: ir.Operation) -> bool:
    src, dst = copy.operands
    if src != dst and not _same_region(src, dst):
        return False
    copy.erase()
    return True


def _same_region(a: ir.Value, b: ir.Value) -> bool:
    op_a, op_b = defining_op(a), defining_op(b)
    if op_a is None or op_b is None or op_a.name != "memref.subview" or op_b.name != "memref.subview":
        return False
    if base_memref(op_a.operands[0]) != base_memref(op_b.operands[0]):
        return False
    if list(op_a.operands)[1:] != list(op_b.operands)[1:]:
        return False
    return all(str(op_a.attributes[k]) == str(op_b.attributes[k]) for k in STATIC)


# -- row 2 ---------------------------------------------------------------------------------

def _forward_sbuf_copy(copy: ir.Operation) -> bool:
    src, dst = copy.operands
    if space_of(src) != MemSpace.Sbuf or space_of(dst) != MemSpace.Sbuf:
        return False
    alloc = defining_op(dst)
    if alloc is None or alloc.name != "memref.alloc":
        return False
    src_op = defining_op(src)
    if src_op is not None and splits_sbuf_partition_dim(src_op):
        return False  # canonicalize-reshape made this copy on purpose
    src_t, dst_t = ir.MemRefType(src.type), ir.MemRefType(dst.type)
    if src_t.shape != dst_t.shape or src_t.element_type != dst_t.element_type:
        return False
    if any(use_kind(u) != "none" and executes_before(u.owner.operation, copy) for u in all_uses(dst)):
        return False  # read or written before the copy: not a fresh buffer
    back = _copy_back(copy, src, dst)
    src_uses_after = [u for u in all_uses(base_memref(src))
                      if u.owner.operation != copy and not executes_before(u.owner.operation, copy)
                      and (back is None or executes_before(u.owner.operation, back))]
    if back is not None:
        if any(use_kind(u) != "none" for u in src_uses_after):
            return False  # %src's buffer is used while %alloc holds the tile
        if any(use_kind(u) != "none" and executes_before(back, u.owner.operation) for u in all_uses(dst)):
            return False  # %alloc is used after its tile went back
    elif any(writes(u) for u in src_uses_after):
        return False  # %alloc's later reads would see the new data
    elif src_uses_after and any(writes(u) for u in all_uses(dst) if u.owner.operation != copy):
        return False  # writes to %alloc would clobber data %src's buffer still provides
    layouts = [u.owner.operation for u in dst.uses if u.owner.name == "nkipy.layout"]
    users = [u.owner.operation for u in dst.uses if u.owner.name != "nkipy.layout"]
    producer = defining_op(src)
    if producer is not None and not all(executes_before(producer, user) for user in users):
        return False  # %src is defined too late to replace %alloc everywhere
    for layout in layouts:
        if _has_layout(src):
            layout.erase()  # %src's own layout wins
        else:
            layout.move_after(copy)
    copy.erase()
    dst.replace_all_uses_with(src)
    alloc.erase()
    return True


def _copy_back(copy: ir.Operation, src: ir.Value, dst: ir.Value) -> ir.Operation | None:
    """The `copy %alloc, <the same region as %src>` after `copy` in its block: a tile
    copied out of an SBUF buffer, updated and copied back (a reduction's accumulator
    slice in every tile of knob-driven-tiling's loop). Forwarded, both copies go."""
    for use in dst.uses:
        back = use.owner.operation
        if back.name != "memref.copy" or use.operand_number != 0 or back == copy:
            continue
        target = back.operands[1]
        if back.block == copy.block and executes_before(copy, back) and (target == src or _same_region(src, target)):
            return back
    return None


def _has_layout(value: ir.Value) -> bool:
    return any(u.owner.name == "nkipy.layout" for u in value.uses)


# -- row 3 ---------------------------------------------------------------------------------

def _drop_hbm_intermediate(copy: ir.Operation) -> bool:
    src, dst = copy.operands
    expand = defining_op(src)
    if expand is None or expand.name not in ("memref.expand_shape", "memref.reshape"):
        return False
    tmp = expand.operands[0]
    tmp_alloc, dst_view = defining_op(tmp), defining_op(dst)
    if tmp_alloc is None or tmp_alloc.name != "memref.alloc" or space_of(tmp) not in HBM_SPACES:
        return False
    if dst_view is None or dst_view.name != "memref.subview" or space_of(dst_view.operands[0]) not in HBM_SPACES:
        return False
    if list(ir.MemRefType(src.type).shape) != [1, *ir.MemRefType(tmp.type).shape]:
        return False
    if len(list(src.uses)) != 1:
        return False
    users = [u.owner.operation for u in tmp.uses if u.owner.operation != expand]
    if any(u.name not in ("memref.subview", "nkipy.layout") for u in users):
        return False
    out = dst_view.operands[0]
    if not _static_unit_strides(dst_view):
        return False
    subviews = [u for u in users if u.name == "memref.subview"]
    if not all(_static_sizes_and_strides(sub) for sub in subviews):
        return False
    layouts = [u for u in users if u.name == "nkipy.layout"]
    dst_offsets = _mixed(dst_view, "static_offsets")
    for sub in subviews:
        _retarget_subview(sub, out, dst_offsets)
    copy.erase()
    for layout in layouts:
        layout.erase()
    expand.erase()
    if not list(tmp.uses):
        tmp_alloc.erase()
    return True


def _static_sizes_and_strides(subview: ir.Operation) -> bool:
    return all(DYNAMIC not in ir.DenseI64ArrayAttr(subview.attributes[k]) for k in STATIC[1:])


def _static_unit_strides(subview: ir.Operation) -> bool:
    return all(s == 1 for s in ir.DenseI64ArrayAttr(subview.attributes["static_strides"]))


def _mixed(subview: ir.Operation, attr: str) -> list[int | ir.Value]:
    """A subview's offsets (or sizes, strides) as ints and Values."""
    statics = list(ir.DenseI64ArrayAttr(subview.attributes[attr]))
    counts = list(ir.DenseI32ArrayAttr(subview.attributes["operandSegmentSizes"]))
    start = {"static_offsets": 1, "static_sizes": 1 + counts[1], "static_strides": 1 + counts[1] + counts[2]}[attr]
    dyn = list(subview.operands)[start:]
    out, k = [], 0
    for s in statics:
        if s == DYNAMIC:
            out.append(dyn[k])
            k += 1
        else:
            out.append(s)
    return out


def _retarget_subview(sub: ir.Operation, out: ir.Value, dst_offsets: list[int | ir.Value]) -> None:
    """`subview %tmp[o...]` -> rank-reducing `subview %out[b, o + d...]` with `dst_offsets = [b, d...]`."""
    tile_offsets = _mixed(sub, "static_offsets")
    sizes = list(ir.DenseI64ArrayAttr(sub.attributes["static_sizes"]))
    strides = list(ir.DenseI64ArrayAttr(sub.attributes["static_strides"]))
    with sub.location, ir.InsertionPoint(sub):
        offsets = [available_at(dst_offsets[0], sub)]
        for i, off in enumerate(tile_offsets):
            extra = dst_offsets[i + 1] if i + 1 < len(dst_offsets) else 0
            offsets.append(add_index(off, available_at(extra, sub)))
        result_t = _rank_reduced_type(out, offsets, sizes, strides)
        new = memref.subview(out, offsets, [1, *sizes], [1, *strides], result_type=result_t)
    sub.results[0].replace_all_uses_with(new)
    sub.erase()




def _rank_reduced_type(out: ir.Value, offsets: list, sizes: list[int], strides: list[int]) -> ir.MemRefType:
    """The type of `subview out[offsets][1, sizes][1, strides]` with the leading unit dim dropped."""
    out_t = ir.MemRefType(out.type)
    base_strides, base_offset = out_t.get_strides_and_offset()
    dyn = ir.ShapedType.get_dynamic_stride_or_offset()
    new_strides = [dyn if base_strides[i + 1] == dyn else base_strides[i + 1] * s for i, s in enumerate(strides)]
    offset = base_offset
    for i, off in enumerate(offsets):
        if offset == dyn or not isinstance(off, int) or base_strides[i] == dyn:
            offset = dyn
        else:
            offset += off * base_strides[i]
    layout = ir.StridedLayoutAttr.get(offset, new_strides)
    return ir.MemRefType.get(sizes, out_t.element_type, layout, out_t.memory_space)
