"""Pass `assign-linalg-op-ids`: give every linalg op a unique `nkipy.op_id`.

`knob-driven-tiling` builds a transform schedule that matches individual ops by
this id, so each structured linalg op (not `linalg.yield` / `linalg.index`)
outside nkipy regions gets `nkipy.op_id = N : i64`, numbered in program
(pre-order walk) order:

    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<4xf32>) -> tensor<4xf32>
    %2 = linalg.exp ins(%a : tensor<4xf32>) outs(%0 : tensor<4xf32>) -> tensor<4xf32>

becomes

    %1 = linalg.fill {nkipy.op_id = 0 : i64} ins(%cst : f32) outs(%0 : tensor<4xf32>) -> tensor<4xf32>
    %2 = linalg.exp {nkipy.op_id = 1 : i64} ins(%a : tensor<4xf32>) outs(%0 : tensor<4xf32>) -> tensor<4xf32>

Ops that already carry an id keep it (e.g. the inner matmul that
`decompose-batch-matmul` created from an annotated batch matmul). Unlike the
reference, new ids skip the ids already in use, so an existing id is never
handed out a second time.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.common import OP_ID, collect, is_inside_nkipy_region
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "assign-linalg-op-ids"

# linalg ops that are not structured (LinalgOp) ops: region terminators and helpers.
NOT_STRUCTURED = frozenset({"linalg.yield", "linalg.index"})


@python_pass(PASS_NAME, "number every linalg op with a unique nkipy.op_id attribute")
def assign_linalg_op_ids(module_op: ir.Operation) -> None:
    """Set `nkipy.op_id` on every linalg op that has none, in walk order."""
    ops = collect(module_op, _is_numbered)
    taken = {ir.IntegerAttr(op.attributes[OP_ID]).value for op in ops if OP_ID in op.attributes}
    i64 = ir.IntegerType.get_signless(64)
    counter = 0
    for op in ops:
        if OP_ID in op.attributes:
            continue
        while counter in taken:
            counter += 1
        op.attributes[OP_ID] = ir.IntegerAttr.get(i64, counter)
        counter += 1


def _is_numbered(op: ir.Operation) -> bool:
    return (op.name.startswith("linalg.") and op.name not in NOT_STRUCTURED
            and not is_inside_nkipy_region(op))
