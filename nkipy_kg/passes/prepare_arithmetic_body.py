"""Scalar building blocks of `prepare-arithmetic`'s math decompositions.

`Body` creates f32 `arith`/`math` ops inside a linalg body, before the op being
decomposed and with its location; float arguments become `arith.constant`s. Every
op it creates is one `linalg-to-nisa` lowers to a single instruction (ALU op,
compare, select, reciprocal = `divf(1.0, v)`, or a ScalarE activation). The shared
pieces several table rows use (rounding, range reduction, log1p, a full-range
arctan) live here, the table itself in `prepare_arithmetic_math.py`.

Valid input ranges of the activations (neuroncore-model.md §2.2) shape the
helpers: `sin` is only taken on [-pi, pi], `atan` on [-1, 1]; such ops carry the
`IN_RANGE` unit attribute, which tells the pass they are already reduced.
"""

from __future__ import annotations

import math as pymath

import numpy as np

from nkipy_kg._mlir import arith, ir, math

IN_RANGE = "nkipy.in_range"  # on math.sin / math.atan whose argument this pass reduced
TWO_23 = float(2 ** 23)      # fp32 values at or beyond it are integers
PI = float(np.float32(pymath.pi))           # the fp32 pi the simulator allows
HALF_PI = float(np.float32(pymath.pi / 2))
HALF_PI_LO = pymath.pi / 2 - HALF_PI         # what fp32 pi/2 misses (-4.4e-8)
# 1.5 * 2^23 rounds any |v| < 2^22 to an integer in fp32 (the range reductions only
# need *an* integer near v, so no sign or large-value handling).
MAGIC = 1.5 * 2 ** 23
SPLIT = 2.0 ** 12 + 1  # Veltkamp: v * SPLIT splits v into two 12-bit halves


def cody_waite(period: float) -> tuple[float, float, float]:
    """period as hi + mid + lo with hi and mid of 8 significant bits: k * hi and k * mid
    are exact for integers |k| < 2^16, so x - k * period loses nothing but k * lo's rounding."""
    def bits8(v: float) -> float:
        e = pymath.floor(pymath.log2(abs(v)))
        return round(v / 2.0 ** (e - 7)) * 2.0 ** (e - 7)
    hi = bits8(period)
    mid = bits8(period - hi)
    return hi, mid, float(np.float32(period - hi - mid))


TWO_PI_PARTS, PI_PARTS = cody_waite(2 * pymath.pi), cody_waite(pymath.pi)

V = ir.Value
F = ir.Value | float


class Body:
    """Builds f32 scalar ops before `anchor` (with its location)."""

    def __init__(self, anchor: ir.Operation) -> None:
        self._anchor = anchor
        self.loc = anchor.location
        with self.loc:
            self.f32 = ir.F32Type.get()

    def _at(self) -> ir.InsertionPoint:
        return ir.InsertionPoint(self._anchor)

    def v(self, x: F) -> V:
        if isinstance(x, ir.Value):
            return x
        with self.loc, self._at():
            return arith.ConstantOp(self.f32, float(x), loc=self.loc).result

    def to_f32(self, v: V) -> V:
        """v widened to fp32 (exact), the precision the engines compute in."""
        if v.type == self.f32:
            return v
        with self.loc, self._at():
            return arith.ExtFOp(self.f32, v, loc=self.loc).result

    def _op(self, cls: type, *args: F) -> V:
        values = [self.v(a) for a in args]
        with self.loc, self._at():
            return cls(*values, loc=self.loc).result

    # ALU ops (Vector engine)
    def add(self, a: F, b: F) -> V: return self._op(arith.AddFOp, a, b)
    def sub(self, a: F, b: F) -> V: return self._op(arith.SubFOp, a, b)
    def mul(self, a: F, b: F) -> V: return self._op(arith.MulFOp, a, b)
    def max(self, a: F, b: F) -> V: return self._op(arith.MaximumFOp, a, b)
    def min(self, a: F, b: F) -> V: return self._op(arith.MinimumFOp, a, b)
    def neg(self, a: V) -> V: return self._op(arith.NegFOp, a)
    def recip(self, a: V) -> V: return self._op(arith.DivFOp, 1.0, a)  # nisa.reciprocal
    def powf(self, a: F, b: F) -> V: return self._op(math.PowFOp, a, b)

    def cmp(self, pred: str, a: F, b: F) -> V:
        lhs, rhs = self.v(a), self.v(b)
        with self.loc, self._at():
            return arith.CmpFOp(getattr(arith.CmpFPredicate, pred), lhs, rhs, loc=self.loc).result

    def lt(self, a: F, b: F) -> V: return self.cmp("OLT", a, b)
    def gt(self, a: F, b: F) -> V: return self.cmp("OGT", a, b)

    def select(self, p: V, a: F, b: F) -> V:
        on_true, on_false = self.v(a), self.v(b)
        with self.loc, self._at():
            return arith.SelectOp(p, on_true, on_false, loc=self.loc).result

    def logic(self, cls: type, p: V, q: V) -> V:
        with self.loc, self._at():
            return cls(p, q, loc=self.loc).result

    def true(self) -> V:
        with self.loc, self._at():
            i1 = ir.IntegerType.get_signless(1)
            return arith.ConstantOp(i1, ir.IntegerAttr.get(i1, 1), loc=self.loc).result

    # ScalarE activations
    def fn(self, cls: type, x: V, in_range: bool = False) -> V:
        with self.loc, self._at():
            op = cls(x, loc=self.loc)
        if in_range:
            op.operation.attributes[IN_RANGE] = ir.UnitAttr.get(op.context)
        return op.result

    def abs(self, x: V) -> V: return self.fn(math.AbsFOp, x)
    def exp(self, x: V) -> V: return self.fn(math.ExpOp, x)
    def log(self, x: V) -> V: return self.fn(math.LogOp, x)
    def sqrt(self, x: V) -> V: return self.fn(math.SqrtOp, x)
    def tanh(self, x: V) -> V: return self.fn(math.TanhOp, x)
    def sin(self, x: V) -> V: return self.fn(math.SinOp, x, in_range=True)
    def atan(self, x: V) -> V: return self.fn(math.AtanOp, x, in_range=True)


# --- shared pieces ------------------------------------------------------------------


def with_sign_of(b: Body, magnitude: V, x: V) -> V:
    """magnitude (>= 0) with the sign of x; -0.0 and NaN sign bits count as positive."""
    return b.select(b.lt(x, 0.0), b.neg(magnitude), magnitude)


def round_even(b: Body, x: V) -> V:
    """Nearest integer, ties to even: (x + m) - m with m = copysign(2^23, x) rounds every
    |x| < 2^23 exactly (the sum lands in a binade of spacing 1); |x| >= 2^23, inf and
    NaN are already integral and kept."""
    m = b.select(b.lt(x, 0.0), -TWO_23, TWO_23)
    rounded = b.sub(b.add(x, m), m)
    return b.select(b.lt(b.abs(x), TWO_23), rounded, x)


def trunc(b: Body, x: V) -> V:
    """Round toward zero: floor of |x| (by rounding, stepping down where that went up),
    then x's sign back."""
    a = b.abs(x)
    r = b.sub(b.add(a, TWO_23), TWO_23)
    floor_a = b.select(b.gt(r, a), b.sub(r, 1.0), r)
    return with_sign_of(b, b.select(b.lt(a, TWO_23), floor_a, a), x)


def reduce_period(b: Body, x: V, parts: tuple[float, float, float]) -> V:
    """x - k * period with k an integer nearest x / period (Cody-Waite, `parts` from
    `cody_waite`): |result| <= period / 2 up to rounding, within ~2e-7 absolute for
    |x / period| < 2^16."""
    hi, mid, lo = parts
    k = b.sub(b.add(b.mul(x, 1 / (hi + mid + lo)), MAGIC), MAGIC)
    return b.sub(b.sub(b.sub(x, b.mul(k, hi)), b.mul(k, mid)), b.mul(k, lo))


def cos_reduced(b: Body, r: V) -> V:
    """cos r = sin(pi/2 - |r|) for |r| <= pi (argument in [-pi/2, pi/2]); fp32 pi/2's
    error is added back so cos keeps its relative accuracy near its zeros."""
    return b.sin(b.add(b.sub(HALF_PI, b.abs(r)), HALF_PI_LO))


def sin(b: Body, x: V) -> V:
    """sin of x reduced into [-pi, pi] (clamped: rounding may overshoot by an ulp)."""
    r = reduce_period(b, x, TWO_PI_PARTS)
    return b.sin(b.min(b.max(r, -PI), PI))


def cos(b: Body, x: V) -> V:
    """cos x = cos r with r = x reduced into [-pi, pi]."""
    return cos_reduced(b, reduce_period(b, x, TWO_PI_PARTS))


def atan(b: Body, x: V) -> V:
    """arctan on all of R: |x| <= 1 directly, else sign(x) * pi/2 - arctan(1/x)."""
    small = b.cmp("OLE", b.abs(x), 1.0)
    a = b.atan(b.select(small, x, b.recip(x)))
    half_pi = b.select(b.lt(x, 0.0), -HALF_PI, HALF_PI)
    return b.select(small, a, b.sub(half_pi, a))


def exact_product(b: Body, k: V, y: V) -> tuple[V, V]:
    """k * y as hi + lo, both products exact while k has at most 12 significant bits
    (Veltkamp splits y into 12-bit halves; there is no fused multiply-add)."""
    c = b.mul(y, SPLIT)
    y_hi = b.sub(c, b.sub(c, y))
    return b.mul(k, y_hi), b.mul(k, b.sub(y, y_hi))


def log1p(b: Body, x: V) -> V:
    """log(1 + x) without cancellation (Kahan): log(u) * x / (u - 1) with u = 1 + x, whose
    rounding error the ratio cancels; u == 1 means |x| is below half an ulp: x itself."""
    u = b.add(x, 1.0)
    d = b.sub(u, 1.0)
    ratio = b.mul(b.log(u), b.mul(x, b.recip(d)))
    return b.select(b.cmp("OEQ", d, 0.0), x, ratio)
