"""The data of the explorer's tile and memory diagrams, read from one stage's IR.

The IR text of a snapshot is parsed once with the MLIR bindings (here, in the compiler
process) and walked; what comes out is plain JSON-ready dicts, so the explorer
(`explorer_ext`, the static HTML) never touches MLIR.

    tiles_of(module)   -> [{"kind": "layout"|"tile_op"|"loop", "shape", "tile", ...}]
    memory_of(module, target) -> {"buffers", "pressure", "events", "capacity", ...}
"""

from __future__ import annotations

import math
import re
from typing import Any

from nkipy_kg._mlir import ir
from nkipy_kg.targets import get_target

MEM_SPACES = {1: "Hbm", 2: "Psum", 3: "Sbuf", 4: "SharedHbm"}
ON_CHIP = {3: "sbuf", 2: "psum"}
# Ops whose result is a view of their first operand: a use of the view is a use of the buffer.
ORDER = "nkx.order"   # program-order index, set on our own parsed copy: op handles are not uniqued
VIEWS = {"memref.subview", "memref.collapse_shape", "memref.expand_shape", "memref.reinterpret_cast",
         "memref.cast", "memref.transpose", "memref.reshape"}


def _ops(block: ir.Block) -> list[ir.Operation]:
    return [op.operation for op in block.operations]


def _funcs(module: ir.Module) -> list[ir.Operation]:
    return [op for op in _ops(module.body) if op.name == "func.func"]


def _ints(attr: ir.Attribute) -> list[int]:
    return [int(v) for v in ir.DenseI64ArrayAttr(attr)]


def _is(cls: Any, t: ir.Type) -> bool:
    try:
        cls(t)
    except ValueError:
        return False
    return True


def _shape(t: ir.Type) -> list[int] | None:
    if not (_is(ir.RankedTensorType, t) or _is(ir.MemRefType, t)):
        return None
    return [int(d) for d in ir.ShapedType(t).shape]


def _line(op: ir.Operation, lines: dict[str, int]) -> int | None:
    """The 1-based IR line of `op` (matched on its first result name), for IR linking."""
    if not op.results:
        return None
    return lines.get(op.results[0].get_name())


def _def_lines(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"\s*(%[\w.$-]+)(?::\d+)?\s*=", line)
        if m and m.group(1) not in out:
            out[m.group(1)] = n
    return out


# ---- tiles ---------------------------------------------------------------------------

def _domain(op: ir.Operation, rank: int) -> list[int] | None:
    """The iteration domain of a linalg op with `rank` loops: matmul [M, N, K], else the
    first operand of that rank (a reduction's input, an elementwise op's output)."""
    shapes = [s for s in (_shape(v.type) for v in op.operands) if s is not None]
    if op.name == "linalg.matmul" and len(shapes) >= 3:
        return [shapes[2][0], shapes[2][1], shapes[0][1]]
    return next((s for s in shapes if len(s) == rank), None)


def _loop(op: ir.Operation) -> dict[str, Any]:
    def const(v: ir.Value) -> int | None:
        owner = v.owner
        if isinstance(owner, ir.Block) or owner.name != "arith.constant":
            return None
        return ir.IntegerAttr(owner.attributes["value"]).value

    lb, ub, step = (const(op.operands[k]) for k in range(3))
    trips = math.ceil((ub - lb) / step) if None not in (lb, ub, step) and step else None
    return {"lb": lb, "ub": ub, "step": step, "trips": trips}


def tiles_of(module: ir.Module, text: str = "") -> list[dict[str, Any]]:
    """Every tiling decision visible in the stage: `nkipy.layout` (a tensor's tile and
    partition dim), `nkipy.tile_op` (an op's loop tiles over its iteration domain) and,
    after tiling, each linalg op inside scf.for loops (its tile and the loops' trips)."""
    lines = _def_lines(text)
    out: list[dict[str, Any]] = []

    def walk(block: ir.Block, loops: list[dict[str, Any]]) -> None:
        for op in _ops(block):
            if op.name == "scf.for":
                walk(op.regions[0].blocks[0], [*loops, _loop(op)])
                continue
            if op.name in ("nkipy.layout", "nkipy.tile_op"):
                out.append(_annotation(op, lines))
            elif op.name.startswith("linalg.") and loops and op.name != "linalg.yield":
                out.append(_tiled(op, loops, lines))

    for f in _funcs(module):
        walk(f.regions[0].blocks[0], [])
    return out


def _value_info(v: ir.Value, lines: dict[str, int]) -> tuple[str, str, int | None]:
    owner = v.owner
    if isinstance(owner, ir.Block):
        return v.get_name(), "argument", None
    return v.get_name(), owner.name, _line(owner, lines)


def _annotation(op: ir.Operation, lines: dict[str, int]) -> dict[str, Any]:
    value = op.operands[0]
    name, producer, line = _value_info(value, lines)
    shape = _shape(value.type) or []
    row: dict[str, Any] = {"value": name, "op": producer, "line": line, "shape": shape}
    attrs = op.attributes
    if op.name == "nkipy.layout":
        space = ir.IntegerAttr(attrs["mem_space"]).value if "mem_space" in attrs else None
        row.update(kind="layout", tile=_ints(attrs["tile_size"]) if "tile_size" in attrs else shape,
                   partition_dim=ir.IntegerAttr(attrs["partition_dim"]).value if "partition_dim" in attrs else None,
                   mem_space=MEM_SPACES.get(space, str(space)) if space is not None else None)
        return row
    tile = _ints(attrs["loop_tile_size"])
    owner = value.owner
    domain = None if isinstance(owner, ir.Block) else _domain(owner, len(tile))
    if domain is None and len(tile) == len(shape):
        # The producer is no longer a linalg op (a tile loop): draw the loop tiles clipped
        # to the value's own shape, and keep the requested tiles alongside.
        row.update(kind="tile_op", tile=[min(t, d) for t, d in zip(tile, shape)], requested=tile,
                   shape=shape, partition_dim=None, mem_space=None)
        return row
    row.update(kind="tile_op", tile=tile, shape=domain or shape, partition_dim=None, mem_space=None)
    return row


def _tiled(op: ir.Operation, loops: list[dict[str, Any]], lines: dict[str, int]) -> dict[str, Any]:
    # The largest operand tile (a reduction's input, not its [128, 1] accumulator).
    shapes = [s for s in (_shape(v.type) for v in op.operands) if s is not None]
    tile = max(shapes, key=math.prod) if shapes else []
    trips = [l["trips"] for l in loops]
    op_id = op.attributes["nkipy.op_id"] if "nkipy.op_id" in op.attributes else None
    return {"kind": "loop", "value": f"op {ir.IntegerAttr(op_id).value}" if op_id is not None else "", "op": op.name,
            "line": _line(op, lines), "tile": tile, "loops": loops,
            # The loops' trips laid over the tile: outermost loop -> rows.
            "shape": [t * (n or 1) for t, n in zip(tile, trips + [1] * len(tile))] if len(trips) <= len(tile) else tile,
            "partition_dim": 0, "mem_space": _space_name(op.operands[-1].type) if op.operands else None}


def _space_name(t: ir.Type) -> str | None:
    space = _space(t)
    return MEM_SPACES.get(space, str(space)) if space is not None else None


# ---- memory --------------------------------------------------------------------------

def _space(t: ir.Type) -> int | None:
    if not _is(ir.MemRefType, t):
        return None
    ms = ir.MemRefType(t).memory_space
    return ir.IntegerAttr(ms).value if ms is not None and _is(ir.IntegerAttr, ms) else None


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


def memory_of(module: ir.Module, target: str = "trn2") -> dict[str, Any] | None:
    """SBUF/PSUM buffers (partitions x bytes per partition), live bytes per partition
    after every op, and the spill/reload copies to HBM slots. None before bufferization."""
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


def diagrams_for(text: str, target: str = "trn2") -> dict[str, Any]:
    """The three diagram payloads of one stage's IR (parsed once, here)."""
    from nkipy_kg._mlir import make_context
    from nkipy_kg.explore_graph import graph_of

    try:
        module = ir.Module.parse(text, context=make_context())
    except Exception as err:  # an unparsable stage still shows its IR and diff
        return {"error": f"could not parse the stage's IR: {err}"}
    graph = graph_of(module)
    tiles = tiles_of(module, text)
    return {"tiles": tiles, "graph": graph, "memory": memory_of(module, target)}   # memory_of tags ops: last
