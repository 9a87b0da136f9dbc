"""legalize-layout, part 2: ops that touch a whole legalized buffer, HBM fills, rank fixes.

- An untiled op on a whole legalized SBUF buffer (a copy from/to HBM, a fill, an
  elementwise op, a 2-D transpose) becomes an `scf.for` nest over the blocks, each
  iteration applying the op to 2-D `[t0, t_last]` tiles. A fill of a contiguous
  layout simply gets a `[t0, rest]` collapse_shape view instead.
- NISA memset writes only SBUF/PSUM: a fill of an HBM buffer becomes a fill of an
  SBUF tile plus a loop of copies into HBM.
- Rank fixes: a copy or linalg op left with operands of rank > 2 (or mixed ranks)
  gets every operand collapsed to `[d0, d1*...]` (identity maps only).
Registers no pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nkipy_kg._mlir import ir, memref
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import NAMED_BINARY, NAMED_UNARY, pass_error
from nkipy_kg.passes.layout_physical import PASS_NAME, Plan
from nkipy_kg.passes.layout_unit_loops import drop_unit_loops
from nkipy_kg.passes.layout_views import (Index, add_index, collapse, collapse_to_2d, const_int, is_collapsible,
                                          loop_nest, scaled, subview)
from nkipy_kg.passes.memref_helpers import HBM_SPACES, space_of

IDENTITY_OPS = NAMED_UNARY | NAMED_BINARY | {"linalg.fill", "memref.copy"}


@dataclass(frozen=True)
class Physical:
    """A legalized buffer: its physical view (alloc or reinterpret_cast) and plan."""

    view: ir.Value
    plan: Plan

    def tile_2d(self, blocks: Sequence[Index], free_offset: Index = 0, free_size: int | None = None) -> ir.Value:
        """The `[t0, t_last]` tile of block `blocks` (or its columns `[free_offset, +free_size)`)."""
        p = self.plan
        rank = len(p.shape)
        size = p.tile[-1] if free_size is None else free_size
        tile = subview(self.view, [0, *blocks, free_offset], [p.partition_tile, *([1] * rank), size])
        return collapse(tile, [list(range(rank + 1)), [rank + 1]])

    def whole_2d(self) -> ir.Value:
        rank = len(self.plan.shape)
        return collapse(self.view, [[0], list(range(1, rank + 2))])


def is_identity_op(op: ir.Operation) -> bool:
    """Elementwise over same-shape operands: named elementwise ops, copies, fills, and
    all-parallel generics whose maps are the identity up to trivial broadcasts (a
    constant 0 in a dim of extent 1)."""
    if op.name in IDENTITY_OPS:
        return True
    if op.name != "linalg.generic":
        return False
    shapes = {tuple(ir.MemRefType(v.type).shape) for v in op.operands if isinstance(v.type, ir.MemRefType)}
    if len(shapes) != 1:
        return False
    shape = next(iter(shapes))
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    return all(m.n_dims == len(shape) and len(m.results) == len(shape)
               and all(_is_identity_result(e, k, shape) for k, e in enumerate(m.results)) for m in maps)


def _is_identity_result(expr: ir.AffineExpr, k: int, shape: tuple[int, ...]) -> bool:
    if isinstance(expr, ir.AffineDimExpr):
        return expr.position == k
    return isinstance(expr, ir.AffineConstantExpr) and expr.value == 0 and shape[k] == 1


def tile_whole_use(op: ir.Operation, operand: int, phys: Physical) -> None:
    """Rewrite `op`, whose operand `operand` is the whole legalized buffer, block by block."""
    if op.name == "linalg.fill" and not phys.plan.strided:
        with op.location, ir.InsertionPoint(op):
            op.operands[operand] = phys.whole_2d()
        return
    if op.name == "linalg.transpose":
        _per_block(op, operand, phys, _transpose_perm(op, phys.plan))
        return
    if not is_identity_op(op):
        raise pass_error(PASS_NAME, op, "cannot tile this op over a legalized SBUF buffer; "
                         "tile it (knob tile_op) so it works on subviews")
    _per_block(op, operand, phys, None)


def tile_subview_use(op: ir.Operation, operand: int, phys: Physical, base: Sequence[Index],
                     counts: Sequence[int], dims: Sequence[int]) -> None:
    """Rewrite `op`, whose operand `operand` is a subview of `counts` blocks starting at
    block `base` of the legalized buffer (seen by `op` over the buffer dims `dims`),
    block by block.

    Such a subview spans several partition (or free) blocks, so it is no single 2-D
    tile: np.split's `qkv[:, 256:512]` copied out to HBM, a whole head `[256, 256]`
    transposed. Each iteration applies the op to one `[t0, t_last]` tile and the
    logical subview of the same block of the other operands (their ranks are fixed
    up later by `fix_ranks`), as `tile_whole_use` does for whole buffers.
    """
    if op.name == "linalg.transpose":
        _per_block(op, operand, phys, _transpose_perm(op, phys.plan), base, counts, dims)
        return
    if not is_identity_op(op):
        raise pass_error(PASS_NAME, op, f"an operand spans {list(counts)} blocks of the legalized SBUF buffer "
                         f"(tile {list(phys.plan.tile)}) and {op.name} is not elementwise: it cannot be "
                         "tiled block by block", "tile the op (knob tile_op) so it reads one block at a time")
    _per_block(op, operand, phys, None, base, counts, dims)


def _transpose_perm(op: ir.Operation, plan: Plan) -> list[int]:
    """[1, 0]; or [0, ..., R-1, R-2] on a batch-leading buffer (unit tiles before the
    partition dim R-2): a per-head 2-D transpose of each block."""
    perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
    rank = len(perm)
    batch_swap = (rank > 2 and perm == [*range(rank - 2), rank - 1, rank - 2]
                  and all(t == 1 for t in plan.tile[:rank - 2]))
    if perm != [1, 0] and not batch_swap:
        raise pass_error(PASS_NAME, op, f"cannot tile a transpose with permutation {perm} over a legalized "
                         "SBUF buffer (2-D [1, 0], or a last-two-dims swap of a batch-leading buffer)")
    return perm


def _per_block(op: ir.Operation, operand: int, phys: Physical, perm: list[int] | None,
               base: Sequence[Index] | None = None, counts: Sequence[int] | None = None,
               dims: Sequence[int] | None = None) -> None:
    """Clone `op` once per block of the legalized operand `operand` (the whole buffer,
    or `counts` blocks from block `base`, seen by `op` over the buffer dims `dims`).

    The other memref operands get the logical subview of the same block. For a
    transpose (`perm`) that region is transposed, and the block's free dim is cut
    into chunks of at most `t0` columns: they become the other side's partition dim.
    """
    plan = phys.plan
    rank = len(plan.shape)
    base = [0] * rank if base is None else list(base)
    counts = plan.blocks if counts is None else counts
    dims = list(range(rank)) if dims is None else list(dims)
    if rank - 1 not in dims:
        raise pass_error(PASS_NAME, op, "an op on a slice of a legalized SBUF buffer without its free dim")
    t0, t_last = plan.partition_tile, plan.tile[-1]
    chunk = math.gcd(t_last, t0) if perm is not None else t_last
    with op.location, ir.InsertionPoint(op):
        ivs, body = loop_nest([*counts, t_last // chunk])
        local, c = ivs[:-1], ivs[-1]
        with body:
            blocks = [add_index(b, iv) for b, iv in zip(base, local, strict=True)]
            free = scaled(c, chunk)
            offsets = [scaled(b, t) for b, t in zip(local, plan.tile, strict=True)]
            offsets[-1] = add_index(offsets[-1], free)
            sizes = [*plan.tile[:-1], chunk]
            offsets, sizes = [offsets[d] for d in dims], [sizes[d] for d in dims]
            operands = []
            for i, value in enumerate(op.operands):
                if i == operand:
                    operands.append(phys.tile_2d(blocks, free, chunk))
                elif not isinstance(value.type, ir.MemRefType):
                    operands.append(value)
                elif perm is not None:
                    view = subview(value, [offsets[p] for p in perm], [sizes[p] for p in perm])
                    operands.append(collapse_to_2d(view) if len(perm) > 2 else view)
                else:
                    operands.append(subview(value, offsets, sizes))
            clone = op.clone()
            for i, value in enumerate(operands):
                clone.operands[i] = value
            if perm is not None and len(perm) > 2:  # per-block operands are 2-D tiles
                clone.attributes["permutation"] = ir.DenseI64ArrayAttr.get([1, 0])
    op.erase()


def decompose_hbm_fill(fill: ir.Operation, partitions: int) -> None:
    """`fill -> HBM [d0, ...]` as `fill -> SBUF [p, ...]` + copies of it into every row block."""
    out = fill.operands[1]
    t = ir.MemRefType(out.type)
    if not t.has_static_shape:
        raise pass_error(PASS_NAME, fill, "cannot move a dynamic-shape HBM fill to SBUF")
    rows = min(t.shape[0], partitions)
    if t.shape[0] % rows:
        raise pass_error(PASS_NAME, fill, f"HBM fill of {t.shape[0]} rows is not a multiple of {rows} partitions")
    with fill.location, ir.InsertionPoint(fill):
        space = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), int(MemSpace.Sbuf))
        free = 1
        for d in t.shape[1:]:
            free *= d
        tmp = memref.AllocOp(ir.MemRefType.get([rows, free], t.element_type, None, space), [], []).result
        new_fill = fill.clone()
        new_fill.operands[1] = tmp
        blocks, body = loop_nest([t.shape[0] // rows])
        with body:
            dst = subview(out, [scaled(blocks[0], rows), *([0] * (t.rank - 1))], [rows, *t.shape[1:]])
            memref.CopyOp(tmp, collapse_to_2d(dst))
    fill.erase()


def is_hbm_fill(op: ir.Operation) -> bool:
    if op.name != "linalg.fill":
        return False
    out = op.operands[1]
    return isinstance(out.type, ir.MemRefType) and ir.MemRefType(out.type).rank >= 2 and space_of(out) in HBM_SPACES


def _collapses(value: ir.Value) -> bool:
    """Whether `collapse_to_2d(value)` is a view (its trailing dims one contiguous run)."""
    t = ir.MemRefType(value.type)
    if t.rank <= 2:
        return True
    k = next((i for i, d in enumerate(t.shape[:-1]) if d != 1), 0)
    return is_collapsible(t, list(range(k + 1, t.rank)))


def fix_ranks(op: ir.Operation) -> None:
    """Collapse the operands of a copy / identity-map linalg op to 2-D when ranks disagree
    with the op or an SBUF/PSUM operand has rank > 2."""
    values = [v for v in op.operands if isinstance(v.type, ir.MemRefType)]
    high_on_chip = any(space_of(v) in (MemSpace.Sbuf, MemSpace.Psum) and ir.MemRefType(v.type).rank > 2
                       for v in values)
    if not (high_on_chip or _ranks_disagree(op, values)):
        return
    if not _ranks_disagree(op, values) and not all(_collapses(v) for v in values):
        return  # a strided view (a [128, heads, d] slice of an HBM tensor) stays N-D, like its access pattern
    if not is_identity_op(op):
        if not drop_unit_loops(op) and _ranks_disagree(op, values):
            raise pass_error(PASS_NAME, op, "operand ranks disagree after layout legalization and the op "
                             "is not elementwise with identity maps")
        return
    with op.location, ir.InsertionPoint(op):
        for i, value in enumerate(op.operands):
            if isinstance(value.type, ir.MemRefType) and ir.MemRefType(value.type).rank > 2:
                op.operands[i] = collapse_to_2d(value)
    shapes = {tuple(ir.MemRefType(v.type).shape) for v in op.operands if isinstance(v.type, ir.MemRefType)}
    if len(shapes) > 1:
        raise pass_error(PASS_NAME, op, f"operand shapes {sorted(shapes)} disagree after collapsing to 2-D")
    if op.name == "linalg.generic":
        identity = ir.AffineMapAttr.get(ir.AffineMap.get_identity(2))
        op.attributes["indexing_maps"] = ir.ArrayAttr.get([identity] * len(values))
        parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
        op.attributes["iterator_types"] = ir.ArrayAttr.get([parallel, parallel])


def _ranks_disagree(op: ir.Operation, values: list[ir.Value]) -> bool:
    ranks = [ir.MemRefType(v.type).rank for v in values]
    if "indexing_maps" in op.attributes:
        maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
        mem_maps = [m for v, m in zip(op.operands, maps, strict=False) if isinstance(v.type, ir.MemRefType)]
        return any(len(m.results) != r for m, r in zip(mem_maps, ranks, strict=False))
    if op.name == "linalg.transpose":
        return len(set(ranks)) > 1
    return len({r for r in ranks if r > 0}) > 1


def block_index(op: ir.Operation, offset: Index, tile: int) -> Index:
    """The block index of `offset` for tile `tile` (an int, or `iv * (C / tile)`)."""
    if isinstance(offset, ir.Value) and (c := const_int(offset)) is not None:
        offset = c
    if isinstance(offset, int):
        if offset % tile:
            raise pass_error(PASS_NAME, op, f"offset {offset} is not a multiple of the tile size {tile}")
        return offset // tile
    if tile == 1:
        return offset
    producer = offset.owner
    if not isinstance(producer, ir.Block) and producer.name == "arith.muli":
        lhs, rhs = producer.operands
        for iv, factor in ((lhs, const_int(rhs)), (rhs, const_int(lhs))):
            if factor is not None and factor % tile == 0:
                return scaled(iv, factor // tile)
    raise pass_error(PASS_NAME, op, f"cannot compute block index from dynamic offset (tile size {tile}); "
                     "expected a constant or `arith.muli %iv, C` with C a multiple of the tile")
