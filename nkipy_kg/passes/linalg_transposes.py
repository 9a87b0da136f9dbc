"""simplify-linalg, transposes: rewrite memref `linalg.transpose`s NISA cannot issue.

NISA's `dma_transpose` handles permutations `[1, 0]` (and `[2, 1, 0]`) only.
- rank > 3 swapping exactly two dims (`[0, 2, 1, 3]`): a loop nest over the other
  dims, each step a 2-D `[1, 0]` transpose of one slice (a copy when a swapped dim
  has extent 1); HBM -> HBM goes through SBUF (copy in, transpose, copy out).
  Beyond the reference: HBM -> HBM with the last dim in place (the transformer's
  head shuffles) is one DMA copy per `[d_j, d_last]` slab, no SBUF hop and no
  transpose (the reference transposed `[d_j, d_i]` slices per trailing element);
- SBUF (or PSUM) with rank > 2 and exactly two non-unit dims: 2-D views of both
  operands and one `[1, 0]` transpose, or a copy when the two dims keep their order.
Registers no pass.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, linalg, memref
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.layout_views import Index, collapse, loop_nest, subview
from nkipy_kg.passes.memref_helpers import HBM_SPACES, space_of

ON_CHIP = (MemSpace.Sbuf, MemSpace.Psum)


def permutation(op: ir.Operation) -> list[int]:
    return list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))


def swapped_pair(perm: list[int]) -> tuple[int, int] | None:
    """(i, j) when `perm` is the identity except for dims i < j swapped with each other."""
    moved = [k for k, p in enumerate(perm) if p != k]
    if len(moved) != 2 or perm[moved[0]] != moved[1]:
        return None
    return moved[0], moved[1]


def is_high_rank_swap(op: ir.Operation) -> bool:
    perm = permutation(op)
    return len(perm) > 3 and swapped_pair(perm) is not None


def non_unit_dims(value: ir.Value) -> list[int]:
    return [k for k, d in enumerate(ir.MemRefType(value.type).shape) if d != 1]


def is_on_chip_two_dim(op: ir.Operation) -> bool:
    src, dst = op.operands
    rank = ir.MemRefType(src.type).rank
    return (rank > 2 and space_of(src) in ON_CHIP and space_of(dst) in ON_CHIP
            and len(non_unit_dims(src)) == 2)


def as_2d(value: ir.Value, dims: list[int]) -> ir.Value:
    """A 2-D view of `value`, whose only non-unit dims are `dims` (unit dims join a neighbour)."""
    rank = ir.MemRefType(value.type).rank
    first = dims[0]
    return collapse(value, [list(range(first + 1)), list(range(first + 1, rank))])


def transpose_or_copy(src: ir.Value, dst: ir.Value, swap: bool) -> None:
    if swap:
        linalg.transpose(src, outs=[dst], permutation=[1, 0])
    else:
        memref.CopyOp(src, dst)


def rewrite_on_chip_two_dim(op: ir.Operation) -> None:
    """Rank > 2 on-chip transpose with two non-unit dims -> 2-D transpose or copy."""
    src, dst = op.operands
    perm = permutation(op)
    src_dims = non_unit_dims(src)
    # output dim k reads input dim perm[k]: the order the input's non-unit dims appear in the output
    order = [perm[k] for k in range(len(perm)) if perm[k] in src_dims]
    with op.location, ir.InsertionPoint(op):
        out_dims = [k for k in range(len(perm)) if perm[k] in src_dims]
        transpose_or_copy(as_2d(src, src_dims), as_2d(dst, out_dims), swap=order != src_dims)
    op.erase()


def rewrite_high_rank_swap(op: ir.Operation) -> None:
    """Rank > 3 transpose swapping dims i < j -> a loop of 2-D slice transposes, or of
    slab copies between HBM buffers when the last dim stays in place."""
    src, dst = op.operands
    i, j = swapped_pair(permutation(op))
    shape = ir.MemRefType(src.type).shape
    rank = len(shape)
    if j < rank - 1 and space_of(src) in HBM_SPACES and space_of(dst) in HBM_SPACES:
        _copy_slabs(op, i, j)
        return
    trips = [1 if k in (i, j) else shape[k] for k in range(rank)]
    swap = shape[i] != 1 and shape[j] != 1
    through_sbuf = space_of(src) in HBM_SPACES and space_of(dst) in HBM_SPACES
    with op.location, ir.InsertionPoint(op):
        ivs, body = loop_nest(trips)
        with body:
            src_sizes = [shape[k] if k in (i, j) else 1 for k in range(rank)]
            dst_sizes = list(src_sizes)
            dst_sizes[i], dst_sizes[j] = src_sizes[j], src_sizes[i]
            offsets: list[Index] = [iv if k not in (i, j) else 0 for k, iv in enumerate(ivs)]
            src_2d = as_2d(subview(src, offsets, src_sizes), [i, j])
            dst_2d = as_2d(subview(dst, offsets, dst_sizes), [i, j])
            if through_sbuf:
                _via_sbuf(src_2d, dst_2d, swap)
            else:
                transpose_or_copy(src_2d, dst_2d, swap)
    op.erase()


def _via_sbuf(src: ir.Value, dst: ir.Value, swap: bool) -> None:
    """HBM -> HBM: DMA the slice into SBUF, transpose there, DMA it out."""
    space = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), int(MemSpace.Sbuf))
    src_t, dst_t = ir.MemRefType(src.type), ir.MemRefType(dst.type)
    staged = memref.AllocOp(ir.MemRefType.get(src_t.shape, src_t.element_type, None, space), [], []).result
    memref.CopyOp(src, staged)
    result = memref.AllocOp(ir.MemRefType.get(dst_t.shape, dst_t.element_type, None, space), [], []).result
    transpose_or_copy(staged, result, swap)
    memref.CopyOp(result, dst)


def _copy_slabs(op: ir.Operation, i: int, j: int) -> None:
    """Swapping dims i < j of an HBM buffer keeps every `[d_j, d_{j+1} ...]` slab of the
    source in element order: source slab `[.., h (dim i), .., :, ...]` is the destination's
    `[.., : (dim i), .., h (dim j), ...]`. One DMA copy per slab (per batch and head of the
    `(0, 2, 1, 3)` head shuffle) instead of a transpose per trailing element."""
    src, dst = op.operands
    shape = ir.MemRefType(src.type).shape
    rank = len(shape)
    with op.location, ir.InsertionPoint(op):
        ivs, body = loop_nest([shape[k] if k < j else 1 for k in range(rank)])
        with body:
            src_offsets: list[Index] = [ivs[k] if k < j else 0 for k in range(rank)]
            src_sizes = [1 if k < j else shape[k] for k in range(rank)]
            dst_offsets: list[Index] = [0 if k == i else ivs[i] if k == j else src_offsets[k] for k in range(rank)]
            dst_sizes = [shape[j] if k == i else 1 if k <= j else shape[k] for k in range(rank)]
            src_2d = collapse(subview(src, src_offsets, src_sizes), [list(range(j + 1)), list(range(j + 1, rank))])
            dst_2d = collapse(subview(dst, dst_offsets, dst_sizes), [list(range(i + 1)), list(range(i + 1, rank))])
            memref.CopyOp(src_2d, dst_2d)
    op.erase()
