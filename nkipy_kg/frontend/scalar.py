"""Scalar (per-element) semantics of NumPy ufuncs, as arith/math ops inside linalg bodies.

Each table row maps a ufunc name to a builder `fn(args, dtype, loc) -> value`, where
`dtype` is the loop dtype the operands were already cast to. The rows follow NumPy's
definitions, not C's: integer floor_divide and remainder round toward -inf and give 0
for a zero divisor (instead of trapping), shifts by a count outside [0, bits) give 0
(or -1 for a negative right shift) instead of poison, bool add is `or`, comparisons on
bool are unsigned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import arith, ir, math
from nkipy_kg.frontend.emit import scalar_const

V = ir.Value
L = ir.Location
Scalar = Callable[[Sequence[V], np.dtype, L], V]


def cast(v: V, src: np.dtype, dst: np.dtype, loc: L) -> V:
    """Convert one element from `src` to `dst` the way `ndarray.astype` does."""
    if src == dst:
        return v
    t = dtypes.mlir_type(dst)
    if dtypes.is_bool(dst):
        zero = scalar_const(0, src, loc)
        if dtypes.is_float(src):
            return arith.CmpFOp(arith.CmpFPredicate.UNE, v, zero, loc=loc).result
        return arith.CmpIOp(arith.CmpIPredicate.ne, v, zero, loc=loc).result
    if dtypes.is_float(src) and dtypes.is_float(dst):
        if np.dtype(dst).itemsize > np.dtype(src).itemsize:
            return arith.ExtFOp(t, v, loc=loc).result
        if np.dtype(dst).itemsize < np.dtype(src).itemsize:
            return arith.TruncFOp(t, v, loc=loc).result
        # f16 <-> bf16: go through f32 so each rounding matches NumPy's.
        wide = arith.ExtFOp(ir.F32Type.get(), v, loc=loc).result
        return arith.TruncFOp(t, wide, loc=loc).result
    if dtypes.is_bool(src):
        if dtypes.is_float(dst):
            return arith.UIToFPOp(t, v, loc=loc).result
        return arith.ExtUIOp(t, v, loc=loc).result
    if dtypes.is_float(src):  # float -> int truncates toward zero, like NumPy
        return arith.FPToSIOp(t, v, loc=loc).result
    if dtypes.is_float(dst):
        return arith.SIToFPOp(t, v, loc=loc).result
    if np.dtype(dst).itemsize > np.dtype(src).itemsize:
        return arith.ExtSIOp(t, v, loc=loc).result
    return arith.TruncIOp(t, v, loc=loc).result


def _f(op: type) -> Scalar:
    return lambda a, dt, loc: op(*a, loc=loc).result


def _cmp(fpred: str, ipred: str, bpred: str) -> Scalar:
    def build(a: Sequence[V], dt: np.dtype, loc: L) -> V:
        if dtypes.is_float(dt):
            return arith.CmpFOp(getattr(arith.CmpFPredicate, fpred), *a, loc=loc).result
        pred = bpred if dtypes.is_bool(dt) else ipred
        return arith.CmpIOp(getattr(arith.CmpIPredicate, pred), *a, loc=loc).result
    return build


class NotDefined(TypeError):
    """A ufunc row has no scalar semantics for this loop dtype (e.g. reciprocal of ints)."""


def _by_kind(f: Scalar | None, i: Scalar | None, b: Scalar | None = None) -> Scalar:
    def build(a: Sequence[V], dt: np.dtype, loc: L) -> V:
        fn = f if dtypes.is_float(dt) else (b if dtypes.is_bool(dt) and b else i)
        if fn is None:
            raise NotDefined(f"not defined for dtype {dt}")
        return fn(a, dt, loc)
    return build


def _int_floor_div(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    x, y = a
    zero, one = scalar_const(0, dt, loc), scalar_const(1, dt, loc)
    is_zero = arith.CmpIOp(arith.CmpIPredicate.eq, y, zero, loc=loc).result
    safe = arith.SelectOp(is_zero, one, y, loc=loc).result  # x // 0 would trap; NumPy gives 0
    q = arith.FloorDivSIOp(x, safe, loc=loc).result
    return arith.SelectOp(is_zero, zero, q, loc=loc).result


def _int_remainder(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    x, y = a
    q = _int_floor_div(a, dt, loc)
    r = arith.SubIOp(x, arith.MulIOp(q, y, loc=loc).result, loc=loc).result
    is_zero = arith.CmpIOp(arith.CmpIPredicate.eq, y, scalar_const(0, dt, loc), loc=loc).result
    return arith.SelectOp(is_zero, scalar_const(0, dt, loc), r, loc=loc).result


def _float_remainder(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    """NumPy's remainder takes the divisor's sign: r = fmod(x, y); r += y if signs differ."""
    x, y = a
    r = arith.RemFOp(x, y, loc=loc).result
    zero = scalar_const(0.0, dt, loc)
    r_neg = arith.CmpFOp(arith.CmpFPredicate.OLT, r, zero, loc=loc).result
    y_neg = arith.CmpFOp(arith.CmpFPredicate.OLT, y, zero, loc=loc).result
    r_nz = arith.CmpFOp(arith.CmpFPredicate.ONE, r, zero, loc=loc).result
    differ = arith.XOrIOp(r_neg, y_neg, loc=loc).result
    fix = arith.AndIOp(differ, r_nz, loc=loc).result
    return arith.SelectOp(fix, arith.AddFOp(r, y, loc=loc).result, r, loc=loc).result


def _float_floor_div(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    x, y = a
    r = _float_remainder(a, dt, loc)
    exact = arith.DivFOp(arith.SubFOp(x, r, loc=loc).result, y, loc=loc).result
    return math.RoundEvenOp(exact, loc=loc).result


def _neg(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    if dtypes.is_float(dt):
        return arith.NegFOp(a[0], loc=loc).result
    return arith.SubIOp(scalar_const(0, dt, loc), a[0], loc=loc).result


def _square(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    op = arith.MulFOp if dtypes.is_float(dt) else arith.MulIOp
    return op(a[0], a[0], loc=loc).result


def _reciprocal(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    if not dtypes.is_float(dt):
        raise NotDefined("reciprocal of integers is not supported")
    return arith.DivFOp(scalar_const(1.0, dt, loc), a[0], loc=loc).result


def _sign(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    """-1, 0 or 1 (NaN stays NaN), like np.sign."""
    x = a[0]
    zero, one, minus = (scalar_const(v, dt, loc) for v in (0, 1, -1))
    if dtypes.is_float(dt):
        gt = arith.CmpFOp(arith.CmpFPredicate.OGT, x, zero, loc=loc).result
        lt = arith.CmpFOp(arith.CmpFPredicate.OLT, x, zero, loc=loc).result
    else:
        gt = arith.CmpIOp(arith.CmpIPredicate.sgt, x, zero, loc=loc).result
        lt = arith.CmpIOp(arith.CmpIPredicate.slt, x, zero, loc=loc).result
    neg_or_x = arith.SelectOp(lt, minus, x if dtypes.is_float(dt) else zero, loc=loc).result
    # x == 0 (or NaN) keeps x itself for floats: 0 -> 0, NaN -> NaN.
    return arith.SelectOp(gt, one, neg_or_x, loc=loc).result


def _shift_in_range(y: V, dt: np.dtype, loc: L) -> V:
    """`0 <= y < bits` as one unsigned compare (a negative count is a huge unsigned one)."""
    bits = scalar_const(np.dtype(dt).itemsize * 8, dt, loc)
    return arith.CmpIOp(arith.CmpIPredicate.ult, y, bits, loc=loc).result


def _left_shift(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    """NumPy gives 0 for counts outside [0, bits); LLVM's shl would be poison."""
    x, y = a
    shifted = arith.ShLIOp(x, y, loc=loc).result
    return arith.SelectOp(_shift_in_range(y, dt, loc), shifted, scalar_const(0, dt, loc), loc=loc).result


def _right_shift(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    """NumPy's out-of-range counts shift the sign all the way in (-1 or 0): clamp to bits - 1."""
    x, y = a
    top = scalar_const(np.dtype(dt).itemsize * 8 - 1, dt, loc)
    count = arith.SelectOp(_shift_in_range(y, dt, loc), y, top, loc=loc).result
    return arith.ShRSIOp(x, count, loc=loc).result


def _int_abs(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    return math.AbsIOp(a[0], loc=loc).result


def _invert(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    return arith.XOrIOp(a[0], scalar_const(-1 if not dtypes.is_bool(dt) else 1, dt, loc), loc=loc).result


def _is_nan(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    return arith.CmpFOp(arith.CmpFPredicate.UNO, a[0], a[0], loc=loc).result


def _is_inf(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    mag = math.AbsFOp(a[0], loc=loc).result
    return arith.CmpFOp(arith.CmpFPredicate.OEQ, mag, scalar_const(float("inf"), dt, loc), loc=loc).result


def _is_finite(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    mag = math.AbsFOp(a[0], loc=loc).result
    return arith.CmpFOp(arith.CmpFPredicate.OLT, mag, scalar_const(float("inf"), dt, loc), loc=loc).result


def _float_power(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    return math.PowFOp(*a, loc=loc).result


def _int_power(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    return math.IPowIOp(*a, loc=loc).result


# ufunc name -> scalar builder, for the loop dtype. Binary rows first.
BINARY: dict[str, Scalar] = {
    "add": _by_kind(_f(arith.AddFOp), _f(arith.AddIOp), _f(arith.OrIOp)),
    "subtract": _by_kind(_f(arith.SubFOp), _f(arith.SubIOp)),
    "multiply": _by_kind(_f(arith.MulFOp), _f(arith.MulIOp), _f(arith.AndIOp)),
    "divide": _by_kind(_f(arith.DivFOp), None),
    "floor_divide": _by_kind(_float_floor_div, _int_floor_div),
    "remainder": _by_kind(_float_remainder, _int_remainder),
    "power": _by_kind(_float_power, _int_power),
    "maximum": _by_kind(_f(arith.MaximumFOp), _f(arith.MaxSIOp), _f(arith.OrIOp)),
    "minimum": _by_kind(_f(arith.MinimumFOp), _f(arith.MinSIOp), _f(arith.AndIOp)),
    "fmax": _by_kind(_f(arith.MaxNumFOp), _f(arith.MaxSIOp), _f(arith.OrIOp)),
    "fmin": _by_kind(_f(arith.MinNumFOp), _f(arith.MinSIOp), _f(arith.AndIOp)),
    "arctan2": _by_kind(_f(math.Atan2Op), None),
    "copysign": _by_kind(_f(math.CopySignOp), None),
    "equal": _cmp("OEQ", "eq", "eq"),
    "not_equal": _cmp("UNE", "ne", "ne"),
    "less": _cmp("OLT", "slt", "ult"),
    "less_equal": _cmp("OLE", "sle", "ule"),
    "greater": _cmp("OGT", "sgt", "ugt"),
    "greater_equal": _cmp("OGE", "sge", "uge"),
    "logical_and": _f(arith.AndIOp),
    "logical_or": _f(arith.OrIOp),
    "logical_xor": _f(arith.XOrIOp),
    "bitwise_and": _by_kind(None, _f(arith.AndIOp), _f(arith.AndIOp)),
    "bitwise_or": _by_kind(None, _f(arith.OrIOp), _f(arith.OrIOp)),
    "bitwise_xor": _by_kind(None, _f(arith.XOrIOp), _f(arith.XOrIOp)),
    "left_shift": _by_kind(None, _left_shift),
    "right_shift": _by_kind(None, _right_shift),
}

_FLOAT_ONLY = {
    "exp": math.ExpOp, "exp2": math.Exp2Op, "expm1": math.ExpM1Op, "log": math.LogOp,
    "log2": math.Log2Op, "log10": math.Log10Op, "log1p": math.Log1pOp, "sqrt": math.SqrtOp,
    "cbrt": math.CbrtOp, "tanh": math.TanhOp, "sin": math.SinOp, "cos": math.CosOp,
    "tan": math.TanOp, "arcsin": math.AsinOp, "arccos": math.AcosOp, "arctan": math.AtanOp,
    "sinh": math.SinhOp, "cosh": math.CoshOp, "arcsinh": math.AsinhOp, "arccosh": math.AcoshOp,
    "arctanh": math.AtanhOp, "floor": math.FloorOp, "ceil": math.CeilOp, "trunc": math.TruncOp,
    "rint": math.RoundEvenOp,
}

# NumPy >= 2.1 defines these on integers and bools as the identity (same dtype).
_ROUNDING = {"floor", "ceil", "trunc"}


def _same(a: Sequence[V], dt: np.dtype, loc: L) -> V:
    return a[0]


UNARY: dict[str, Scalar] = {
    **{name: _by_kind(_f(op), _same if name in _ROUNDING else None) for name, op in _FLOAT_ONLY.items()},
    "negative": _neg,
    "positive": lambda a, dt, loc: a[0],
    "absolute": _by_kind(_f(math.AbsFOp), _int_abs, lambda a, dt, loc: a[0]),
    "square": _square,
    "reciprocal": _reciprocal,
    "sign": _sign,
    "invert": _by_kind(None, _invert, _invert),
    "logical_not": lambda a, dt, loc: _invert(a, dt, loc),
    "isnan": _by_kind(_is_nan, None),
    "isinf": _by_kind(_is_inf, None),
    "isfinite": _by_kind(_is_finite, None),
}

# Ufuncs whose operands are first converted to bool (NumPy's logical_* loops).
LOGICAL = {"logical_and", "logical_or", "logical_xor", "logical_not"}
# Ufuncs whose result is bool while the loop runs in the promoted input dtype.
PREDICATES = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
              "isnan", "isinf", "isfinite"}
