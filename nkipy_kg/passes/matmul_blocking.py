"""Matmul blocking for `knob-driven-tiling`: how many [Mt, Nt, Kt] tiles go into the
SBUF blocks of A^T and B, and which block loop is outermost.

The tiled nest keeps a whole-K block of one operand in SBUF while the other
operand's blocks stream past it:

    M outer:  for A^T block [K, BM]:  for B block [K, BN]:  tiles ...
    N outer:  for B block [K, BN]:    for A^T block [K, BM]: tiles ...

The outer block is loaded once per outer iteration, the inner one on every inner
iteration, so HBM traffic is A + B * M/BM (M outer) or B + A * N/BN (N outer). The
plan minimises that traffic subject to the target's SBUF capacity, counting the
inner block twice (two inner blocks live at once, so the next one's DMA overlaps the
current one's matmuls), a PSUM-evacuation reserve and the matmul's own result when
it lives in SBUF. The reference compiler
always used blocks of 2 tiles, M outer: that plan is kept whenever nothing moves
fewer bytes (every small kernel), and is the fallback when no block fits at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from nkipy_kg.targets import Target

REFERENCE_BLOCKS = 2  # tiles per block in the reference's fixed plan


@dataclass(frozen=True)
class Blocking:
    block_m: int
    block_n: int
    n_outer: bool   # the B block loop is outermost
    traffic: int    # modeled HBM bytes of operand loads


def plan(dims: tuple[int, int, int], tiles: tuple[int, int, int], elem_bytes: int, target: Target,
         resident_bytes: int = 0, single_m_tiles: bool = False) -> Blocking:
    """The block sizes and loop order that move the fewest operand bytes (see above);
    `resident_bytes` per partition are taken by other buffers (an Sbuf-resident result).
    `single_m_tiles`: A^T blocks of one M tile (a `knob.fuse` target: the consumer's
    loop over row tiles fuses with the row-block loop only if their steps are equal)."""
    (m, n, k), (mt, nt, _) = dims, tiles
    reference = _reference(m, n, mt, nt, k, elem_bytes)
    per_column = -(-k // target.partitions) * elem_bytes  # SBUF bytes per partition per block column
    budget = target.sbuf_bytes_per_partition - resident_bytes - 2 * nt * 4  # two f32 PSUM-evacuation tiles
    best = reference if _fits(reference, per_column, budget) and not single_m_tiles else None
    for n_outer in (False, True):  # on equal traffic: M outer (as the reference), then smaller blocks
        for bm in [mt] if single_m_tiles else _multiples(m, mt):
            for bn in _multiples(n, nt):
                cand = _blocking(m, n, k, bm, bn, n_outer, elem_bytes)
                if _fits(cand, per_column, budget) and (best is None or cand.traffic < best.traffic):
                    best = cand
    return best or reference


def _reference(m: int, n: int, mt: int, nt: int, k: int, elem_bytes: int) -> Blocking:
    def block(dim: int, tile: int) -> int:
        size = tile * REFERENCE_BLOCKS
        return size if dim >= size and dim % size == 0 else tile

    return _blocking(m, n, k, block(m, mt), block(n, nt), False, elem_bytes)


def _blocking(m: int, n: int, k: int, bm: int, bn: int, n_outer: bool, elem_bytes: int) -> Blocking:
    a, b = m * k * elem_bytes, k * n * elem_bytes
    traffic = b + a * (n // bn) if n_outer else a + b * (m // bm)
    return Blocking(bm, bn, n_outer, traffic)


def _fits(blocking: Blocking, per_column: int, budget: int) -> bool:
    outer, inner = (blocking.block_n, blocking.block_m) if blocking.n_outer else (blocking.block_m, blocking.block_n)
    return (outer + 2 * inner) * per_column <= budget


def _multiples(dim: int, tile: int) -> list[int]:
    """Block sizes: multiples of the tile that divide the dim (partial blocks are rejected later)."""
    return [b for b in range(tile, dim + 1, tile) if dim % b == 0]
