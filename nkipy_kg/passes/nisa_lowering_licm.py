"""Loop-invariant loads of `linalg-to-nisa` (run after every instruction exists).

rmsnorm's row-block loop loads the weight row `w` and broadcasts it to the 128
partitions in every iteration, although neither changes: 16 x (8 KiB + 1 MiB) of
DMA for one useful load. A load whose source does not change in the loop, into a
fresh SBUF tile only read in the loop, moves out with its tile, and the release
moves after the loop:

    scf.for %i = ... {                                   %w = "nisa.alloc"() ...
      %w = "nisa.alloc"() ...                            "nisa.dma_copy"(%w, %arg1_view)
      "nisa.dma_copy"(%w, %arg1_view)          ->        scf.for %i = ... { ... reads %w ... }
      ... reads %w ...                                   "nisa.release"(%w)
      "nisa.release"(%w)
    }

"Does not change" means: the source's buffer is defined outside the loop, nothing in
the loop writes it, and its view does not depend on the loop (views of the loop's
own values move out with the load when they depend on nothing inside it). The tile
then lives for the whole loop, so only tiles of at most `_MAX_BYTES` per partition
move, and only out of loops of at least two iterations. Repeated until nothing
moves, so a broadcast of a hoisted row follows it out.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.memref_helpers import per_partition_bytes
from nkipy_kg.passes.nisa_lowering_common import VIEW_OPS, root, space, trip_count, user

_MAX_BYTES = 16 * 1024  # per partition


def hoist_invariant_loads(module_op: ir.Operation, skip: list[ir.Operation] = ()) -> None:
    """`skip`: instructions to leave alone (hand-written custom-op bodies)."""
    writers: dict = {}  # buffer -> the ops writing it (moving ops does not change this)
    for op in collect(module_op, _writes_something):
        writers.setdefault(root(op.operands[0]), []).append(op)
    moved = True
    while moved:
        moved = False
        for loop in collect(module_op, lambda o: o.name == "scf.for" and trip_count(o) >= 2):
            while _hoist_one(loop, skip, writers):
                moved = True




def _hoist_one(loop: ir.Operation, skip, writers: dict) -> bool:
    body = loop.regions[0].blocks[0]
    written = {root(o.operands[0]) for o in collect(loop, _writes_something)}
    for load in [o.operation for o in body.operations if o.operation.name == "nisa.dma_copy"]:
        tile = load.operands[0]
        alloc_op = tile.owner.operation if isinstance(tile, ir.OpResult) else None
        if load in skip or alloc_op is None or alloc_op.block != body or not _is_small_sbuf_alloc(alloc_op):
            continue  # the load writes the whole of a fresh tile of this body
        if root(load.operands[1]) in written:
            continue
        deps = _invariant_deps(load.operands[1], loop)
        release = _sole_release(tile, body)
        if deps is None or release is None or writers.get(tile) != [load]:  # only the load writes it
            continue
        for dep in [*deps, alloc_op, load]:
            dep.move_before(loop)
        release.move_after(loop)
        return True
    return False


def _writes_something(op: ir.Operation) -> bool:
    return op.name.startswith("nisa.") and op.name not in ("nisa.alloc", "nisa.release") and len(op.operands) > 0


def _is_small_sbuf_alloc(op: ir.Operation) -> bool:
    if op.name != "nisa.alloc" or space(op.results[0]) != MemSpace.Sbuf:
        return False
    return (per_partition_bytes(ir.MemRefType(op.results[0].type)) or 0) <= _MAX_BYTES


def _defined_in(value: ir.Value, loop: ir.Operation) -> ir.Operation | None:
    """The op inside `loop` defining `value` (`loop` itself for its induction variable),
    or None if `value` is defined outside it."""
    if isinstance(value, ir.BlockArgument):
        owner = value.owner.owner
        owner = owner.operation if hasattr(owner, "operation") else owner
        return loop if _within(owner, loop) else None
    owner = value.owner.operation
    return owner if _within(owner, loop) else None


def _within(op: ir.Operation | None, loop: ir.Operation) -> bool:
    while op is not None:
        if op == loop:
            return True
        parent = op.parent
        op = parent.operation if parent is not None and hasattr(parent, "operation") else parent
    return False


def _invariant_deps(value: ir.Value, loop: ir.Operation) -> list[ir.Operation] | None:
    """The pure ops in the loop body that `value` depends on, in body order, when every
    one of them depends only on values defined outside the loop; None otherwise."""
    found: list[ir.Operation] = []
    pending = [value]
    while pending:
        v = pending.pop()
        owner = _defined_in(v, loop)
        if owner is None:
            continue
        if owner == loop or owner.block != loop.regions[0].blocks[0] or \
                not (owner.name in VIEW_OPS or owner.name.startswith("arith.")):
            return None
        if owner not in found:
            found.append(owner)
            pending.extend(owner.operands)
    order = {o: k for k, o in enumerate(o.operation for o in loop.regions[0].blocks[0].operations)}
    return sorted(found, key=order.get)


def _sole_release(tile: ir.Value, body: ir.Block) -> ir.Operation | None:
    releases = [u for u in (user(use) for use in tile.uses) if u.name == "nisa.release"]
    if len(releases) != 1 or releases[0].block != body:
        return None
    return releases[0]

