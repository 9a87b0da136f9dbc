"""Custom ops of `linalg-to-nisa`: inline each hand-written NISA body at its call.

A traced `CustomOp` call is `func.call @__custom_op__<name>` to a private declaration
marked `nkipy.custom_op`; the body text is in the module's `nkipy.custom_op_bodies`
dictionary (see `nkipy_kg/frontend/custom_op.py`). The body is parsed in the
module's context and its ops are moved before the call:

- return-value style (`@k(ins) -> outs`): arguments map to the call operands and the
  `func.return` operands replace the call results;
- output-as-argument style (`@k(ins, outs)`): each output argument becomes a fresh
  SharedHbm `nisa.alloc`, which then replaces the call result.

Operands and results whose memref layouts differ are bridged with `memref.cast`.
Every inlined op gets the call's location, so an error inside the body points at
the user's call line. Declarations and the dictionary are erased afterwards.

    %r = func.call @__custom_op__exp2x(%x) : (memref<256x512xf32, strided<[?, ?], offset: ?>, 4 : i32>) -> ...

becomes the body of @exp2x on `memref.cast %x`, its returned `nisa.alloc` used for %r.
"""

from __future__ import annotations

from nkipy_kg._mlir import MLIRError, ir
from nkipy_kg.frontend.custom_op import BODIES_ATTR, MARKER_ATTR, SYMBOL_PREFIX
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.nisa_lowering_common import alloc, error


def inline_custom_ops(module_op: ir.Operation) -> None:
    """Replace every custom-op call by its NISA body; erase the declarations."""
    declarations = collect(module_op, lambda o: o.name == "func.func" and MARKER_ATTR in o.attributes)
    bodies = _bodies(module_op)
    for call in collect(module_op, lambda o: o.name == "func.call"):
        callee = ir.FlatSymbolRefAttr(call.attributes["callee"]).value
        if not callee.startswith(SYMBOL_PREFIX):
            raise error(call, f"call to @{callee}: only custom-op calls can be lowered to nisa")
        name = callee[len(SYMBOL_PREFIX):]
        if name not in bodies:
            raise error(call, f"custom op {name} has no body in the module's {BODIES_ATTR}")
        _inline(call, name, bodies[name])
    for decl in declarations:
        decl.erase()
    if BODIES_ATTR in module_op.attributes:
        del module_op.attributes[BODIES_ATTR]


def _bodies(module_op: ir.Operation) -> dict[str, str]:
    if BODIES_ATTR not in module_op.attributes:
        return {}
    return {a.name: ir.StringAttr(a.attr).value for a in ir.DictAttr(module_op.attributes[BODIES_ATTR])}


def _inline(call: ir.Operation, name: str, text: str) -> None:
    try:
        body_module = ir.Module.parse(text)
    except MLIRError as exc:
        raise error(call, f"the NISA body of custom op {name} does not parse: {exc}") from None
    fn = next((o.operation for o in body_module.body.operations if o.operation.name == "func.func"
               and ir.StringAttr(o.operation.attributes["sym_name"]).value == name), None)
    if fn is None or len(fn.regions[0].blocks) == 0:
        raise error(call, f"the NISA body of custom op {name} defines no func.func @{name}")
    block = fn.regions[0].blocks[0]
    args, operands = list(block.arguments), list(call.operands)
    outputs = [alloc(call, a.type) for a in args[len(operands):]]  # output-as-argument style
    for arg, value in zip(args, operands + outputs):
        arg.replace_all_uses_with(_cast(call, value, arg.type))
    ops = [o.operation for o in block.operations]
    terminator = ops[-1]
    for op in ops[:-1]:
        op.move_before(call)
        _relocate(op, call.location)
    returned = list(terminator.operands) if not outputs else outputs
    for result, value in zip(call.results, returned):
        result.replace_all_uses_with(_cast(call, value, result.type))
    call.erase()


def _cast(origin: ir.Operation, value: ir.Value, to: ir.Type) -> ir.Value:
    if value.type == to:
        return value
    with ir.InsertionPoint(origin), origin.location:
        cast = ir.Operation.create("memref.cast", results=[to], operands=[value], loc=origin.location)
    return cast.results[0]


def _relocate(op: ir.Operation, loc: ir.Location) -> None:
    op.location = loc
    for region in op.regions:
        for block in region.blocks:
            for inner in block.operations:
                _relocate(inner.operation, loc)
