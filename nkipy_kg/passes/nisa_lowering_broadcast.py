"""PE-array data movement of `linalg-to-nisa` elementwise rows: broadcasting a row to
every partition and transposing small tiles (see `linalg_to_nisa.py` for the table)."""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.nisa_lowering_common import alloc, emit, memref_of, release, shape, space, view
from nkipy_kg.passes.nisa_lowering_transpose import static_slice


MOVING_FREE_MAX = 512  # nisa.matmul moving free size (one PSUM bank of fp32)


def broadcast_rows(origin: ir.Operation, row: ir.Value, full: list[int], temps: list[ir.Value]) -> ir.Value:
    """A [1, F] row repeated on P partitions. A row that is a whole SBUF buffer is one
    DMA from a zero-partition-stride view of it (an access pattern that reads partition
    0 P times: no PE work, no PSUM evacuation on VectorE). Otherwise ones[1, P]^T @
    row[1, F] on the PE array (K = 1), 512 columns (one PSUM bank) at a time, copied from
    PSUM to an SBUF tile (so it can pair with a PSUM operand)."""
    p, f = full
    et = ir.ShapedType(row.type).element_type
    repeated = _repeated_view(origin, row, p)
    if repeated is not None:
        tile = alloc(origin, memref_of([p, f], et, MemSpace.Sbuf))
        emit(origin, "dma_copy", [tile, repeated])
        temps.append(tile)
        return tile
    ones = alloc(origin, memref_of([1, p], et, MemSpace.Sbuf))
    emit(origin, "memset", [ones], value=ir.FloatAttr.get(ir.F32Type.get(), 1.0))
    tile = alloc(origin, memref_of([p, f], ir.F32Type.get(), MemSpace.Sbuf))
    for f0 in range(0, f, MOVING_FREE_MAX):
        fc = min(MOVING_FREE_MAX, f - f0)
        whole = fc == f
        acc = alloc(origin, memref_of([p, fc], ir.F32Type.get(), MemSpace.Psum))
        emit(origin, "matmul", [acc, ones, row if whole else static_slice(origin, row, [0, f0], [1, fc])],
             accumulate=False)
        emit(origin, "tensor_copy", [tile if whole else static_slice(origin, tile, [0, f0], [p, fc]), acc])
        release(origin, acc)
    release(origin, ones)
    temps.append(tile)
    return tile


def _repeated_view(origin: ir.Operation, row: ir.Value, p: int) -> ir.Value | None:
    """`row` (a whole [1, F] SBUF allocation) seen as [P, F] with partition stride 0."""
    owner = row.owner
    if not isinstance(row, ir.OpResult) or owner.operation.name != "nisa.alloc" or space(row) != MemSpace.Sbuf:
        return None
    t = ir.MemRefType(row.type)
    f = t.shape[1]
    with origin.location:
        layout = ir.StridedLayoutAttr.get(0, [0, 1])
        result = ir.MemRefType.get([p, f], t.element_type, layout, t.memory_space)
        attributes = {
            "static_offsets": ir.DenseI64ArrayAttr.get([0]),
            "static_sizes": ir.DenseI64ArrayAttr.get([p, f]),
            "static_strides": ir.DenseI64ArrayAttr.get([0, 1]),
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get([1, 0, 0, 0]),
        }
    return view(origin, "reinterpret_cast", result, row, attributes, "broadcast a row across partitions")


def column_to_row(origin: ir.Operation, column: ir.Value, temps: list[ir.Value]) -> ir.Value:
    """An [F, 1] SBUF column as a [1, F] SBUF row: a PE-array transpose into PSUM, then
    a copy back to SBUF (the matmul that broadcasts it reads SBUF)."""
    f, et = shape(column)[0], ir.ShapedType(column.type).element_type  # a PE transpose keeps the dtype
    psum = alloc(origin, memref_of([1, f], et, MemSpace.Psum))
    emit(origin, "transpose", [psum, column])
    row = alloc(origin, memref_of([1, f], et, MemSpace.Sbuf))
    emit(origin, "tensor_copy", [row, psum])
    release(origin, psum)
    temps.append(row)
    return row


def transposed(origin: ir.Operation, tile: ir.Value, temps: list[ir.Value]) -> ir.Value:
    """tile^T on the PE array, copied from PSUM to SBUF (same dtype)."""
    p, f = shape(tile)
    et = ir.ShapedType(tile.type).element_type
    psum = alloc(origin, memref_of([f, p], et, MemSpace.Psum))
    emit(origin, "transpose", [psum, tile])
    out = alloc(origin, memref_of([f, p], et, MemSpace.Sbuf))
    emit(origin, "tensor_copy", [out, psum])
    release(origin, psum)
    temps.append(out)
    return out
