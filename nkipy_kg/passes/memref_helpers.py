"""Helpers for the passes that run on bufferized (memref) IR (stages 13 and later).

Views, bases, memory spaces, program order and read/write classification of
buffer uses. Not a pass (registers nothing). Written for stages 13-17
(`eliminate-uninitialized-copies`, `annotate-memory-space`, `canonicalize-reshape`,
`eliminate-same-memspace-copy`); later memref passes import it too, so keep the
names and signatures stable.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, memref
from nkipy_kg.dialects.nkipy import MemSpace, mem_space_attr

# Ops whose result aliases their first operand (a view of the same memory).
VIEW_OPS = frozenset({"memref.subview", "memref.cast", "memref.collapse_shape", "memref.expand_shape",
                      "memref.reshape", "memref.reinterpret_cast"})
LOOP_OPS = frozenset({"scf.for", "scf.while", "scf.parallel", "scf.forall"})
ANNOTATIONS = frozenset({"nkipy.layout", "nkipy.tile_op", "nkipy.fuse_op"})
# linalg ops that overwrite their init without reading it (matmul: PSUM zeroes itself).
PURE_WRITE_INIT = frozenset({"linalg.fill", "linalg.transpose", "linalg.copy", "linalg.matmul",
                             "linalg.broadcast"})
HBM_SPACES = frozenset({MemSpace.Hbm, MemSpace.SharedHbm})


def defining_op(value: ir.Value) -> ir.Operation | None:
    owner = value.owner
    return None if isinstance(owner, ir.Block) else owner.operation


def base_memref(value: ir.Value) -> ir.Value:
    """The buffer `value` is a view of (through VIEW_OPS), or `value` itself."""
    while (op := defining_op(value)) is not None and op.name in VIEW_OPS:
        value = op.operands[0]
    return value


def view_closure(value: ir.Value) -> list[ir.Value]:
    """`value` and every view derived from it, transitively (forward only)."""
    found, todo = [], [value]
    while todo:
        v = todo.pop()
        found.append(v)
        todo.extend(use.owner.operation.results[0] for use in v.uses if use.owner.name in VIEW_OPS)
    return found


_SPACES = {int(m): m for m in MemSpace}  # dict lookup: MemSpace(v) is slow in hot loops


def space_of(value: ir.Value) -> MemSpace | None:
    """The nkipy memory space of a memref value (None: not a memref or no space)."""
    t = value.type
    if not isinstance(t, ir.MemRefType):
        return None
    space = t.memory_space
    return None if space is None else _SPACES.get(ir.IntegerAttr(space).value)


def with_space(t: ir.Type, space: MemSpace | None, identity_layout: bool = False) -> ir.MemRefType:
    """`t` (a memref type) in `space`; `identity_layout` also drops a strided layout."""
    m = ir.MemRefType(t)
    with m.context, ir.Location.unknown():  # a pass may run with no context pushed
        attr = None if space is None else mem_space_attr(space)
        return ir.MemRefType.get(m.shape, m.element_type, None if identity_layout else m.layout, attr)


def set_space(value: ir.Value, space: MemSpace) -> None:
    value.set_type(with_space(value.type, space))


def ancestor_in(op: ir.Operation, block: ir.Block) -> ir.Operation | None:
    """`op` or its ancestor whose parent block is `block`, or None."""
    cur = op
    while cur is not None and cur.name != "builtin.module":
        if cur.block == block:
            return cur
        cur = cur.parent
    return None


def executes_before(a: ir.Operation, b: ir.Operation) -> bool:
    """Whether `a` comes before `b` in program order (compared in their common ancestor block)."""
    cur = b
    while cur is not None and cur.name != "builtin.module":
        a_anc = ancestor_in(a, cur.block)
        if a_anc is not None:
            return a_anc != cur and a_anc.is_before_in_block(cur)
        cur = cur.parent
    return True  # no common block: be conservative


def available_at(value: int | ir.Value, at: ir.Operation) -> int | ir.Value:
    """`value` usable before `at`: clone its (pure) defining op there if it comes later."""
    if isinstance(value, int):
        return value
    producer = defining_op(value)
    if producer is None or executes_before(producer, at):
        return value
    clone = producer.clone(ir.InsertionPoint(at)).operation
    for i, operand in enumerate(list(clone.operands)):
        clone.operands[i] = available_at(operand, clone)
    return clone.results[0]


def enclosing_loops(op: ir.Operation) -> list[ir.Operation]:
    loops, cur = [], op.parent
    while cur is not None and cur.name != "builtin.module":
        if cur.name in LOOP_OPS:
            loops.append(cur)
        cur = cur.parent
    return loops


def is_inside(op: ir.Operation, ancestor: ir.Operation) -> bool:
    cur = op.parent
    while cur is not None and cur.name != "builtin.module":
        if cur == ancestor:
            return True
        cur = cur.parent
    return False


# linalg ops without `operandSegmentSizes`: their number of DPS inits.
FIXED_INITS = {"linalg.transpose": 1, "linalg.broadcast": 1, "linalg.map": 1}


def num_dps_inits(op: ir.Operation) -> int:
    """Number of DPS inits of a linalg op (0 for anything else)."""
    if not op.name.startswith("linalg."):
        return 0
    if "operandSegmentSizes" in op.attributes:
        return list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))[-1]
    if op.name == "linalg.reduce":  # as many inits as inputs
        return len(op.operands) // 2
    return FIXED_INITS.get(op.name, 0)


def use_kind(use: ir.OpOperand) -> str:
    """'write' (only writes), 'read' (reads, maybe writes too), 'none' (annotation/view/dealloc).

    Unknown ops are 'readwrite': anything may happen to a buffer they receive.
    """
    op, n = use.owner.operation, use.operand_number
    name = op.name
    if name in ANNOTATIONS or name in VIEW_OPS or name == "memref.dealloc":
        return "none"
    if name == "memref.copy":
        return "write" if n == 1 else "read"
    if name == "memref.store":
        return "write" if n == 1 else "read"
    if name in ("memref.load", "func.return", "bufferization.to_tensor"):
        return "read"
    inits = num_dps_inits(op)
    if inits:
        if n < len(op.operands) - inits:
            return "read"
        return "write" if name in PURE_WRITE_INIT else "readwrite"
    return "readwrite"


def writes(use: ir.OpOperand) -> bool:
    return use_kind(use) in ("write", "readwrite")


def reads(use: ir.OpOperand) -> bool:
    return use_kind(use) in ("read", "readwrite")


def all_uses(value: ir.Value) -> list[ir.OpOperand]:
    """The uses of `value` and of every view of it (transitively)."""
    return [use for v in view_closure(value) for use in v.uses]


def sorted_by_program_order(ops: list[ir.Operation]) -> list[ir.Operation]:
    """Insertion sort with `executes_before` (ops are few; no total order object needed)."""
    out: list[ir.Operation] = []
    for op in ops:
        i = len(out)
        while i > 0 and executes_before(op, out[i - 1]):
            i -= 1
        out.insert(i, op)
    return out


def materialize_view(view: ir.Value, alloc_type: ir.MemRefType, loc: ir.Location) -> ir.Value:
    """Give the uses of `view` a fresh buffer `alloc_type` instead, keeping the data flow.

    The alloc goes right after the view's defining op. A staging copy `view -> alloc`
    is added when the first real use reads; a write-back copy `alloc -> view` after the
    last use when some use writes and the last use is not the function return.
    Returns the alloc.
    """
    view_op = defining_op(view)
    uses = list(view.uses)
    real = sorted_by_program_order(list({u.owner.operation: None for u in uses if use_kind(u) != "none"}))
    first_reads = bool(real) and any(reads(u) for u in uses if u.owner.operation == real[0])
    any_write = any(writes(u) for u in uses)
    with loc:
        ip = ir.InsertionPoint.at_block_begin(view.owner) if view_op is None else after(view_op)
        with ip:
            alloc = memref.AllocOp(alloc_type, [], []).result
            staging = memref.CopyOp(view, alloc) if first_reads else None
        for use in uses:
            if staging is None or use.owner.operation != staging.operation:
                use.owner.operands[use.operand_number] = alloc
        last = real[-1] if real else None
        if last is not None and last.name != "func.return" and any_write:
            anchor = ancestor_in(last, defining_op(alloc).block) or last
            with after(anchor):
                memref.CopyOp(alloc, view)
    return alloc


def after(op: ir.Operation) -> ir.InsertionPoint:
    """An insertion point right after `op`."""
    return ir.InsertionPoint.after(op)


def splits_sbuf_partition_dim(expand: ir.Operation) -> bool:
    """An SBUF `expand_shape` splitting dim 0 into several non-unit dims (not a NISA view)."""
    if expand.name != "memref.expand_shape" or space_of(expand.operands[0]) != MemSpace.Sbuf:
        return False
    reassociation = ir.ArrayAttr(expand.attributes["reassociation"])
    if len(reassociation) == 0:  # a rank-0 buffer expanded to unit dims
        return False
    group = [ir.IntegerAttr(d).value for d in ir.ArrayAttr(reassociation[0])]
    sizes = [ir.MemRefType(expand.results[0].type).shape[d] for d in group]
    return len(group) > 1 and 1 not in sizes


def func_ops(module_op: ir.Operation) -> list[ir.Operation]:
    """Every func.func directly in the module (defined or declared)."""
    return [op.operation for op in module_op.regions[0].blocks[0].operations if op.operation.name == "func.func"]


def is_declaration(func_op: ir.Operation) -> bool:
    return len(func_op.regions[0].blocks) == 0


def return_op(func_op: ir.Operation) -> ir.Operation:
    return func_op.regions[0].blocks[0].operations[-1].operation  # indexing: no OpView per op


def update_function_type(func_op: ir.Operation) -> None:
    """Set `function_type` from the entry block arguments and the return operands."""
    if is_declaration(func_op):
        return
    args = [a.type for a in func_op.regions[0].blocks[0].arguments]
    results = [v.type for v in return_op(func_op).operands]
    with func_op.context:
        func_op.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(args, results))


def per_partition_bytes(t: ir.MemRefType) -> int | None:
    """Bytes one partition holds: numElements / partitionDim * elemBytes (None if dynamic or empty).

    The partition dim is dim 0, except that the leading unit dims of a rank >= 3 buffer
    are skipped: a per-head tile `[1, 128, 256]` (a batch-leading value read one head at
    a time) holds 256 elements on each of 128 partitions, not 32768 on one.
    """
    if not t.has_static_shape or t.rank == 0 or 0 in t.shape:
        return None
    shape = list(t.shape)
    while len(shape) > 2 and shape[0] == 1:
        shape.pop(0)
    elements = 1
    for d in shape[1:]:
        elements *= d
    return elements * _element_bytes(t.element_type)


def _element_bytes(t: ir.Type) -> int:
    if isinstance(t, ir.IntegerType):
        return (ir.IntegerType(t).width + 7) // 8
    if isinstance(t, ir.FloatType):
        return (ir.FloatType(t).width + 7) // 8
    return 8  # index
