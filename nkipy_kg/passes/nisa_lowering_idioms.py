"""Activation idioms of `linalg-to-nisa`: body-op chains that are one ScalarE activation.

NumPy has no sigmoid or SiLU, so kernels spell them out, and infer-layout's fusion
puts the whole spelling in one generic body (prepare-arithmetic has turned `a / b`
into `a * (1 / b)` by then):

    %n = arith.negf %x             %n = arith.negf %x
    %e = math.exp %n               %e = math.exp %n
    %d = arith.addf %c1, %e        %d = arith.addf %c1, %e
    %s = arith.divf %c1, %d        %r = arith.divf %x, %d       (also x * (1 / d))
         -> sigmoid(x)                  -> silu(x)

Lowered op by op that is five instructions, four of them on VectorE (the reciprocal
is its slowest); as an idiom it is one `nisa.activation` (the ISA has sigmoid and
silu). `x * x` is the `square` activation: one input on ScalarE instead of a two-input
VectorE op (rmsnorm's mean of squares). The chain's intermediates must have no other reader, and `x` in both places
must be the same tile (fusion reads a shared input once, so it is one block argument).

An activation of `x + b` or `x - b`, `b` a `[P, 1]` broadcast or a constant, takes `b`
as its bias (`activation` computes `f(x * scale + bias)`, NCM §2.1; the fusion is free
on ScalarE, §3.3): softmax's `exp(x - max)` is one ScalarE pass instead of a VectorE
subtract and a ScalarE exp. Its value is `("exp", x, (b, negate, k))`; a subtracted
`[P, 1]` bias is negated first, on its `[P, 1]` temporary.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.nisa_lowering_common import constant_value
from nkipy_kg.passes.nisa_lowering_compute import ACTIVATION


def activation_idioms(compute: list[ir.Operation]) -> tuple[dict[int, tuple], set[int]]:
    """({index of the op whose value the idiom computes: (activation, input[, bias])},
    indices of the ops the idioms absorb)."""
    index = {b.results[0]: k for k, b in enumerate(compute) if len(b.results) == 1}
    idioms: dict[int, tuple[str, ir.Value]] = {}
    absorbed: set[int] = set()
    for k, b in enumerate(compute):
        found = _sigmoid(b, index, compute)
        if found is not None:
            x, chain = found
            idioms[k], absorbed = ("sigmoid", x), absorbed | chain
    for k, b in enumerate(compute):
        if b.name == "arith.mulf" and b.operands[0] == b.operands[1] and k not in idioms:
            idioms[k] = ("square", b.operands[0])  # ScalarE, not a two-input VectorE op
    for k, b in enumerate(compute):
        found = _silu(b, index, compute, idioms)
        if found is not None:
            x, chain = found
            for j in chain:
                idioms.pop(j, None)
            idioms[k], absorbed = ("silu", x), absorbed | chain
    for k, b in enumerate(compute):
        found = _biased(b, index, compute, absorbed)
        if found is not None and k not in idioms:
            func, x, bias = found
            idioms[k], absorbed = (func, x, bias), absorbed | {bias[2]}
    return idioms, absorbed


def _biased(b: ir.Operation, index: dict, compute: list[ir.Operation],
            absorbed: set[int]) -> tuple[str, ir.Value, tuple[ir.Value, bool, int]] | None:
    """`f(x + b)` / `f(x - b)`: (f, x, (b, negate, index of the add or subtract))."""
    func = ACTIVATION.get(b.name)
    if func is None or not b.name.startswith("math."):
        return None
    for name, negate in (("arith.subf", True), ("arith.addf", False)):
        arith_op = _producer(b.operands[0], name, index, compute)
        if arith_op is not None and index[b.operands[0]] not in absorbed:
            x, bias = arith_op.operands
            return func, x, (bias, negate, index[b.operands[0]])
    return None


def _single(v: ir.Value) -> bool:
    return sum(1 for _ in v.uses) == 1


def _producer(v: ir.Value, name: str, index: dict, compute: list[ir.Operation]) -> ir.Operation | None:
    k = index.get(v)
    if k is None or compute[k].name != name or not _single(v):
        return None
    return compute[k]


def _exp_neg(d: ir.Value, index: dict, compute: list[ir.Operation]) -> tuple[ir.Value, set[int]] | None:
    """`1 + exp(-x)` (either operand order): (x, indices of the add, exp and negf)."""
    add = _producer(d, "arith.addf", index, compute)
    if add is None:
        return None
    one, e = add.operands if constant_value(add.operands[0]) == 1.0 else reversed(list(add.operands))
    if constant_value(one) != 1.0:
        return None
    exp = _producer(e, "math.exp", index, compute)
    neg = exp and _producer(exp.operands[0], "arith.negf", index, compute)
    if neg is None:
        return None
    return neg.operands[0], {index[d], index[e], index[exp.operands[0]]}


def _sigmoid(b: ir.Operation, index: dict, compute: list[ir.Operation]) -> tuple[ir.Value, set[int]] | None:
    """`1 / (1 + exp(-x))`."""
    if b.name != "arith.divf" or constant_value(b.operands[0]) != 1.0:
        return None
    return _exp_neg(b.operands[1], index, compute)


def _silu(b: ir.Operation, index: dict, compute: list[ir.Operation],
          idioms: dict[int, tuple[str, ir.Value]]) -> tuple[ir.Value, set[int]] | None:
    """`x / (1 + exp(-x))` or `x * sigmoid(x)`."""
    if b.name == "arith.divf" and constant_value(b.operands[0]) != 1.0:
        found = _exp_neg(b.operands[1], index, compute)
        return found if found is not None and found[0] == b.operands[0] else None
    if b.name != "arith.mulf":
        return None
    for x, s in (b.operands, reversed(list(b.operands))):
        k = index.get(s)
        if k in idioms and idioms[k] == ("sigmoid", x) and _single(s):
            return x, {k}
    return None
