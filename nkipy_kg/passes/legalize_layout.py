"""Pass `legalize-layout`: give SBUF buffers their physical, partition-major layout.

NISA addresses SBUF as `[partition, free]`: an instruction operand is a 2-D tile
with at most `partitions` rows. A logical rank-R SBUF buffer `[d0, ..., d_{R-1}]`
tiled `[t0, 1, ..., 1, t_{R-1}]` is stored as `[t0, nb_0, ..., nb_{R-1}, t_{R-1}]`
(`nb_i = d_i / t_i`), so every tile is the 2-D slab `[t0, t_{R-1}]` of one block.

Per SBUF alloc of rank >= 2 (layout plans in `layout_physical`):
1. tile = the attached `nkipy.layout` tile_size, else the common shape of the views
   linalg ops and copies use ("inconsistent tile sizes" when they differ); errors
   for rank mismatch, non-dividing tiles and partition tiles over the target's limit;
   a non-unit middle tile demotes the buffer to SharedHbm (when nb_0 > 1), and so
   does a buffer without a tile that some view sees with more than `partitions`
   rows (a reshape's staging buffer); linalg ops that used a demoted buffer in place
   get SBUF tiles of their views (`layout_staging`);
2. a physical alloc (a partition-contiguous `reinterpret_cast` when t_last < 128
   and nb_0 > 1);
3. subview chains become block subviews `[0, off_i / t_i..., 0][t0, sz_i / t_i..., t_last]`
   (offsets constant or `arith.muli %iv, C` with C % t_i == 0), seen by their users
   through a 2-D `collapse_shape`;
4. ops on the whole buffer (copies to/from HBM, fills, elementwise ops, 2-D transposes)
   become block loops over 2-D tiles (`layout_copies`).
Then HBM fills move to SBUF (NISA memset targets SBUF/PSUM only), copies and
identity-map linalg ops with mismatched or > 2 ranks get 2-D operands (unless one
operand is a strided view no 2-D collapse expresses, a `[128, heads, d]` slice of an
HBM tensor: then the op keeps its 3-D tiles, an N-D access pattern), and every
`nkipy.layout` is erased.

    %a = memref.alloc() : memref<256x256xf32, 3 : i32>
    %s = memref.subview %a[%o0, %o1] [128, 128] [1, 1]       // %o0 = arith.muli %i, %c128
    linalg.exp ins(%s : ...) outs(...)

becomes

    %a = memref.alloc() : memref<128x2x2x128xf32, 3 : i32>
    %s = memref.subview %a[0, %i, %j, 0] [128, 1, 1, 128] [1, 1, 1, 1]
    %c = memref.collapse_shape %s [[0, 1], [2, 3]] : ... into memref<128x128xf32, strided<[512, 1], offset: ?>, 3 : i32>
    linalg.exp ins(%c : ...) outs(...)

Where this does better than the reference:
- the free tile shrinks to the gcd of the free sizes of every subview, so a
  producer knob tile [128, 256] read in [128, 128] tiles legalizes instead of failing;
- a whole-buffer op that is not elementwise raises a located error instead of being
  left untiled; whole-buffer elementwise ops and copies (also mixed-space ones) run
  block by block on 2-D tiles, never through an un-annotated temporary or a
  collapse_shape view that would pair differently-permuted operands (only fills,
  which ignore element order, use the `[t0, rest]` view);
- `memref.cast`s of the buffer and rank-reducing subviews are followed, also as the
  source of further subviews (a row block of one head of a batch-leading buffer);
- a subview spanning several blocks (np.split's `qkv[:, 256:512]` copied to HBM, a
  whole head transposed) is used block by block by copies, elementwise ops and
  2-D transposes (`layout_copies.tile_subview_use`), not rejected;
- a generic whose operands disagree in rank (a legalized 2-D tile next to a
  `[128, 1, 128]` buffer, `scores * scale` on a batch-leading value) or that
  works on rank > 2 SBUF tiles with unit dims loses its unit loops
  (`layout_unit_loops`), so NISA sees 2-D operands;
- a one-block buffer with leading unit dims is allocated partition dim first and a
  1-D vector longer than the partitions becomes a `[1, N]` row, its chunk
  subviews included (`layout_vectors`), or, when it is tiled on the partitions
  (per-row statistics such as np.std's mean), `[t, N / t]` column blocks
  (`layout_columns`).
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect, collect_named, is_inside_nkipy_region, pass_error
from nkipy_kg.passes.layout_columns import column_tile, vector_as_columns
from nkipy_kg.passes.layout_copies import (Physical, block_index, decompose_hbm_fill, fix_ranks, is_hbm_fill,
                                           is_identity_op, tile_subview_use, tile_whole_use)
from nkipy_kg.passes.layout_physical import PASS_NAME, demote, physical_alloc, plan_for
from nkipy_kg.passes.layout_staging import stage_in_place_uses
from nkipy_kg.passes.layout_vectors import (IGNORED_USES, drop_leading_units, is_long_vector, subview_offsets_sizes,
                                            vector_as_row)
from nkipy_kg.passes.layout_views import (Index, add_index, collapse, expand_leading_units, is_collapsible,
                                          retype_expand, subview)
from nkipy_kg.passes.memref_helpers import defining_op, func_ops, is_declaration, space_of, view_closure
from nkipy_kg.passes.registry import python_pass
from nkipy_kg.targets import DEFAULT_TARGET, get_target

@python_pass(PASS_NAME, "SBUF buffers -> physical [t0, nb..., t_last] layout; 2-D tiles everywhere",
             target=DEFAULT_TARGET)
def legalize_layout(module_op: ir.Operation, target: str = DEFAULT_TARGET) -> None:
    partitions = get_target(target).partitions
    with module_op.context:
        for func_op in func_ops(module_op):
            if not is_declaration(func_op):
                _legalize_func(func_op, partitions)


def _legalize_func(func_op: ir.Operation, partitions: int) -> None:
    with func_op.location:  # a fallback: every created op also gets its own op's location
        for alloc in collect(func_op, _is_candidate):
            _legalize(alloc, partitions)
        for alloc in collect(func_op, lambda op: is_long_vector(op, partitions)):
            column = column_tile(alloc, partitions)
            if column is None:
                vector_as_row(alloc)
            else:
                vector_as_columns(alloc, column)
        for fill in collect(func_op, is_hbm_fill):
            decompose_hbm_fill(fill, partitions)
        for op in collect(func_op, _needs_rank_check):
            fix_ranks(op)
    for layout in collect_named(func_op, "nkipy.layout"):
        layout.erase()


def _is_candidate(op: ir.Operation) -> bool:
    if op.name != "memref.alloc" or is_inside_nkipy_region(op):
        return False
    t = ir.MemRefType(op.results[0].type)
    return space_of(op.results[0]) == MemSpace.Sbuf and t.rank >= 2 and t.has_static_shape


def _needs_rank_check(op: ir.Operation) -> bool:
    return (op.name == "memref.copy" or op.name.startswith("linalg.")) and not is_inside_nkipy_region(op)


def _legalize(alloc: ir.Operation, partitions: int) -> None:
    plan = plan_for(alloc, partitions)
    if plan is None:
        if _overflows_partitions(alloc, partitions):
            demote(alloc)
            stage_in_place_uses(alloc, partitions)
        else:
            drop_leading_units(alloc, partitions)
        return
    if plan == "demote":
        demote(alloc)
        stage_in_place_uses(alloc, partitions)  # ops that read or wrote it in SBUF get tiles
        return
    phys = Physical(physical_alloc(alloc, plan), plan)
    base = phys.view if defining_op(phys.view).name == "memref.alloc" else defining_op(phys.view).operands[0]
    _redirect_uses(alloc.results[0], phys, base)
    alloc.erase()


def _overflows_partitions(alloc: ir.Operation, partitions: int) -> bool:
    """Whether a buffer without a tile plan is seen with a partition dim over the limit
    (e.g. canonicalize-reshape's `[2, 128, 2, 128]` staging buffer of a head shuffle,
    read as `[256, 256]`): it cannot live in SBUF as is, so it is demoted to SharedHbm."""
    return any(ir.MemRefType(v.type).rank >= 1 and ir.MemRefType(v.type).shape[0] > partitions
               for v in view_closure(alloc.results[0]))


def _redirect_uses(old: ir.Value, phys: Physical, base: ir.Value) -> None:
    """Point every use of the logical buffer `old` (or of a `memref.cast` of it) at `phys`."""
    for use in list(old.uses):
        op, n = use.owner.operation, use.operand_number
        if op.name in IGNORED_USES:
            continue
        if op.name == "memref.dealloc":
            op.operands[n] = base
        elif op.name == "memref.cast":
            _redirect_uses(op.results[0], phys, base)
            _erase_with_layouts(op)
        elif op.name == "memref.subview":
            _rewrite_subview(op, phys, [0] * len(phys.plan.shape))
        elif op.name == "memref.expand_shape":
            _copy_through_expand(op, phys)
        elif op.name.startswith("linalg.") or op.name == "memref.copy":
            tile_whole_use(op, n, phys)
        else:
            raise pass_error(PASS_NAME, op, f"cannot legalize a use of an SBUF buffer by {op.name}")
    for layout in [u.owner.operation for u in old.uses if u.owner.name in IGNORED_USES]:
        layout.erase()


def _copy_through_expand(expand: ir.Operation, phys: Physical) -> None:
    """`copy(expand_shape(A), X)` -> `copy(A, collapse_shape(X))`, then tiled like any whole copy.

    canonicalize-reshape leaves an SBUF partition split only as the source of such
    copies; the other side is the (contiguous) buffer the split is materialized in.
    """
    logical = expand.operands[0]
    reassociation = ir.ArrayAttr(expand.attributes["reassociation"])
    groups = [[ir.IntegerAttr(d).value for d in ir.ArrayAttr(g)] for g in reassociation]
    for use in list(expand.results[0].uses):
        copy, n = use.owner.operation, use.operand_number
        if copy.name in IGNORED_USES:
            continue
        other = copy.operands[1 - n] if copy.name == "memref.copy" else None
        if other is None or not all(is_collapsible(ir.MemRefType(other.type), g) for g in groups):
            raise pass_error(PASS_NAME, copy, "an expand_shape of a legalized SBUF buffer must only be copied "
                             "to or from a buffer that collapses back to the logical shape")
        with copy.location, ir.InsertionPoint(copy):
            copy.operands[1 - n] = collapse(other, groups)
        copy.operands[n] = logical
        tile_whole_use(copy, n, phys)
    _erase_with_layouts(expand)


def _erase_with_layouts(op: ir.Operation) -> None:
    for layout in [u.owner.operation for u in op.results[0].uses if u.owner.name in IGNORED_USES]:
        layout.erase()
    op.erase()


def _rewrite_subview(sv: ir.Operation, phys: Physical, parent: list[Index], dims: list[int] | None = None) -> None:
    """Replace subview `sv` (of a buffer at block offsets `parent`) by a physical block subview.

    `dims`: the buffer dims `sv`'s source exposes (fewer than the buffer's rank below a
    rank-reducing subview, e.g. one head `[256, 256]` of `[8, 256, 256]`)."""
    plan = phys.plan
    rank = len(plan.shape)
    dims = list(range(rank)) if dims is None else dims
    offsets, sizes = subview_offsets_sizes(sv)
    if len(sizes) != len(dims):
        raise pass_error(PASS_NAME, sv, "a subview of an SBUF buffer view must have the rank of its source")
    kept = [dims[k] for k in _kept_dims(sizes, list(ir.MemRefType(sv.results[0].type).shape))]
    offsets, sizes = _in_buffer_rank(offsets, sizes, dims, rank)
    with sv.location, ir.InsertionPoint(sv):
        blocks, counts = [], []
        for i, (off, size, tile) in enumerate(zip(offsets, sizes, plan.tile, strict=True)):
            if size % tile:
                raise pass_error(PASS_NAME, sv, f"subview size {size} in dim {i} is not a multiple of the "
                                 f"tile size {tile}", "the buffer's layout tile "
                                 f"{list(plan.tile)} does not fit this consumer; give the producer a "
                                 "tile_op/layout matching how the buffer is read")
            blocks.append(add_index(parent[i], block_index(sv, off, tile)))
            counts.append(size // tile)
        new = subview(phys.view, [0, *blocks, 0], [plan.partition_tile, *counts, plan.tile[-1]])
    result = sv.results[0]
    for use in list(result.uses):
        user = use.owner.operation
        if user.name in IGNORED_USES:
            continue
        if user.name == "memref.subview":
            _rewrite_subview(user, phys, blocks, kept)
            continue
        if counts[plan.pdim] != 1 or not is_collapsible(ir.MemRefType(new.type), range(2, rank + 2)):
            # Several partition blocks (or free blocks of a partition-contiguous layout): no
            # single 2-D tile, so an elementwise user or a copy runs block by block.
            tile_subview_use(user, use.operand_number, phys, blocks, counts, kept)
            continue
        with sv.location, ir.InsertionPoint(sv):
            view = collapse(new, [[0, 1], list(range(2, rank + 2))])
        if user.name == "memref.expand_shape":
            retype_expand(user, view)
            continue
        if user.name == "memref.collapse_shape" and \
                ir.MemRefType(user.results[0].type).shape == ir.MemRefType(view.type).shape:
            # The unit dims it dropped are gone from the physical tile already.
            user.results[0].replace_all_uses_with(view)
            user.erase()
            continue
        reduced = ir.MemRefType(result.type)
        if reduced.rank > 2 and not is_identity_op(user):
            # A reduction / broadcasting generic indexes the slice with its own rank:
            # it sees the 2-D tile with the slice's leading unit dims put back.
            with sv.location, ir.InsertionPoint(sv):
                expanded = expand_leading_units(view, reduced.shape)
            if expanded is None:
                raise pass_error(PASS_NAME, user, f"a {reduced.shape} operand of a non-elementwise op is not "
                                 "a [partition, free] tile of the physical layout")
            user.operands[use.operand_number] = expanded
            continue
        if reduced.rank < rank and reduced.shape != ir.MemRefType(view.type).shape:
            raise pass_error(PASS_NAME, sv, f"a rank-reducing subview to {reduced.shape} is not a "
                             "[partition, free] tile of the physical layout")
        user.operands[use.operand_number] = view
    for layout in [u.owner.operation for u in result.uses if u.owner.name in IGNORED_USES]:
        layout.erase()
    sv.erase()
    if not list(new.uses):  # only a link of a chain
        new.owner.erase()


def _kept_dims(sizes: list[int], result_shape: list[int]) -> list[int]:
    """Which of a subview's `sizes` its (possibly rank-reducing) result keeps (dropped ones are units)."""
    kept, j = [], 0
    for i, size in enumerate(sizes):
        if j < len(result_shape) and size == result_shape[j]:
            kept.append(i)
            j += 1
    return kept


def _in_buffer_rank(offsets: list[Index], sizes: list[int], dims: list[int],
                    rank: int) -> tuple[list[Index], list[int]]:
    """A subview's offsets/sizes over the buffer dims `dims` its source exposes, in the
    buffer's rank: dims a rank-reducing subview dropped come back with offset 0 and
    size 1 (the source's block offsets already place them)."""
    full_offsets: list[Index] = [0] * rank
    full_sizes = [1] * rank
    for k, dim in enumerate(dims):
        full_offsets[dim], full_sizes[dim] = offsets[k], sizes[k]
    return full_offsets, full_sizes
