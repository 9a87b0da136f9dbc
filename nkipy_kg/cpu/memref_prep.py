"""Make IR from any pipeline stage runnable on the host: the clean-up before lowering.

Mid-pipeline IR carries things that mean something on a NeuronCore only:

- integer memory spaces on memref types (`memref<128x128xf32, 3 : i32>`; Hbm=1
  Psum=2 Sbuf=3 SharedHbm=4 Constant=5). LLVM lowering would turn them into
  address spaces the host cannot use, so every type is rewritten without them:
  results, block arguments, function types and type attributes. This is a type
  rewrite on the parsed IR, not a regex on the text, so layouts
  (`strided<[?, ?], offset: ?>, 3 : i32>`) and nested types are handled alike;
- `nkipy.layout/tile_op/fuse_op` annotations (on tensors or memrefs), the
  `bufferization.to_tensor` ops that only fed them, `to_buffer(to_tensor(%m))`
  round trips, `nkipy.*` attributes and leftover transform scripts; other
  `to_tensor` ops are marked `restrict` (One-Shot Analysis rejects them otherwise)
  and bufferized with whatever tensor code remains;
- uninitialised buffers. Hardware memory holds garbage and our kernels must not
  depend on it, so every `memref.alloc`/`alloca` is zero-filled right after it
  (`tensor.empty` gets the same treatment from `zero-init-empty-tensors`);
- entry-function results with non-identity layouts (a subview, a reinterpret_cast):
  the caller receives dense NumPy arrays, so such a result is copied into a fresh
  identity-layout buffer and the function type changed accordingly.

    %a = memref.alloc() : memref<128x1xf32, 3 : i32>
    "nkipy.layout"(%a) {mem_space = 3 : i32} : (memref<128x1xf32, 3 : i32>) -> ()

becomes

    %a = memref.alloc() : memref<128x1xf32>
    %cst = arith.constant 0.000000e+00 : f32
    linalg.fill ins(%cst : f32) outs(%a : memref<128x1xf32>)
"""

from __future__ import annotations

from dataclasses import dataclass

from nkipy_kg._mlir import arith, ir, linalg, memref
from nkipy_kg.errors import IRError
from nkipy_kg.passes.strip_nkipy_annotations import ANNOTATION_OPS

ALLOC_OPS = frozenset({"memref.alloc", "memref.alloca"})
TENSOR_TYPES = (ir.RankedTensorType, ir.UnrankedTensorType)


@dataclass(frozen=True)
class IrForm:
    """What the lowering pipeline must still do for a prepared module."""

    has_tensors: bool   # tensor values remain: run one-shot-bufferize
    has_deallocs: bool  # the IR frees its own buffers: skip buffer-deallocation-pipeline


def prepare_for_cpu(module: ir.Module, func_op: ir.Operation) -> IrForm:
    """Clean `module` in place (see the module docstring) and classify what is left.

    `func_op` is the entry function; its results are normalised to identity layouts.
    """
    # Each step re-walks: erasing ops invalidates the handles collected before.
    strip_memory_spaces(module.operation)
    _drop_transform_scripts(module.operation)
    _erase_annotations(module.operation)
    _fold_buffer_round_trips(module.operation)
    _erase_dead_to_tensor(module.operation)
    _restrict_to_tensor(module.operation)
    _zero_fill_allocs(module.operation)
    _dense_results(func_op)
    names = {op.name for op in _all_ops(module.operation)}
    return IrForm(has_tensors=_has_tensor_values(module.operation),
                  has_deallocs=bool(names & {"memref.dealloc", "bufferization.dealloc"}))


def _all_ops(root: ir.Operation) -> list[ir.Operation]:
    found: list[ir.Operation] = []

    def collect(op: ir.Operation) -> ir.WalkResult:
        found.append(op)
        return ir.WalkResult.ADVANCE

    root.walk(collect)
    return found


def strip_type(ty: ir.Type) -> ir.Type:
    """`ty` without memref memory spaces (recursing into function types)."""
    if isinstance(ty, ir.MemRefType):
        if ty.memory_space is None:
            return ty
        return ir.MemRefType.get(ty.shape, ty.element_type, ty.layout, None)
    if isinstance(ty, ir.UnrankedMemRefType):
        return ty if ty.memory_space is None else ir.UnrankedMemRefType.get(ty.element_type, None)
    if isinstance(ty, ir.FunctionType):
        return ir.FunctionType.get([strip_type(t) for t in ty.inputs], [strip_type(t) for t in ty.results])
    return ty


def strip_memory_spaces(root: ir.Operation) -> None:
    """Rewrite every value type and type attribute under `root`; `memory_space_cast`s go."""
    casts = []
    for op in _all_ops(root):
        for result in op.results:
            result.set_type(strip_type(result.type))
        for region in op.regions:
            for block in region.blocks:
                for arg in block.arguments:
                    arg.set_type(strip_type(arg.type))
        for name in list(op.attributes):  # iterating an attribute map yields names
            attr = op.attributes[name]
            if isinstance(attr, ir.TypeAttr):
                op.attributes[name] = ir.TypeAttr.get(strip_type(attr.value))
        if op.name == "memref.memory_space_cast":
            casts.append(op)
    for cast in casts:
        cast.results[0].replace_all_uses_with(cast.operands[0])
        cast.erase()


def _drop_transform_scripts(module_op: ir.Operation) -> None:
    """Erase transform ops (named sequences the pipeline did not strip yet)."""
    if "transform.with_named_sequence" in module_op.attributes:
        del module_op.attributes["transform.with_named_sequence"]
    # Outermost transform ops only: erasing one erases its body with it.
    outer = [op for op in _all_ops(module_op) if op.name.startswith("transform.") and not op.parent.name.startswith("transform.")]
    for op in outer:
        op.erase()


# Kept: the custom-op step of the lowering turns these calls into callbacks.
CUSTOM_OP_ATTRS = ("nkipy.custom_op", "nkipy.custom_op_bodies")


def _erase_annotations(module_op: ir.Operation) -> None:
    """Erase nkipy annotation ops and discardable `nkipy.*` attributes (but custom-op ones)."""
    doomed = []
    for op in _all_ops(module_op):
        if op.name in ANNOTATION_OPS:
            doomed.append(op)
            continue
        for name in [n for n in op.attributes if n.startswith("nkipy.") and n not in CUSTOM_OP_ATTRS]:
            del op.attributes[name]
    for op in doomed:
        op.erase()


def _erase_dead_to_tensor(module_op: ir.Operation) -> None:
    """`bufferization.to_tensor` ops left behind for annotations are dead once those go."""
    for op in reversed(_all_ops(module_op)):  # users before producers
        if op.name == "bufferization.to_tensor" and not list(op.results[0].uses):
            op.erase()


def _fold_buffer_round_trips(module_op: ir.Operation) -> None:
    """`to_buffer(to_tensor(%m))` is `%m` (what canonicalize does, without running it)."""
    folds = []
    for op in _all_ops(module_op):
        if op.name != "bufferization.to_buffer":
            continue
        source = op.operands[0].owner
        if isinstance(source, ir.OpView) and source.operation.name == "bufferization.to_tensor":
            if source.operation.operands[0].type == op.results[0].type:
                folds.append((op, source.operation.operands[0]))
    for op, memref_value in folds:
        op.results[0].replace_all_uses_with(memref_value)
        op.erase()


def _restrict_to_tensor(module_op: ir.Operation) -> None:
    """Mark the remaining `to_tensor` ops `restrict` so one-shot-bufferize accepts them.

    One-Shot Analysis rejects unrestricted ones. The tensor only reads the buffer
    (they are not `writable`), so a write to it bufferizes out of place.
    """
    for op in _all_ops(module_op):
        if op.name == "bufferization.to_tensor" and "restrict" not in op.attributes:
            op.attributes["restrict"] = ir.UnitAttr.get()


def _zero_fill_allocs(module_op: ir.Operation) -> None:
    """`linalg.fill(0)` right after every alloc: runs never read garbage."""
    allocs = [op for op in _all_ops(module_op) if op.name in ALLOC_OPS]
    for alloc in allocs:
        buffer = alloc.results[0]
        element = ir.MemRefType(buffer.type).element_type
        with alloc.location, ir.InsertionPoint.after(alloc):
            zero = arith.ConstantOp(element, _zero_attr(element)).result
            linalg.fill(zero, outs=[buffer])


def _zero_attr(element: ir.Type) -> ir.Attribute:
    if isinstance(element, ir.FloatType):
        return ir.FloatAttr.get(element, 0.0)
    if isinstance(element, (ir.IntegerType, ir.IndexType)):
        return ir.IntegerAttr.get(element, 0)
    raise IRError(f"cannot zero-fill a buffer of {element}")


def _dense_results(func_op: ir.Operation) -> None:
    """Return identity-layout copies of results with other layouts; fix the function type."""
    returns = [op for op in _all_ops(func_op) if op.name == "func.return"]  # only directly in a func
    for ret in returns:
        for i, value in enumerate(list(ret.operands)):
            if not isinstance(value.type, ir.MemRefType) or _is_identity(ir.MemRefType(value.type)):
                continue
            ty = ir.MemRefType(value.type)
            with ret.location, ir.InsertionPoint(ret):
                dense = memref.AllocOp(ir.MemRefType.get(ty.shape, ty.element_type), [], []).result
                memref.CopyOp(value, dense)
            ret.operands[i] = dense
    if not returns:
        return
    fn_type = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
    results = [v.type for v in returns[0].operands]
    func_op.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(fn_type.inputs, results))


def _is_identity(ty: ir.MemRefType) -> bool:
    if not isinstance(ty.layout, ir.AffineMapAttr):
        return False
    return ty.layout.value == ir.AffineMap.get_identity(ty.rank)


def _has_tensor_values(module_op: ir.Operation) -> bool:
    """Any tensor-typed result or block argument (function types included via the entry block)."""
    for op in _all_ops(module_op):
        if any(isinstance(r.type, TENSOR_TYPES) for r in op.results):
            return True
        for region in op.regions:
            for block in region.blocks:
                if any(isinstance(a.type, TENSOR_TYPES) for a in block.arguments):
                    return True
    return False
