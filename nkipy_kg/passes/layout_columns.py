"""legalize-layout, part 5: a partition-tiled 1-D SBUF vector becomes column blocks.

A 1-D vector longer than the partitions whose layout tile `t` is a partition tile
(per-row statistics: `np.std(x, axis=1)`'s mean and variance, a row reduction tiled
`t` rows at a time) is stored `[t, N / t]`: element `i` on partition `i % t` of
column `i // t`. Each `[t]` tile its users read is one column, a `[t, 1]` tile (its other 1-D operands are seen as `[t, 1]` too; a generic
reads the column through `(..) -> (d0, 0)`):

    %v = memref.alloc() : memref<256xf32, 3 : i32>
    %s = memref.subview %v[%o] [128] [1]                     // %o = arith.muli %i, %c128
    linalg.sqrt ins(%s : ...) outs(%r : memref<128xf32, 3 : i32>)

becomes

    %v = memref.alloc() : memref<128x2xf32, 3 : i32>
    %s = memref.subview %v[0, %i] [128, 1] [1, 1] : ... to memref<128x1xf32, strided<[2, 1], offset: ?>, 3 : i32>
    %r2 = memref.expand_shape %r [[0, 1]] output_shape [128, 1] : ... into memref<128x1xf32, 3 : i32>
    linalg.sqrt ins(%s : ...) outs(%r2 : ...)

Fills take the whole `[t, N / t]` buffer (order does not matter), copies of the
whole vector run column by column. Beyond the reference, which only handled SBUF
buffers of rank >= 2; `layout_vectors.vector_as_row` stores vectors read along the
free axis (a broadcast weight `x * w[N]`). Registers no pass.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, memref
from nkipy_kg.passes.common import pass_error
from nkipy_kg.passes.layout_copies import block_index
from nkipy_kg.passes.layout_physical import PASS_NAME, layout_ops
from nkipy_kg.passes.layout_vectors import IGNORED_USES, subview_offsets_sizes
from nkipy_kg.passes.layout_views import loop_nest, scaled, subview

# Uses of the whole vector this layout handles.
WHOLE_USES = frozenset({"memref.subview", "memref.copy", "memref.dealloc", "linalg.fill", *IGNORED_USES})


def column_tile(alloc: ir.Operation, partitions: int) -> int | None:
    """The partition tile of a long 1-D SBUF vector read one `[t]` column at a time, or None.

    Needs a layout tile `t <= partitions` dividing N, every subview `t` long, and every
    linalg op reading those subviews on its first (partition) loop."""
    n = ir.MemRefType(alloc.results[0].type).shape[0]
    tiles = [list(ir.DenseI64ArrayAttr(op.attributes["tile_size"])) for op in layout_ops(alloc)
             if "tile_size" in op.attributes]
    if not tiles or len(tiles[0]) != 1:
        return None
    t = tiles[0][0]
    if not 1 < t <= partitions or t >= n or n % t:
        return None
    for use in alloc.results[0].uses:
        if use.owner.name not in WHOLE_USES:
            return None  # e.g. a broadcast read of the whole vector: a row (vector_as_row)
        if use.owner.name == "memref.subview" and not _is_column_view(use.owner.operation, t):
            return None
    return t


def _is_column_view(sv: ir.Operation, t: int) -> bool:
    if list(ir.DenseI64ArrayAttr(sv.attributes["static_sizes"])) != [t]:
        return False
    for use in sv.results[0].uses:
        user = use.owner.operation
        if user.name == "memref.subview":
            return False
        if user.name.startswith("linalg.") and "indexing_maps" in user.attributes:
            affine = ir.AffineMapAttr(ir.ArrayAttr(user.attributes["indexing_maps"])[use.operand_number]).value
            if [str(e) for e in affine.results] != ["d0"]:
                return False  # read along the free axis: a row (vector_as_row)
    return True


def vector_as_columns(alloc: ir.Operation, t: int) -> None:
    """Store the vector as `[t, N / t]` column blocks (see the module docstring)."""
    vt = ir.MemRefType(alloc.results[0].type)
    blocks = vt.shape[0] // t
    with alloc.location, ir.InsertionPoint(alloc):
        phys_t = ir.MemRefType.get([t, blocks], vt.element_type, None, vt.memory_space)
        phys = memref.AllocOp(phys_t, [], [])
        if "alignment" in alloc.attributes:
            phys.operation.attributes["alignment"] = alloc.attributes["alignment"]
    for use in list(alloc.results[0].uses):
        op, n = use.owner.operation, use.operand_number
        if op.name in IGNORED_USES:
            op.erase()
        elif op.name in ("memref.dealloc", "linalg.fill"):
            op.operands[n] = phys.result
        elif op.name == "memref.subview":
            _column_subview(op, phys.result, t)
        else:  # memref.copy (column_tile admits nothing else)
            _copy_by_columns(op, n, phys.result, t, blocks)
    alloc.erase()


def _column(phys: ir.Value, block: int | ir.Value, t: int) -> ir.Value:
    """Column `block` of the physical buffer as a 2-D `[t, 1]` tile.

    Its 1-D form would have the partition stride N / t, which NISA's `[n] -> [n, 1]`
    reading of 1-D tiles does not expect, so users see the 2-D tile (`_use_column`)."""
    return subview(phys, [0, block], [t, 1])


def _column_subview(sv: ir.Operation, phys: ir.Value, t: int) -> None:
    (offset,), _ = subview_offsets_sizes(sv)
    with sv.location, ir.InsertionPoint(sv):
        column = _column(phys, block_index(sv, offset, t), t)
    for use in list(sv.results[0].uses):
        if use.owner.name in IGNORED_USES:
            use.owner.operation.erase()
        else:
            _use_column(use.owner.operation, use.operand_number, column)
    sv.erase()


def _use_column(op: ir.Operation, n: int, column: ir.Value) -> None:
    """Give operand `n` of `op` (a `[t]` tile) the `[t, 1]` column instead.

    A generic reads it through `(..) -> (d0, 0)`; a named op or a copy gets every
    other 1-D operand as a `[t, 1]` view too."""
    if op.name == "linalg.generic":
        maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
        m = maps[n]
        maps[n] = ir.AffineMap.get(m.n_dims, m.n_symbols, [*m.results, ir.AffineConstantExpr.get(0)])
        op.attributes["indexing_maps"] = ir.ArrayAttr.get([ir.AffineMapAttr.get(a) for a in maps])
        op.operands[n] = column
        return
    if not (op.name == "memref.copy" or op.name.startswith("linalg.")):
        raise pass_error(PASS_NAME, op, f"cannot legalize a use of a 1-D SBUF vector by {op.name}",
                         "a partition-tiled vector is read one column tile at a time")
    with op.location, ir.InsertionPoint(op):
        for i, value in enumerate(op.operands):
            if i != n and isinstance(value.type, ir.MemRefType) and ir.MemRefType(value.type).rank == 1:
                op.operands[i] = as_column(value)
    op.operands[n] = column


def as_column(value: ir.Value) -> ir.Value:
    """`[n] -> [n, 1]` by `memref.expand_shape` (strides `[s, s]`, as MLIR computes them)."""
    t = ir.MemRefType(value.type)
    (stride,), offset = t.get_strides_and_offset()
    layout = None if (stride, offset) == (1, 0) else ir.StridedLayoutAttr.get(offset, [stride, stride])
    column_t = ir.MemRefType.get([t.shape[0], 1], t.element_type, layout, t.memory_space)
    i64 = ir.IntegerType.get_signless(64)
    attr = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, 0), ir.IntegerAttr.get(i64, 1)])])
    return memref.ExpandShapeOp(column_t, value, attr, [], [t.shape[0], 1]).result


def _copy_by_columns(copy: ir.Operation, n: int, phys: ir.Value, t: int, blocks: int) -> None:
    """A whole-vector copy, one `[t]` column (and the matching slice of the other side) per block."""
    other = copy.operands[1 - n]
    with copy.location, ir.InsertionPoint(copy):
        (block,), body = loop_nest([blocks])
        with body:
            column = _column(phys, block, t)
            piece = as_column(subview(other, [scaled(block, t)], [t]))
            src, dst = (column, piece) if n == 0 else (piece, column)
            memref.CopyOp(src, dst)
    copy.erase()
