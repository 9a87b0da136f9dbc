"""legalize-layout, part 1: which SBUF buffers get a physical layout, and with which tile.

A rank-R SBUF buffer `[d0, ..., d_{R-1}]` with tile `[t0, ..., t_{R-1}]` (only t0,
the partition tile, and t_{R-1}, the free tile, may exceed 1) is stored as
`[t0, nb_0, ..., nb_{R-1}, t_{R-1}]` with `nb_i = d_i / t_i`: partition `p` of
block `(b_0, ...)` holds logical row `b_0 * t0 + p`. Registers no pass.

Batch-leading buffers (infer-layout's rank >= 3 fallback, `[heads, seq, d]` read one
`[1, seq, d]` slice per head) have tile `[1, ..., 1, t_k, ..., t_last]`: leading
unit tiles are batch dims and the first non-unit tile before the last dim (`Plan.pdim`)
is the partition tile. They are stored as `[t_k, nb_0, ..., nb_{R-1}, t_last]`, so a
per-head slice is one `[t_k, t_last]` SBUF tile and the buffer stays in SBUF (the
reference annotated such buffers SharedHbm by hand). A non-unit tile after `pdim`
(other than the last) still demotes the buffer to SharedHbm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nkipy_kg._mlir import ir, memref
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import pass_error
from nkipy_kg.passes.memref_helpers import after, space_of, view_closure
from nkipy_kg.passes.layout_views import contiguous_strides

PASS_NAME = "legalize-layout"
LINALG_OR_COPY = ("linalg.", "memref.copy")


@dataclass(frozen=True)
class Plan:
    """What to do with one SBUF alloc: its tile and physical shape."""

    tile: tuple[int, ...]
    shape: tuple[int, ...]

    @property
    def blocks(self) -> tuple[int, ...]:
        return tuple(d // t for d, t in zip(self.shape, self.tile, strict=True))

    @property
    def pdim(self) -> int:
        """The logical dim holding the partition tile: the first non-unit tile before the
        last dim (leading unit tiles are batch dims), else 0."""
        return next((i for i, t in enumerate(self.tile[:-1]) if t != 1), 0)

    @property
    def partition_tile(self) -> int:
        return self.tile[self.pdim]

    @property
    def physical_shape(self) -> list[int]:
        return [self.partition_tile, *self.blocks, self.tile[-1]]

    @property
    def strided(self) -> bool:
        """Partition-contiguous layout: a narrow free tile over several partition blocks."""
        return self.tile[-1] < 128 and self.blocks[self.pdim] > 1

    def physical_strides(self) -> list[int]:
        if not self.strided:
            return contiguous_strides(self.physical_shape)
        t0, t_last = self.partition_tile, self.tile[-1]
        block_strides, acc = [], t0 * t_last
        for nb in reversed(self.blocks):
            block_strides.insert(0, acc)
            acc *= nb
        return [1, *block_strides, t0]


def layout_ops(alloc: ir.Operation) -> list[ir.Operation]:
    return [use.owner.operation for use in alloc.results[0].uses if use.owner.name == "nkipy.layout"]


def plan_for(alloc: ir.Operation, partitions: int) -> Plan | str | None:
    """The tile plan for an SBUF alloc; "demote" for unsupported middle tiles; None: leave it."""
    t = ir.MemRefType(alloc.results[0].type)
    shape = tuple(t.shape)
    tile = _tile_from_layout(alloc, shape) or _tile_from_consumers(alloc, shape, partitions)
    if tile is None:
        return None
    if len(tile) != len(shape):
        raise pass_error(PASS_NAME, alloc, f"tile {list(tile)} has rank {len(tile)}, the buffer {list(shape)} "
                         f"has rank {len(shape)}")
    if any(d % s for d, s in zip(shape, tile, strict=True)):
        raise pass_error(PASS_NAME, alloc, f"tile {list(tile)} does not divide the buffer shape {list(shape)}")
    tile = _refine_free_tile(alloc, tile)
    plan = Plan(tile, shape)
    if plan.partition_tile > partitions:
        raise pass_error(PASS_NAME, alloc, f"partition tile {plan.partition_tile} exceeds the target's "
                         f"{partitions} partitions")
    if any(s != 1 for s in tile[plan.pdim + 1:-1]):
        return "demote" if plan.blocks[plan.pdim] > 1 else None
    if all(nb == 1 for nb in plan.blocks):
        return None
    return plan


def _refine_free_tile(alloc: ir.Operation, tile: tuple[int, ...]) -> tuple[int, ...]:
    """Shrink the free tile to the gcd of the free sizes of every subview (a wider tile
    from the producer's knob would make a narrower consumer tile span half a block)."""
    free = tile[-1]
    for view in view_closure(alloc.results[0])[1:]:
        sizes = view_sizes(view)
        if len(sizes) == len(tile):
            free = math.gcd(free, sizes[-1])
    return (*tile[:-1], free)


def view_sizes(view: ir.Value) -> tuple[int, ...]:
    """A view's shape; for a (maybe rank-reducing) subview, its unreduced static sizes."""
    op = view.owner
    if not isinstance(op, ir.Block) and op.name == "memref.subview":
        return tuple(ir.DenseI64ArrayAttr(op.attributes["static_sizes"]))
    return tuple(ir.MemRefType(view.type).shape)


def _tile_from_layout(alloc: ir.Operation, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    for op in layout_ops(alloc):
        if "tile_size" not in op.attributes:
            continue
        tile = list(ir.DenseI64ArrayAttr(op.attributes["tile_size"]))
        if len(tile) < len(shape):  # a tile of the reduced value: unit dims were dropped
            it = iter(tile)
            lifted = [1 if d == 1 else next(it, 1) for d in shape]
            tile = lifted
        return tuple(tile)
    return None


def _tile_from_consumers(alloc: ir.Operation, shape: tuple[int, ...], partitions: int) -> tuple[int, ...] | None:
    """The common shape of the views of `alloc` that linalg ops and copies touch.

    Views that differ only in their free (last) size share the gcd of it (a
    concatenation's halves `[1, 128, 64]` read back as `[1, 128, 128]` per head);
    the reference reports "inconsistent tile sizes" there."""
    seen: dict[tuple[int, ...], ir.Operation] = {}
    for view in view_closure(alloc.results[0]):
        cand = view_sizes(view)
        if len(cand) != len(shape) or cand == shape or cand[0] > partitions:
            continue
        for use in view.uses:
            if use.owner.name.startswith(LINALG_OR_COPY):
                seen.setdefault(cand, use.owner.operation)
    if len({s[:-1] for s in seen}) == 1:  # only the free size differs: its gcd (`_refine_free_tile`)
        first = next(iter(seen))
        return (*first[:-1], math.gcd(*(s[-1] for s in seen)))
    if len(seen) > 1:
        shapes = ", ".join(str(list(s)) for s in seen)
        raise pass_error(PASS_NAME, alloc, f"inconsistent tile sizes inferred from consumers: {shapes}")
    return next(iter(seen), None)


def demote(alloc: ir.Operation) -> None:
    """Move `alloc` and its view chain to SharedHbm (NISA cannot tile a middle dim in SBUF)."""
    for view in view_closure(alloc.results[0]):
        if space_of(view) == MemSpace.Sbuf:
            t = ir.MemRefType(view.type)
            with t.context:
                space = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), int(MemSpace.SharedHbm))
                view.set_type(ir.MemRefType.get(t.shape, t.element_type, t.layout, space))


def physical_alloc(alloc: ir.Operation, plan: Plan) -> ir.Value:
    """The physical buffer right after `alloc` (a reinterpret_cast when strided)."""
    t = ir.MemRefType(alloc.results[0].type)
    phys_t = ir.MemRefType.get(plan.physical_shape, t.element_type, None, t.memory_space)
    with alloc.location, after(alloc):
        new = memref.AllocOp(phys_t, [], [])
        if "alignment" in alloc.attributes:
            new.operation.attributes["alignment"] = alloc.attributes["alignment"]
        if not plan.strided:
            return new.result
        shape, strides = plan.physical_shape, plan.physical_strides()
        cast_t = ir.MemRefType.get(shape, t.element_type, ir.StridedLayoutAttr.get(0, strides), t.memory_space)
        return memref.ReinterpretCastOp(cast_t, new.result, [], [], [], [0], shape, strides).result
