"""Pass `canonicalize-loop-step`: rewrite every `scf.for` with a constant step != 1 to step 1.

Tiling leaves loops such as `scf.for %i = %c0 to %c256 step %c128`. Later passes
recover tile (block) indices from offsets of the form `arith.muli %iv, C`, and
NISA cannot express the div/rem needed otherwise, so each such loop is
normalised to `0 .. (ub - lb) / step` with step 1, and the original induction
value is rebuilt at the top of the body:

    scf.for %i = %c0 to %c256 step %c128 iter_args(%acc = %init) -> (tensor<256x512xf32>) {
      %s = tensor.extract_slice %a[%i, 0] [128, 512] [1, 1] : ...

becomes

    scf.for %i = %c0_0 to %c2 step %c1 iter_args(%acc = %init) -> (tensor<256x512xf32>) {
      %m = arith.muli %i, %c128 : index
      %i_orig = arith.addi %c0, %m : index
      %s = tensor.extract_slice %a[%i_orig, 0] [128, 512] [1, 1] : ...

Loops are visited in post order (inner loops first) and rewritten in place, so
results, iter_args and the loop op itself are unchanged. With non-constant
bounds the new upper bound is `arith.ceildivsi (ub - lb), step` (the reference's
`divui` drops a partial last iteration and wraps when ub < lb). The step must be
a constant; other loops are left alone.

Unlike the reference, which silently skips a loop whose constant range is not a
multiple of its step (leaving IR later passes cannot handle), that case is a
PassError "tile size does not divide the dimension" at the loop's location (the
tiled op's source line).
"""

from __future__ import annotations

from nkipy_kg._mlir import arith, ir
from nkipy_kg.passes.common import pass_error
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "canonicalize-loop-step"


@python_pass(PASS_NAME, "normalise scf.for loops with a constant step to step 1 (iv = lb + i * step)")
def canonicalize_loop_step(module_op: ir.Operation) -> None:
    """Normalise every scf.for with a constant step other than 1 (see the module docstring)."""
    loops: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "scf.for":
            loops.append(op)
        return ir.WalkResult.ADVANCE

    module_op.walk(visit, ir.WalkOrder.POST_ORDER)  # inner loops first
    for loop in loops:  # rewritten in place: the handles stay valid
        step = _constant(loop.operands[2])
        if step is None or step == 1:
            continue
        _normalise(loop, step)


def _constant(value: ir.Value) -> int | None:
    """The integer value of an `arith.constant` index/integer, else None."""
    if not isinstance(value, ir.OpResult) or value.owner.operation.name != "arith.constant":
        return None
    attr = value.owner.operation.attributes["value"]
    return ir.IntegerAttr(attr).value if isinstance(attr, ir.IntegerAttr) else None


def _normalise(loop: ir.Operation, step: int) -> None:
    lower, upper, step_value = loop.operands[0], loop.operands[1], loop.operands[2]
    lb, ub = _constant(lower), _constant(upper)
    index = lower.type
    loc = loop.location
    with loc, ir.InsertionPoint(loop):
        if step <= 0:
            raise pass_error(PASS_NAME, loop, f"loop step {step} is not positive")
        if lb is not None and ub is not None:
            if (ub - lb) % step != 0:
                raise pass_error(PASS_NAME, loop, f"tile size does not divide the dimension: the loop runs "
                                 f"{lb} to {ub} in steps of {step} ({ub - lb} is not a multiple of {step})",
                                 "choose tile sizes that divide the tensor dims")
            trip_count = arith.ConstantOp(index, max(ub - lb, 0) // step).result
        else:
            # ceildivsi, not the reference's divui: a partial last step and ub < lb keep their meaning.
            trip_count = arith.CeilDivSIOp(arith.SubIOp(upper, lower).result, step_value).result
        zero = arith.ConstantOp(index, 0).result
        one = arith.ConstantOp(index, 1).result
    body = loop.regions[0].blocks[0]
    iv = body.arguments[0]
    with loc, ir.InsertionPoint.at_block_begin(body):
        scaled = arith.MulIOp(iv, step_value)
        original = arith.AddIOp(lower, scaled.result)
    iv.replace_all_uses_except(original.result, scaled.operation)
    loop.operands[0] = zero
    loop.operands[1] = trip_count
    loop.operands[2] = one
