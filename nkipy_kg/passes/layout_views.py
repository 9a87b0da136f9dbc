"""View builders shared by `legalize-layout` and `simplify-linalg` (registers no pass).

Every helper computes the exact result type MLIR's verifier expects (subviews keep
the source strides; a collapse takes, per group, the stride of its innermost
non-unit dim), so callers only say *which* view they want. Offsets and indices are
`int | ir.Value`; ints become static attributes or `arith.constant` indices.
"""

from __future__ import annotations

import math

from collections.abc import Sequence

from nkipy_kg._mlir import arith, ir, memref, scf
from nkipy_kg.passes.common import pass_error

Index = int | ir.Value
DYN = ir.ShapedType.get_dynamic_stride_or_offset


def index_const(n: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), n).result


def as_value(i: Index) -> ir.Value:
    return index_const(i) if isinstance(i, int) else i


def add_index(a: Index, b: Index) -> Index:
    """`a + b`: an int when both are, else an `arith.addi` (a zero term is dropped)."""
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if isinstance(a, int) and a == 0:
        return b
    if isinstance(b, int) and b == 0:
        return a
    return arith.AddIOp(as_value(a), as_value(b)).result


def const_int(v: ir.Value) -> int | None:
    """The value of an `arith.constant` index/integer, else None."""
    owner = v.owner
    if isinstance(owner, ir.Block) or owner.name != "arith.constant":
        return None
    attr = owner.attributes["value"]
    return ir.IntegerAttr(attr).value if isinstance(attr, ir.IntegerAttr) else None


def strided_type(shape: Sequence[int], like: ir.MemRefType, strides: Sequence[int], offset: int) -> ir.MemRefType:
    """A memref type of `like`'s element type and space; identity layout when it is one."""
    if offset == 0 and list(strides) == contiguous_strides(shape):
        layout = None
    else:
        layout = ir.StridedLayoutAttr.get(offset, list(strides))
    return ir.MemRefType.get(list(shape), like.element_type, layout, like.memory_space)


def contiguous_strides(shape: Sequence[int]) -> list[int]:
    strides, acc = [], 1
    for size in reversed(shape):
        strides.insert(0, acc)
        acc *= size
    return strides


def subview(source: ir.Value, offsets: Sequence[Index], sizes: Sequence[int]) -> ir.Value:
    """A unit-stride, non-rank-reducing `memref.subview` of `source`."""
    src_t = ir.MemRefType(source.type)
    strides, offset = src_t.get_strides_and_offset()
    if offset != DYN() and all(isinstance(o, int) for o in offsets):
        new_offset = offset + sum(o * s for o, s in zip(offsets, strides, strict=True))
    else:
        new_offset = DYN()
    result_t = strided_type(sizes, src_t, strides, new_offset)
    dynamic = [o for o in offsets if not isinstance(o, int)]
    static = [o if isinstance(o, int) else DYN() for o in offsets]
    return memref.SubViewOp(result_t, source, dynamic, [], [], static, list(sizes), [1] * len(sizes)).result


def collapse(source: ir.Value, groups: Sequence[Sequence[int]]) -> ir.Value:
    """`memref.collapse_shape` of `source` by `groups` (a reassociation)."""
    src_t = ir.MemRefType(source.type)
    strides, offset = src_t.get_strides_and_offset()
    shape, new_strides = [], []
    for group in groups:
        size = 1
        for d in group:
            size *= src_t.shape[d]
        shape.append(size)
        inner = [d for d in group if src_t.shape[d] != 1] or [group[-1]]
        new_strides.append(strides[inner[-1]])
    result_t = strided_type(shape, src_t, new_strides, offset)
    if isinstance(src_t.layout, ir.StridedLayoutAttr) and not isinstance(result_t.layout, ir.StridedLayoutAttr):
        # MLIR infers an explicit strided layout from a strided source, even a contiguous one.
        result_t = ir.MemRefType.get(shape, src_t.element_type, ir.StridedLayoutAttr.get(offset, new_strides),
                                     src_t.memory_space)
    i64 = ir.IntegerType.get_signless(64)
    attr = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in g]) for g in groups])
    return memref.CollapseShapeOp(result_t, source, attr).result


def expand_leading_units(source: ir.Value, shape: Sequence[int]) -> ir.Value | None:
    """`[a, b] -> [1, ..., 1, a, ..., b]`: a 2-D tile seen with `shape`, the shape an op
    indexes (a per-head `[1, s, d]` slice of a batch-leading buffer); None when
    `shape` is not `source`'s shape with unit dims in front of / inside the groups."""
    src_t = ir.MemRefType(source.type)
    if src_t.rank != 2 or len(shape) <= 2:
        return None
    k = next((i for i, d in enumerate(shape[:-1]) if d != 1), len(shape) - 2)
    groups = [list(range(k + 1)), list(range(k + 1, len(shape)))]
    sizes = [math.prod(shape[d] for d in g) for g in groups]
    if sizes != list(src_t.shape):
        return None
    strides, offset = src_t.get_strides_and_offset()
    new_strides: list[int] = []
    for g, stride in zip(groups, strides, strict=True):
        acc, inner = stride, []
        for d in reversed(g):
            inner.insert(0, acc)
            acc *= shape[d]
        new_strides.extend(inner)
    result_t = strided_type(shape, src_t, new_strides, offset)
    i64 = ir.IntegerType.get_signless(64)
    attr = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in g]) for g in groups])
    return memref.ExpandShapeOp(result_t, source, attr, [], list(shape)).result


def retype_expand(expand: ir.Operation, view: ir.Value) -> None:
    """An `expand_shape` of a slice that only adds unit dims (a fused reader of a per-head
    block keeps the head dim) is rebuilt over the physical tile `view`: its strides change."""
    shape = list(ir.MemRefType(expand.results[0].type).shape)
    with expand.location, ir.InsertionPoint(expand):
        expanded = expand_leading_units(view, shape)
    if expanded is None:
        raise pass_error("legalize-layout", expand, f"a {shape} view of an SBUF tile is not a [partition, free] "
                         "tile of the physical layout with unit dims added")
    expand.results[0].replace_all_uses_with(expanded)
    expand.erase()


def is_collapsible(t: ir.MemRefType, group: Sequence[int]) -> bool:
    """Whether the dims `group` of `t` (static strides) form one contiguous run."""
    strides, _ = t.get_strides_and_offset()
    dims = [d for d in group if t.shape[d] != 1]
    return all(strides[a] == strides[b] * t.shape[b] for a, b in zip(dims, dims[1:]))


def collapse_to_2d(source: ir.Value) -> ir.Value:
    """`[d0, d1, ..., dn] -> [d0, d1*...*dn]` (identity for rank 2).

    Leading unit dims join the first non-unit dim before the last (a per-head slice
    `[1, s, d]` of a batch-leading buffer is the tile `[s, d]`, not `[1, s*d]`).
    """
    shape = ir.MemRefType(source.type).shape
    rank = len(shape)
    if rank == 2:
        return source
    k = next((i for i, d in enumerate(shape[:-1]) if d != 1), 0)
    return collapse(source, [list(range(k + 1)), list(range(k + 1, rank))])


def loop_nest(trip_counts: Sequence[int]) -> tuple[list[Index], ir.InsertionPoint]:
    """An `scf.for` nest (one loop per trip count > 1) at the current insertion point.

    Returns one index per trip count (the int 0 for trip count 1) and the
    insertion point inside the innermost body (before its yield).
    """
    ivs: list[Index] = []
    ip = ir.InsertionPoint.current
    if all(count == 1 for count in trip_counts):
        return [0] * len(trip_counts), ip
    zero, one = index_const(0), index_const(1)
    for count in trip_counts:
        if count == 1:
            ivs.append(0)
            continue
        with ip:
            loop = scf.ForOp(zero, index_const(count), one)
            with ir.InsertionPoint(loop.body):
                scf.YieldOp([])
        ivs.append(loop.induction_variable)
        ip = ir.InsertionPoint.at_block_terminator(loop.body)
    return ivs, ip


def scaled(iv: Index, factor: int) -> Index:
    """`iv * factor` (just `iv` when the factor is 1)."""
    if isinstance(iv, int):
        return iv * factor
    if factor == 1:
        return iv
    return arith.MulIOp(iv, index_const(factor)).result
