"""Tile arithmetic for `infer-layout`: read-only views of linalg ops as loop nests.

An *entry* records what infer-layout decided for one SSA value: the loop tile of
the op producing it (one size per iterator, in iterator order: elementwise = the
output dims, reduction = the input dims, matmul = [M, N, K]), its memory space,
partition dim and the seed it came from. Tiles move between neighbouring ops
through the ops' indexing maps:

    loop tile of op --(operand's map)--> tile of that operand's value
    tile of a value --(producer's output map, + its other loops)--> producer loop tile

so a broadcast operand (`(d0, 0)` or `(d1)` maps) gets 1 on its broadcast dims
and a keepdims or rank-dropping reduction gets its reduction loops back from its
input's tile. Nothing here mutates IR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


# -- ops as loop nests -----------------------------------------------------------------


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


# -- default tiles -----------------------------------------------------------------------


def capped(size: int, cap: int) -> int:
    """The largest divisor of `size` that is at most `cap` (`size` itself when it fits).

    A hardware cap that does not divide the dim (N = 768 against one 512-wide PSUM
    bank) would leave a partial last tile, which canonicalize-loop-step rejects; the
    reference takes min(size, cap) and fails there. 768 -> 384, 200 -> 100 (cap 128).
    """
    if size <= cap:
        return size
    return next(d for d in range(cap, 0, -1) if size % d == 0)


def tiled_partition_axis(rank: int, pdim: int, dims: Sequence[int] = (), partitions: int = 128) -> int:
    """The value dim that carries the partition tile for a layout with `partition_dim = pdim`.

    A rank >= 3 value with partition_dim 0 is batch-leading (`[heads, seq, d]`) when its
    dim 0 is smaller than dim R-2 and than the partitions: decompose-batch-matmul and
    the per-head loops read it one `[1, seq, d]` slice at a time, so a partition tile on
    the batch dim (`[2, 1, d]`) fits no consumer. Its dims before R-2 are batch dims
    tiled 1 and the partition tile sits on dim R-2 (`[1, min(seq, P), d]`);
    legalize-layout stores such a buffer as `[t_{R-2}, nb_0, ..., nb_{R-1}, t_last]`
    (see `layout_physical.Plan.pdim`). A sequence-leading value (`[seq, heads, d]`,
    rope's input) keeps the partition tile on dim 0.
    """
    if rank < 3 or pdim != 0 or len(dims) != rank:
        return pdim
    batch_leading = dims[0] < min(dims[rank - 2], partitions)
    return rank - 2 if batch_leading else pdim


def default_loop_tile(op: ir.Operation, limits: Limits, pdim: int = 0) -> list[int]:
    """Fallback loop tile: value dims [min(d_p, P), 1, ..., 1, d_last]; reduction loops at full extent.

    The partition dim (`pdim`, a dim of the result) takes min(extent, partitions),
    the last other result dim its full extent, the remaining result dims 1. Rank >= 3
    results with pdim 0 are batch-leading: [1, ..., 1, min(d_{R-2}, P), d_last]
    (`tiled_partition_axis`).
    """
    extents = loop_extents(op)
    out = maps(op)[-1]
    tile = list(extents)  # reduction loops: full extent
    rank = len(out)
    pdim = tiled_partition_axis(rank, pdim, [1 if loop is None else extents[loop] for loop in out],
                                limits.partitions)
    free = rank - 1 if rank - 1 != pdim else rank - 2
    for k, loop in enumerate(out):
        if loop is None:
            continue
        if k == pdim:
            tile[loop] = capped(extents[loop], limits.partitions)
        elif k != free:
            tile[loop] = 1
    return tile


def matmul_seed_tile(op: ir.Operation, limits: Limits) -> list[int]:
    """[min(M, P), min(N, 512), min(K, P)] (batch matmul: [1, ...])."""
    extents = loop_extents(op)
    if op.name == "linalg.batch_matmul":
        return [1, capped(extents[1], limits.partitions), capped(extents[2], limits.matmul_free),
                capped(extents[3], limits.partitions)]
    return [capped(extents[0], limits.partitions), capped(extents[1], limits.matmul_free),
            capped(extents[2], limits.partitions)]


def matmul_operand_tile(op: ir.Operation, index: int, limits: Limits) -> tuple[Tile, int]:
    """The tile and partition dim a matmul wants on operand 0 (A) or 1 (B).

    A [M, K]: [min(M, P), min(K, P)], partition dim = K's; B [K, N]: [min(K, P),
    min(N, 512)], partition dim = K's. Batch dims take 1. Read through the
    indexing maps, so a transposed-A matmul's A [K, M] gets [min(K, P), min(M, P)].
    """
    out = maps(op)[-1]
    k_loops = reduction_loops(op)
    n_loop = out[-1]
    extents = loop_extents(op)
    tile, pdim = [], 0
    for k, loop in enumerate(maps(op)[index]):
        if loop in k_loops:
            tile.append(capped(extents[loop], limits.partitions))
            pdim = k
        elif loop == n_loop:
            tile.append(capped(extents[loop], limits.matmul_free))
        elif loop == out[-2]:
            tile.append(capped(extents[loop], limits.partitions))
        else:
            tile.append(1)  # batch
    return tuple(tile), pdim


# -- moving tiles between neighbours -------------------------------------------------------


def loop_tile_from(op: ir.Operation, known: Callable[[ir.Value], Tile | None], first: ir.Value,
                   limits: Limits, pdim: int) -> Tile:
    """A loop tile for `op` assembled from its operands' known value tiles.

    Each loop takes its size from `first` (the neighbour the tile comes from) if
    that operand indexes it, else from any other operand with a known tile, else
    the fallback default. A matmul's K is capped at the partition count; the
    partition dim's tile is clamped to the smallest same-rank input extent on that
    dim (so `[128, N] + [1, N]` tiles [1, N]: both operands need equal tiles).
    """
    default = default_loop_tile(op, limits, pdim)
    extents = loop_extents(op)
    tile: list[int | None] = [None] * len(extents)
    n_in = len(inputs(op))
    pairs = list(zip(inputs(op), maps(op)[:n_in])) + [(op.results[0], maps(op)[-1])]
    pairs.sort(key=lambda pair: pair[0] != first)  # stable: `first` leads
    for value, dims in pairs:
        vt = known(value) if isinstance(value.type, ir.ShapedType) else None
        if vt is None:
            continue
        for k, loop in enumerate(dims):
            # A size-1 dim of a broadcast operand says nothing about the loop it meets.
            if loop is None or tile[loop] is not None or (shape(value)[k] == 1 and extents[loop] != 1):
                continue
            tile[loop] = min(vt[k], extents[loop])
    result = [d if t is None else t for t, d in zip(tile, default)]
    if is_matmul(op):  # hardware caps: M and K at the partitions, N at one PSUM bank
        out = maps(op)[-1]
        for loop in reduction_loops(op) | {out[-2]}:
            result[loop] = capped(result[loop], limits.partitions)
        result[out[-1]] = capped(result[out[-1]], limits.matmul_free)
        if op.name == "linalg.batch_matmul":
            result[out[0]] = 1
        return tuple(result)
    out = maps(op)[-1]
    rank = len(out)
    pdim = tiled_partition_axis(rank, pdim, shape(op.results[0]) if op.results else (), limits.partitions)
    same_rank = [(v, m) for v, m in zip(op.operands, maps(op)) if isinstance(v.type, ir.ShapedType)
                 and ir.ShapedType(v.type).rank == rank and pdim < rank]
    for _, dims in same_rank:  # whichever loop lands on the partition dim fits the partitions
        if dims[pdim] is not None:
            result[dims[pdim]] = capped(result[dims[pdim]], limits.partitions)
    if pdim < rank and out[pdim] is not None:
        for value, dims in same_rank[:-1]:  # the inputs; a broadcast (size-1) dim does not clamp
            if dims[pdim] == out[pdim]:
                result[out[pdim]] = min(result[out[pdim]], shape(value)[pdim])
    return tuple(result)


def translate_pdim(op: ir.Operation, first: ir.Value, pdim: int | None) -> int | None:
    """`first`'s partition dim as a dim of `op`'s result (`first` is an input of `op` or its result).

    Between values of equal rank it follows its loop (a permuting generic) and keeps
    its index on a broadcast or keepdims dim; across ranks (rank-dropping reductions,
    rank-1 broadcast operands) it keeps its index like the reference, or becomes 0
    when the rank is too small.
    """
    if pdim is None or first == op.results[0]:
        return pdim
    index = next(i for i, v in enumerate(inputs(op)) if v == first)
    dims, out = maps(op)[index], maps(op)[-1]
    if len(dims) != len(out):
        return pdim if pdim < len(out) else 0
    loop = dims[pdim]
    return out.index(loop) if loop is not None and loop in out else pdim


def operand_pdim(op: ir.Operation, index: int, pdim: int | None) -> int | None:
    """`op`'s result partition dim as a dim of operand `index` (the inverse of `translate_pdim`)."""
    out, dims = maps(op)[-1], maps(op)[index]
    if pdim is None or len(dims) != len(out):
        return pdim if pdim is None or pdim < len(dims) else 0
    return dims.index(out[pdim]) if out[pdim] is not None and out[pdim] in dims else pdim


def conflict(existing: Entry, proposed: Entry) -> str:
    """Why two entries of different seeds cannot both hold, or ''."""
    if existing.requirement or proposed.requirement:
        return ""
    pe, pp = existing.partition_dim, proposed.partition_dim
    if pe is not None and pp is not None and pe != pp:
        return f"conflicting partition_dim: existing={pe} vs proposed={pp}"
    a, b = existing.tile, proposed.tile
    if len(a) == len(b) and any(max(x, y) % min(x, y) for x, y in zip(a, b)):
        return (f"incompatible tile_size: [{', '.join(map(str, a))}] vs [{', '.join(map(str, b))}] "
                "(one must divide the other in each dimension)")
    return ""
