"""Linalg ops as loop nests, for `infer-layout` (registers no pass; see `layout_propagation`).

Per operand, which loop each dim indexes (`maps`: None for a broadcast constant), the
loop extents, and the tile of an operand that one loop tile touches. Read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import is_elementwise, is_matmul, is_reduction, iterator_types

Tile = tuple[int, ...]

# Loops indexed per operand (A, B, C) when a matmul carries no `indexing_maps` attribute.
DEFAULT_MATMUL_MAPS = {
    "linalg.matmul": ((0, 2), (2, 1), (0, 1)),
    "linalg.batch_matmul": ((0, 1, 3), (0, 3, 2), (0, 1, 2)),
}


@dataclass(frozen=True)
class Limits:
    partitions: int   # SBUF partitions: the partition-dim tile cap (and the matmul M and K caps)
    matmul_free: int  # matmul N cap: one PSUM bank of fp32


@dataclass(frozen=True)
class Entry:
    tile: Tile                       # loop tile of the producing op (value tile for non-linalg producers)
    seed: int                        # which seed this entry descends from
    mem_space: MemSpace | None = None
    partition_dim: int | None = None
    requirement: bool = False        # from a matmul operand preference: never a conflict


def shape(value: ir.Value) -> list[int]:
    return list(ir.ShapedType(value.type).shape)


def is_static_tensor(value: ir.Value) -> bool:
    return isinstance(value.type, ir.RankedTensorType) and ir.ShapedType(value.type).has_static_shape


def producer(value: ir.Value) -> ir.Operation | None:
    return value.owner.operation if isinstance(value, ir.OpResult) else None


def inputs(op: ir.Operation) -> list[ir.Value]:
    """The DPS inputs (operands before the inits)."""
    return list(op.operands)[: len(op.operands) - len(op.results)]


def maps(op: ir.Operation) -> list[list[int | None]]:
    """Per operand, per dim: the loop it indexes, or None (a constant, i.e. broadcast)."""
    if "indexing_maps" in op.attributes:
        affine = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
        return [[ir.AffineDimExpr(e).position if isinstance(e, ir.AffineDimExpr) else None for e in m.results]
                for m in affine]
    if op.name in DEFAULT_MATMUL_MAPS:  # built from Python: the default maps are implicit
        return [list(m) for m in DEFAULT_MATMUL_MAPS[op.name]]
    # Named elementwise ops: identity maps over identically shaped tensor operands.
    return [list(range(ir.ShapedType(v.type).rank)) if isinstance(v.type, ir.ShapedType) else []
            for v in op.operands]


def num_loops(op: ir.Operation) -> int:
    if "indexing_maps" in op.attributes:
        return ir.AffineMapAttr(ir.ArrayAttr(op.attributes["indexing_maps"])[0]).value.n_dims
    if op.name in DEFAULT_MATMUL_MAPS:
        return len(DEFAULT_MATMUL_MAPS[op.name][-1]) + 1
    return len(iterator_types(op))


def loop_extents(op: ir.Operation) -> list[int]:
    extents = [1] * num_loops(op)
    for value, dims in reversed(list(zip(op.operands, maps(op)))):
        for k, loop in enumerate(dims):
            if loop is not None:
                extents[loop] = shape(value)[k]
    return extents


def reduction_loops(op: ir.Operation) -> set[int]:
    """Loops absent from the output map: reduction iterators (a matmul's K)."""
    return set(range(num_loops(op))) - {d for d in maps(op)[-1] if d is not None}


def operand_tile(op: ir.Operation, loop_tile: Sequence[int], index: int) -> Tile:
    """The tile of operand `index` that one loop tile of `op` touches."""
    dims = maps(op)[index]
    return tuple(1 if loop is None else min(loop_tile[loop], s)
                 for loop, s in zip(dims, shape(op.operands[index])))


def value_tile(value: ir.Value, entry: Entry) -> Tile:
    """An entry's tile on the value itself: the producer's loop tile through its output map."""
    op = producer(value)
    if op is None or not is_annotatable_producer(op):
        return entry.tile
    return operand_tile(op, entry.tile, len(op.operands) - len(op.results) + value.result_number)


def is_annotatable_producer(op: ir.Operation) -> bool:
    return (is_elementwise(op) or is_reduction(op) or is_matmul(op)) and len(op.results) == 1 \
        and is_static_tensor(op.results[0]) and all(is_static_tensor(v) or not isinstance(v.type, ir.ShapedType)
                                                    for v in op.operands)
