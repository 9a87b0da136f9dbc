"""Reductions of an elementwise prefix, for `linalg-to-nisa`.

infer-layout fuses a single-use elementwise producer into the reduction that reads
it (`elementwise_fusion.py`): `sum(square(x))` is one generic whose body computes
`x * x` before it accumulates. No instruction reduces a function of its input, so the
generic is split back, on chip and per tile: the prefix into an SBUF temporary of
the iteration space (an elementwise generic), then the reduction of that tile.

    linalg.generic {iterator_types = ["parallel", "reduction"]}       %t = "nisa.alloc"() : memref<128x512xf32, 3>
        ins(%x) outs(%s) {                                      ->     linalg.generic ins(%x) outs(%t) { mulf; extf }
      %0 = arith.mulf %in, %in : bf16                                  linalg.generic ins(%t) outs(%s) { addf }
      %1 = arith.extf %0 : bf16 to f32                                 "nisa.release"(%t)
      %2 = arith.addf %1, %out : f32
    }

Both halves are then lowered as usual, and the activation + fp32 row sum pair folds
into one `activation_reduce` (`nisa_lowering_activation_reduce.py`). The tile never
leaves SBUF: the point of the fusion is that the full-size intermediate does not
go through HBM between two loop nests.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, linalg
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.nisa_lowering_common import ON_CHIP, alloc, emit, memref_of, shape, space


def split_prefix(op: ir.Operation) -> tuple[ir.Operation, ir.Operation] | None:
    """(elementwise generic, reduction generic) replacing `op` when its body
    computes something of its one input before the combiner; None when it does not
    (a bare combiner, or a lone widening, which tensor_reduce_arith reads as is)."""
    block = op.regions[0].blocks[0]
    body = [o.operation for o in block.operations]
    if len(op.operands) != 2 or len(body) < 3 or space(op.operands[0]) not in ON_CHIP:
        return None
    if len(body) == 3 and body[0].name == "arith.extf":
        return None
    comb, prefix = body[-2], body[:-2]
    in_arg, acc = block.arguments[0], block.arguments[1]
    value = next((v for v in comb.operands if v != acc), None)
    if value is None or acc not in list(comb.operands) or any(acc in list(p.operands) for p in prefix):
        return None
    if not isinstance(value, ir.OpResult) or value.owner.operation not in prefix:
        return None
    maps = list(ir.ArrayAttr(op.attributes["indexing_maps"]))
    in_map = ir.AffineMapAttr(maps[0]).value
    if in_map != ir.AffineMap.get_identity(in_map.n_dims):
        return None
    src, dst = op.operands[0], op.operands[1]
    element = value.type
    tmp = alloc(op, memref_of(shape(src), element, MemSpace.Sbuf))
    loc = op.location
    with loc, ir.InsertionPoint(op):
        parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
        ew = linalg.GenericOp([], [src], [tmp], ir.ArrayAttr.get([maps[0], maps[0]]),
                              ir.ArrayAttr.get([parallel] * in_map.n_dims), loc=loc)
        ew_block = ew.regions[0].blocks.append(in_arg.type, element, arg_locs=[loc, loc])
        mapping = {in_arg: ew_block.arguments[0]}
        with ir.InsertionPoint(ew_block):
            for p in prefix:
                mapping.update(zip(p.results, _clone(p, mapping).results))
            linalg.YieldOp([mapping[value]])
        red = linalg.GenericOp([], [tmp], [dst], ir.ArrayAttr.get(maps), op.attributes["iterator_types"], loc=loc)
        red_block = red.regions[0].blocks.append(element, acc.type, arg_locs=[loc, loc])
        with ir.InsertionPoint(red_block):
            combined = _clone(comb, {value: red_block.arguments[0], acc: red_block.arguments[1]})
            linalg.YieldOp([combined.results[0]])
        # Released after the reduction's instructions, which are emitted before `red`.
        emit(op, "release", [tmp]).move_after(red.operation)
    op.erase()
    return ew.operation, red.operation


def _clone(op: ir.Operation, mapping: dict) -> ir.Operation:
    """`op` re-created at the insertion point with its operands renamed by `mapping`."""
    operands = [mapping.get(v, v) for v in op.operands]
    attributes = {op.attributes[i].name: op.attributes[i].attr for i in range(len(op.attributes))}
    return ir.Operation.create(op.name, results=[r.type for r in op.results], operands=operands,
                               attributes=attributes, loc=op.location)
