"""legalize-layout, part 3: drop the unit loops of a generic whose operands are (or should be) 2-D tiles.

A per-head or per-row slice of a legalized SBUF buffer reaches its users as a 2-D
`[t0, t_last]` tile, while the op still indexes the logical slice: `scores * scale`
on a batch-leading buffer is a 3-D identity generic over `[128, 1, 128]` whose input
became `[128, 128]` and whose output is still a `[128, 1, 128]` buffer, and
`x - max` adds a `[128, 1, 1]` broadcast operand with map `(d0, d1, 0)`. Such an op
is rewritten over its non-unit loops only: every map loses the results that index a
unit loop, every operand of the map's rank loses those dims (a `collapse_shape`
into a neighbour), operands already of the reduced rank (the legalized tiles) stay:

    linalg.generic {maps = [(d0, d1, d2) -> (d0, d1, d2), (d0, d1, d2) -> (d0, d1, 0), id]}
        ins(%tile : memref<128x128xf32>, %m : memref<128x1x1xf32>) outs(%o : memref<128x1x128xf32>)

becomes (loop d1 has extent 1)

    linalg.generic {maps = [(d0, d1) -> (d0, d1), (d0, d1) -> (d0, 0), (d0, d1) -> (d0, d1)]}
        ins(%tile, collapse(%m) : memref<128x1xf32>) outs(collapse(%o) : memref<128x128xf32>)

The same rewrite turns a rank > 2 generic on SBUF tiles whose extra dims are units
(a per-head `[1, 128, 128] -> [1, 128, 1]` row reduction) into a 2-D one, which is
what NISA instructions take. Reduction loops of extent > 1 keep their iterator type.
Registers no pass.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.layout_views import collapse


def drop_unit_loops(op: ir.Operation) -> bool:
    """Rewrite `op` (see the module docstring) in place; False (op untouched) when it does not apply."""
    if op.name != "linalg.generic":
        return False
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    iterators = list(ir.ArrayAttr(op.attributes["iterator_types"]))
    if len(maps) != len(op.operands):
        return False
    extents = _loop_extents(op, maps)
    if extents is None:
        return False
    unit = {d for d, e in enumerate(extents) if e == 1}
    if not unit:
        return False
    kept_loops = [d for d in range(len(extents)) if d not in unit]
    renumber = {d: k for k, d in enumerate(kept_loops)}
    plans = []
    for value, m in zip(op.operands, maps, strict=True):
        kept = [i for i, e in enumerate(m.results) if not (isinstance(e, ir.AffineDimExpr) and e.position in unit)]
        rank = ir.MemRefType(value.type).rank
        if rank == len(m.results):
            groups = _groups(kept, rank)
            if groups is None or any(ir.MemRefType(value.type).shape[i] != 1 for i in range(rank) if i not in kept):
                return False
        elif rank == len(kept):
            groups = None
        else:
            return False
        results = []
        for i in kept:
            e = m.results[i]
            if isinstance(e, ir.AffineDimExpr):
                results.append(ir.AffineDimExpr.get(renumber[e.position]))
            elif isinstance(e, ir.AffineConstantExpr) and e.value == 0:
                results.append(e)
            else:
                return False
        plans.append((groups, ir.AffineMap.get(len(kept_loops), 0, results)))
    with op.location, ir.InsertionPoint(op):
        for i, (groups, _) in enumerate(plans):
            if groups is not None:
                op.operands[i] = collapse(op.operands[i], groups)
    op.attributes["indexing_maps"] = ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for _, m in plans])
    op.attributes["iterator_types"] = ir.ArrayAttr.get([iterators[d] for d in kept_loops])
    return True


def _loop_extents(op: ir.Operation, maps: list[ir.AffineMap]) -> list[int] | None:
    """Loop extents from the operands still indexed with their map's rank (None if a loop has none)."""
    extents: list[int | None] = [None] * maps[0].n_dims
    for value, m in zip(op.operands, maps, strict=True):
        shape = ir.MemRefType(value.type).shape
        if len(shape) != len(m.results):
            continue
        for e, size in zip(m.results, shape, strict=True):
            if isinstance(e, ir.AffineDimExpr) and extents[e.position] is None:
                extents[e.position] = size
    return None if any(e is None for e in extents) else extents


def _groups(kept: list[int], rank: int) -> list[list[int]] | None:
    """A reassociation putting every dropped dim in the group of the next kept dim (or of the last)."""
    if not kept:
        return None
    groups: list[list[int]] = []
    pending: list[int] = []
    for d in range(rank):
        pending.append(d)
        if d in kept:
            groups.append(pending)
            pending = []
    groups[-1].extend(pending)
    return groups
