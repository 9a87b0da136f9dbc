"""legalize-layout, part 4: SBUF buffers that need no block layout but a better shape.

- A one-block buffer with leading unit dims (`[1, 128, 256]`, one head's tile) is
  allocated partition dim first and seen through an `expand_shape`.
- A 1-D vector longer than the partitions becomes one `[1, N]` row.
Registers no pass.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, memref
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import is_inside_nkipy_region, pass_error
from nkipy_kg.passes.layout_physical import PASS_NAME
from nkipy_kg.passes.layout_views import Index, contiguous_strides, subview
from nkipy_kg.passes.memref_helpers import space_of

IGNORED_USES = ("nkipy.layout",)


def drop_leading_units(alloc: ir.Operation, partitions: int) -> None:
    """A one-block buffer with leading unit dims (`[1, 128, 256]`, one head's tile) is
    allocated as `[128, 256]`, partition dim first, and seen by its users through an
    `expand_shape` back to `[1, 128, 256]` (canonicalize folds it into their collapses):
    every SBUF alloc leaving this pass has its partitions on dim 0, as the SBUF
    accounting of insert-spill-reload and the simulator assume."""
    t = ir.MemRefType(alloc.results[0].type)
    shape = list(t.shape)
    k = next((i for i, d in enumerate(shape[:-1]) if d != 1), None)
    if t.rank < 3 or k is None or k == 0 or shape[k] > partitions \
            or t.get_strides_and_offset() != (contiguous_strides(shape), 0):
        return
    with alloc.location, ir.InsertionPoint(alloc):
        phys = memref.AllocOp(ir.MemRefType.get(shape[k:], t.element_type, None, t.memory_space), [], [])
        if "alignment" in alloc.attributes:
            phys.operation.attributes["alignment"] = alloc.attributes["alignment"]
        groups = [list(range(k + 1)), *[[d] for d in range(k + 1, t.rank)]]
        i64 = ir.IntegerType.get_signless(64)
        attr = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in g]) for g in groups])
        view = memref.ExpandShapeOp(t, phys.result, attr, [], shape).result
    alloc.results[0].replace_all_uses_with(view)
    alloc.erase()


def is_long_vector(op: ir.Operation, partitions: int) -> bool:
    if op.name != "memref.alloc" or is_inside_nkipy_region(op):
        return False
    t = ir.MemRefType(op.results[0].type)
    return space_of(op.results[0]) == MemSpace.Sbuf and t.rank == 1 and t.has_static_shape \
        and t.shape[0] > partitions


def vector_as_row(alloc: ir.Operation) -> None:
    """A 1-D SBUF vector `[N]` longer than the partitions (rmsnorm's weight, a broadcast
    operand `x * w[N]`) becomes one row `[1, N]`: copies see the other side through an
    `expand_shape`, generics index it `(0, d_k)` instead of `(d_k)`, subviews `[o][n]`
    (a producer tiled along N, e.g. a bf16 -> f32 cast of the weight) become row
    subviews `[0, o][1, n]` whose uses are rewritten the same way, fills and deallocs
    take the row as is. Anything else is an error."""
    t = ir.MemRefType(alloc.results[0].type)
    row_t = ir.MemRefType.get([1, t.shape[0]], t.element_type, None, t.memory_space)
    with alloc.location, ir.InsertionPoint(alloc):
        row = memref.AllocOp(row_t, [], [])
        if "alignment" in alloc.attributes:
            row.operation.attributes["alignment"] = alloc.attributes["alignment"]
    _uses_as_row(alloc.results[0], row.result)
    alloc.erase()


def _uses_as_row(old: ir.Value, row: ir.Value) -> None:
    """Point every use of the 1-D `old` at its `[1, N]` form `row` (see `_vector_as_row`)."""
    for use in list(old.uses):
        op, n = use.owner.operation, use.operand_number
        if op.name in IGNORED_USES:
            op.erase()
        elif op.name in ("memref.dealloc", "linalg.fill"):
            op.operands[n] = row
        elif op.name == "memref.copy":
            with op.location, ir.InsertionPoint(op):
                op.operands[1 - n] = _expand_to_row(op.operands[1 - n])
            op.operands[n] = row
        elif op.name == "linalg.generic" and n < len(ir.ArrayAttr(op.attributes["indexing_maps"])):
            maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
            old_map = maps[n]
            maps[n] = ir.AffineMap.get(old_map.n_dims, old_map.n_symbols,
                                       [ir.AffineConstantExpr.get(0), *old_map.results])
            op.attributes["indexing_maps"] = ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps])
            op.operands[n] = row
        elif op.name == "memref.subview":
            (offset,), (size,) = subview_offsets_sizes(op)
            with op.location, ir.InsertionPoint(op):
                part = subview(row, [0, offset], [1, size])
            _uses_as_row(op.results[0], part)
            op.erase()
        else:
            raise pass_error(PASS_NAME, op, f"cannot legalize a use of a 1-D SBUF vector by {op.name}",
                             "a vector longer than the partitions is kept as one [1, N] row")


def _expand_to_row(value: ir.Value) -> ir.Value:
    """`[N] -> [1, N]` by `memref.expand_shape` (any 1-D strided layout)."""
    t = ir.MemRefType(value.type)
    (stride,), offset = t.get_strides_and_offset()
    dyn = ir.ShapedType.get_dynamic_stride_or_offset()
    outer = dyn if stride == dyn else stride * t.shape[0]
    if offset == 0 and stride == 1:
        layout = None
    else:
        layout = ir.StridedLayoutAttr.get(offset, [outer, stride])
    row_t = ir.MemRefType.get([1, t.shape[0]], t.element_type, layout, t.memory_space)
    i64 = ir.IntegerType.get_signless(64)
    attr = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, 0), ir.IntegerAttr.get(i64, 1)])])
    return memref.ExpandShapeOp(row_t, value, attr, [], [1, t.shape[0]]).result


def subview_offsets_sizes(sv: ir.Operation) -> tuple[list[Index], list[int]]:
    static_offsets = list(ir.DenseI64ArrayAttr(sv.attributes["static_offsets"]))
    sizes = list(ir.DenseI64ArrayAttr(sv.attributes["static_sizes"]))
    strides = list(ir.DenseI64ArrayAttr(sv.attributes["static_strides"]))
    dyn = ir.ShapedType.get_dynamic_stride_or_offset()
    if any(s == ir.ShapedType.get_dynamic_size() for s in sizes) or any(s != 1 for s in strides):
        raise pass_error(PASS_NAME, sv, "subviews of SBUF buffers need static sizes and unit strides")
    dynamic = iter(list(sv.operands)[1:])
    offsets: list[Index] = [next(dynamic) if o == dyn else o for o in static_offsets]
    return offsets, sizes
