"""Compute rows of `linalg-to-nisa`: named elementwise ops, reductions, the
transposed-A matmul, and the per-op tables and builders the elementwise generic
lowering (`nisa_lowering_elementwise.py`) shares (see `linalg_to_nisa.py` for the table)."""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import iterator_types
from nkipy_kg.passes.nisa_lowering_broadcast import transposed
from nkipy_kg.passes.nisa_lowering_common import (
    ON_CHIP, alloc, elem, emit, error, f32_constant, memref_of, release, scalar_operand, segments, shape, space,
    target_of,
)
from nkipy_kg.passes.nisa_lowering_reduce import partition_reduce

# ALU op of each binary body op / named binary linalg op.
BINARY = {
    "arith.addf": "add", "arith.subf": "subtract", "arith.mulf": "multiply", "arith.divf": "divide",
    "arith.maximumf": "max", "arith.minimumf": "min", "arith.maxnumf": "max", "arith.minnumf": "min",
    "math.powf": "power", "arith.addi": "add", "arith.subi": "subtract", "arith.muli": "multiply",
    "arith.maxsi": "max", "arith.minsi": "min",
    "linalg.add": "add", "linalg.sub": "subtract", "linalg.mul": "multiply", "linalg.div": "divide",
    "linalg.max": "max", "linalg.min": "min", "linalg.powf": "power",
}
COMMUTATIVE = {"add", "multiply", "max", "min"}
# Activation function of each unary body op / named unary linalg op.
ACTIVATION = {
    "math.exp": "exp", "math.log": "log", "math.tanh": "tanh", "math.sqrt": "sqrt",
    "math.rsqrt": "rsqrt", "math.absf": "abs", "math.erf": "erf", "math.sin": "sin",
    "linalg.exp": "exp", "linalg.log": "log", "linalg.tanh": "tanh", "linalg.sqrt": "sqrt",
    "linalg.rsqrt": "rsqrt", "linalg.abs": "abs", "linalg.erf": "erf", "linalg.square": "square",
    "math.atan": "arctan",
}
# ALU comparison of each arith.cmpf predicate (arith::CmpFPredicate values; the ALU gives
# 1.0 / 0.0, false on NaN like the ordered predicates, true on NaN for `une` only).
CMPF = {1: "is_equal", 2: "is_gt", 3: "is_ge", 4: "is_lt", 5: "is_le", 13: "not_equal"}
# The same for arith.cmpi's signed predicates (arith::CmpIPredicate: eq, ne, slt, sle, sgt,
# sge); the ALU compares in fp32, exact for the |v| < 2^24 of indices and counters.
CMPI = {0: "is_equal", 1: "not_equal", 2: "is_lt", 3: "is_le", 4: "is_gt", 5: "is_ge"}
# Boolean (i1) logic as the ALU's logical ops on 1.0 / 0.0 (on wider integers these
# arith ops are bitwise and have no row here).
LOGICAL_I1 = {"arith.andi": "logical_and", "arith.ori": "logical_or", "arith.xori": "logical_xor"}
CASTS = {"arith.truncf", "arith.extf", "linalg.copy"}
# Reduction op of each combiner.
REDUCE = {"arith.addf": "add", "arith.mulf": "multiply", "arith.maximumf": "max", "arith.maxnumf": "max",
          "arith.minimumf": "min", "arith.minnumf": "min", "arith.addi": "add"}
# all / any over booleans (1.0 / 0.0): min / max; on wider integers andi / ori are bitwise.
REDUCE_I1 = {"arith.andi": "min", "arith.ori": "max"}
PARTITION_REDUCE = {"add", "max", "min"}  # min as -max(-x)


# --- operand kinds: ("tile", memref) full shape, ("pvec", [P,1] memref), ("scalar", f32 value)

def unary(origin: ir.Operation, kind: str, src: tuple, dst: ir.Value) -> None:
    """dst = kind(src) for a full tile src."""
    if src[0] != "tile":
        raise error(origin, f"unary '{kind}' of a broadcast operand is not supported")
    x = src[1]
    if kind == "reciprocal":
        emit(origin, "reciprocal", [dst, x])
    elif kind == "negate":
        emit(origin, "tensor_scalar_arith", [dst, x, f32_constant(origin, -1.0)],
             op0="multiply", operandSegmentSizes=segments(True, True, True, False))
    elif kind == "copy":
        emit(origin, "tensor_copy", [dst, x])
    else:
        emit(origin, "activation", [dst, x], op=kind, operandSegmentSizes=segments(True, True, False, False))


def binary(origin: ir.Operation, alu: str, lhs: tuple, rhs: tuple, dst: ir.Value) -> None:
    if {lhs[0], rhs[0]} == {"tile", "bcast"}:
        lhs, rhs = ("tile", lhs[1]), ("tile", rhs[1])  # tensor_tensor broadcasts size-1 free dims
    if lhs[0] == "tile" and rhs[0] == "tile":
        if space(lhs[1]) == MemSpace.Psum and space(rhs[1]) == MemSpace.Psum:
            raise error(origin, "both inputs in PSUM; a Vector instruction reads at most one")
        emit(origin, "tensor_tensor_arith", [dst, lhs[1], rhs[1]], op=alu)
        return
    if lhs[0] == "tile":
        tile, other, reverse = lhs[1], rhs, False
    elif rhs[0] == "tile":
        tile, other, reverse = rhs[1], lhs, alu not in COMMUTATIVE
    else:
        raise error(origin, f"'{alu}' of two broadcast operands is not supported")
    operand = scalar_operand(origin, other[1]) if other[0] == "scalar" else other[1]
    emit(origin, "tensor_scalar_arith", [dst, tile, operand], op0=alu, reverse0=reverse or None,
         operandSegmentSizes=segments(True, True, True, False))


def map_results(m: ir.Attribute) -> list[str]:
    text = str(ir.AffineMapAttr(m).value)
    return [r.strip() for r in text.split("->")[1].strip().strip("()").split(",") if r.strip()]


def map_dims(m: ir.Attribute) -> list[str]:
    text = str(ir.AffineMapAttr(m).value)
    return [d.strip() for d in text.split("->")[0].strip().strip("()").split(",") if d.strip()]


def operand_kind(origin: ir.Operation, value: ir.Value, m: ir.Attribute) -> tuple:
    dims, res = map_dims(m), map_results(m)
    if res == dims:
        return ("tile", value)
    if len(dims) > 2 and _free_broadcast(res, dims, shape(value)):
        return ("bcast", value)  # [P, 1, F] read across a middle dim: a zero-stride access pattern
    if len(dims) != 2:
        raise error(origin, f"operand indexing map {ir.AffineMapAttr(m).value} over {len(dims)} dims: "
                            "only identities are supported beyond 2-D tiles")
    if res == [dims[1], dims[0]] and shape(value)[0] == 1:
        return ("transposed_row", value)  # a [1, n] row read down an [n, 1] column
    if res and res[0] == dims[0] and all(r == "0" for r in res[1:]) and shape(value)[1:] == [1] * (len(res) - 1):
        if len(res) != 2:
            raise error(origin, f"per-partition broadcast operand {value.type} must be a [P, 1] tile")
        return ("pvec", value)
    if len(res) == 2 and res == ["0", dims[1]] and shape(value)[0] == 1:
        return ("row", value)
    if len(res) == 2 and res == [dims[1], "0"] and shape(value)[1] == 1:
        return ("column_row", value)  # an [F, 1] column read along the free axis
    raise error(origin, f"operand indexing map {ir.AffineMapAttr(m).value} is not an identity, "
                        "a per-partition [P, 1] broadcast, a [1, F] row broadcast or an [F, 1] column "
                        "read along the free axis (other broadcasts are not supported by linalg-to-nisa yet)")


def _free_broadcast(res: list[str], dims: list[str], value_shape: list[int]) -> bool:
    """An operand read through `(d0, ..., 0, ..., dn)`: every result its own dim or a
    constant 0 on a size-1 free dim (never the partition dim)."""
    if len(res) != len(dims) or res[0] != dims[0] or "0" not in res:
        return False
    return all(r == d or (r == "0" and n == 1) for r, d, n in zip(res, dims, value_shape))


def lower_named(op: ir.Operation) -> None:
    name = op.name
    ins = list(op.operands)[:-1]
    dst = op.operands[len(op.operands) - 1]
    tiles = [("tile", v) for v in ins]
    for v in ins:
        if shape(v) != shape(dst):
            raise error(op, f"{name} with operand shape {shape(v)} != output {shape(dst)}")
    if name in BINARY:
        binary(op, BINARY[name], tiles[0], tiles[1], dst)
    elif name in ACTIVATION:
        unary(op, ACTIVATION[name], tiles[0], dst)
    elif name == "linalg.reciprocal":
        unary(op, "reciprocal", tiles[0], dst)
    elif name == "linalg.negf":
        unary(op, "negate", tiles[0], dst)
    elif name == "linalg.copy":
        unary(op, "copy", tiles[0], dst)
    else:
        raise error(op, f"no nisa lowering for {name}")
    op.erase()


def body_ops(op: ir.Operation) -> tuple[ir.Block, list[ir.Operation]]:
    block = op.regions[0].blocks[0]
    ops = [o.operation for o in block.operations]
    return block, ops


def lower_reduction(op: ir.Operation) -> None:
    """out = out <op> reduce(in): reduce into an SBUF temporary, then combine (the
    combine is what accumulates across tiles of the reduced axis)."""
    block, body = body_ops(op)
    args = list(block.arguments)
    if len(body) == 3 and body[0].name == "arith.extf" and body[0].operands[0] == args[0]:
        args[0] = body[0].results[0]  # a fused widening: tensor_reduce_arith reads narrow tiles
        body = body[1:]
    if len(op.operands) != 2 or len(body) != 2:
        raise error(op, "only single-input reductions with a single combiner are supported")
    comb = body[0]
    table = {**REDUCE, **REDUCE_I1} if str(comb.results[0].type) == "i1" else REDUCE
    if comb.name not in table or {comb.operands[0], comb.operands[1]} != {args[0], args[1]}:
        raise error(op, f"reduction combiner '{comb.name}' is not one of {sorted(table)}")
    alu = table[comb.name]
    src, dst = op.operands[0], op.operands[1]
    maps = list(ir.ArrayAttr(op.attributes["indexing_maps"]))
    if map_results(maps[0]) != map_dims(maps[0]):
        raise error(op, "reduction input map is not the identity")
    iters = iterator_types(op)
    red = [i for i, t in enumerate(iters) if t == "reduction"]
    rank = len(iters)
    if space(dst) not in ON_CHIP or (space(src) not in ON_CHIP and red != [0]):
        raise error(op, "reduction operands must be on chip (SBUF/PSUM)")
    if red and red == list(range(rank - len(red), rank)) and red[0] > 0:
        # A max or min is one of its inputs, exact in their dtype: a 16-bit partial lets
        # VectorE reduce a 16-bit tile at twice the rate (NCM §3.1); sums stay fp32.
        exact = alu in ("max", "min") and isinstance(elem(src), ir.FloatType) and elem(src) == elem(dst)
        tmp = alloc(op, memref_of(shape(dst), elem(src) if exact else ir.F32Type.get(), MemSpace.Sbuf))
        emit(op, "tensor_reduce_arith", [tmp, src], op=alu, num_r_dim=len(red))
        temps = [tmp]
    elif red == [0]:
        if alu not in PARTITION_REDUCE:
            raise error(op, f"partition-axis reduction '{alu}' is not supported by cross_partition_reduce")
        if space(src) == MemSpace.Psum:
            raise error(op, "partition-axis reduction reads SBUF (or HBM, staged) only")
        tmp = partition_reduce(op, src, alu)  # SBUF directly, HBM 128 rows at a time
        temps = [tmp]
        out = map_results(maps[1])
        if rank == 2 and out == ["d1", "0"]:  # a 1-D result lives as an [F, 1] column
            tmp = transposed(op, tmp, temps)
        elif shape(dst) != shape(tmp):
            raise error(op, f"partition-axis reduction into {dst.type} with map {out}: expected [1, F]")
    else:
        raise error(op, f"reduction over axes {red} of a rank-{rank} tile: only trailing free axes "
                        "or the partition axis alone are supported")
    engine = "GpSimd" if _combine_on_gpsimd(op, dst, tmp) else None
    emit(op, "tensor_tensor_arith", [dst, dst, tmp], op=alu, engine=engine)
    for t in temps:
        release(op, t)
    op.erase()


# A combine this small (elements per partition) is all fixed cost on any engine.
_SMALL_COMBINE = 16


def _combine_on_gpsimd(op: ir.Operation, dst: ir.Value, tmp: ir.Value) -> bool:
    """Accumulate a per-tile row statistic ([P, 1]: a max or a sum) on GpSimd, not on
    VectorE, which has just reduced the tile and reduces the next one meanwhile: the
    combine reads what the reduce wrote, so on VectorE it also pays the dependent-
    instruction overhead, and costs more than a 128 x 128 reduce. Only where VectorE
    and GpSimdE may use SBUF at the same time (trn2) and both tiles are in SBUF."""
    if not target_of(op).vector_gpsimd_share_sbuf:
        return False
    if space(dst) != MemSpace.Sbuf or space(tmp) != MemSpace.Sbuf:
        return False
    size = 1
    for d in shape(dst)[1:]:
        size *= d
    return size <= _SMALL_COMBINE

TRANSPOSED_A = (["d2", "d0"], ["d2", "d1"], ["d0", "d1"])


def lower_matmul(op: ir.Operation) -> ir.Operation:
    """Transposed-A matmul `C[M,N] += A[K,M]^T B[K,N]` -> nisa.matmul (accumulate = true;
    `linalg_to_nisa` clears it on the first K tile)."""
    if "indexing_maps" not in op.attributes:
        raise error(op, "matmul without transposed-A indexing maps; legalize-layout should have "
                        "put A in the stationary [K, M] layout")
    maps = tuple(map_results(m) for m in ir.ArrayAttr(op.attributes["indexing_maps"]))
    if maps != TRANSPOSED_A:
        raise error(op, f"matmul indexing maps {maps} are not transposed-A (K, M) x (K, N) -> (M, N)")
    a, b, c = op.operands[0], op.operands[1], op.operands[2]
    new = emit(op, "matmul", [c, a, b], accumulate=True)
    op.erase()
    return new
