"""Row max/min taken by the copies that fill the row, for `linalg-to-nisa`.

A matmul's result reaches SBUF in PSUM-bank chunks, one `tensor_copy` each (the
fused attention's scores: four `[128, 512]` fp32 chunks of a `[128, 2048]` row
block); its row max is then a second VectorE pass over the whole tile, the busiest
instruction of the kernel. VectorE's `tensor_scalar_reduce` (NCM §2.1) writes
`src * 1.0` and reduces what it wrote in the same pass, for MIN_II more than a copy,
so each copy takes its chunk's max on the way and the row max reduces the chunks'
partials:

    scf.for %c = 0 to 4 {                                  %w = "nisa.alloc"() : memref<128x4xf32, 3>
      "nisa.matmul"(%ps, ...)                              scf.for %c = 0 to 4 {
      "nisa.tensor_copy"(%s[:, 512 * %c], %ps)     ->        "nisa.matmul"(%ps, ...)
    }                                                        "nisa.tensor_scalar_reduce"(%s[:, 512 * %c], %ps, %one, %w[:, %c])
    "nisa.tensor_reduce_arith"(%m, %s) {op = "max"}            {op0 = "multiply", reduce_op = "max"}
                                                           }
                                                           "nisa.tensor_reduce_arith"(%m, %w) {op = "max"}

Max and min are exact in any grouping, and `x * 1.0` is `x` (a copy that narrows
rounds the same way, and the partials reduce the values written), so the result is
bit-identical. It applies when every write of the row's tile before the reduction
is such a copy, the copies' column blocks are disjoint and cover the row (one per
iteration of a unit-step loop, or straight-line at constant offsets), and the
blocks are at least `_MIN_CHUNK` columns: ScalarE takes no part in the copies any
more (it has no max accumulator), so this pays only where VectorE's second pass
is long.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.layout_views import add_index, subview
from nkipy_kg.passes.nisa_lowering_common import (alloc, emit, f32_constant, index_in, memref_of, root, shape,
                                                 space, static_index, trip_count, written)

_MIN_CHUNK = 128
_EXACT = ("max", "min")


def take_reductions_from_copies(module_op: ir.Operation, skip: list[ir.Operation] = ()) -> None:
    """Rewrite every qualifying row max/min (see the module docstring); `skip`: hand-written ops."""
    for reduce_op in collect(module_op, lambda o: o.name == "nisa.tensor_reduce_arith"):
        if reduce_op in skip or not _row_extremum(reduce_op):
            continue
        chunks = _chunks(reduce_op)
        if chunks is not None and not any(copy in skip for copy, _ in chunks):
            _rewrite(reduce_op, chunks)


def _row_extremum(op: ir.Operation) -> bool:
    if ir.StringAttr(op.attributes["op"]).value not in _EXACT or "negate" in op.attributes:
        return False
    r = ir.IntegerAttr(op.attributes["num_r_dim"]).value if "num_r_dim" in op.attributes else 1
    src = op.operands[1]
    return r == 1 and len(shape(src)) == 2 and space(src) == MemSpace.Sbuf and root(src) == src


def _chunks(reduce_op: ir.Operation) -> list[tuple[ir.Operation, ir.Operation | None]] | None:
    """[(copy, its loop or None)] writing the reduction's tile, when they are all its
    writes and tile its columns; else None."""
    tile = reduce_op.operands[1]
    ops = [o.operation for o in reduce_op.block.operations]
    at = index_in(ops, reduce_op)
    found, covered = [], []
    rows, width = shape(tile)
    for op in ops[:at]:
        for inner in collect(op, lambda o: o.name.startswith("nisa.") and o.name not in ("nisa.alloc", "nisa.release")):
            writes_tile = any(isinstance(v.type, ir.MemRefType) and root(v) == tile for v in written(inner))
            if not writes_tile:
                if any(isinstance(v.type, ir.MemRefType) and root(v) == tile for v in inner.operands):
                    return None  # read before the reduction: its values must not change shape
                continue
            loop = op if inner != op else None
            columns = _columns(inner, tile, loop, rows)
            if columns is None:
                return None
            found.append((inner, loop))
            covered += columns
    covered.sort()
    cursor = 0
    for lo, hi in covered:  # disjoint, in order, no gap
        if lo != cursor or hi - lo < _MIN_CHUNK:
            return None
        cursor = hi
    return found if found and cursor == width else None


def _columns(copy: ir.Operation, tile: ir.Value, loop: ir.Operation | None, rows: int) -> list | None:
    """The column intervals of `tile` a copy writes (each trip of `loop`), else None."""
    if copy.name != "nisa.tensor_copy":
        return None
    view = copy.operands[0]
    if not isinstance(view, ir.OpResult) or view.owner.operation.name != "memref.subview":
        return None
    sv = view.owner.operation
    if sv.operands[0] != tile:
        return None
    sizes = list(ir.DenseI64ArrayAttr(sv.attributes["static_sizes"]))
    static = list(ir.DenseI64ArrayAttr(sv.attributes["static_offsets"]))
    if sizes[0] != rows or static[0] != 0 or any(s != 1 for s in ir.DenseI64ArrayAttr(sv.attributes["static_strides"])):
        return None
    size = sizes[1]
    if static[1] != ir.ShapedType.get_dynamic_stride_or_offset():
        return [(static[1], static[1] + size)] if loop is None else None
    offset = sv.operands[1]
    if loop is None:
        c = static_index(offset)
        return None if c is None else [(c, c + size)]
    if copy.block != loop.regions[0].blocks[0] or not _is_iv_times(offset, loop, size):
        return None
    if static_index(loop.operands[0]) != 0 or static_index(loop.operands[2]) != 1:
        return None
    return [(t * size, (t + 1) * size) for t in range(trip_count(loop))]


def _is_iv_times(value: ir.Value, loop: ir.Operation, size: int) -> bool:
    """`value` is `iv * size` (or `iv` for size 1) of `loop`."""
    iv = loop.regions[0].blocks[0].arguments[0]
    if size == 1 and value == iv:
        return True
    if not isinstance(value, ir.OpResult) or value.owner.operation.name != "arith.muli":
        return False
    a, b = value.owner.operation.operands
    return (a == iv and static_index(b) == size) or (b == iv and static_index(a) == size)


def _rewrite(reduce_op: ir.Operation, chunks: list) -> None:
    tile = reduce_op.operands[1]
    rows = shape(tile)[0]
    first = chunks[0][1] or chunks[0][0]  # the first copy's loop, or the copy
    count = sum(trip_count(loop) if loop is not None else 1 for _, loop in chunks)
    partials = alloc(first, memref_of([rows, count], ir.F32Type.get(), MemSpace.Sbuf))
    k = 0
    for copy, loop in chunks:
        with copy.location, ir.InsertionPoint(copy):
            column = k if loop is None else add_index(loop.regions[0].blocks[0].arguments[0], k)
            k += 1 if loop is None else trip_count(loop)
            res = subview(partials, [0, column], [rows, 1])
        one = f32_constant(copy, 1.0)
        emit(copy, "tensor_scalar_reduce", [copy.operands[0], copy.operands[1], one, res],
             op0="multiply", reduce_op=ir.StringAttr(reduce_op.attributes["op"]).value)
        copy.erase()
    reduce_op.operands[1] = partials
    emit(reduce_op, "release", [partials]).move_after(reduce_op)

