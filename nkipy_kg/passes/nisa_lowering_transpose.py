"""HBM -> HBM batched transposes of `linalg-to-nisa`, staged through SBUF tile by tile.

`linalg.transpose` of [B..., K, M] into [B..., M, K] (leading dims fixed, the last two
swapped) between HBM buffers: a DMA transposes into SBUF only, and a whole-buffer SBUF
hop would put B on the partitions and B x M x K elements on each, far past the SBUF
partition size. Each (batch index, 128-row block of M) gets its own hop instead,
with static rank-reducing subviews (the loop is unrolled; it is small):

    %s = memref.subview %src[b, 0, m0] [1, K, 128] [1, 1, 1] : ... to memref<Kx128xf32, strided<...>>
    %d = memref.subview %dst[b, m0, 0] [1, 128, K] [1, 1, 1] : ... to memref<128xKxf32, strided<...>>
    %t = "nisa.alloc"() : () -> memref<128xKxf32, 3 : i32>
    "nisa.dma_transpose"(%t, %s) {permutation = array<i64: 1, 0>}
    "nisa.dma_copy"(%d, %t)
    "nisa.release"(%t)
"""

from __future__ import annotations

import itertools

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.nisa_lowering_common import alloc, elem, emit, error, memref_of, release, shape, view

MAX_BLOCKS = 256  # unrolled (batch, row block) hops; more needs a tiled loop upstream
PARTITIONS = 128


def is_batched_transpose(perm: list[int]) -> bool:
    r = len(perm)
    return r >= 2 and perm[:r - 2] == list(range(r - 2)) and perm[r - 2:] == [r - 1, r - 2]


def transpose_hbm_blocks(op: ir.Operation, src: ir.Value, dst: ir.Value) -> None:
    dims = shape(dst)
    lead, m, k = dims[:-2], dims[-2], dims[-1]
    blocks = [(b, m0) for b in itertools.product(*(range(d) for d in lead)) for m0 in range(0, m, PARTITIONS)]
    if len(blocks) > MAX_BLOCKS:
        raise error(op, f"HBM -> HBM transpose of {dst.type} needs {len(blocks)} SBUF hops "
                        f"(more than {MAX_BLOCKS}); tile it before linalg-to-nisa")
    for b, m0 in blocks:
        mc = min(PARTITIONS, m - m0)
        s = static_slice(op, src, [*b, 0, m0], [*[1] * len(b), k, mc])
        d = static_slice(op, dst, [*b, m0, 0], [*[1] * len(b), mc, k])
        hop = alloc(op, memref_of([mc, k], elem(dst), MemSpace.Sbuf))
        emit(op, "dma_transpose", [hop, s], permutation=[1, 0])
        emit(op, "dma_copy", [d, hop])
        release(op, hop)


def static_slice(origin: ir.Operation, value: ir.Value, offsets: list[int], sizes: list[int]) -> ir.Value:
    """A static unit-stride subview keeping the last two dims (rank-reduced to 2-D)."""
    t = ir.MemRefType(value.type)
    strides, offset = t.get_strides_and_offset()
    dyn = ir.ShapedType.get_dynamic_stride_or_offset()
    if offset == dyn or any(s == dyn for s in strides):
        new_offset = dyn
    else:
        new_offset = offset + sum(o * s for o, s in zip(offsets, strides))
    layout = ir.StridedLayoutAttr.get(new_offset, strides[-2:])
    result = ir.MemRefType.get(sizes[-2:], t.element_type, layout=layout, memory_space=t.memory_space)
    attrs = {"static_offsets": ir.DenseI64ArrayAttr.get(offsets),
             "static_sizes": ir.DenseI64ArrayAttr.get(sizes),
             "static_strides": ir.DenseI64ArrayAttr.get([1] * len(sizes)),
             "operandSegmentSizes": ir.DenseI32ArrayAttr.get([1, 0, 0, 0])}
    return view(origin, "subview", result, value, attrs, f"slice {value.type} at {offsets}")
