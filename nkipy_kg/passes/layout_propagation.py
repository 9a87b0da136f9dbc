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
input's tile. Nothing here mutates IR. The loop-nest view of an op is in
`layout_loops`, the fallback tiles in `layout_defaults`.
"""

from __future__ import annotations

from collections.abc import Callable

from nkipy_kg._mlir import ir
from nkipy_kg.passes.common import is_matmul
from nkipy_kg.passes.layout_defaults import capped, default_loop_tile, tiled_partition_axis
from nkipy_kg.passes.layout_loops import Entry, Limits, Tile, inputs, loop_extents, maps, reduction_loops, shape


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
