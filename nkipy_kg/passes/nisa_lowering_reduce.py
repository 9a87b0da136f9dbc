"""Partition-axis reductions of `linalg-to-nisa` (see `linalg_to_nisa.py` for the table).

`nisa.cross_partition_reduce` reduces an SBUF tile over its partitions into a [1, F]
row. A tile with more rows than partitions, or one the pipeline left in HBM (a
column reduction over a whole [R, F] buffer), is staged 128 rows at a time: each
block is DMA'd into SBUF, reduced, and combined into a running [1, F] partial.

    for r0 in 0, 128, ...:   (unrolled: static subviews)
        "nisa.dma_copy"(%stage, %src[r0:r0+128, :])
        "nisa.cross_partition_reduce"(%t, %stage) {op = "add"}
        "nisa.tensor_tensor_arith"(%part, %part, %t) {op = "add"}     (from the 2nd block)

GpSimd has no partition-axis min; `min` is lowered as -max(-x) (negation is exact).
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.nisa_lowering_common import (
    HBM, alloc, elem, emit, error, f32_constant, memref_of, release, segments, shape, space,
)
from nkipy_kg.passes.nisa_lowering_transpose import MAX_BLOCKS, PARTITIONS, static_slice


def partition_reduce(op: ir.Operation, src: ir.Value, alu: str) -> ir.Value:
    """A [1, F] f32 SBUF row = alu-reduction of `src` [R, F] over its rows (the caller
    releases it)."""
    if alu != "min":
        return _partition_reduce(op, src, alu, negate=False)
    part = _partition_reduce(op, src, "max", negate=True)
    _negate(op, part, part)
    return part


def _negate(op: ir.Operation, dst: ir.Value, src: ir.Value) -> None:
    emit(op, "tensor_scalar_arith", [dst, src, f32_constant(op, -1.0)], op0="multiply",
         operandSegmentSizes=segments(True, True, True, False))


def _stage_type(src: ir.Value, negate: bool) -> ir.Type:
    """Staging tiles keep the source dtype, except a negated bool (-1 is no i1): f32."""
    t = elem(src)
    return ir.F32Type.get() if negate and isinstance(t, ir.IntegerType) and ir.IntegerType(t).width == 1 else t


def _partition_reduce(op: ir.Operation, src: ir.Value, alu: str, negate: bool) -> ir.Value:
    rows, f = shape(src)[0], shape(src)[1:]
    part = alloc(op, memref_of([1, *f], ir.F32Type.get(), MemSpace.Sbuf))
    if space(src) == MemSpace.Sbuf and rows <= PARTITIONS:
        if not negate:
            emit(op, "cross_partition_reduce", [part, src], op=alu)
            return part
        stage = alloc(op, memref_of([rows, *f], _stage_type(src, negate), MemSpace.Sbuf))
        _negate(op, stage, src)
        emit(op, "cross_partition_reduce", [part, stage], op=alu)
        release(op, stage)
        return part
    if space(src) not in HBM or len(f) != 1:
        release(op, part)
        raise error(op, f"partition-axis reduction of {src.type}: only SBUF tiles of at most "
                        f"{PARTITIONS} rows or 2-D HBM buffers are supported")
    blocks = list(range(0, rows, PARTITIONS))
    if len(blocks) > MAX_BLOCKS:
        raise error(op, f"partition-axis reduction of {src.type} needs {len(blocks)} staged blocks "
                        f"(more than {MAX_BLOCKS}); tile it before linalg-to-nisa")
    for r0 in blocks:
        rc = min(PARTITIONS, rows - r0)
        stage = alloc(op, memref_of([rc, *f], _stage_type(src, negate), MemSpace.Sbuf))
        emit(op, "dma_copy", [stage, static_slice(op, src, [r0, 0], [rc, *f])])
        if negate:
            _negate(op, stage, stage)
        if r0 == 0:
            emit(op, "cross_partition_reduce", [part, stage], op=alu)
        else:
            t = alloc(op, memref_of([1, *f], ir.F32Type.get(), MemSpace.Sbuf))
            emit(op, "cross_partition_reduce", [t, stage], op=alu)
            emit(op, "tensor_tensor_arith", [part, part, t], op=alu)
            release(op, t)
        release(op, stage)
    return part
