"""Pass `annotate-memory-space`: give every buffer its NeuronCore memory space.

After `one-shot-bufferize` the buffers are plain memrefs, except the promoted
tiles (`alloc_tensor {memory_space}`), and our `nkipy.layout` ops still sit on
tensors: Python-defined ops implement no BufferizableOpInterface, so
bufferization leaves them on a `bufferization.to_tensor` of the buffer. This pass

0. **bufferizes constant-index gathers** into row copies (`memref_gather.py`),
   then **moves the annotations onto the buffers** (the reference's C++ layout op
   did this during bufferization; ours cannot): an `nkipy.layout` on
   `%t = bufferization.to_tensor %m` is re-created on `%m` (same attributes and
   location, at the old op's position, so `%m` dominates it), and the dead
   `to_tensor` is erased. A layout on a function argument's tensor lands on the
   memref argument, one on a view's tensor on the view. A tensor that is no
   `to_tensor` (the result of an op bufferization did not know, e.g.
   `nkipy.gather`) resolves to the `bufferization.to_buffer` of it, if any;
   otherwise the pass fails. After this pass every `nkipy.layout` operand is a
   memref (legalize-layout and insert-spill-reload rely on it); the layouts
   are kept for them. Every `nkipy.tile_op` is erased (tiling consumed them), and
   so is a `nkipy.fuse_op` left by a pipeline that did not tile (fusion consumes them).
1. **function boundaries**: memref arguments and returned buffers become
   SharedHbm (4); the function type follows. Custom-op calls are kernel boundaries
   too: their operands, results and (private) declarations become SharedHbm.
2. **layouts**: a layout's `mem_space` is set on its memref's type in place
   (`Value.set_type`). `Constant` (5) requires the buffer to be filled by a
   `linalg.fill` of an `arith.constant`. A boundary buffer keeps SharedHbm
   under an Hbm layout; any other space on it is an error (NISA kernels read
   and write their arguments and results in HBM).
3. **propagation** (`memory_space_propagation.py`) to a fixpoint: a space flows both ways through every view
   (`subview`, `collapse_shape`, `expand_shape`, `reshape`, `reinterpret_cast`,
   `cast`; the reference only went forward through `cast`, which leaves the
   buffer behind a returned `cast` without a space and the cast invalid); an
   unannotated root `memref.alloc` copied into
   an annotated buffer becomes Hbm (1) (e.g. a gather output DMA'd to SBUF).
   Beyond the reference: an unannotated root alloc *filled* by a copy from an
   annotated buffer (a bufferization clone) takes the source's space (Hbm for
   an HBM source, Sbuf for a Constant one), and one that only DMAs touch
   (copies, `linalg.transpose`: an unannotated transposed intermediate) is Hbm,
   so such buffers do not reach insert-memref-dealloc without a space.
4. **subview conflicts** (source and result in different spaces, e.g. a
   returned SharedHbm slice of an SBUF buffer): the subview is retyped to its
   source's space, its uses get a fresh alloc in the result's space, with a
   staging copy only if the first use reads (no uninitialised reads), and
   a write-back copy after the last use if some use writes (the reference
   drops such writes). An Hbm/SharedHbm mismatch across any view is resolved
   to SharedHbm (the layout op may then still say Hbm: the type is the truth).
   A reshape (collapse/expand/reshape) that only reads an on-chip buffer as HBM
   (a returned reshape of an SBUF result) reshapes an HBM copy of it, made
   where the view was. Any other conflict across a view is an error.
5. the function type is rebuilt from the block arguments and return operands.
   Retyping in place cannot follow memrefs carried through `scf.for`/`scf.if`
   results (our tiled loops never carry them): a yield whose types disagree with
   its parent's is reported here, located, instead of failing verification later.

    %0 = bufferization.to_tensor %alloc : memref<256x256xf32> to tensor<256x256xf32>
    "nkipy.layout"(%0) {mem_space = 3 : i32, partition_dim = 0 : ui32} : (tensor<256x256xf32>) -> ()
    "nkipy.tile_op"(%0) {loop_tile_size = array<i64: 128, 256>} : (tensor<256x256xf32>) -> ()

becomes

    "nkipy.layout"(%alloc) {mem_space = 3 : i32, partition_dim = 0 : ui32} : (memref<256x256xf32, 3 : i32>) -> ()

with `%alloc : memref<256x256xf32, 3 : i32>` and every view of it retyped.
Allocs that still lack a space afterwards are reported by insert-memref-dealloc.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, memref
from nkipy_kg.dialects.nkipy import LayoutOp, MemSpace
from nkipy_kg.passes.common import collect_named, pass_error
from nkipy_kg.passes.memref_helpers import (HBM_SPACES, VIEW_OPS, all_uses, base_memref, defining_op, func_ops,
                                            is_declaration, materialize_view, return_op, set_space,
                                            space_of, update_function_type, with_space, writes)
from nkipy_kg.passes.memory_space_propagation import propagate
from nkipy_kg.passes.memref_gather import bufferize_gathers
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "annotate-memory-space"
RESHAPE_VIEWS = ("memref.collapse_shape", "memref.expand_shape", "memref.reshape")


@python_pass(PASS_NAME, "apply nkipy.layout memory spaces to memrefs; SharedHbm at function boundaries")
def annotate_memory_space(module_op: ir.Operation) -> None:
    for func_op in func_ops(module_op):
        _annotate_function(func_op)


def _annotate_function(func_op: ir.Operation) -> None:
    if is_declaration(func_op):
        _annotate_declaration(func_op)
        return
    bufferize_gathers(func_op, PASS_NAME)
    layouts = _move_annotations_to_buffers(func_op)
    boundary = _annotate_boundaries(func_op)
    _apply_layouts(layouts, boundary)
    while True:  # each round resolves conflicts without creating new ones
        propagate(func_op)
        if not _resolve_conflicts(func_op):
            break
    update_function_type(func_op)
    _verify(func_op)


def _verify(func_op: ir.Operation) -> None:
    """Retyping in place cannot follow memrefs carried by scf regions: report them.

    Checks every `scf.yield` against its parent's results (and an `scf.for`'s inits)
    instead of verifying the whole function (the driver verifies after every pass;
    this gives the located message).
    """
    for yield_op in collect_named(func_op, "scf.yield"):
        parent = yield_op.parent
        inits = list(parent.operands)[3:] if parent.name == "scf.for" else []
        for i, value in enumerate(yield_op.operands):
            if i >= len(parent.results):
                break
            types = {str(value.type), str(parent.results[i].type)} | ({str(inits[i].type)} if i < len(inits) else set())
            if len(types) > 1:
                raise pass_error(PASS_NAME, parent, f"memory-space annotation produced invalid IR: {parent.name} "
                                 f"result #{i} is carried as {' / '.join(sorted(types))}",
                                 hint="memrefs carried by loops cannot be retyped in place")


def _annotate_declaration(func_op: ir.Operation) -> None:
    fn_type = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)

    def shared(t: ir.Type) -> ir.Type:
        return with_space(t, MemSpace.SharedHbm) if isinstance(t, ir.MemRefType) else t

    with func_op.context:
        new = ir.FunctionType.get([shared(t) for t in fn_type.inputs], [shared(t) for t in fn_type.results])
        func_op.attributes["function_type"] = ir.TypeAttr.get(new)


def _move_annotations_to_buffers(func_op: ir.Operation) -> list[ir.Operation]:
    """Re-create nkipy.layout on the buffer behind its tensor; erase tile_ops and dead to_tensors.

    Returns the layout ops (all on memrefs now).
    """
    found: dict[str, list[ir.Operation]] = {"nkipy.tile_op": [], "nkipy.fuse_op": [], "nkipy.layout": [],
                                            "bufferization.to_tensor": []}
    for op in collect_named(func_op, *found):
        found[op.name].append(op)
    layouts = []
    for tile in found["nkipy.tile_op"] + found["nkipy.fuse_op"]:
        tile.erase()
    for layout in found["nkipy.layout"]:
        target = layout.operands[0]
        if isinstance(target.type, ir.MemRefType):
            layouts.append(layout)
            continue
        buffer = _buffer_of(target)
        if buffer is None:
            raise pass_error(PASS_NAME, layout, "nkipy.layout annotates a tensor with no buffer "
                             "(neither a bufferization.to_tensor nor converted by bufferization.to_buffer)")
        # Generic creation: the ext-dialect builder binds Python signatures per call (slow).
        attrs = {a: layout.attributes[a] for a in ("mem_space", "partition_dim", "tile_size")
                 if a in layout.attributes}
        new = ir.Operation.create(LayoutOp.OPERATION_NAME, operands=[buffer], attributes=attrs,
                                  loc=layout.location, ip=ir.InsertionPoint(layout))
        layout.erase()
        layouts.append(new)
    for to_tensor in found["bufferization.to_tensor"]:
        if not list(to_tensor.results[0].uses):
            to_tensor.erase()
    return layouts


def _buffer_of(tensor: ir.Value) -> ir.Value | None:
    op = defining_op(tensor)
    if op is not None and op.name == "bufferization.to_tensor":
        return op.operands[0]
    for use in tensor.uses:
        if use.owner.name == "bufferization.to_buffer":
            return use.owner.operation.results[0]
    return None


def _annotate_boundaries(func_op: ir.Operation) -> set[ir.Value]:
    """SharedHbm on memref arguments, returned buffers and the results of custom-op calls
    (whose declarations become SharedHbm too); returns their bases."""
    boundary: set[ir.Value] = set()
    values = list(func_op.regions[0].blocks[0].arguments) + list(return_op(func_op).operands)
    values += [v for call in collect_named(func_op, "func.call") for v in [*call.operands, *call.results]]
    for value in values:
        if not isinstance(value.type, ir.MemRefType):
            continue
        if space_of(value) is None:
            set_space(value, MemSpace.SharedHbm)
        boundary.add(value)
    return boundary


def _apply_layouts(layouts: list[ir.Operation], boundary: set[ir.Value]) -> None:
    for layout in layouts:
        if "mem_space" not in layout.attributes:
            continue
        space = MemSpace(ir.IntegerAttr(layout.attributes["mem_space"]).value)
        target = layout.operands[0]
        if space == MemSpace.Constant and not _is_scalar_broadcast(target):
            raise pass_error(PASS_NAME, layout, "CONSTANT memory space requires a scalar broadcast "
                             "(linalg.fill of an arith.constant into the buffer)")
        current = space_of(target)
        if current is None:
            set_space(target, space)
        elif current != space and not {current, space} <= HBM_SPACES:
            what = "a function argument or result" if target in boundary else "already annotated"
            raise pass_error(PASS_NAME, layout, f"nkipy.layout asks for {space.name} but the buffer is "
                             f"{what} in {current.name}",
                             hint="place the value in HBM, or annotate the intermediate it is computed from")


def _is_scalar_broadcast(value: ir.Value) -> bool:
    base = base_memref(value)
    for use in base.uses:
        fill = use.owner.operation
        if fill.name == "linalg.fill" and use.operand_number == 1:
            producer = defining_op(fill.operands[0])
            if producer is not None and producer.name == "arith.constant":
                return True
    return False


def _resolve_conflicts(func_op: ir.Operation) -> bool:
    """Fix view ops whose source and result spaces differ; True if anything changed."""
    changed = False
    for op in collect_named(func_op, *VIEW_OPS):
        src_space, res_space = space_of(op.operands[0]), space_of(op.results[0])
        if src_space is None or res_space is None or src_space == res_space:
            continue
        if {src_space, res_space} <= HBM_SPACES:
            hbm_side = op.operands[0] if src_space == MemSpace.Hbm else op.results[0]
            _retype_view_web(hbm_side, MemSpace.SharedHbm)
        elif op.name == "memref.subview":
            result = op.results[0]
            result_type = result.type
            set_space(result, src_space)
            materialize_view(result, with_space(result_type, res_space, identity_layout=True), op.location)
        elif _can_copy_reshape_source(op, res_space):
            _copy_reshape_source(op, res_space)
        else:
            raise pass_error(PASS_NAME, op, f"{op.name} views a {src_space.name} buffer as {res_space.name}; "
                             "only subviews (and read-only reshapes into HBM) can change memory space "
                             "(through a copy)")
        changed = True
    return changed


def _can_copy_reshape_source(view: ir.Operation, res_space: MemSpace) -> bool:
    """A reshape viewing on-chip memory as HBM that only reads (or returns) it."""
    if view.name not in RESHAPE_VIEWS or res_space not in HBM_SPACES:
        return False
    uses = all_uses(view.results[0])
    return not any(writes(u) for u in uses) and all(u.owner.name not in VIEW_OPS for u in view.results[0].uses)


def _copy_reshape_source(view: ir.Operation, space: MemSpace) -> None:
    """Reshape an HBM copy of the on-chip source instead (e.g. a returned collapse of an
    SBUF result). The copy goes where the view is, after the source was computed; the
    copy is contiguous, so the view's result becomes contiguous too."""
    source = view.operands[0]
    with view.location, ir.InsertionPoint(view):
        copy = memref.AllocOp(with_space(source.type, space, identity_layout=True), [], []).result
        memref.CopyOp(source, copy)
    view.operands[0] = copy
    view.results[0].set_type(with_space(view.results[0].type, space, identity_layout=True))


def _retype_view_web(value: ir.Value, space: MemSpace) -> None:
    """Set `space` on `value` and on every view connected to it that has the same old space."""
    old = space_of(value)
    todo, seen = [value], set()
    while todo:
        v = todo.pop()
        if v in seen or space_of(v) != old:
            continue
        seen.add(v)
        set_space(v, space)
        producer = defining_op(v)
        if producer is not None and producer.name in VIEW_OPS:
            todo.append(producer.operands[0])
        todo.extend(u.owner.operation.results[0] for u in v.uses if u.owner.name in VIEW_OPS)
