"""Math decompositions of `prepare-arithmetic`: one table row per scalar op NISA has
no instruction for, rewritten inside linalg bodies into ops it has (ALU ops,
compares, selects, reciprocals and the ScalarE activations exp, log, sin, arctan,
tanh, sqrt, abs; `prepare_arithmetic_body.py` builds them).

Every decomposition computes in fp32 (the engines' internal precision): a bf16 /
f16 operand is extended first and the result truncated back, so the IR's own
semantics (checked by the per-stage CPU JIT tests) are those the hardware runs.
Activations with a limited valid input range are only given arguments inside it:
sin and cos reduce modulo 2pi into [-pi, pi], tan modulo pi, arctan uses
arctan(x) = sign(x) pi/2 - arctan(1/x) beyond |x| > 1, arcsin/arccos/arctan2 build
arguments in [-1, 1].

Known deviations from NumPy (NumPy float32 is correctly rounded or nearly so):
- the sign of zero is not carried by rounding, copysign, cbrt, arctan2 or fmod
  (copysign(1, -0.0) = 1, arctan2(0, -0.0) = 0, rint(-0.4) = +0.0);
- sin / cos / tan are within ~2e-7 absolute while |x| < 2^16 periods (4e5 for
  sin/cos), then degrade (no Payne-Hanek reduction); tan near its poles is as
  accurate as the fp32 reduced argument allows (~1e-7 / distance to the pole);
- fmod / remainder / floor_divide are exact while |x / y| < 2^12 (the products k|y|
  are split exactly), to about |x| 2^-24 beyond, and meaningless from 2^23; an
  infinite divisor gives NaN (NumPy: x);
- the logarithms (log, log2, log10, log1p, arcsinh, arccosh, arctanh) keep log's
  range [2^-64, 2^64]: log(0) is not -inf, log(inf) not inf (NaN on the simulator);
- cosh / sinh overflow from |x| > 88.7 instead of 89.4; arctan2 of two infinities
  or two subnormals is not defined.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable

from nkipy_kg._mlir import arith, ir, linalg, math
from nkipy_kg.passes.common import collect, is_inside_nkipy_region
from nkipy_kg.passes.prepare_arithmetic_body import (
    HALF_PI, IN_RANGE, PI, PI_PARTS, Body, V, atan, cos, cos_reduced, exact_product, log1p, reduce_period,
    round_even, sin, trunc, with_sign_of,
)

LN2, LN10 = pymath.log(2.0), pymath.log(10.0)
FLT_MIN = 2.0 ** -126  # smallest normal fp32: keeps reciprocals finite


def _tan(b: Body, x: V) -> V:
    r = reduce_period(b, x, PI_PARTS)                            # r in [-pi/2, pi/2]
    return b.mul(b.sin(r), b.recip(cos_reduced(b, r)))


def _asin(b: Body, x: V) -> V:
    root = b.sqrt(b.mul(b.sub(1.0, x), b.add(x, 1.0)))            # (1-x)(1+x): exact near |x| = 1
    return b.mul(b.atan(b.mul(x, b.recip(b.add(root, 1.0)))), 2.0)


def _acos(b: Body, x: V) -> V:
    return b.mul(atan(b, b.sqrt(b.mul(b.sub(1.0, x), b.recip(b.add(x, 1.0))))), 2.0)


def _atan2(b: Body, y: V, x: V) -> V:
    ay, ax = b.abs(y), b.abs(x)
    a = b.atan(b.mul(b.min(ax, ay), b.recip(b.max(b.max(ax, ay), FLT_MIN))))  # octant angle, [0, pi/4]
    a = b.select(b.gt(ay, ax), b.sub(HALF_PI, a), a)
    a = b.select(b.lt(x, 0.0), b.sub(PI, a), a)
    return with_sign_of(b, a, y)


def _cosh(b: Body, x: V) -> V:
    e = b.exp(x)
    return b.mul(b.add(e, b.recip(e)), 0.5)


def _asinh(b: Body, x: V) -> V:
    a = b.abs(x)
    a2 = b.mul(a, a)
    v = b.add(a, b.mul(a2, b.recip(b.add(b.sqrt(b.add(a2, 1.0)), 1.0))))  # sqrt(1+a^2) - 1 + a, no cancellation
    return with_sign_of(b, log1p(b, v), x)


def _acosh(b: Body, x: V) -> V:
    t = b.sub(x, 1.0)
    return log1p(b, b.add(t, b.sqrt(b.mul(t, b.add(x, 1.0)))))


def _atanh(b: Body, x: V) -> V:
    a = b.abs(x)  # on |x|, log1p's argument is >= 0, where it is well conditioned
    return with_sign_of(b, b.mul(log1p(b, b.mul(b.add(a, a), b.recip(b.sub(1.0, a)))), 0.5), x)


def _floor(b: Body, x: V) -> V:
    r = round_even(b, x)
    return b.select(b.gt(r, x), b.sub(r, 1.0), r)


def _ceil(b: Body, x: V) -> V:
    r = round_even(b, x)
    return b.select(b.lt(r, x), b.add(r, 1.0), r)


def _fmod(b: Body, x: V, y: V) -> V:
    ax, ay = b.abs(x), b.abs(y)
    k = b.sub(b.add(b.mul(ax, b.recip(ay)), 2.0 ** 23), 2.0 ** 23)  # nearest integer to |x / y|
    hi, lo = exact_product(b, k, ay)
    r = b.sub(b.sub(ax, hi), lo)  # in [-|y|/2, |y|/2], with the right sign while k < 2^12
    return with_sign_of(b, b.select(b.lt(r, 0.0), b.add(r, ay), r), x)


# scalar op -> decomposition (fp32 operands in, fp32 value out).
DECOMPOSE: dict[str, Callable[..., V]] = {
    "math.exp2": lambda b, x: b.exp(b.mul(x, LN2)),                               # 2^x = e^(x ln 2)
    "math.expm1": lambda b, x: b.mul(b.tanh(b.mul(x, 0.5)), b.add(b.exp(x), 1.0)),  # e^x - 1 = tanh(x/2) (e^x + 1)
    "math.log2": lambda b, x: b.mul(b.log(x), 1 / LN2),                          # log2 x = ln x / ln 2
    "math.log10": lambda b, x: b.mul(b.log(x), 1 / LN10),                        # log10 x = ln x / ln 10
    "math.log1p": log1p,                                # ln(1+x) = ln(u) x / (u - 1), u = 1 + x (Kahan)
    "math.cbrt": lambda b, x: with_sign_of(b, b.powf(b.abs(x), 1 / 3), x),       # cbrt x = sign(x) |x|^(1/3)
    "math.sin": sin,                                    # sin x = sin(x - 2 pi k), k = round(x / 2pi)
    "math.cos": cos,                                    # cos x = sin(pi/2 - |x - 2 pi k|)
    "math.tan": _tan,                                   # tan x = sin r / cos r, r = x - pi k
    "math.asin": _asin,                                 # arcsin x = 2 arctan(x / (1 + sqrt(1 - x^2)))
    "math.acos": _acos,                                 # arccos x = 2 arctan(sqrt((1 - x) / (1 + x)))
    "math.atan": atan,                                  # arctan x = sign(x) pi/2 - arctan(1/x) for |x| > 1
    "math.atan2": _atan2,                               # arctan(min/max of |y|, |x|), then octant selects
    "math.sinh": lambda b, x: b.mul(b.tanh(x), _cosh(b, x)),                      # sinh x = tanh x cosh x
    "math.cosh": _cosh,                                 # cosh x = (e^x + 1 / e^x) / 2
    "math.asinh": _asinh,                               # arcsinh x = sign(x) ln1p(|x| + x^2 / (1 + sqrt(1 + x^2)))
    "math.acosh": _acosh,                               # arccosh x = ln1p(t + sqrt(t (x + 1))), t = x - 1
    "math.atanh": _atanh,                               # arctanh x = sign(x) ln1p(2|x| / (1 - |x|)) / 2
    "math.roundeven": round_even,                       # (x + m) - m, m = copysign(2^23, x), for |x| < 2^23
    "math.floor": _floor,                               # floor x = r - (r > x), r = roundeven(x)
    "math.ceil": _ceil,                                 # ceil x = r + (r < x)
    "math.trunc": trunc,                                # trunc x = sign(x) floor(|x|)
    "math.copysign": lambda b, x, y: with_sign_of(b, b.abs(x), y),               # |x| with y's sign
    "arith.remf": _fmod,                                # fmod = sign(x) (|x| - k|y| [+ |y| if < 0]), k = round|x/y|
}


def _not(b: Body, p: V) -> V:
    return b.logic(arith.XOrIOp, p, b.true())


# arith.cmpf predicates the ALU has no compare for, in terms of those it has
# (oeq, ogt, oge, olt, ole, une; une is the only one true on NaN).
CMPF: dict[str, Callable[[Body, V, V], V]] = {
    "ONE": lambda b, x, y: b.logic(arith.OrIOp, b.cmp("OLT", x, y), b.cmp("OGT", x, y)),   # x < y or x > y
    "ORD": lambda b, x, y: b.logic(arith.AndIOp, b.cmp("OEQ", x, x), b.cmp("OEQ", y, y)),  # neither is NaN
    "UNO": lambda b, x, y: (b.cmp("UNE", x, x) if x == y                                     # isnan: x != x
                            else b.logic(arith.OrIOp, b.cmp("UNE", x, x), b.cmp("UNE", y, y))),
    "UEQ": lambda b, x, y: _not(b, CMPF["ONE"](b, x, y)),                                  # not (x < y or x > y)
    "UGT": lambda b, x, y: _not(b, b.cmp("OLE", x, y)),
    "UGE": lambda b, x, y: _not(b, b.cmp("OLT", x, y)),
    "ULT": lambda b, x, y: _not(b, b.cmp("OGE", x, y)),
    "ULE": lambda b, x, y: _not(b, b.cmp("OGT", x, y)),
}
_CMPF_BY_VALUE = {int(getattr(arith.CmpFPredicate, name)): name for name in CMPF}
# Named elementwise ops without an instruction: rewritten as a generic over their math op.
NAMED = {"linalg.floor": math.FloorOp, "linalg.ceil": math.CeilOp}


def decompose_math(module_op: ir.Operation) -> None:
    """Rewrite named floor/ceil into generics, then every table op in linalg bodies."""
    for op in collect(module_op, lambda o: o.name in NAMED and not is_inside_nkipy_region(o)):
        _named_to_generic(op)
    for op in collect(module_op, _is_target):
        if op.name == "arith.cmpf":
            _rewrite_cmpf(op)
        else:
            _rewrite(op)


def _is_target(op: ir.Operation) -> bool:
    parent = op.parent
    if parent is None or not parent.name.startswith("linalg.") or is_inside_nkipy_region(parent):
        return False
    if op.name == "arith.cmpf":
        return ir.IntegerAttr(op.attributes["predicate"]).value in _CMPF_BY_VALUE
    if op.name not in DECOMPOSE or IN_RANGE in op.attributes:
        return False
    t = op.results[0].type
    return isinstance(t, ir.FloatType) and ir.FloatType(t).width <= 32  # f64 has no engine


def _rewrite(op: ir.Operation) -> None:
    b = Body(op)
    t = op.results[0].type
    args = [b.to_f32(v) for v in op.operands]
    value = DECOMPOSE[op.name](b, *args)
    if t != b.f32:
        with b.loc, ir.InsertionPoint(op):
            value = arith.TruncFOp(t, value, loc=b.loc).result
    op.results[0].replace_all_uses_with(value)
    op.erase()


def _rewrite_cmpf(op: ir.Operation) -> None:
    b = Body(op)
    name = _CMPF_BY_VALUE[ir.IntegerAttr(op.attributes["predicate"]).value]
    value = CMPF[name](b, op.operands[0], op.operands[1])
    op.results[0].replace_all_uses_with(value)
    op.erase()


def _named_to_generic(op: ir.Operation) -> None:
    """linalg.floor ins(%x) outs(%e) -> linalg.generic { math.floor } with identity maps."""
    x, init = op.operands[0], op.operands[1]
    rank = ir.ShapedType(init.type).rank
    loc = op.location
    with loc, ir.InsertionPoint(op):
        identity = ir.AffineMapAttr.get(ir.AffineMap.get_identity(rank))
        parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
        generic = linalg.GenericOp([r.type for r in op.results], [x], [init], ir.ArrayAttr.get([identity] * 2),
                                   ir.ArrayAttr.get([parallel] * rank), loc=loc)
        elem_in, elem_out = ir.ShapedType(x.type).element_type, ir.ShapedType(init.type).element_type
        block = generic.regions[0].blocks.append(elem_in, elem_out)
    with loc, ir.InsertionPoint(block):
        value = NAMED[op.name](block.arguments[0], loc=loc).result
        linalg.YieldOp([value], loc=loc)
    for name in op.attributes:
        if name != "operandSegmentSizes":  # discardable ones such as nkipy.op_id stay
            generic.operation.attributes[name] = op.attributes[name]
    for old, new in zip(op.results, generic.results):
        old.replace_all_uses_with(new)
    op.erase()
