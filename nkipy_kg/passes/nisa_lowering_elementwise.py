"""The parallel `linalg.generic` row of `linalg-to-nisa`: one instruction per body op
(see `linalg_to_nisa.py` for the table; the per-op tables are in
`nisa_lowering_compute.py`).

Intermediates live in fp32 SBUF temporaries (a `truncf` keeps its narrower type,
since rounding is its point), each released after its last use. Casts that cost
nothing are not instructions: an `extf` only widens (every engine reads narrower
tiles and computes in fp32), and a final `truncf` is the rounding the last real
instruction does anyway when it writes the narrower output. Ops whose operands
are all `[P, 1]` broadcasts (or scalars) run on `[P, 1]` temporaries.
"""

from __future__ import annotations

import numpy as np

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.nisa_lowering_broadcast import broadcast_rows, column_to_row, transposed
from nkipy_kg.passes.nisa_lowering_common import (
    ON_CHIP, alloc, constant_value, emit, error, f32_constant, memref_of, release, segments, shape, space,
)
from nkipy_kg.passes.nisa_lowering_idioms import activation_idioms
from nkipy_kg.passes.nisa_lowering_compute import (
    ACTIVATION, BINARY, CASTS, CMPF, CMPI, LOGICAL_I1, binary, body_ops, map_dims, map_results, operand_kind, unary,
)

Kind = tuple  # ("tile", memref) | ("pvec", [P, 1] memref) | ("scalar", f32 value)


def lower_elementwise_generic(op: ir.Operation) -> None:
    """A parallel generic: each body op becomes one instruction, into dst for the
    last one and into SBUF temporaries for the others."""
    block, body = body_ops(op)
    maps = list(ir.ArrayAttr(op.attributes["indexing_maps"]))
    n_in = len(op.operands) - 1
    dst = op.operands[n_in]
    if map_results(maps[n_in]) != map_dims(maps[n_in]):
        raise error(op, "elementwise generic with a non-identity output map")
    if space(dst) not in ON_CHIP:
        raise error(op, "elementwise generic writing outside SBUF/PSUM")
    temps: list[ir.Value] = []
    env = _operand_env(op, block, maps, temps)
    compute = [b for b in body[:-1] if b.name != "arith.constant"]
    yielded = body[-1].operands[0]
    if not compute:
        src = env.get(yielded) or ("scalar", yielded)
        if src[0] != "tile":
            raise error(op, "generic yielding a broadcast or scalar value is not supported")
        unary(op, "copy", src, dst)
        _finish(op, temps)
        return
    if compute[-1].results[0] != yielded:
        raise error(op, "generic body does not yield its last value")
    _finish(op, [*_lower_chain(op, compute, env, dst), *temps])


def _kind(env: dict, v: ir.Value) -> Kind:
    return env.get(v) or ("scalar", v)


def _lower_chain(op: ir.Operation, compute: list[ir.Operation], env: dict, dst: ir.Value) -> list[ir.Value]:
    """One instruction per body op; returns the temporaries still held at the end."""
    writer = _writer(compute, dst)
    last_use = {v: k for k, b in enumerate(compute) for v in b.operands}
    idioms, absorbed = activation_idioms(compute)
    for k, idiom in list(idioms.items()):
        if len(idiom) == 3 and not _bias_ok(env, idiom[2][0]):  # a full-tile or runtime bias
            idioms.pop(k)
            absorbed = absorbed - {idiom[2][2]}
    for k, (_, x, *bias) in idioms.items():
        for v in (x, *(b[0] for b in bias)):
            last_use[v] = max(last_use.get(v, k), k)
    owned: dict = {}  # body value -> the temporary holding it (released after its last use)
    for k, b in enumerate(compute):
        if k in absorbed:
            continue  # computed by the activation idiom that reads it
        if k > writer or (b.name == "arith.extf" and k != writer):
            _alias(b, env, owned, last_use, k)
            continue
        operands = [idioms[k][1], *(bias[0] for bias in idioms[k][2:])] if k in idioms else list(b.operands)
        args = [_kind(env, v) for v in operands]
        small = all(a[0] != "tile" for a in args) and any(a[0] == "pvec" for a in args)
        if small and k == writer:
            raise error(op, "generic result computed from [P, 1] broadcasts only is not supported")
        out = dst
        if k != writer:
            dims = [shape(dst)[0], 1] if small else shape(dst)
            out = owned[b.results[0]] = alloc(op, memref_of(dims, _temp_type(b), MemSpace.Sbuf))
        if small:  # [P, 1] operands are whole tiles of the [P, 1] temporary
            args = [("tile", a[1]) if a[0] == "pvec" else a for a in args]
        if k in idioms and len(idioms[k]) == 3:
            _biased_activation(op, idioms[k], args[0], env, out)
        elif k in idioms:
            unary(op, idioms[k][0], args[0], out)
        else:
            _lower_body_op(op, b, args, out)
        env[b.results[0]] = ("pvec" if small else "tile", out)
        for v in operands:
            if last_use.get(v) == k and v in owned:
                release(op, owned.pop(v))
    return list(owned.values())


def _bias_ok(env: dict, bias: ir.Value) -> bool:
    kind = _kind(env, bias)
    return kind[0] == "pvec" or (kind[0] == "scalar" and constant_value(bias) is not None)


def _biased_activation(op: ir.Operation, idiom: tuple, x: Kind, env: dict, out: ir.Value) -> None:
    """out = f(x + bias) or f(x - bias) as one activation (see nisa_lowering_idioms)."""
    func, _, (bias, negate, _) = idiom
    if x[0] != "tile":
        raise error(op, f"activation '{func}' of a broadcast operand is not supported")
    kind = _kind(env, bias)
    temp = None
    if kind[0] == "scalar":
        operand = f32_constant(op, -constant_value(bias) if negate else constant_value(bias))
    elif negate:
        temp = operand = alloc(op, memref_of(shape(kind[1]), ir.F32Type.get(), MemSpace.Sbuf))
        emit(op, "tensor_scalar_arith", [temp, kind[1], f32_constant(op, -1.0)], op0="multiply",
             operandSegmentSizes=segments(True, True, True, False))
    else:
        operand = kind[1]
    emit(op, "activation", [out, x[1], operand], op=func, operandSegmentSizes=segments(True, True, True, False))
    if temp is not None:
        release(op, temp)


def _alias(b: ir.Operation, env: dict, owned: dict, last_use: dict, k: int) -> None:
    """A free cast: its result is its operand's tile (read in fp32 by the next
    instruction, or already rounded by the write into dst)."""
    src, res = b.operands[0], b.results[0]
    env[res] = _kind(env, src)
    if src in owned:  # the temporary lives until both names are dead
        owned[res] = owned.pop(src)
        last_use[res] = max(last_use.get(res, k), last_use.get(src, k))


def _finish(op: ir.Operation, temps: list[ir.Value]) -> None:
    for t in temps:
        release(op, t)
    op.erase()


def _operand_env(op: ir.Operation, block: ir.Block, maps: list, temps: list[ir.Value]) -> dict:
    """Block argument -> operand kind; rows and transposed rows become full tiles."""
    n_in = len(op.operands) - 1
    dst = op.operands[n_in]
    env: dict = {block.arguments[i]: operand_kind(op, op.operands[i], maps[i]) for i in range(n_in)}
    env[block.arguments[n_in]] = ("tile", dst)
    for arg, kind_ in list(env.items()):
        if kind_[0] == "transposed_row":
            env[arg] = ("tile", transposed(op, kind_[1], temps))
        elif kind_[0] in ("row", "column_row"):
            if len(shape(dst)) != 2:
                raise error(op, "row broadcast into a tile that is not 2-D")
            row = kind_[1] if kind_[0] == "row" else column_to_row(op, kind_[1], temps)
            env[arg] = ("tile", broadcast_rows(op, row, shape(dst), temps))
    return env


def _writer(compute: list[ir.Operation], dst: ir.Value) -> int:
    """The op that writes dst: the last one, or the one before a final truncf to dst's
    type that only rounds its fp32 result (writing dst rounds the same way)."""
    last = compute[-1]
    if len(compute) < 2 or last.name != "arith.truncf" or last.results[0].type != ir.ShapedType(dst.type).element_type:
        return len(compute) - 1
    src = last.operands[0]
    producer = compute[-2]
    if src != producer.results[0] or sum(1 for _ in src.uses) != 1 or producer.name in CASTS:
        return len(compute) - 1
    return len(compute) - 2


def _temp_type(b: ir.Operation) -> ir.Type:
    """The body op's own float type: the engines compute in fp32 and round what they
    write, which is what NumPy's bf16 ops do (a bf16 `x0 * c` is rounded before the
    subtract reads it), and 16-bit tiles run VectorE in its 2-4x mode. Non-float
    results (a compare's i1) are held as fp32 0.0 / 1.0."""
    t = b.results[0].type
    return t if isinstance(t, ir.FloatType) else ir.F32Type.get()


def _lower_body_op(op: ir.Operation, b: ir.Operation, args: list[Kind], out: ir.Value) -> None:
    name = b.name
    if name == "arith.divf" and constant_value(b.operands[0]) == 1.0:
        unary(op, "reciprocal", args[1], out)  # 1 / x: prepare-arithmetic's reciprocal form
    elif name in BINARY:
        binary(op, BINARY[name], args[0], args[1], out)
    elif name in ACTIVATION:
        unary(op, ACTIVATION[name], args[0], out)
    elif name == "arith.negf":
        unary(op, "negate", args[0], out)
    elif name == "arith.cmpf" and ir.IntegerAttr(b.attributes["predicate"]).value in CMPF:
        binary(op, CMPF[ir.IntegerAttr(b.attributes["predicate"]).value], args[0], args[1], out)
    elif name == "arith.cmpi" and ir.IntegerAttr(b.attributes["predicate"]).value in CMPI:
        binary(op, CMPI[ir.IntegerAttr(b.attributes["predicate"]).value], args[0], args[1], out)
    elif name in LOGICAL_I1 and str(b.results[0].type) == "i1":
        binary(op, LOGICAL_I1[name], args[0], args[1], out)
    elif name == "arith.select":
        _select(op, args, out)
    elif name in CASTS:
        unary(op, "copy", args[0], out)
    else:
        raise error(op, f"no nisa instruction for '{name}' in a linalg.generic body")


def _select(op: ir.Operation, args: list[Kind], out: ir.Value) -> None:
    """where(pred, a, b). Two constants: pred * (a - b) + b in one tensor_scalar when
    that is exact; other scalar or [P, 1] operands are first filled into a tile."""
    pred, on_true, on_false = args
    if pred[0] == "scalar":
        raise error(op, "select on a scalar predicate is not supported")
    filled: list[ir.Value] = []
    mask = _as_tile(op, pred, out, filled)
    pair = None
    if on_true[0] == on_false[0] == "scalar":
        pair = _exact_affine(constant_value(on_true[1]), constant_value(on_false[1]))
    if pair is not None:
        emit(op, "tensor_scalar_arith", [out, mask, f32_constant(op, pair[0]), f32_constant(op, pair[1])],
             op0="multiply", op1="add", operandSegmentSizes=segments(True, True, True, True))
    else:
        emit(op, "select", [out, mask, *(_as_tile(op, k, out, filled) for k in (on_true, on_false))])
    for t in filled:
        release(op, t)


def _exact_affine(a: float | None, b: float | None) -> tuple[float, float] | None:
    """(a - b, b) if p * (a - b) + b gives exactly a (p = 1) and b (p = 0) in fp32."""
    if a is None or b is None or not np.isfinite([a, b]).all():
        return None
    f32 = np.float32
    d = f32(a) - f32(b)
    if not np.isfinite(d) or float(d) != float(a) - float(b) or d + f32(b) != f32(a):
        return None
    return float(d), float(b)


def _as_tile(op: ir.Operation, k: Kind, like: ir.Value, temps: list[ir.Value]) -> ir.Value:
    """A full fp32 tile holding a scalar constant (memset) or a [P, 1] broadcast (0 + v)."""
    if k[0] == "tile":
        return k[1]
    tile = alloc(op, memref_of(shape(like), ir.F32Type.get(), MemSpace.Sbuf))
    temps.append(tile)
    value = 0.0 if k[0] == "pvec" else constant_value(k[1])
    if value is None:
        raise error(op, f"select branch {k[1]} is neither a tile nor a constant")
    emit(op, "memset", [tile], value=ir.FloatAttr.get(ir.F32Type.get(), value))
    if k[0] == "pvec":
        emit(op, "tensor_scalar_arith", [tile, tile, k[1]], op0="add",
             operandSegmentSizes=segments(True, True, True, False))
    return tile
