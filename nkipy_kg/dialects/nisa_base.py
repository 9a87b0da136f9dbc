"""The `nisa` dialect object and the checks its instructions share.

Instruction classes live in `nisa_memory.py` (alloc, release, DMA), `nisa_pe.py`
(matmul, transpose), `nisa_compute.py` (elementwise) and `nisa_data.py`
(reductions, copies, fills); `nisa.py` is the public entry point.

Operand model (what a backend emits and the simulator executes):

* Every tensor operand is a **memref SSA value** whose memory space is the integer
  memref memory space of `nkipy.MemSpace`: Hbm=1, Psum=2, Sbuf=3, SharedHbm=4,
  e.g. `memref<128x512xf32, 3 : i32>`. It is an `nisa.alloc` result, a function
  argument (HBM), or a view of one (`memref.subview`, `memref.collapse_shape`,
  `memref.expand_shape`, `memref.reinterpret_cast`); view offsets may be dynamic
  (`scf.for` induction variables and `arith` index math).
* For SBUF and PSUM operands **dim 0 is the partition dim** and every other dim is
  a free dim; HBM operands are flat memory with any shape.
* Instructions write into a `dst` operand (destination passing) and have no
  results; only `nisa.alloc` has a result.
* Scalar operands (`tensor_scalar_arith.operand0`, `activation.bias`, ...) are
  either an `f32` SSA value (e.g. `arith.constant`) or a `[P, 1]` memref (one
  value per partition).
* Each class names its engine in `ENGINE`; instructions that may run on several
  engines accept an `engine = "Vector"` string attribute from `ENGINES`.
* The module attribute `nisa.target = "trn2"` selects the limits used by the
  verifiers (`nkipy_kg.targets`); without it the default target applies.
"""

# No `from __future__ import annotations`: the ext dialect machinery reads field
# annotations as real types.
from nkipy_kg._mlir import ext, ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.targets import TARGETS, Target, get_target

ENGINE_NAMES = ("Tensor", "Vector", "Scalar", "GpSimd", "DMA", "Sync")
HBM_SPACES = frozenset({MemSpace.Hbm, MemSpace.SharedHbm})
ON_CHIP = frozenset({MemSpace.Sbuf, MemSpace.Psum})
SBUF_ONLY = frozenset({MemSpace.Sbuf})
PSUM_ONLY = frozenset({MemSpace.Psum})
SBUF_OR_PSUM = ON_CHIP
TARGET_ATTR = "nisa.target"

# ALU ops (neuroncore-model.md §2.2, nki.api.shared.rst tbl-aluop) plus divide,
# which the reference backend emits (nkigen-digest.md §4.4).
ARITH_OPS = frozenset({
    "add", "subtract", "multiply", "divide", "max", "min", "power", "abs_max", "abs_min",
    "is_equal", "not_equal", "is_gt", "is_ge", "is_lt", "is_le",
    "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
    "mod",
})
BITVEC_OPS = frozenset({"bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"})
# Legal reduction ops (§2.2).
REDUCE_OPS = frozenset({"add", "subtract", "multiply", "max", "min",
                        "bitwise_and", "bitwise_or", "bitwise_xor",
                        "logical_and", "logical_or", "logical_xor"})


class Nisa(ext.Dialect, name="nisa"):
    pass


def fail(op: ir.OpView, message: str) -> bool:
    """Emit a verifier error on `op` (shown at its location) and return False."""
    op.location.emit_error(f"'{op.OPERATION_NAME}' op {message}")
    return False


def memref_type(value: ir.Value) -> ir.MemRefType | None:
    if not isinstance(value.type, ir.MemRefType):
        return None
    return ir.MemRefType(value.type)


def mem_space(t: ir.MemRefType) -> MemSpace | None:
    """The MemSpace of a memref type, None if it has none or an unknown one."""
    attr = t.memory_space
    if attr is None or not isinstance(attr, ir.IntegerAttr):
        return None
    value = ir.IntegerAttr(attr).value
    return MemSpace(value) if value in {m.value for m in MemSpace} else None


def elem_bytes(t: ir.Type) -> int:
    text = str(t)
    if text == "i1":
        return 1
    width = getattr(t, "width", None)
    if width is None:
        width = ir.FloatType(t).width if isinstance(t, ir.FloatType) else 32
    return max(width // 8, 1)


def free_bytes(t: ir.MemRefType) -> int:
    """Bytes per partition of an on-chip operand (product of the free dims)."""
    n = 1
    for d in list(t.shape)[1:]:
        n *= d
    return n * elem_bytes(t.element_type)


def free_size(t: ir.MemRefType) -> int:
    n = 1
    for d in list(t.shape)[1:]:
        n *= d
    return n


def target_of(op: ir.OpView) -> Target:
    """The target named by the enclosing module's `nisa.target`, else the default
    (also for an unknown name: verifiers must not raise; `module_target` rejects it)."""
    parent = op.operation.parent
    while parent is not None:
        if TARGET_ATTR in parent.attributes:
            name = str(parent.attributes[TARGET_ATTR]).strip('"')
            return TARGETS.get(name) or get_target(None)
        parent = parent.parent
    return get_target(None)


def str_attr(op: ir.OpView, name: str) -> str | None:
    if name not in op.attributes:
        return None
    attr = op.attributes[name]
    return ir.StringAttr(attr).value if isinstance(attr, ir.StringAttr) else None


def bool_attr(op: ir.OpView, name: str, default: bool = False) -> bool:
    if name not in op.attributes:
        return default
    attr = op.attributes[name]
    if isinstance(attr, ir.BoolAttr):
        return ir.BoolAttr(attr).value
    return isinstance(attr, ir.UnitAttr)


def int_attr(op: ir.OpView, name: str, default: int | None = None) -> int | None:
    if name not in op.attributes:
        return default
    return ir.IntegerAttr(op.attributes[name]).value


VIEW_OPS = frozenset({"memref.subview", "memref.collapse_shape", "memref.expand_shape",
                      "memref.reinterpret_cast", "memref.cast"})


def base_producer(value: ir.Value) -> str | None:
    """None if `value` is an nisa.alloc result, a block argument or a view of one (an
    `scf.for` result counts as its init: a loop-carried buffer); otherwise the name of
    the op that produced its base."""
    while isinstance(value, ir.OpResult):
        owner = value.owner.operation
        if owner.name == "nisa.alloc":
            return None
        if owner.name == "scf.for" and len(owner.operands) > 3:
            value = owner.operands[3 + value.result_number]
            continue
        if owner.name not in VIEW_OPS:
            return owner.name
        value = owner.operands[0]
    return None


def check_operand(op: ir.OpView, role: str, value: ir.Value,
                  allowed: frozenset[MemSpace]) -> bool:
    """A memref operand in an allowed memory space with partition dim <= partitions,
    based on an nisa.alloc or a function argument (through memref views)."""
    t = memref_type(value)
    if t is None:
        return fail(op, f"{role} must be a memref, got {value.type}")
    producer = base_producer(value)
    if producer is not None:
        return fail(op, f"{role} must be an nisa.alloc result, a function argument or a view of one, "
                        f"not a result of '{producer}'")
    space = mem_space(t)
    if space not in allowed:
        names = "/".join(sorted(s.name for s in allowed))
        got = space.name if space is not None else str(t.memory_space)
        return fail(op, f"{role} must live in {names}, got {got}")
    if space in ON_CHIP:
        target = target_of(op)
        if t.rank == 0 or t.shape[0] > target.partitions:
            dim = t.shape[0] if t.rank else "none"
            return fail(op, f"{role} partition dim {dim} exceeds the {target.partitions} "
                            f"partitions of {target.name}")
    if space == MemSpace.Psum and free_bytes(t) > target_of(op).psum_bank_bytes:
        return fail(op, f"{role} uses {free_bytes(t)} B per partition; a PSUM tile must fit "
                        f"one {target_of(op).psum_bank_bytes} B bank")
    return True


def check_scalar(op: ir.OpView, role: str, value: ir.Value | None, partitions: int) -> bool:
    """An f32 SSA scalar or a [P, 1] on-chip memref (one value per partition)."""
    if value is None:
        return True
    if isinstance(value.type, ir.F32Type):
        return True
    t = memref_type(value)
    if t is None or t.rank != 2 or t.shape[1] != 1 or mem_space(t) not in ON_CHIP:
        return fail(op, f"{role} must be an f32 scalar or a [P, 1] SBUF/PSUM memref, got {value.type}")
    if t.shape[0] != partitions:
        return fail(op, f"{role} has {t.shape[0]} partitions, the data has {partitions}")
    return True


def check_engine(op: ir.OpView, allowed: tuple[str, ...]) -> bool:
    engine = str_attr(op, "engine")
    if engine is None or engine in allowed:
        return True
    return fail(op, f"engine '{engine}' is not one of {', '.join(allowed)}")


def same_shape(op: ir.OpView, a: ir.Value, b: ir.Value, what: str) -> bool:
    sa, sb = list(ir.ShapedType(a.type).shape), list(ir.ShapedType(b.type).shape)
    if sa != sb:
        return fail(op, f"{what}: shapes {sa} and {sb} differ")
    return True


def broadcasts_to(op: ir.OpView, a: ir.Value, dst: ir.Value, what: str) -> bool:
    """`a` has dst's shape, or size 1 in some free dims (read with a zero stride there)."""
    sa, sd = list(ir.ShapedType(a.type).shape), list(ir.ShapedType(dst.type).shape)
    if len(sa) == len(sd) and sa[:1] == sd[:1] and all(x == y or x == 1 for x, y in zip(sa[1:], sd[1:])):
        return True
    return fail(op, f"{what} shape {sa} does not match dst {sd} (only size-1 free dims broadcast)")


def not_both_psum(op: ir.OpView, a: ir.Value, b: ir.Value) -> bool:
    """Two-input Vector instructions may not read both inputs from PSUM (§2.0)."""
    ta, tb = memref_type(a), memref_type(b)
    if ta and tb and mem_space(ta) == MemSpace.Psum and mem_space(tb) == MemSpace.Psum:
        return fail(op, "may not read both inputs from PSUM")
    return True


def engine_of(op: ir.OpView) -> str:
    """The engine an instruction runs on: its `engine` attribute, else its class ENGINE."""
    return str_attr(op, "engine") or type(op).ENGINE


def set_target(module: ir.Module, name: str) -> None:
    """Record the target on a module: `module attributes {nisa.target = "trn2"}`."""
    get_target(name)  # unknown names fail here, not in a verifier later
    module.operation.attributes[TARGET_ATTR] = ir.StringAttr.get(name)


def module_target(module: ir.Module | ir.Operation) -> Target:
    op = module.operation if isinstance(module, ir.Module) else module
    if TARGET_ATTR in op.attributes:
        return get_target(ir.StringAttr(op.attributes[TARGET_ATTR]).value)
    return get_target(None)


def prod(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def check_op_attr(op: ir.OpView, name: str, allowed: frozenset[str], required: bool = True) -> bool:
    value = str_attr(op, name)
    if value is None:
        return fail(op, f"requires a string attribute '{name}'") if required else True
    if value not in allowed:
        return fail(op, f"{name} '{value}' is not one of {', '.join(sorted(allowed))}")
    return True


def check_unary(op: ir.OpView, dst_spaces: frozenset, src_spaces: frozenset) -> bool:
    """dst and src in the given memories with the same shape."""
    dst, src = op.operands[0], op.operands[1]
    return (check_operand(op, "dst", dst, dst_spaces) and check_operand(op, "src", src, src_spaces)
            and same_shape(op, dst, src, "dst and src"))
