"""Pass `decompose-batch-matmul`: turn `linalg.batch_matmul` into an `scf.for` of 2-D matmuls.

NISA's matmul is 2-D; the batch dimension is iterated, never tiled. Each
`linalg.batch_matmul` with static rank-3 operands becomes a loop over the batch
that slices one [M,K] x [K,N] -> [M,N] problem per iteration:

    %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x8xf32>, tensor<2x8x16xf32>)
                             outs(%c : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
    "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 1, 4, 16, 8>} : (tensor<2x4x16xf32>) -> ()

becomes

    %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %c) -> (tensor<2x4x16xf32>) {
      %ai = tensor.extract_slice %a[%i, 0, 0] [1, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<4x8xf32>
      %bi = tensor.extract_slice %b[%i, 0, 0] [1, 8, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<8x16xf32>
      %ci = tensor.extract_slice %acc[%i, 0, 0] [1, 4, 16] [1, 1, 1] : tensor<2x4x16xf32> to tensor<4x16xf32>
      %m = linalg.matmul ins(%ai, %bi : ...) outs(%ci : tensor<4x16xf32>) -> tensor<4x16xf32>
      "nkipy.tile_op"(%m) {loop_tile_size = array<i64: 4, 16, 8>} : (tensor<4x16xf32>) -> ()
      %u = tensor.insert_slice %m into %acc[%i, 0, 0] [1, 4, 16] [1, 1, 1] : tensor<4x16xf32> into tensor<2x4x16xf32>
      scf.yield %u : tensor<2x4x16xf32>
    }

Annotations: a batch entry other than 1 in `loop_tile_size` or in the layout's
`tile_size` is an error ("batch dim cannot be tiled; it is iterated"). The
tile_op moves to the inner matmul without its batch entry; the layout stays on
the loop result, and gets `tile_size` = the tile_op's [1, M, N] if it had none.
Attributes such as `nkipy.op_id` are copied onto the inner matmul.

Beyond the reference: `indexing_maps` on the batch matmul (a transposed or
batch-broadcast operand) are honoured: each operand is sliced at the position
of its batch dim (or not at all if it has none) and the inner matmul gets the
remaining maps.
"""

from __future__ import annotations

from nkipy_kg._mlir import arith, ir, linalg, scf, tensor
from nkipy_kg.passes.common import collect, is_inside_nkipy_region, pass_error
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "decompose-batch-matmul"
BATCH_ERROR = "batch dim cannot be tiled; it is iterated"
SKIPPED_ATTRS = frozenset({"operandSegmentSizes", "indexing_maps"})
DYNAMIC = ir.ShapedType.get_dynamic_stride_or_offset()


@python_pass(PASS_NAME, "rewrite linalg.batch_matmul as an scf.for over 2-D linalg.matmul")
def decompose_batch_matmul(module_op: ir.Operation) -> None:
    """Decompose every batch matmul on tensors (see the module docstring)."""
    ops = collect(module_op, lambda op: op.name == "linalg.batch_matmul" and not is_inside_nkipy_region(op))
    for op in ops:
        _decompose(op)


def _decompose(op: ir.Operation) -> None:
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    _check_types(op, maps)
    if _dim_positions(maps[2]) != [0, 1, 2]:
        raise pass_error(PASS_NAME, op, f"unsupported batch_matmul output map {maps[2]}")
    layouts, tile_ops = _annotations(op)
    loop_tile = _inner_loop_tile(tile_ops)
    lhs, rhs, init = op.operands
    init_type = ir.RankedTensorType(init.type)
    batch, m, n = init_type.shape
    loc = op.location
    with loc, ir.InsertionPoint(op):
        lower, step, upper = (arith.ConstantOp(ir.IndexType.get(), v, loc=loc).result for v in (0, 1, batch))
        loop = scf.ForOp(lower, upper, step, [init], loc=loc)
    with loc, ir.InsertionPoint(loop.body):
        iv, acc = loop.induction_variable, loop.inner_iter_args[0]
        lhs_i = _batch_slice(lhs, _batch_position(maps[0]), iv, loc)
        rhs_i = _batch_slice(rhs, _batch_position(maps[1]), iv, loc)
        acc_i = _batch_slice(acc, 0, iv, loc)
        inner_maps = [_drop_batch(mp) for mp in maps]
        default = inner_maps == _default_matmul_maps()
        matmul = linalg.MatmulOp([acc_i.type], [lhs_i, rhs_i], [acc_i], loc=loc,
                                 indexing_maps=None if default else inner_maps)
        linalg.fill_builtin_region(matmul.operation)
        for name in op.attributes:
            if name not in SKIPPED_ATTRS:
                matmul.attributes[name] = op.attributes[name]
        inserted = tensor.InsertSliceOp(matmul.result, acc, [iv], [], [], [DYNAMIC, 0, 0], [1, m, n], [1, 1, 1],
                                        loc=loc).result
        scf.YieldOp([inserted], loc=loc)
    for tile_op in tile_ops:
        new = tile_op.clone(ir.InsertionPoint.after(matmul.operation))
        new.operands[0] = matmul.result
        new.attributes["loop_tile_size"] = ir.DenseI64ArrayAttr.get(loop_tile)
        tile_op.erase()
    for layout in layouts:
        if "tile_size" not in layout.attributes and loop_tile:
            layout.attributes["tile_size"] = ir.DenseI64ArrayAttr.get([1, *loop_tile[:2]])
    op.results[0].replace_all_uses_with(loop.results[0])
    op.erase()


def _check_types(op: ir.Operation, maps: list[ir.AffineMap]) -> None:
    for value, mp in zip(op.operands, maps):
        t = value.type
        if not isinstance(t, ir.RankedTensorType) or ir.RankedTensorType(t).rank != len(mp.results):
            raise pass_error(PASS_NAME, op, f"batch_matmul operand {t} does not match its indexing map {mp}")
        if not ir.RankedTensorType(t).has_static_shape:
            raise pass_error(PASS_NAME, op, f"batch_matmul with a dynamic shape ({t}) is not supported")


def _annotations(op: ir.Operation) -> tuple[list[ir.Operation], list[ir.Operation]]:
    """The layout and tile_op ops on the result, validated (batch tile must be 1)."""
    users = [use.owner.operation for use in op.results[0].uses]
    layouts = [u for u in users if u.name == "nkipy.layout"]
    tile_ops = [u for u in users if u.name == "nkipy.tile_op"]
    for layout in layouts:
        if "tile_size" in layout.attributes and list(ir.DenseI64ArrayAttr(layout.attributes["tile_size"]))[0] != 1:
            raise pass_error(PASS_NAME, layout, BATCH_ERROR, "use tile_size [1, M_t, N_t]")
    for tile_op in tile_ops:
        sizes = list(ir.DenseI64ArrayAttr(tile_op.attributes["loop_tile_size"]))
        if len(sizes) != 4:
            raise pass_error(PASS_NAME, tile_op, f"a batch matmul takes loop_tile_size [1, M, N, K], got {sizes}")
        if sizes[0] != 1:
            raise pass_error(PASS_NAME, tile_op, BATCH_ERROR, "use tile_size [1, M_t, N_t, K_t]")
    return layouts, tile_ops


def _inner_loop_tile(tile_ops: list[ir.Operation]) -> list[int]:
    if not tile_ops:
        return []
    return list(ir.DenseI64ArrayAttr(tile_ops[-1].attributes["loop_tile_size"]))[1:]


def _dim_positions(mp: ir.AffineMap) -> list[int]:
    """The dim index of each result (-1 for a non-dim expression)."""
    return [ir.AffineDimExpr(e).position if isinstance(e, ir.AffineDimExpr) else -1 for e in mp.results]


def _batch_position(mp: ir.AffineMap) -> int | None:
    positions = _dim_positions(mp)
    return positions.index(0) if 0 in positions else None


def _drop_batch(mp: ir.AffineMap) -> ir.AffineMap:
    """(b, m, n, k) -> (..., b, ...) becomes (m, n, k) -> (...) without the batch result."""
    exprs = [ir.AffineDimExpr.get(p - 1) for p in _dim_positions(mp) if p != 0]
    return ir.AffineMap.get(3, 0, exprs)


def _default_matmul_maps() -> list[ir.AffineMap]:
    d0, d1, d2 = (ir.AffineDimExpr.get(i) for i in range(3))
    return [ir.AffineMap.get(3, 0, r) for r in ([d0, d2], [d2, d1], [d0, d1])]


def _batch_slice(value: ir.Value, position: int | None, iv: ir.Value, loc: ir.Location) -> ir.Value:
    """value[..., iv, ...] at `position`, rank-reduced; the value itself if it has no batch dim."""
    if position is None:
        return value
    t = ir.RankedTensorType(value.type)
    sizes = list(t.shape)
    sizes[position] = 1
    offsets = [0] * t.rank
    offsets[position] = DYNAMIC
    reduced = [s for i, s in enumerate(t.shape) if i != position]
    result = ir.RankedTensorType.get(reduced, t.element_type)
    return tensor.ExtractSliceOp(result, value, [iv], [], [], offsets, sizes, [1] * t.rank, loc=loc).result
