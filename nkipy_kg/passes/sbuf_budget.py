"""How much SBUF infer-layout's placements take, and which to move to HBM (registers no pass).

infer-layout puts an intermediate it places itself in Sbuf unless that would not
fit. A value's cost is its bytes per partition spread over all partitions (a lower
bound: the physical layout keeps every partition busy). Two limits, both from the
target's usable SBUF per partition (`targets.py`):

- one inferred value may take at most half of it: with its producer's and
  consumers' operand tiles (and anything else live) it would not fit, and
  insert-spill-reload cannot help, since the buffer is used in the very loops where
  the pressure peaks (a knob-free 2048^3 matmul's 16 MiB product);
- the values live at once (program order of the function body; a value lives from
  its definition to its last use) may take at most half of it together: a
  knob-free elementwise chain at production size (rope on [2048, 32, 128]: eight
  32 KiB intermediates) otherwise leaves insert-spill-reload nothing it can spill.
  While a point is over, the live inferred value that stays live longest (then the
  largest) moves to Hbm. The other half is for tiles, matmul blocks and PSUM
  evacuation.

Small values (at most 1/128 of the SBUF per partition: row statistics such as a
[2048, 1] sum, 64 B) count but never move: moving one frees almost nothing, and
an HBM accumulator costs a DMA round trip in every tile of its reduction (rmsnorm's
sum next to a user's 128 KiB Sbuf square was 512 dependent round trips).
A user's Sbuf counts but never moves, unless the value alone exceeds the whole
SBUF (it could never be placed there): then it is Hbm too. The reference kept every
intermediate in SBUF and failed in insert-spill-reload.

knob-driven-tiling asks `live_across` how much of the SBUF the Sbuf values live
across a matmul take, so its A/B blocks fit next to them (attention's `p @ v`
next to the f32 copy of `v`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nkipy_kg._mlir import ir
from nkipy_kg.passes.memref_helpers import ancestor_in


def bytes_per_partition(value: ir.Value, partitions: int) -> int:
    """A lower bound on the SBUF bytes per partition `value` takes (spread over all partitions)."""
    t = ir.RankedTensorType(value.type)
    if not t.has_static_shape:
        return 0
    elements = 1
    for d in t.shape:
        elements *= d
    element = t.element_type
    width = ir.FloatType(element).width if isinstance(element, ir.FloatType) \
        else ir.IntegerType(element).width if isinstance(element, ir.IntegerType) else 64
    return elements * ((width + 7) // 8) // partitions


def is_small(nbytes: int, sbuf_bytes: int) -> bool:
    """Whether a value of `nbytes` per partition is too small to be worth moving."""
    return 128 * nbytes <= sbuf_bytes


@dataclass(frozen=True)
class Placement:
    value: ir.Value
    nbytes: int        # per partition
    movable: bool      # inferred (not the user's choice)


def to_hbm(func: ir.Operation, placements: list[Placement], budget: int) -> list[ir.Value]:
    """The movable values to place in Hbm so that no point has more than `budget`
    bytes per partition of these Sbuf values live (see the module docstring)."""
    if not placements or len(func.regions[0].blocks) == 0:  # nothing placed (a declaration)
        return []
    block = func.regions[0].blocks[0]
    ops = [op.operation for op in block.operations]
    spans = [(p, *_live_range(p.value, block, ops)) for p in placements]
    moved: list[ir.Value] = []
    for point in range(len(ops)):
        live = [(p, end) for p, start, end in spans if start <= point <= end and not _in(p.value, moved)]
        total = sum(p.nbytes for p, _ in live)
        candidates = sorted((s for s in live if s[0].movable), key=lambda s: (s[1], s[0].nbytes), reverse=True)
        for p, _ in candidates:
            if total <= budget:
                break
            moved.append(p.value)
            total -= p.nbytes
    return moved


def _in(value: ir.Value, values: list[ir.Value]) -> bool:
    return any(value == v for v in values)


def _live_range(value: ir.Value, block: ir.Block, ops: list[ir.Operation]) -> tuple[int, int]:
    """(first, last) index in `ops` (the function body) where `value` is live."""
    owner = value.owner
    start = 0 if isinstance(owner, ir.Block) else _position(owner.operation, block, ops)
    end = start
    for use in value.uses:
        end = max(end, _position(use.owner.operation, block, ops, start))
    return start, end


def _position(op: ir.Operation, block: ir.Block, ops: list[ir.Operation], default: int = 0) -> int:
    top = ancestor_in(op, block)
    if top is None:
        return default
    return next((i for i, o in enumerate(ops) if o == top), default)


def live_across(op: ir.Operation, in_sbuf: Callable[[ir.Value], bool], partitions: int) -> int:
    """Bytes per partition of the tensors `in_sbuf` says live in Sbuf that are defined
    before `op` (at function-body level) and still used at or after it."""
    func = op.parent
    while func is not None and func.name != "func.func":
        func = func.parent
    if func is None:
        return 0
    block = func.regions[0].blocks[0]
    ops = [o.operation for o in block.operations]
    point = _position(op, block, ops)
    total = 0
    for before in ops[:point]:
        for value in before.results:
            if not isinstance(value.type, ir.RankedTensorType) or not in_sbuf(value):
                continue
            if _live_range(value, block, ops)[1] >= point:
                total += bytes_per_partition(value, partitions)
    return total
