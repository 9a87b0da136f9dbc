"""Pass `apply-and-strip-transforms`: run `@__transform_main` on the module, then delete it.

`knob-driven-tiling` appends a transform-dialect schedule to the payload module.
This pass interprets it exactly like upstream `--transform-interpreter` (through
the bindings' `transform.interpreter.apply_named_sequence`, with the module as
payload), then erases every top-level transform op and the module attribute
`transform.with_named_sequence`, so no later stage sees transform IR:

    module attributes {transform.with_named_sequence} {
      func.func @f(...) { ... linalg.exp {nkipy.op_id = 0 : i64} ... }
      transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
        %m = transform.structured.match ops{["linalg.exp"]} attributes {nkipy.op_id = 0 : i64} in %root
        %t, %l = transform.structured.tile_using_for %m tile_sizes [128, 0] ...
        transform.yield
      }
    }

becomes

    module {
      func.func @f(...) { ... scf.for ... { ... linalg.exp ... } ... }
    }

A module without `@__transform_main` is left unchanged (other transform ops
included). A failing transform is a PassError "transform interpretation failed:
<MLIR's diagnostics>" located where MLIR reports the failure: the transform op or
the payload op. knob-driven-tiling gives each transform op the location of its
payload op, so either way it is the user's source line of the tiled op.
"""

from __future__ import annotations

import re

from nkipy_kg._mlir import MLIRError, ir, transform_interpreter
from nkipy_kg.passes.common import collect, pass_error
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "apply-and-strip-transforms"
ENTRY = "__transform_main"
WITH_NAMED_SEQUENCE = "transform.with_named_sequence"


@python_pass(PASS_NAME, "apply @__transform_main to the module, then erase all transform IR")
def apply_and_strip_transforms(module_op: ir.Operation) -> None:
    """Interpret @__transform_main (if any) and strip the transform ops."""
    body = module_op.regions[0].blocks[0]
    transform_ops = [op.operation for op in body.operations if op.operation.name.startswith("transform.")]
    entry = next((op for op in transform_ops if op.name == "transform.named_sequence"
                  and ir.StringAttr(op.attributes["sym_name"]).value == ENTRY), None)
    if entry is None:
        return
    _apply(module_op, entry)
    for op in transform_ops:
        op.erase()
    if WITH_NAMED_SEQUENCE in module_op.attributes:
        del module_op.attributes[WITH_NAMED_SEQUENCE]


def _apply(module_op: ir.Operation, entry: ir.Operation) -> None:
    """Run the schedule; the bindings raise ValueError (MLIRError on some paths) with the
    diagnostics as `Diagnostic message at loc(...): ...` lines."""
    try:
        transform_interpreter.apply_named_sequence(module_op, entry, module_op)
    except (ValueError, MLIRError) as exc:
        text = str(exc)
    else:
        return
    diagnostics = _DIAGNOSTIC.findall(text)
    where = _op_at(module_op, entry, diagnostics[0][0]) if diagnostics else entry
    detail = "; ".join(message for _, message in diagnostics) or text
    raise pass_error(PASS_NAME, where, f"transform interpretation failed: {detail}")


# Greedy up to the last "): " on the line: locations nest, e.g. loc("np.exp"("k.py":3:5)).
_DIAGNOSTIC = re.compile(r"(?:Diagnostic message )?at (loc\(.*\)): (.*)")


def _op_at(module_op: ir.Operation, entry: ir.Operation, loc_text: str) -> ir.Operation:
    """The op at `loc_text`: a transform op first (its location is the payload op's
    for schedules from knob-driven-tiling), else a payload op, else the entry."""
    for root in (entry, module_op):
        hits = collect(root, lambda op: str(op.location) == loc_text)
        if hits:
            return hits[0]
    return entry
