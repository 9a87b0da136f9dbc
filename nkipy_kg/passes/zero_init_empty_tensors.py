"""Pass `zero-init-empty-tensors`: zero-fill every `tensor.empty` (or operand-less
`bufferization.alloc_tensor`) whose contents are read.

A `tensor.empty` has undefined contents. Reading them (a reduction or matmul
accumulating into it, an input operand, an `insert_slice` destination whose other
elements survive, a loop's iter_arg, ...) makes results depend on whatever was
in memory, so runs stop being reproducible. This pass inserts
`linalg.fill(0)` right after such a `tensor.empty` and makes every user read the
filled tensor instead.

Rule: a `tensor.empty` is left alone only if it is unused or every use is a
*pure-write init*: a DPS init operand (one of the last `#results` operands) of a
linalg op whose body block has one argument per operand and does not use the
argument of that init. This covers `linalg.fill`, the named elementwise ops,
`linalg.copy/transpose/broadcast` and generics that ignore their output
argument; `linalg.matmul` and `linalg.reduce` read their init and get filled.

    %e = tensor.empty() : tensor<4xf32>
    %r = linalg.reduce ins(%x : tensor<4x8xf32>) outs(%e : tensor<4xf32>) dimensions = [1] (...)

becomes

    %e = tensor.empty() : tensor<4xf32>
    %cst = arith.constant 0.000000e+00 : f32
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    %r = linalg.reduce ins(%x : tensor<4x8xf32>) outs(%z : tensor<4xf32>) dimensions = [1] (...)
"""

from __future__ import annotations

from nkipy_kg._mlir import arith, ir, linalg
from nkipy_kg.passes.registry import python_pass


@python_pass("zero-init-empty-tensors", "linalg.fill(0) every tensor.empty whose contents are read")
def zero_init_empty_tensors(module_op: ir.Operation) -> None:
    """Zero-fill each `tensor.empty` that has at least one reading use."""
    empties: list[ir.Operation] = []

    def collect(op: ir.Operation) -> ir.WalkResult:
        # An operand-less alloc_tensor is as undefined (knob-driven-fusion makes one a fused
        # matmul's accumulator: the hardware's first matmul overwrites it, NumPy's sums from 0).
        fresh = op.name == "tensor.empty" or (op.name == "bufferization.alloc_tensor" and not len(op.operands))
        if fresh and any(not _is_pure_write(use) for use in op.results[0].uses):
            empties.append(op)
        return ir.WalkResult.ADVANCE

    # Decide on the unmodified IR, then mutate: fills added earlier cannot change a decision.
    module_op.walk(collect)
    for op in empties:
        _zero_fill(op)


def _is_pure_write(use: ir.OpOperand) -> bool:
    """True if `use` is a linalg DPS init whose payload never reads the old value."""
    owner = use.owner
    if owner.name == "bufferization.materialize_in_destination":
        return use.operand_number == 1  # the destination is overwritten
    if not owner.name.startswith("linalg.") or len(owner.regions) != 1:
        return False
    num_operands, num_results = len(owner.operands), len(owner.results)
    first_init = num_operands - num_results
    if num_results == 0 or use.operand_number < first_init:
        return False  # an input (or an op on memrefs, where we cannot tell inits apart)
    blocks = owner.regions[0].blocks
    if len(blocks) != 1 or len(blocks[0].arguments) != num_operands:
        return False  # unknown body layout (e.g. linalg.map): assume it reads
    arg = blocks[0].arguments[use.operand_number]
    return not list(arg.uses)


def _zero_fill(op: ir.Operation) -> None:
    empty = op.results[0]
    element_type = ir.RankedTensorType(empty.type).element_type
    zero_attr = _zero_attr(element_type)
    if zero_attr is None:
        return  # e.g. complex: no linalg.fill-able zero constant; leave it as it was
    loc = op.location
    with loc, ir.InsertionPoint.after(op):
        zero = arith.ConstantOp(element_type, zero_attr, loc=loc).result
        # linalg.fill is an OpDSL builder: it takes its location from the `with loc` above.
        filled = linalg.fill(zero, outs=[empty])
    empty.replace_all_uses_except(filled, filled.owner.operation)


def _zero_attr(element_type: ir.Type) -> ir.Attribute | None:
    if isinstance(element_type, ir.FloatType):
        return ir.FloatAttr.get(element_type, 0.0)
    if isinstance(element_type, (ir.IntegerType, ir.IndexType)):
        return ir.IntegerAttr.get(element_type, 0)
    return None
