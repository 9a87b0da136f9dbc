"""The explorer's memory diagram data: SBUF/PSUM buffers, pressure over program order and
spill/reload events, read from one stage's parsed IR (see explore_diagrams.diagrams_for).

    memory_of(module, target, budget) -> {"buffers", "pressure", "peak", "events", "capacity", "budget", ...}

Buffers are `memref.alloc`s in memory space 3 (SBUF) or 2 (PSUM): partitions x bytes per
partition, live from the alloc to the last use of it or of any view of it. A copy into a
space-1 (HBM) slot is a spill, a copy out of one a reload.
"""

from __future__ import annotations

import math
import re
from typing import Any

from nkipy_kg._mlir import ir
from nkipy_kg.explore_diagrams import _funcs, _ops, _shape, _space
from nkipy_kg.targets import get_target

ON_CHIP = {3: "sbuf", 2: "psum"}
ORDER = "nkx.order"   # program-order index, set on our own parsed copy: op handles are not uniqued
# Ops whose result is a view of their first operand: a use of the view is a use of the buffer.
VIEWS = {"memref.subview", "memref.collapse_shape", "memref.expand_shape", "memref.reinterpret_cast",
         "memref.cast", "memref.transpose", "memref.reshape"}


def spill_budget(options: str) -> int | None:
    """The `sbuf-capacity=N` budget insert-spill-reload was run with (None: the target's SBUF)."""
    m = re.search(r"\bsbuf-capacity=(\d+)", options)
    return int(m.group(1)) if m else None


def _elem_bytes(t: ir.Type) -> int:
    m = re.search(r"(\d+)$", str(ir.ShapedType(t).element_type))
    return max(1, int(m.group(1)) // 8) if m else 8


def _flatten(block: ir.Block, order: list[ir.Operation], end: dict[int, int], parent: dict[int, ir.Operation | None],
             outer: ir.Operation | None) -> None:
    """Program order: every op pre-order, with the index of the last op nested in it."""
    for op in _ops(block):
        start = len(order)
        op.attributes[ORDER] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), start)
        order.append(op)
        parent[start] = outer
        for region in op.regions:
            for b in region.blocks:
                _flatten(b, order, end, parent, op)
        end[start] = len(order) - 1


def memory_of(module: ir.Module, target: str = "trn2", budget: int | None = None) -> dict[str, Any] | None:
    """SBUF/PSUM buffers (partitions x bytes per partition), live bytes per partition
    after every op, and the spill/reload copies to HBM slots. None before bufferization.
    `budget`: the spill pass's SBUF budget when it was given one (else the capacity)."""
    funcs = _funcs(module)
    if not funcs:
        return None
    order: list[ir.Operation] = []
    end: dict[int, int] = {}
    parent: dict[int, ir.Operation | None] = {}
    with module.context:
        for f in funcs:
            _flatten(f.regions[0].blocks[0], order, end, parent, None)
    buffers, slots = [], []
    for k, op in enumerate(order):
        if op.name != "memref.alloc":
            continue
        t = op.results[0].type
        space, shape = _space(t), _shape(t) or [1]
        if space in ON_CHIP:
            per = math.prod(shape[1:]) * _elem_bytes(t)
            first, last = k, _last_use(op, k, end)
            buffers.append({"name": op.results[0].get_name(), "space": ON_CHIP[space], "shape": shape,
                            "dtype": str(ir.ShapedType(t).element_type), "partitions": shape[0],
                            "bytes": per, "first": first, "last": last})
        elif space == 1:
            slots.append(op)
    if not buffers and not slots:
        return None
    tgt = get_target(target)
    n = len(order)
    pressure = {"sbuf": [0] * n, "psum": [0] * n}
    for b in buffers:
        for k in range(b["first"], b["last"] + 1):
            pressure[b["space"]][k] += b["bytes"]
    events = _spill_events(slots)
    peak = {s: max(p) if p else 0 for s, p in pressure.items()}
    return {
        "target": tgt.name, "partitions": tgt.partitions,
        "capacity": {"sbuf": tgt.sbuf_bytes_per_partition, "psum": tgt.psum_bytes_per_partition},
        "budget": budget,
        "ops": [op.name for op in order], "buffers": buffers, "pressure": pressure, "peak": peak,
        "peak_at": {s: p.index(peak[s]) if p else 0 for s, p in pressure.items()},
        "events": events, "hbm_slots": len(slots),
    }


def _aliases(v: ir.Value) -> list[ir.Value]:
    """`v` and every view of it (subview, collapse_shape, ...), transitively."""
    out, todo = [], [v]
    while todo:
        cur = todo.pop()
        out.append(cur)
        todo += [u.owner.results[0] for u in cur.uses if u.owner.name in VIEWS and u.owner.results]
    return out


def _at(op: ir.Operation) -> int | None:
    return ir.IntegerAttr(op.attributes[ORDER]).value if ORDER in op.attributes else None


def _last_use(alloc: ir.Operation, at: int, end: dict[int, int]) -> int:
    """The last program-order index the buffer is live at. A use inside a loop the buffer
    is defined outside of keeps it live until that loop ends (the next iteration)."""
    last = at
    home = _at(alloc.parent) if alloc.parent is not None else None
    for v in _aliases(alloc.results[0]):
        for use in v.uses:
            user = use.owner
            k = _at(user)
            if k is None:
                continue
            # Climb to the ancestor of the user that sits in the alloc's own block.
            anc = user
            while anc.parent is not None and _at(anc.parent) is not None and _at(anc.parent) != home:
                anc = anc.parent
            last = max(last, end.get(_at(anc), k) if _at(anc) != k else k)
    return last


def _spill_events(slots: list[ir.Operation]) -> list[dict[str, Any]]:
    """memref.copy into an HBM slot is a spill; out of one, a reload."""
    events = []
    for slot in slots:
        name = slot.results[0].get_name()
        views = {hash(v) for v in _aliases(slot.results[0])}
        for use in [u for v in _aliases(slot.results[0]) for u in v.uses]:
            user = use.owner
            if user.name != "memref.copy":
                continue
            kind = "spill" if hash(user.operands[1]) in views else "reload"
            other = user.operands[0] if kind == "spill" else user.operands[1]
            events.append({"kind": kind, "at": _at(user) or 0, "slot": name, "buffer": _root_name(other),
                           "bytes": math.prod((_shape(other.type) or [1])[1:]) * _elem_bytes(other.type)})
    return sorted(events, key=lambda e: e["at"])


def _root_name(v: ir.Value) -> str:
    while not isinstance(v.owner, ir.Block) and v.owner.name in VIEWS:
        v = v.owner.operands[0]
    return v.get_name()
