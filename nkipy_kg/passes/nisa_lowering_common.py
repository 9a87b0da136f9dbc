"""Shared helpers of the `linalg-to-nisa` lowering (see `linalg_to_nisa.py`).

Builders create generic `nisa.*` operations (`ir.Operation.create`) before the op
being replaced, with its location, and verify each one on creation so a hardware
rule broken by a lowering is reported as a located PassError at the source op.
"""

from __future__ import annotations

from nkipy_kg._mlir import MLIRError, ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.errors import PassError
from nkipy_kg.passes.common import memory_space, pass_error
from nkipy_kg.passes.fusion_deps import constant_index
from nkipy_kg.dialects.nisa_base import module_target
from nkipy_kg.passes.memref_helpers import is_inside
from nkipy_kg.targets import Target

PASS_NAME = "linalg-to-nisa"
ON_CHIP = frozenset({MemSpace.Sbuf, MemSpace.Psum})
HBM = frozenset({MemSpace.Hbm, MemSpace.SharedHbm})
VIEW_OPS = frozenset({"memref.subview", "memref.collapse_shape", "memref.expand_shape",
                      "memref.reinterpret_cast", "memref.cast"})


def error(op: ir.Operation, message: str, hint: str = "") -> PassError:
    return pass_error(PASS_NAME, op, message, hint)


# Operand positions an instruction writes besides its destination (operand 0).
_SECOND_RESULT = {"nisa.activation_reduce": 2, "nisa.tensor_scalar_reduce": 3}


def written(op: ir.Operation) -> list[ir.Value]:
    """The memref operands `op` writes: its destination, and the `reduce_res` of an
    instruction that also reduces what it writes."""
    out = [op.operands[0]] if len(op.operands) else []
    if op.name in _SECOND_RESULT:
        out.append(op.operands[_SECOND_RESULT[op.name]])
    return out


def space(value: ir.Value) -> MemSpace | None:
    return memory_space(value.type)


def shape(value: ir.Value) -> list[int]:
    return list(ir.ShapedType(value.type).shape)


def elem(value: ir.Value) -> ir.Type:
    return ir.ShapedType(value.type).element_type


def root(value: ir.Value) -> ir.Value:
    """The buffer a view chain starts from (an alloc result or a block argument)."""
    while isinstance(value, ir.OpResult) and value.owner.operation.name in VIEW_OPS:
        value = value.owner.operation.operands[0]
    return value


def space_attr(s: MemSpace) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(32), int(s))


def memref_of(dims: list[int], element: ir.Type, s: MemSpace) -> ir.MemRefType:
    return ir.MemRefType.get(list(dims), element, memory_space=space_attr(s))


def attrs(**values) -> dict[str, ir.Attribute]:
    """Python values -> attributes: str, bool, int (i64), float (f32), list[int] (array<i64>)."""
    out: dict[str, ir.Attribute] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, ir.Attribute):
            out[name] = value
        elif isinstance(value, bool):
            out[name] = ir.BoolAttr.get(value)
        elif isinstance(value, str):
            out[name] = ir.StringAttr.get(value)
        elif isinstance(value, int):
            out[name] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)
        elif isinstance(value, float):
            out[name] = ir.FloatAttr.get(ir.F32Type.get(), value)
        else:
            out[name] = ir.DenseI64ArrayAttr.get([int(v) for v in value])
    return out


def target_of(op: ir.Operation) -> Target:
    """The target linalg-to-nisa lowers for: the enclosing module's `nisa.target`."""
    cur = op
    while cur.parent is not None and cur.name != "builtin.module":
        cur = cur.parent
    return module_target(cur)


def emit(origin: ir.Operation, name: str, operands: list, results: list | None = None,
         **attributes) -> ir.Operation:
    """Create `nisa.<name>` before `origin` (with its location) and verify it."""
    with ir.InsertionPoint(origin), origin.location:
        new = ir.Operation.create(f"nisa.{name}", results=results or [], operands=list(operands),
                                  attributes=attrs(**attributes), loc=origin.location)
    try:
        new.verify()
    except MLIRError as exc:
        diags = getattr(exc, "error_diagnostics", [])
        message = diags[0].message if diags else str(exc)
        new.erase()
        raise error(origin, f"cannot lower to nisa.{name}: {message}") from None
    return new


def view(origin: ir.Operation, name: str, result: ir.Type, value: ir.Value, attributes: dict,
         what: str) -> ir.Value:
    """A `memref.<name>` view of `value` before `origin`, verified: an invalid view is a
    PassError ("cannot <what>: <verifier message>") at the source op, not a C++ abort."""
    with ir.InsertionPoint(origin), origin.location:
        op = ir.Operation.create(f"memref.{name}", results=[result], operands=[value],
                                 attributes=attributes, loc=origin.location)
    try:
        op.verify()
    except MLIRError as exc:
        op.erase()
        raise error(origin, f"cannot {what}: {exc}") from None
    return op.results[0]


def segments(*present: bool) -> ir.Attribute:
    return ir.DenseI32ArrayAttr.get([1 if p else 0 for p in present])


def alloc(origin: ir.Operation, t: ir.MemRefType) -> ir.Value:
    return emit(origin, "alloc", [], [t]).results[0]


def release(origin: ir.Operation, value: ir.Value) -> None:
    emit(origin, "release", [value])


def f32_constant(origin: ir.Operation, value: float) -> ir.Value:
    with ir.InsertionPoint(origin), origin.location:
        f32 = ir.F32Type.get()
        op = ir.Operation.create("arith.constant", results=[f32],
                                 attributes={"value": ir.FloatAttr.get(f32, float(value))},
                                 loc=origin.location)
    return op.results[0]


def constant_value(value: ir.Value) -> float | None:
    """The float/int value of an `arith.constant` scalar, else None."""
    if not isinstance(value, ir.OpResult) or value.owner.operation.name != "arith.constant":
        return None
    attr = value.owner.operation.attributes["value"]
    if isinstance(attr, ir.FloatAttr):
        return ir.FloatAttr(attr).value
    if isinstance(attr, ir.BoolAttr):  # i1 constants (`arith.constant true`): 1.0 / 0.0
        return 1.0 if ir.BoolAttr(attr).value else 0.0
    if isinstance(attr, ir.IntegerAttr):
        return float(ir.IntegerAttr(attr).value)
    return None


def scalar_operand(origin: ir.Operation, value: ir.Value) -> ir.Value:
    """An f32 SSA scalar for a tensor-scalar instruction. A constant is re-materialised
    before `origin`: it may be defined in the body of the op being lowered, which is
    erased afterwards (canonicalize hoists body constants, a hand-written test does not)."""
    inside = isinstance(value, ir.OpResult) and is_inside(value.owner.operation, origin)
    if isinstance(value.type, ir.F32Type) and not inside:
        return value
    c = constant_value(value)
    if c is None:
        raise error(origin, f"scalar operand of type {value.type} is not a constant; "
                            "nisa scalar operands are f32 values")
    return f32_constant(origin, c)


def user(use) -> ir.Operation:
    """The operation of an `ir.OpOperand` use (the bindings give an OpView or an Operation)."""
    return use.owner.operation if hasattr(use.owner, "operation") else use.owner


def index_in(ops: list[ir.Operation], op: ir.Operation) -> int:
    """`op`'s position in `ops` (a block's operations, listed)."""
    return next(i for i, other in enumerate(ops) if other == op)


_FOLDABLE = {"arith.addi": lambda a, b: a + b, "arith.subi": lambda a, b: a - b, "arith.muli": lambda a, b: a * b}


def static_index(value: ir.Value) -> int | None:
    """An index that is a constant, or constant arithmetic the lowering left unfolded
    (the peeled first K step of an accumulating matmul loop ends at `%c0 + %c1`)."""
    c = constant_index(value)
    if c is not None or not isinstance(value, ir.OpResult):
        return c
    op = value.owner.operation
    if op.name not in _FOLDABLE:
        return None
    a, b = (static_index(v) for v in op.operands)
    return None if a is None or b is None else _FOLDABLE[op.name](a, b)


def trip_count(loop: ir.Operation) -> int:
    """Iterations of an `scf.for` with constant bounds (0 when they are not constant)."""
    lb, ub, step = (static_index(v) for v in list(loop.operands)[:3])
    return 0 if lb is None or ub is None or not step else max(0, -(-(ub - lb) // step))
