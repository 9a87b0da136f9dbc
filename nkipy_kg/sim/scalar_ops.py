"""`arith` ops on index/integer/float scalars around NISA instructions (loop and
offset math). Each decoder returns a closure `run(vals)` over value slots."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

from nkipy_kg._mlir import ir
from nkipy_kg.errors import SimError


def _const(op, slot, loc):
    attr = op.attributes["value"]
    if isinstance(attr, ir.FloatAttr):
        value = ir.FloatAttr(attr).value
    elif isinstance(attr, ir.IntegerAttr):
        value = ir.IntegerAttr(attr).value
    elif isinstance(attr, ir.BoolAttr):  # i1 `true` / `false`
        value = int(ir.BoolAttr(attr).value)
    else:
        raise SimError(f"arith.constant {attr} is not a scalar; the simulator needs scalar constants", loc)
    out = slot(op.results[0])

    def run(vals: list) -> None:
        vals[out] = value
    return run


def _div_trunc(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _binary(fn: Callable) -> Callable:
    def decode(op, slot, loc):
        a, b = (slot(v) for v in op.operands)
        out = slot(op.results[0])

        def run(vals: list) -> None:
            try:
                vals[out] = fn(vals[a], vals[b])
            except ZeroDivisionError:
                raise SimError(f"{op.name}: division by zero", loc) from None
        return run
    return decode


def _unary(fn: Callable) -> Callable:
    def decode(op, slot, loc):
        a = slot(op.operands[0])
        out = slot(op.results[0])

        def run(vals: list) -> None:
            vals[out] = fn(vals[a])
        return run
    return decode


_CMP = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge,
        operator.lt, operator.le, operator.gt, operator.ge]  # slt.. then ult.. (non-negative indices)


def _cmpi(op, slot, loc):
    pred = _CMP[ir.IntegerAttr(op.attributes["predicate"]).value]
    return _binary(lambda a, b: pred(a, b))(op, slot, loc)


def _select(op, slot, loc):
    c, a, b = (slot(v) for v in op.operands)
    out = slot(op.results[0])

    def run(vals: list) -> None:
        vals[out] = vals[a] if vals[c] else vals[b]
    return run


SCALAR_OPS: dict[str, Callable] = {
    "arith.constant": _const,
    "arith.addi": _binary(operator.add), "arith.subi": _binary(operator.sub),
    "arith.muli": _binary(operator.mul), "arith.divui": _binary(operator.floordiv),
    "arith.divsi": _binary(_div_trunc), "arith.floordivsi": _binary(operator.floordiv),
    "arith.ceildivsi": _binary(lambda a, b: -(-a // b)), "arith.ceildivui": _binary(lambda a, b: -(-a // b)),
    "arith.remui": _binary(operator.mod), "arith.remsi": _binary(lambda a, b: int(math.fmod(a, b))),
    "arith.minsi": _binary(min), "arith.minui": _binary(min), "arith.maxsi": _binary(max),
    "arith.maxui": _binary(max), "arith.andi": _binary(operator.and_), "arith.ori": _binary(operator.or_),
    "arith.addf": _binary(operator.add), "arith.subf": _binary(operator.sub),
    "arith.mulf": _binary(operator.mul), "arith.divf": _binary(operator.truediv),
    "arith.index_cast": _unary(int), "arith.index_castui": _unary(int),
    "arith.sitofp": _unary(float), "arith.extf": _unary(float), "arith.truncf": _unary(float),
    "arith.cmpi": _cmpi, "arith.select": _select,
}
