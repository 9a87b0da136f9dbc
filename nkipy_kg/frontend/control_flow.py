"""`fori_loop(lower, upper, body, init)`: a bounded loop in traced code (`scf.for`).

`body(i, carry)` receives a `LoopIndex` and the loop-carried value(s). A LoopIndex
supports `+`, `-` and `*` with ints and other loop indices and can index or slice
arrays (`x[i]`, `x[i * 128:(i + 1) * 128]`); it tracks its affine form
`sum(coef * iv) + const` so slice sizes stay static and bounds are checked against
every iteration at trace time. With no traced value in `init` the loop runs eagerly
in Python, so the same kernel still runs as plain NumPy.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from nkipy_kg._mlir import arith, ir, scf
from nkipy_kg.errors import ControlFlowError, ShapeError, TraceError, UnsupportedError
from nkipy_kg.frontend import builder as _builder
from nkipy_kg.frontend.locations import user_source_loc
from nkipy_kg.frontend.traced_array import TracedArray

_LOOP_IDS = itertools.count()


class LoopIndex:
    """An `index` SSA value with a known affine form over enclosing loop ivs."""

    def __init__(self, value: ir.Value, terms: dict[int, int], const: int,
                 ranges: dict[int, tuple[int, int]]) -> None:
        self.value = value
        self.terms = {k: v for k, v in terms.items() if v}
        self.const = const
        self.ranges = ranges  # loop id -> (first, last) iteration value

    def bounds(self) -> tuple[int, int]:
        """The smallest and largest value this index takes over all iterations."""
        lo = hi = self.const
        for loop, coef in self.terms.items():
            first, last = self.ranges[loop]
            lo += min(coef * first, coef * last)
            hi += max(coef * first, coef * last)
        return lo, hi

    def minus(self, other: LoopIndex) -> int | None:
        """`self - other` if it is the same for every iteration, else None."""
        if self.terms != other.terms:
            return None
        return self.const - other.const

    def _combine(self, other: Any, sign: int, what: str) -> LoopIndex:
        loc = _builder.current().loc(what)
        if isinstance(other, LoopIndex):
            terms = dict(self.terms)
            for k, v in other.terms.items():
                terms[k] = terms.get(k, 0) + sign * v
            op = arith.AddIOp if sign > 0 else arith.SubIOp
            return LoopIndex(op(self.value, other.value, loc=loc).result, terms,
                             self.const + sign * other.const, {**self.ranges, **other.ranges})
        n = _as_int(other, what)
        value = (arith.AddIOp if sign > 0 else arith.SubIOp)(self.value, _index(n, loc), loc=loc).result
        return LoopIndex(value, self.terms, self.const + sign * n, self.ranges)

    def __add__(self, other: Any) -> LoopIndex:
        return self._combine(other, 1, "loop index +")

    __radd__ = __add__

    def __sub__(self, other: Any) -> LoopIndex:
        return self._combine(other, -1, "loop index -")

    def __rsub__(self, other: Any) -> LoopIndex:
        return (self * -1) + other

    def __neg__(self) -> LoopIndex:
        return self * -1

    def __mul__(self, other: Any) -> LoopIndex:
        n = _as_int(other, "loop index *")
        loc = _builder.current().loc("loop index *")
        value = arith.MulIOp(self.value, _index(n, loc), loc=loc).result
        return LoopIndex(value, {k: v * n for k, v in self.terms.items()}, self.const * n, self.ranges)

    __rmul__ = __mul__

    def __index__(self) -> int:
        raise ControlFlowError("a loop index has no Python value while tracing", user_source_loc(),
                               hint="use it to index or slice arrays, or combine it with + - * and ints")

    __int__ = __index__

    def __bool__(self) -> bool:
        raise ControlFlowError("Python control flow on a loop index is data-dependent", user_source_loc())

    def __repr__(self) -> str:
        return f"LoopIndex(terms={self.terms}, const={self.const})"


def _as_int(x: Any, what: str) -> int:
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x)
    raise UnsupportedError(f"{what}: a loop index combines only with ints and loop indices, "
                           f"not {type(x).__name__}", user_source_loc(what))


def _index(n: int, loc: ir.Location) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), ir.IntegerAttr.get(ir.IndexType.get(), n), loc=loc).result


def _flatten(init: Any) -> tuple[list[Any], bool]:
    if isinstance(init, (tuple, list)):
        return list(init), True
    return [init], False


def fori_loop(lower: int, upper: int, body: Callable[[Any, Any], Any], init: Any) -> Any:
    """Run `carry = body(i, carry)` for i in [lower, upper); return the final carry."""
    items, is_tuple = _flatten(init)
    b = _builder.active()
    if b is None or not any(isinstance(x, TracedArray) for x in items):
        carry = init
        for i in range(lower, upper):
            carry = body(i, carry)
        return carry
    for bound in (lower, upper):
        if not isinstance(bound, (int, np.integer)):
            raise UnsupportedError("fori_loop bounds must be Python ints (dynamic bounds are not "
                                   "supported)", user_source_loc("fori_loop"))
    from nkipy_kg.frontend.rules.common import lift
    carried = [lift(x, "fori_loop") for x in items]
    loc = b.loc("fori_loop")
    loop_id = next(_LOOP_IDS)
    op = scf.ForOp(_index(int(lower), loc), _index(int(upper), loc), _index(1, loc),
                   [c.value for c in carried], loc=loc)
    block = op.body
    iv = LoopIndex(block.arguments[0], {loop_id: 1}, 0, {loop_id: (int(lower), max(int(upper) - 1, int(lower)))})
    inner = [TracedArray(arg, c.shape, c.dtype) for arg, c in zip(block.arguments[1:], carried)]
    with b.insertion_point(block):
        result = body(iv, tuple(inner) if is_tuple else inner[0])
        outs, out_tuple = _flatten(result)
        if out_tuple != is_tuple or len(outs) != len(carried):
            raise TraceError(f"fori_loop body must return {len(carried)} value(s) shaped like init, "
                             f"got {type(result).__name__}", user_source_loc("fori_loop"))
        yielded = []
        for out, c in zip(outs, carried):
            out = lift(out, "fori_loop")
            if out.shape != c.shape:
                raise ShapeError(f"fori_loop body returned shape {out.shape} for a carry of shape {c.shape}",
                                 user_source_loc("fori_loop"))
            yielded.append(out.astype(c.dtype).value)
        scf.YieldOp(yielded, loc=loc)
    finals = [TracedArray(r, c.shape, c.dtype) for r, c in zip(op.results, carried)]
    return tuple(finals) if is_tuple else finals[0]
