"""Pass `prepare-arithmetic`: rewrite arithmetic NISA lacks into arithmetic it has.

Two parts, in this order:

1. **Math decompositions** (`prepare_arithmetic_math.py`, one table row per op):
   scalar ops inside linalg bodies with no instruction (exp2, expm1, log2, log10,
   log1p, cbrt, sin, cos, tan, arcsin, arccos, arctan, arctan2, the hyperbolic
   functions and their inverses, floor, ceil, trunc, roundeven, copysign, remf, and
   the `arith.cmpf` predicates one/ord/uno/ueq/ugt/uge/ult/ule) become ALU ops,
   compares, selects, reciprocals and activations, computed in fp32 with every
   limited-range activation given arguments inside its valid range (sin and cos are
   reduced modulo 2pi, arctan beyond |x| > 1). Named `linalg.floor` / `linalg.ceil`
   become generics first.
2. **Division** (NISA has no divide; floating point only, integer division is left alone):

| before | after |
|---|---|
| `linalg.div(A, B)` | `linalg.mul(A, linalg.reciprocal(B))` |
| generic, body `divf(x, c)`, c a constant | body `mulf(x, 1/c)` |
| 1-input generic `1 / x` (identity maps, body only the divide) | `linalg.reciprocal(x)` |
| 1-input generic `c / x` (same shape) | `linalg.mul(linalg.fill(c), linalg.reciprocal(x))` |
| generic, body `divf(y, x)`, x an input's argument used only there (broadcast divide) | input -> `reciprocal(input)`, `divf` -> `mulf` |
| generic, any other `divf(y, v)` | body `mulf(y, divf(1.0, v))`: `divf(1.0, v)` is a body reciprocal (one `nisa.reciprocal`) |

Generics must be all-parallel (elementwise, possibly broadcasting) for the divide
rewrites; reductions are left alone (the frontend never divides inside one). The
`nkipy.layout` / `nkipy.tile_op` on a divide's result are cloned onto the new
reciprocal result when both have the same shape (the multiply inherits the
originals); discardable attributes such as `nkipy.op_id` move to the multiply.

    %d = linalg.div ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>

becomes

    %e0 = tensor.empty() : tensor<4x8xf32>
    %r = linalg.reciprocal ins(%b : tensor<4x8xf32>) outs(%e0 : tensor<4x8xf32>) -> tensor<4x8xf32>
    %d = linalg.mul ins(%a, %r : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>

and a body `%y = math.exp2 %x : f32` becomes

    %c = arith.constant 0.693147182 : f32
    %t = arith.mulf %x, %c : f32
    %y = math.exp %t : f32

Beyond the reference: a constant divisor of zero is rewritten too (x * (1/±0)
equals x / ±0 for every IEEE x, NaN and infinities included), a constant
divisor is rewritten in generics with any number of inputs, a divisor computed in
the body or used elsewhere (NumPy's floor_divide) becomes a body reciprocal
instead of being left for the backend to trip over, and the math ops above are
decomposed (the reference leaves them to the NKI emitter). A division by a scalar
(non-tensor) operand is a located PassError. Running the pass twice changes
nothing more (reduced `math.sin` / `math.atan` carry `nkipy.in_range`).
"""

from __future__ import annotations

import functools
import math

from nkipy_kg._mlir import arith, ir, linalg, tensor
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect, is_inside_nkipy_region, iterator_types, pass_error
from nkipy_kg.passes.prepare_arithmetic_math import decompose_math
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "prepare-arithmetic"
ANNOTATIONS = frozenset({"nkipy.layout", "nkipy.tile_op"})
# Attributes of a linalg op that belong to its kind, not to the computation it names.
STRUCTURAL_ATTRS = frozenset({"operandSegmentSizes", "indexing_maps", "iterator_types"})


@python_pass(PASS_NAME, "decompose math NISA lacks; float division into reciprocal + multiply")
def prepare_arithmetic(module_op: ir.Operation) -> None:
    """Decompose math NISA lacks, then rewrite every float division (see the module docstring)."""
    decompose_math(module_op)  # first: decompositions create in-body reciprocals
    named = collect(module_op, _is_float_named_div)
    generics = collect(module_op, _is_parallel_generic_with_divf)
    for op in named:
        _rewrite_named_div(op)
    for op in generics:
        _rewrite_generic(op)


def _is_float_named_div(op: ir.Operation) -> bool:
    return (op.name == "linalg.div" and len(op.results) == 1 and _is_float_tensor(op.results[0].type)
            and not is_inside_nkipy_region(op))


def _is_parallel_generic_with_divf(op: ir.Operation) -> bool:
    if op.name != "linalg.generic" or is_inside_nkipy_region(op) or len(op.results) == 0:
        return False
    if any(t != "parallel" for t in iterator_types(op)):
        return False
    return any(inner.name == "arith.divf" for inner in op.regions[0].blocks[0].operations)


def _is_float_tensor(t: ir.Type) -> bool:
    return isinstance(t, ir.RankedTensorType) and isinstance(ir.RankedTensorType(t).element_type, ir.FloatType)


# -- named linalg.div ---------------------------------------------------------------


def _rewrite_named_div(op: ir.Operation) -> None:
    """div(A, B) -> mul(A, reciprocal(B))."""
    lhs, rhs, init = op.operands
    with op.location, ir.InsertionPoint(op):
        recip = _reciprocal(rhs, op.location)
        mul = _named(linalg.MulOp, op.results[0].type, [lhs, recip], init, op.location)
    _copy_discardable_attrs(op, mul)
    if rhs.type == op.results[0].type:
        _clone_annotations(op.results[0], recip)
    op.results[0].replace_all_uses_with(mul.results[0])
    op.erase()


# -- linalg.generic -----------------------------------------------------------------


def _rewrite_generic(op: ir.Operation) -> None:
    block = op.regions[0].blocks[0]
    divides = [inner for inner in block.operations if inner.name == "arith.divf"]
    remaining = [d for d in divides if not _fold_constant_divisor(d)]
    if len(remaining) == 1 and _is_plain_unary_divide(op, remaining[0]):
        numerator = _float_constant(remaining[0].operands[0])
        if numerator is not None:
            _replace_unary_divide(op, numerator)
            return
    for divide in remaining:
        _rewrite_divide(op, divide)


def _rewrite_divide(op: ir.Operation, divide: ir.Operation) -> None:
    """y / x with x an input read only here: the input becomes reciprocal(input) (one
    reciprocal per element of a broadcast input, not per output element); any other
    divisor: y * (1 / x) in the body, the reciprocal being one nisa.reciprocal."""
    divisor = divide.operands[1]
    num_inputs = len(op.operands) - len(op.results)
    is_input = isinstance(divisor, ir.BlockArgument) and divisor.arg_number < num_inputs
    if is_input and not isinstance(op.operands[divisor.arg_number].type, ir.RankedTensorType):
        raise pass_error(PASS_NAME, op, f"division by a scalar operand of type {op.operands[divisor.arg_number].type}",
                         "pass the divisor as a tensor or a compile-time constant")
    if is_input and sum(1 for _ in divisor.uses) == 1:
        index = divisor.arg_number
        with op.location, ir.InsertionPoint(op):
            recip = _reciprocal(op.operands[index], op.location)
        op.operands[index] = recip
        _replace_divf_by_mulf(divide, divide.operands[0], divisor)
        return
    if _float_constant(divide.operands[0]) == 1.0:
        return  # already a reciprocal in the body
    with divide.location, ir.InsertionPoint(divide):
        one = arith.ConstantOp(divide.results[0].type, 1.0, loc=divide.location).result
        recip = arith.DivFOp(one, divisor, loc=divide.location).result
    _replace_divf_by_mulf(divide, divide.operands[0], recip)


def _fold_constant_divisor(divide: ir.Operation) -> bool:
    """x / c -> x * (1/c) inside the body; False if the divisor is not a constant."""
    c = _float_constant(divide.operands[1])
    if c is None:
        return False
    inverse = 1.0 / c if c != 0.0 else math.copysign(math.inf, c)
    with divide.location, ir.InsertionPoint(divide):
        inv = arith.ConstantOp(divide.results[0].type, inverse, loc=divide.location).result
    divisor = divide.operands[1].owner.operation
    _replace_divf_by_mulf(divide, divide.operands[0], inv)
    if divisor.block == inv.owner.operation.block and not any(True for _ in divisor.results[0].uses):
        divisor.erase()  # the body's own constant, now dead
    return True


def _replace_divf_by_mulf(divide: ir.Operation, lhs: ir.Value, rhs: ir.Value) -> None:
    with divide.location, ir.InsertionPoint(divide):
        mul = arith.MulFOp(lhs, rhs, loc=divide.location)
    if "fastmath" in divide.attributes:
        mul.attributes["fastmath"] = divide.attributes["fastmath"]
    divide.results[0].replace_all_uses_with(mul.result)
    divide.erase()


def _is_plain_unary_divide(op: ir.Operation, divide: ir.Operation) -> bool:
    """One input, identity maps, same type in and out, body = constants + divf + yield."""
    if len(op.operands) != 2 or op.operands[0].type != op.results[0].type:
        return False
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    if any(m != ir.AffineMap.get_identity(m.n_dims) for m in maps):
        return False
    body = list(op.regions[0].blocks[0].operations)
    others = [b for b in body if b.name not in ("arith.constant", "linalg.yield")]
    yield_op = body[-1]
    return others == [divide] and list(yield_op.operands) == [divide.results[0]]


def _replace_unary_divide(op: ir.Operation, numerator: float) -> None:
    """1/x -> reciprocal(x); c/x -> mul(fill(c), reciprocal(x))."""
    x, init = op.operands[0], op.operands[1]
    result_type = ir.RankedTensorType(op.results[0].type)
    loc = op.location
    with loc, ir.InsertionPoint(op):
        if numerator == 1.0:
            new = _named(linalg.ReciprocalOp, result_type, [x], init, loc)
            recip = new.results[0]
        else:
            recip = _reciprocal(x, loc)
            scalar = arith.ConstantOp(result_type.element_type, numerator, loc=loc).result
            fill = linalg.FillOp([result_type], [scalar], [_empty_like(result_type, loc)], loc=loc)
            linalg.fill_builtin_region(fill.operation)
            new = _named(linalg.MulOp, result_type, [fill.results[0], recip], init, loc)
    _copy_discardable_attrs(op, new)
    if numerator != 1.0:
        _clone_annotations(op.results[0], recip)
    op.results[0].replace_all_uses_with(new.results[0])
    op.erase()


# -- helpers ------------------------------------------------------------------------


def _float_constant(value: ir.Value) -> float | None:
    owner = value.owner
    if isinstance(owner, ir.Block) or owner.name != "arith.constant":
        return None
    attr = owner.attributes["value"]
    return ir.FloatAttr(attr).value if isinstance(attr, ir.FloatAttr) else None


def _empty_like(t: ir.RankedTensorType, loc: ir.Location) -> ir.Value:
    return tensor.EmptyOp(list(t.shape), t.element_type, loc=loc).result


def _named(op_class: type, result_type: ir.Type, inputs: list[ir.Value], init: ir.Value,
           loc: ir.Location) -> ir.Operation:
    op = op_class([result_type], inputs, [init], loc=loc)
    linalg.fill_builtin_region(op.operation)
    return op.operation


def _reciprocal(value: ir.Value, loc: ir.Location) -> ir.Value:
    t = ir.RankedTensorType(value.type)
    return _named(linalg.ReciprocalOp, t, [value], _empty_like(t, loc), loc).results[0]


def _copy_discardable_attrs(old: ir.Operation, new: ir.Operation) -> None:
    for name in old.attributes:
        if name not in STRUCTURAL_ATTRS:
            new.attributes[name] = old.attributes[name]


def _clone_annotations(old: ir.Value, new: ir.Value) -> None:
    """Copy the layout / tile_op annotating `old` onto `new`, right after `new`'s op.

    The reciprocal is an intermediate: an HBM `mem_space` (the divide's result is
    often returned) is not copied, so infer-layout places it in SBUF.
    """
    anns = [use.owner.operation for use in old.uses if use.owner.operation.name in ANNOTATIONS]
    anns.sort(key=functools.cmp_to_key(lambda a, b: -1 if a.is_before_in_block(b) else 1))
    after = new.owner.operation
    for ann in anns:
        clone = ann.clone(ir.InsertionPoint.after(after))
        clone.operands[0] = new
        if clone.name == "nkipy.layout" and "mem_space" in clone.attributes:
            space = ir.IntegerAttr(clone.attributes["mem_space"]).value
            if space in (MemSpace.Hbm, MemSpace.SharedHbm):
                del clone.attributes["mem_space"]
        if clone.name == "nkipy.layout" and len(clone.attributes) == 0:
            clone.erase()
            continue
        after = clone
