"""Fallback tiles of `infer-layout`: what an op gets when no neighbour decides (registers no pass).

The partition tile is capped at the partitions (by the largest divisor under the cap),
matmuls take the PE array and PSUM bank caps, and the free tile spans the last dim
(see `default_loop_tile`). Read-only.
"""

from __future__ import annotations

from collections.abc import Sequence

from nkipy_kg._mlir import ir
from nkipy_kg.passes.layout_loops import Limits, Tile, inputs, loop_extents, maps, reduction_loops


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
    Sequence-leading rank >= 3 values with small rows keep their middle dims (`_whole_middle_dims`).

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
    free = _free_dim(op, out, pdim)
    middle = _whole_middle_dims(op, out, extents, pdim, free)
    for k, loop in enumerate(out):
        if loop is None:
            continue
        if k == pdim:
            tile[loop] = capped(extents[loop], limits.partitions)
        elif k != free and not middle:
            tile[loop] = 1
    return tile


# Free bytes per partition (fp32) up to which a sequence-leading tile keeps its middle dims.
_MIDDLE_BYTES = 16 * 1024


def _whole_middle_dims(op: ir.Operation, out: list[int | None], extents: list[int], pdim: int,
                       free: int) -> bool:
    """Whether a sequence-leading rank >= 3 value (`[seq, heads, d]`, rope's) tiles its
    middle dims whole: `[128, heads, d]` rather than `[128, 1, d]`, one instruction per
    128 rows instead of one per head, as long as the free bytes stay small (a broadcast
    operand such as rope's `cos[:, None, :]` is read through a zero-stride access pattern).
    A copy generic keeps its own free-dim choice (see `_free_dim`)."""
    if len(out) < 3 or pdim != 0 or _copied_input(op) is not None:
        return False
    elements = 1
    for k, loop in enumerate(out):
        if k != pdim and loop is not None:
            elements *= extents[loop]
    return free == len(out) - 1 and 4 * elements <= _MIDDLE_BYTES


def _free_dim(op: ir.Operation, out: list[int | None], pdim: int) -> int:
    """The result dim that takes its full extent in the fallback tile: the last one.

    Except for a generic that only copies an input (`np.repeat`'s broadcast): a loop
    that input does not index would be a broadcast inside the tile, which no NISA copy
    does, and the last dim is often the tiny repeat count (`[128, 1, 2]` tiles: one
    DMA per column). The free tile then goes to the innermost dim the input indexes
    and the broadcast loops are iterated (`[128, 512, 1]`).
    """
    rank = len(out)
    candidates = [k for k in range(rank - 1, -1, -1) if k != pdim] or [rank - 1]
    copied = _copied_input(op)
    if copied is None:
        return candidates[0]
    indexed = {loop for loop in maps(op)[copied] if loop is not None}
    return next((k for k in candidates if out[k] in indexed), candidates[0])


def _copied_input(op: ir.Operation) -> int | None:
    """The input a `linalg.generic` yields unchanged (its body is just the yield), or None."""
    if op.name != "linalg.generic":
        return None
    block = op.regions[0].blocks[0]
    body = [o.operation for o in block.operations]
    if len(body) != 1 or len(body[0].operands) != 1:
        return None
    yielded = body[0].operands[0]
    args = list(block.arguments)[: len(inputs(op))]
    return next((i for i, a in enumerate(args) if a == yielded), None)


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
