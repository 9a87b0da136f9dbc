"""Pass `lower-nkipy-gather`: rewrite `nkipy.gather` into a `linalg.generic`.

`result[i, j...] = source[clamp(indices[i], 0, n - 1), j...]` where n is
source's first dimension. The generic iterates over the output; the index
operand is read through the map `(d0, ...) -> (d0)`, cast to `index`, clamped and
used in a `tensor.extract` from the source:

    %r = "nkipy.gather"(%src, %idx, %out)
        : (tensor<16x4xf32>, tensor<8xi32>, tensor<8x4xf32>) -> tensor<8x4xf32>

becomes

    %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                          affine_map<(d0, d1) -> (d0, d1)>],
                         iterator_types = ["parallel", "parallel"]}
        ins(%idx : tensor<8xi32>) outs(%out : tensor<8x4xf32>) {
    ^bb0(%i: i32, %o: f32):
      %row = arith.index_cast %i : i32 to index
      %lo = arith.maxsi %row, %c0 : index
      %row_ok = arith.minsi %lo, %c15 : index
      %j = linalg.index 1 : index
      %v = tensor.extract %src[%row_ok, %j] : tensor<16x4xf32>
      linalg.yield %v : f32
    } -> tensor<8x4xf32>

Why clamp: the CPU JIT runs this code in the test process, and an out-of-range
index would read outside the source buffer (a crash at best, silent garbage at
worst). Clamping matches `np.take(..., mode="clip")`; negative indices clamp to
row 0 rather than wrapping like Python indexing.
"""

from __future__ import annotations

import re
from typing import NoReturn

from nkipy_kg._mlir import arith, ir, linalg, tensor
from nkipy_kg.errors import PassError, SourceLoc, source_loc_from_mlir
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "lower-nkipy-gather"


@python_pass(PASS_NAME, "lower nkipy.gather to linalg.generic + tensor.extract (indices clamped)")
def lower_nkipy_gather(module_op: ir.Operation) -> None:
    """Replace every `nkipy.gather` by an equivalent `linalg.generic`."""
    gathers: list[ir.Operation] = []

    def collect(op: ir.Operation) -> ir.WalkResult:
        if op.name == "nkipy.gather":
            gathers.append(op)
        return ir.WalkResult.ADVANCE

    module_op.walk(collect)
    for op in gathers:
        _lower_one(op)


# Tensor ops between an index constant and a gather that keep the constant a constant.
_INDEX_RESHAPES = ("tensor.collapse_shape", "tensor.expand_shape", "tensor.reshape")


def lower_computed_gathers(func_op: ir.Operation) -> None:
    """The rewrite above for gathers whose indices are computed (kernel inputs, values):
    used by infer-layout, so such a gather is an elementwise generic the pipeline tiles
    and `linalg-to-nisa` turns into `nisa.dma_copy_indirect`. Constant-index gathers
    stay: annotate-memory-space turns them into row copies."""
    gathers: list[ir.Operation] = []

    def collect(op: ir.Operation) -> ir.WalkResult:
        if op.name == "nkipy.gather" and not _constant_indices(op):
            gathers.append(op)
        return ir.WalkResult.ADVANCE

    func_op.walk(collect)
    for op in gathers:
        _lower_one(op)


def _constant_indices(op: ir.Operation) -> bool:
    value = op.operands[1]
    while isinstance(value, ir.OpResult) and value.owner.operation.name in _INDEX_RESHAPES:
        value = value.owner.operation.operands[0]
    return isinstance(value, ir.OpResult) and value.owner.operation.name == "arith.constant"


def _lower_one(op: ir.Operation) -> None:
    source, indices, output = op.operands
    if not all(isinstance(v.type, ir.RankedTensorType) for v in (source, indices, output)):
        _fail(op, "nkipy.gather on memrefs is not supported; lower it before bufferization")
    index_type = ir.RankedTensorType(indices.type).element_type
    # arith.index_cast only takes signless integers; ui32/si32 would fail the verifier later.
    if not ir.IntegerType(index_type).is_signless:
        _fail(op, f"nkipy.gather indices must be signless integers, got {index_type}")
    rank = ir.RankedTensorType(output.type).rank
    loc = op.location
    maps = ir.ArrayAttr.get([
        ir.AffineMapAttr.get(ir.AffineMap.get(rank, 0, [ir.AffineDimExpr.get(0)])),
        ir.AffineMapAttr.get(ir.AffineMap.get_identity(rank)),
    ])
    parallel = [linalg.IteratorType.parallel] * rank
    with loc, ir.InsertionPoint(op):
        # The clamp bounds live outside the body so they are not rebuilt per element.
        lower = arith.ConstantOp(ir.IndexType.get(), 0, loc=loc).result
        upper = _last_row(source, lower, loc)
        generic = linalg.GenericOp_([indices], [output], maps, parallel, loc=loc)
        block = generic.regions[0].blocks[0]
        with ir.InsertionPoint(block):
            row = arith.IndexCastOp(ir.IndexType.get(), block.arguments[0], loc=loc).result
            row = arith.MaxSIOp(row, lower, loc=loc).result
            row = arith.MinSIOp(row, upper, loc=loc).result
            coords = [row] + [linalg.IndexOp(d, loc=loc).result for d in range(1, rank)]
            value = tensor.ExtractOp(source, coords, loc=loc).result
            linalg.YieldOp([value], loc=loc)
    op.results[0].replace_all_uses_with(generic.results[0])
    op.erase()


def _fail(op: ir.Operation, message: str) -> NoReturn:
    raise PassError(message, loc=_source_loc(op), pass_name=PASS_NAME, ir_excerpt=str(op))


def _source_loc(op: ir.Operation) -> SourceLoc | None:
    """The op's file location; IR parsed from a string is named "-" (nkipy-kg-opt renames it)."""
    text = str(op.location)
    if (loc := source_loc_from_mlir(text)) is not None:
        return loc
    m = re.search(r'"-":(\d+):(\d+)', text)
    return SourceLoc("-", int(m.group(1)), int(m.group(2)) - 1) if m else None


def _last_row(source: ir.Value, zero: ir.Value, loc: ir.Location) -> ir.Value:
    """`dim(source, 0) - 1` as an index: a constant when static, tensor.dim otherwise."""
    shape = ir.RankedTensorType(source.type)
    if not shape.is_dynamic_dim(0):
        # max(n - 1, 0): a zero-row source is a read out of bounds no matter what; keep the IR valid.
        return arith.ConstantOp(ir.IndexType.get(), max(shape.shape[0] - 1, 0), loc=loc).result
    one = arith.ConstantOp(ir.IndexType.get(), 1, loc=loc).result
    rows = tensor.DimOp(source, zero, loc=loc).result
    return arith.SubIOp(rows, one, loc=loc).result
