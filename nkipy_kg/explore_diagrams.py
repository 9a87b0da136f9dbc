"""The data of the explorer's diagrams (tiles here; memory in explore_memory.py, the
graph in explore_graph.py), read from one stage's IR.

The IR text of a snapshot is parsed once with the MLIR bindings (here, in the compiler
process) and walked; what comes out is plain JSON-ready dicts, so the explorer
(`explorer_ext`, the static HTML) never touches MLIR.

    diagrams_for(text, target, budget) -> {"tiles": [...], "graph": {...}, "memory": {...} | None}
    tiles_of(module)   -> [{"kind": "layout"|"tile_op"|"loop", "shape", "tile", ...}]
"""

from __future__ import annotations

import math
import re
from typing import Any

from nkipy_kg._mlir import ir

MEM_SPACES = {1: "Hbm", 2: "Psum", 3: "Sbuf", 4: "SharedHbm"}


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


def body_summary(op: ir.Operation) -> str:
    """`subf · exp` for a linalg.generic computing exp(x - m): its arith/math ops in
    order (what infer-layout's fusion merged), "" for other ops."""
    if op.name != "linalg.generic" or not len(op.regions) or not len(op.regions[0].blocks):
        return ""
    names = [b.name.split(".", 1)[1] for b in _ops(op.regions[0].blocks[0])
             if b.name.startswith(("arith.", "math.")) and b.name != "arith.constant"]
    return " · ".join(names)


def _value_info(v: ir.Value, lines: dict[str, int]) -> tuple[str, str, int | None]:
    owner = v.owner
    if isinstance(owner, ir.Block):
        return v.get_name(), "argument", None
    return v.get_name(), owner.name, _line(owner, lines)


def _annotation(op: ir.Operation, lines: dict[str, int]) -> dict[str, Any]:
    value = op.operands[0]
    name, producer, line = _value_info(value, lines)
    shape = _shape(value.type) or []
    owner = value.owner
    body = "" if isinstance(owner, ir.Block) else body_summary(owner.operation)
    row: dict[str, Any] = {"value": name, "op": producer, "body": body, "line": line, "shape": shape}
    attrs = op.attributes
    if op.name == "nkipy.layout":
        space = ir.IntegerAttr(attrs["mem_space"]).value if "mem_space" in attrs else None
        row.update(kind="layout", tile=_ints(attrs["tile_size"]) if "tile_size" in attrs else shape,
                   partition_dim=ir.IntegerAttr(attrs["partition_dim"]).value if "partition_dim" in attrs else None,
                   mem_space=MEM_SPACES.get(space, str(space)) if space is not None else None)
        return row
    tile = _ints(attrs["loop_tile_size"])
    owner = value.owner
    # Only a linalg producer has an iteration domain; after tiling the value comes from a loop.
    domain = None if isinstance(owner, ir.Block) or not owner.name.startswith("linalg.") else _domain(owner, len(tile))
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
            "body": body_summary(op),
            "line": _line(op, lines), "tile": tile, "loops": loops,
            # The loops' trips laid over the tile: outermost loop -> rows.
            "shape": [t * (n or 1) for t, n in zip(tile, trips + [1] * len(tile))] if len(trips) <= len(tile) else tile,
            "partition_dim": 0, "mem_space": _space_name(op.operands[-1].type) if op.operands else None}


def _space_name(t: ir.Type) -> str | None:
    space = _space(t)
    return MEM_SPACES.get(space, str(space)) if space is not None else None


def _space(t: ir.Type) -> int | None:
    if not _is(ir.MemRefType, t):
        return None
    ms = ir.MemRefType(t).memory_space
    return ir.IntegerAttr(ms).value if ms is not None and _is(ir.IntegerAttr, ms) else None



def diagrams_for(text: str, target: str = "trn2", budget: int | None = None) -> dict[str, Any]:
    """The three diagram payloads of one stage's IR (parsed once, here). `budget` is the
    SBUF bytes per partition insert-spill-reload was held to, drawn on the pressure plot."""
    from nkipy_kg._mlir import make_context
    from nkipy_kg.explore_graph import graph_of
    from nkipy_kg.explore_memory import memory_of

    try:
        module = ir.Module.parse(text, context=make_context())
    except Exception as err:  # an unparsable stage still shows its IR and diff
        return {"error": f"could not parse the stage's IR: {err}"}
    graph = graph_of(module)
    tiles = tiles_of(module, text)
    return {"tiles": tiles, "graph": graph, "memory": memory_of(module, target, budget)}   # memory_of tags ops: last
