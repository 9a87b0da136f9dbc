"""Unit iteration dims of `linalg-to-nisa`: a generic over a [1, P, F] tile (a
batch-leading buffer whose per-head slice is [1, s, d]) iterates a size-1 dim that
no NISA instruction has: the partition dim of the hardware tile is the first dim.
Dropping every size-1 iteration dim (a `memref.collapse_shape` view of each operand,
indexing maps without that dim) leaves the [P, F] / [P, 1] / [1, F] shapes the
elementwise and reduction rows lower:

    linalg.generic {maps = [(d0,d1,d2)->(d0,d1,d2), (d0,d1,d2)->(d0,d1,0), id]}
        ins(%s : memref<1x128x128xf32>, %m : memref<1x128x1xf32>) outs(%o : memref<1x128x128xf32>)
 -> the same body over collapse_shape views 128x128, 128x1, 128x128 with maps
    [(d0,d1)->(d0,d1), (d0,d1)->(d0,0), (d0,d1)->(d0,d1)]
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.nisa_lowering_common import error, shape, view


def _exprs(m: ir.Attribute) -> tuple[int, list[str]]:
    text = str(ir.AffineMapAttr(m).value)
    lhs, rhs = text.split("->")
    dims = [d.strip() for d in lhs.strip().strip("()").split(",") if d.strip()]
    return len(dims), [r.strip() for r in rhs.strip().strip("()").split(",") if r.strip()]


def drop_unit_iteration_dims(op: ir.Operation) -> None:
    """Rewrite `op` (a linalg.generic on memrefs) in place without its size-1 iteration
    dims when it has more than two; a no-op otherwise."""
    maps = list(ir.ArrayAttr(op.attributes["indexing_maps"]))
    n_dims = _exprs(maps[0])[0]
    if n_dims <= 2:
        return
    ranges: dict[int, int] = {}
    for value, m in zip(op.operands, maps):
        for size, e in zip(shape(value), _exprs(m)[1]):
            if e.startswith("d"):
                ranges[int(e[1:])] = size
    unit = [d for d in range(n_dims) if ranges.get(d) == 1]
    keep = [d for d in range(n_dims) if d not in unit]
    if not unit or not keep:
        return
    new_maps = []
    for i, (value, m) in enumerate(zip(op.operands, maps)):
        exprs = _exprs(m)[1]
        positional = len(exprs) == n_dims and all(e in (f"d{j}", "0") for j, e in enumerate(exprs))
        drop = [j for j, e in enumerate(exprs)
                if (e.startswith("d") and int(e[1:]) in unit) or (positional and e == "0" and j in unit)]
        kept = [e for j, e in enumerate(exprs) if j not in drop]
        if not kept:
            raise error(op, f"operand {value.type} has only unit dims; cannot drop them")
        if drop:
            op.operands[i] = _collapse(op, value, drop)
        new_maps.append(ir.AffineMapAttr.get(ir.AffineMap.get(len(keep), 0, [
            ir.AffineConstantExpr.get(0) if e == "0" else ir.AffineDimExpr.get(keep.index(int(e[1:])))
            for e in kept])))
    op.attributes["indexing_maps"] = ir.ArrayAttr.get(new_maps)
    iters = list(ir.ArrayAttr(op.attributes["iterator_types"]))
    op.attributes["iterator_types"] = ir.ArrayAttr.get([iters[d] for d in keep])


def _collapse(origin: ir.Operation, value: ir.Value, drop: list[int]) -> ir.Value:
    """A collapse_shape view of `value` without its (size-1) dims `drop`: each dropped
    dim joins the next kept dim (trailing ones the last kept dim)."""
    t = ir.MemRefType(value.type)
    dims = shape(value)
    kept = [j for j in range(len(dims)) if j not in drop]
    groups: list[list[int]] = [[] for _ in kept]
    for j in range(len(dims)):
        nxt = next((g for g, k in enumerate(kept) if k >= j), len(kept) - 1)
        groups[nxt].append(j)
    strides, offset = t.get_strides_and_offset()
    identity = "strided" not in str(t) and "affine_map" not in str(t)
    layout = None if identity else ir.StridedLayoutAttr.get(offset, [strides[k] for k in kept])
    result = ir.MemRefType.get([dims[k] for k in kept], t.element_type, layout=layout,
                               memory_space=t.memory_space)
    i64 = ir.IntegerType.get_signless(64)
    reassoc = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, j) for j in g]) for g in groups])
    return view(origin, "collapse_shape", result, value, {"reassociation": reassoc},
                f"drop unit dims {drop} of {value.type}")


def expand_vector_operands(op: ir.Operation) -> None:
    """A 1-D operand of a 2-D generic becomes its physical 2-D view (`memref.expand_shape`):
    a 1-D SBUF buffer of n elements lives on n partitions, one element each, so both
    a [P] vector read as (d0, d1) -> (d0) and a [F] weight read as (d0, d1) -> (d1)
    are [n, 1] columns; their maps become (d0, 0) (per-partition broadcast) and
    (d1, 0) (a column read along the free axis: transposed, then row-broadcast)."""
    maps = list(ir.ArrayAttr(op.attributes["indexing_maps"]))
    if _exprs(maps[0])[0] != 2:
        return
    new_maps, changed = [], False
    for i, (value, m) in enumerate(zip(op.operands, maps)):
        exprs = _exprs(m)[1]
        if len(exprs) == 1 and exprs[0] in ("d0", "d1"):
            op.operands[i] = _expand(op, value, [shape(value)[0], 1])
            m = ir.AffineMapAttr.get(ir.AffineMap.get(2, 0, [
                ir.AffineDimExpr.get(int(exprs[0][1:])), ir.AffineConstantExpr.get(0)]))
            changed = True
        new_maps.append(m)
    if changed:
        op.attributes["indexing_maps"] = ir.ArrayAttr.get(new_maps)


def _expand(origin: ir.Operation, value: ir.Value, dims: list[int]) -> ir.Value:
    t = ir.MemRefType(value.type)
    strides, offset = t.get_strides_and_offset()
    identity = "strided" not in str(t) and "affine_map" not in str(t)
    layout = None if identity else ir.StridedLayoutAttr.get(offset, _expanded_strides(strides[0], dims))
    result = ir.MemRefType.get(dims, t.element_type, layout=layout, memory_space=t.memory_space)
    i64 = ir.IntegerType.get_signless(64)
    reassoc = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, 0), ir.IntegerAttr.get(i64, 1)])])
    attributes = {"reassociation": reassoc, "static_output_shape": ir.DenseI64ArrayAttr.get(dims)}
    return view(origin, "expand_shape", result, value, attributes, f"view {value.type} as {dims}")


def _expanded_strides(stride: int, dims: list[int]) -> list[int]:
    """expand_shape's layout rule for one source dim of `stride` split into `dims`: the
    innermost keeps the stride, each outer one multiplies by the sizes inside it."""
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    if stride == dynamic:
        return [dynamic] * len(dims)
    out, acc = [], stride
    for d in reversed(dims):
        out.insert(0, acc)
        acc *= d
    return out


def lift_rank1(op: ir.Operation) -> None:
    """A parallel generic over one dim (a [n] vector, n partitions x 1) becomes a 2-D
    one over [n, 1]: [n] operands become [n, 1] views, an [n, 1] operand read as
    (d0, 0) is the identity, and a [1, n] row read as (0, d0) is a transposed read
    (d1, d0), lowered by a PE-array transpose."""
    maps = list(ir.ArrayAttr(op.attributes["indexing_maps"]))
    if _exprs(maps[0])[0] != 1:
        return
    iters = list(ir.ArrayAttr(op.attributes["iterator_types"]))
    if "reduction" in str(iters[0]):
        raise error(op, "a reduction over a single dim (to a scalar) is not supported by linalg-to-nisa")
    d0, d1 = ir.AffineDimExpr.get(0), ir.AffineDimExpr.get(1)
    new_maps = []
    for i, (value, m) in enumerate(zip(op.operands, maps)):
        exprs = _exprs(m)[1]
        if exprs == ["d0"]:
            op.operands[i] = _expand(op, value, [shape(value)[0], 1])
            results = [d0, d1]
        elif exprs == ["d0", "0"] and shape(value)[1] == 1:
            results = [d0, d1]
        elif exprs == ["0", "d0"] and shape(value)[0] == 1:
            results = [d1, d0]
        else:
            raise error(op, f"operand indexing map {ir.AffineMapAttr(m).value} of a 1-D generic is not "
                            "supported by linalg-to-nisa")
        new_maps.append(ir.AffineMapAttr.get(ir.AffineMap.get(2, 0, results)))
    op.attributes["indexing_maps"] = ir.ArrayAttr.get(new_maps)
    op.attributes["iterator_types"] = ir.ArrayAttr.get([iters[0], iters[0]])
