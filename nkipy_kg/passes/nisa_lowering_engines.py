"""Engine balancing rows of `linalg-to-nisa` (run after every instruction exists).

A `tensor_copy`, or a `tensor_scalar_arith` of (multiply, add), (multiply) or (add),
runs on VectorE or ScalarE alike (neuroncore-model.md §2.1 `tensor_scalar`,
`tensor_copy`); the lowering emits them for VectorE. In a block where ScalarE
is idle they are better there: the fused attention row block is a max reduce on
VectorE and an exp on ScalarE, and its scale, normalisation and PSUM copies
would otherwise all queue behind the reduce. Per block, in program order, each
such instruction goes to the engine whose estimated busy time is lower once it
is added: about one cycle per element per partition (NCM §3.3) at the engine's
clock, MIN_II (64 cycles) at least. Instructions with an explicit `engine` stay.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nisa_base import engine_of
from nkipy_kg.dialects.nisa_compute import SCALAR_ENGINE_PAIRS
from nkipy_kg.passes.common import collect
from nkipy_kg.targets import Target

_MIN_II = 64
_FLEXIBLE = ("nisa.tensor_copy", "nisa.tensor_scalar_arith")


def balance_engines(module_op: ir.Operation, target: Target, skip: list[ir.Operation] = ()) -> None:
    """`skip`: instructions that keep their engine (hand-written custom-op bodies)."""
    ghz = {"Vector": target.vector_ghz, "Scalar": target.scalar_ghz}
    blocks = {id(op.block): op.block for op in collect(module_op, lambda o: o.name.startswith("nisa."))}
    for block in blocks.values():
        load = {"Vector": 0.0, "Scalar": 0.0}
        for op in [o.operation for o in block.operations]:
            if not op.name.startswith("nisa.") or op.name in ("nisa.alloc", "nisa.release"):
                continue
            cycles = _cycles(op)
            if _flexible(op) and op not in skip:
                engine = min(load, key=lambda e: load[e] + cycles / ghz[e])
                if engine != "Vector":
                    op.attributes["engine"] = ir.StringAttr.get(engine)
            else:
                engine = engine_of(op.opview)
            if engine in load:
                load[engine] += cycles / ghz[engine]


def _flexible(op: ir.Operation) -> bool:
    if op.name not in _FLEXIBLE or "engine" in op.attributes:
        return False
    if op.name == "nisa.tensor_copy":
        return True
    op0 = ir.StringAttr(op.attributes["op0"]).value
    op1 = ir.StringAttr(op.attributes["op1"]).value if "op1" in op.attributes else None
    reverse = any(k in op.attributes for k in ("reverse0", "reverse1"))
    return (op0, op1) in SCALAR_ENGINE_PAIRS and not reverse


def _cycles(op: ir.Operation) -> float:
    """About one cycle per element of the source's partition row (operand 1)."""
    if len(op.operands) < 2 or not isinstance(op.operands[1].type, ir.MemRefType):
        return float(_MIN_II)
    shape = ir.MemRefType(op.operands[1].type).shape
    n = 1
    for d in shape[1:]:
        n *= d
    return float(max(_MIN_II, n))
