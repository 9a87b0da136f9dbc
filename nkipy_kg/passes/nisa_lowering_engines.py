"""Engine balancing rows of `linalg-to-nisa` (run after every instruction exists).

A `tensor_copy`, or a `tensor_scalar_arith` of (multiply, add), (multiply) or (add),
runs on VectorE or ScalarE alike (neuroncore-model.md §2.1 `tensor_scalar`,
`tensor_copy`); the lowering emits them for VectorE. In a block where ScalarE
is idle they are better there: the fused attention row block is a max reduce on
VectorE and an exp on ScalarE, and its scale, normalisation and PSUM copies
would otherwise all queue behind the reduce. Per block, in program order, each
such instruction goes to the engine whose estimated busy time is lower once it
is added: about one cycle per element per partition (NCM §3.3) at the engine's
clock, MIN_II (64 cycles) at least, 2-4x fewer on VectorE for 16-bit data on NC-v3
(its performance mode). Instructions with an explicit `engine` stay, and so do ops of
MIN_II or less (a `[P, 1]` negation before an exp): all fixed cost, and on the engine
of their reader they would add its dependent-instruction overhead (NCM §3.3).
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nisa_base import engine_of, mem_space
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.dialects.nisa_compute import SCALAR_ENGINE_PAIRS
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.nisa_lowering_common import trip_count
from nkipy_kg.targets import Target

_MIN_II = 64
_FLEXIBLE = ("nisa.tensor_copy", "nisa.tensor_scalar_arith")


def balance_engines(module_op: ir.Operation, target: Target, skip: list[ir.Operation] = ()) -> None:
    """`skip`: instructions that keep their engine (hand-written custom-op bodies)."""
    # Each block once, in order (a Block hashes and compares by the block it wraps).
    blocks = dict.fromkeys(op.block for op in collect(module_op, lambda o: o.name.startswith("nisa.")))
    for block in blocks:
        balance_block(block, target, skip)


def rebalance_block(block: ir.Block, target: Target, skip: list[ir.Operation] = ()) -> None:
    """Balance `block` again from scratch (the software pipeliner unrolled loops into it:
    the copies of a fused matmul's PSUM chunks can now go to both engines)."""
    for op in [o.operation for o in block.operations]:
        if op.name in _FLEXIBLE and op not in skip and "engine" in op.attributes:
            del op.attributes["engine"]
    balance_block(block, target, skip)


def balance_block(block: ir.Block, target: Target, skip: list[ir.Operation] = ()) -> None:
    ghz = {"Vector": target.vector_ghz, "Scalar": target.scalar_ghz}
    load = {"Vector": 0.0, "Scalar": 0.0}
    for op in [o.operation for o in block.operations]:
        if op.name == "scf.for":  # a nested loop's work (each trip) counts, as it stands
            for engine, ns in _loop_load(op, ghz).items():
                load[engine] += ns
            continue
        if not op.name.startswith("nisa.") or op.name in ("nisa.alloc", "nisa.release"):
            continue
        cycles = _cycles(op)
        if _flexible(op) and op not in skip and cycles > _MIN_II:  # a [P, 1] op is all fixed cost
            ns = {"Vector": max(_MIN_II, cycles / _vector_speedup(op, target)) / ghz["Vector"],
                  "Scalar": cycles / ghz["Scalar"]}
            engine = min(load, key=lambda e: load[e] + ns[e])
            if engine != "Vector":
                op.attributes["engine"] = ir.StringAttr.get(engine)
            load[engine] += ns[engine]
            continue
        engine = engine_of(op.opview)
        if engine in load:
            load[engine] += cycles / ghz[engine]


def _loop_load(loop: ir.Operation, ghz: dict[str, float]) -> dict[str, float]:
    """Estimated VectorE and ScalarE ns of all trips of `loop` (engines as assigned)."""
    load = {"Vector": 0.0, "Scalar": 0.0}
    trips = trip_count(loop)
    for op in collect(loop, lambda o: o.name.startswith("nisa.") and o.name not in ("nisa.alloc", "nisa.release")):
        engine = engine_of(op.opview)
        if engine in load:
            inner, cur = 1, op.parent
            while cur is not None and cur != loop:  # deeper loops multiply
                inner *= max(trip_count(cur), 1) if cur.name == "scf.for" else 1
                cur = cur.parent
            load[engine] += inner * _cycles(op) / ghz[engine]
    return {e: ns * max(trips, 1) for e, ns in load.items()}


def _flexible(op: ir.Operation) -> bool:
    if op.name not in _FLEXIBLE or "engine" in op.attributes:
        return False
    if op.name == "nisa.tensor_copy":
        return True
    op0 = ir.StringAttr(op.attributes["op0"]).value
    op1 = ir.StringAttr(op.attributes["op1"]).value if "op1" in op.attributes else None
    reverse = any(k in op.attributes for k in ("reverse0", "reverse1"))
    return (op0, op1) in SCALAR_ENGINE_PAIRS and not reverse


def _vector_speedup(op: ir.Operation, target: Target) -> float:
    """VectorE's 16-bit performance mode (NCM §3.3): 4x SBUF -> SBUF, else 2x."""
    types = [ir.MemRefType(v.type) for v in list(op.operands)[:2]]
    if target.vector_16bit_speedup == 1 or any(t.element_type.width != 16 for t in types
                                               if not isinstance(t.element_type, ir.IndexType)):
        return 1.0
    sbuf = all(mem_space(t) == MemSpace.Sbuf for t in types)
    return float(target.vector_16bit_speedup if sbuf else target.vector_16bit_speedup // 2)


def _cycles(op: ir.Operation) -> float:
    """About one cycle per element of the source's partition row (operand 1)."""
    if len(op.operands) < 2 or not isinstance(op.operands[1].type, ir.MemRefType):
        return float(_MIN_II)
    shape = ir.MemRefType(op.operands[1].type).shape
    n = 1
    for d in shape[1:]:
        n *= d
    return float(max(_MIN_II, n))
