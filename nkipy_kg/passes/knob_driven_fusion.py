"""Pass `knob-driven-fusion`: fuse the tiled loop nests named by each `nkipy.fuse_op`.

After tiling, `knob.fuse(a, b)` is a `nkipy.fuse_op` on the results of the
`scf.for` nests computing `a` and `b`. The nests are merged into one (the loops
must have equal bounds and steps, i.e. the ops had equal tiles), then the inner
sibling loops of the merged body are merged too, recursively:

    %a = scf.for %i = %c0 to %c256 step %c128 iter_args(%x = %e0) -> (tensor<256x512xf32>) {
      %a1 = scf.for %j = ... { <exp tile> }
      scf.yield %a1
    }
    %b = scf.for %i2 = %c0 to %c256 step %c128 iter_args(%y = %e1) -> (tensor<256x512xf32>) {
      %b1 = scf.for %j2 = ... { <add tile> }
      scf.yield %b1
    }
    "nkipy.fuse_op"(%a, %b) : (tensor<256x512xf32>, tensor<256x512xf32>) -> ()

becomes

    %r:2 = scf.for %i = %c0 to %c256 step %c128 iter_args(%x = %e0, %y = %e1) -> (tensor<...>, tensor<...>) {
      %r1:2 = scf.for %j = ... iter_args(...) { <exp tile> <add tile> scf.yield ... }
      scf.yield %r1#0, %r1#1
    }

Upstream's `fuseIndependentSiblingForLoops` is C++ only, so the fusion is done
here: the fused loop carries the first loop's iter_args then the second's, its
body is the first body followed by the second, and it yields both. Ops between
the two loops are moved out of the way first: ops that depend on the first loop
(e.g. its `nkipy.layout`) go after the second loop, the others (side-effect free:
no memref operands, no calls) are hoisted above the first loop.

Beyond the reference (whose upstream helper assumes independent loops), a loop may
read an earlier target's result when it reads, in each iteration, only the stripe
of rows (or of any dim) that the same iteration of the producer computes
(`fusion_deps.py`): softmax's `m = max(x)`, `e = exp(x - m)`, `s = sum(e)` and
`e / s` fuse into one loop over row blocks. The read then takes the value the
producer part yields in the fused body; `extract_slice(insert_slice)` of the same
slice folds to the tile, and a carried full tensor that nothing reads any more is
dropped (its inserts go), so the intermediate stays a per-iteration tile.
Targets of `fuse_op`s with the same `group` attribute (tensors of different types,
see `nkipy.fuse_op`) are fused together.

A loop reading rows of a whole per-head block of another target (attention's `p @ v`
reading the head's `p`) stays a block-level reader while the block fits in 3/4 of the
target's SBUF (option `target`); a larger block is read row block by row block
(`fusion_slices.compose_extracts`), so it is never whole in SBUF.

Errors (located at the fuse_op): a target not produced by an `scf.for` ("was it
tiled?"); loops with different bounds or steps ("ensure their tile_op tile_size
matches"); targets in different blocks; a loop that reads another target's result
beyond the stripe its iteration computes; and an op with side effects between the loops.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, scf
from nkipy_kg.passes.common import collect, is_inside_nkipy_region, pass_error
from nkipy_kg.passes.fusion_cleanup import (drop_dead_chains, erase_dead_tensor_ops, fold_slices_of_inserts,
                                             inline_single_trip, reuse_loaded_tiles, split_sliced_empties,
                                             compute_into_destinations)
from nkipy_kg.passes.fusion_contract import contract_stripes
from nkipy_kg.passes.fusion_slices import compose_extracts, read_through_inserts
from nkipy_kg.passes.fusion_deps import constant_index, consumer_reads, why_not_fusable
from nkipy_kg.passes.registry import python_pass
from nkipy_kg.targets import DEFAULT_TARGET, get_target

PASS_NAME = "knob-driven-fusion"


class NotFusable(Exception):
    """Two loops cannot be fused; the message says why."""


class FuseFirst(Exception):
    """The second loop reads a loop between the two (e.g. the reciprocal that
    prepare-arithmetic made of `e / s`): that loop has to be fused first."""

    def __init__(self, loop: ir.Operation) -> None:
        super().__init__()
        self.loop = loop


@python_pass(PASS_NAME, "fuse the sibling scf.for nests named by nkipy.fuse_op", target=DEFAULT_TARGET)
def knob_driven_fusion(module_op: ir.Operation, target: str = DEFAULT_TARGET) -> None:
    """Fuse the loops of every fuse_op, then erase it (see the module docstring)."""
    try:
        # 3/4: the row loop's own tiles (scores, exp, q, v blocks) need the rest.
        limit = get_target(target).sbuf_bytes_per_partition * 3 // 4
    except ValueError as exc:
        raise pass_error(PASS_NAME, module_op, str(exc)) from None
    fuse_ops = collect(module_op, lambda op: op.name == "nkipy.fuse_op" and not is_inside_nkipy_region(op))
    for group in _groups(fuse_ops):
        loops = _target_loops(group)
        ordered = sorted(loops, key=lambda loop: _position(loop))
        for fuse_op in group:
            fuse_op.erase()
        if len(ordered) < 2:
            continue  # one nest computes every target already (e.g. a repeated knob.fuse)
        fused = ordered[0]
        try:
            for loop in ordered[1:]:
                fused = _fuse_with_between(fused, loop)
        except NotFusable as exc:
            raise pass_error(PASS_NAME, fused, f"cannot fuse the fuse_op targets: {exc}") from None
        fuse_inner_siblings(fused, limit)
        fold_slices_of_inserts(fused)
        reuse_loaded_tiles(fused)
        func = fused.parent.operation
        erase_dead_tensor_ops(func)
        drop_dead_chains(func)  # these two may rebuild `fused` itself
        contract_stripes(func)
        erase_dead_tensor_ops(func)
        split_sliced_empties(func)
        compute_into_destinations(func)


def _fuse_with_between(fused: ir.Operation, loop: ir.Operation) -> ir.Operation:
    """Fuse `loop` into `fused`, first fusing in the equal-bound loops between them it reads."""
    while True:
        try:
            return fuse_siblings(fused, loop)
        except FuseFirst as need:
            fused = _fuse_with_between(fused, need.loop)


def _groups(fuse_ops: list[ir.Operation]) -> list[list[ir.Operation]]:
    """fuse_ops that share a `group` attribute form one group; any other is its own."""
    groups: dict[object, list[ir.Operation]] = {}
    for i, op in enumerate(fuse_ops):
        key = ("group", ir.IntegerAttr(op.attributes["group"]).value) if "group" in op.attributes else i
        groups.setdefault(key, []).append(op)
    return list(groups.values())


def _target_loops(group: list[ir.Operation]) -> list[ir.Operation]:
    fuse_op = group[0]
    loops: list[ir.Operation] = []
    for value in (v for op in group for v in op.operands):
        if not isinstance(value, ir.OpResult) or value.owner.operation.name != "scf.for":
            raise pass_error(PASS_NAME, fuse_op, "fuse_op target is not produced by an scf.for (was it tiled?)")
        loop = value.owner.operation
        if loop not in loops:
            loops.append(loop)
    for i, loop in enumerate(loops[1:], start=1):
        if not same_bounds(loops[0], loop):
            raise pass_error(PASS_NAME, fuse_op, f"fuse_op targets have mismatched loop bounds (target #0 vs #{i}); "
                             "ensure their tile_op tile_size matches")
        if loop.parent != loops[0].parent or loop.block != loops[0].block:
            raise pass_error(PASS_NAME, fuse_op, f"fuse_op targets #0 and #{i} are computed in different blocks")
    return loops


def _position(op: ir.Operation) -> int:
    return next(i for i, other in enumerate(op.block.operations) if other.operation == op)


def same_bounds(a: ir.Operation, b: ir.Operation) -> bool:
    """Equal lower bound, upper bound and step: the same SSA value or equal constants."""
    for x, y in zip(a.operands[:3], b.operands[:3]):
        if x != y and (constant_index(x) is None or constant_index(x) != constant_index(y)):
            return False
    return True


def fuse_siblings(first: ir.Operation, second: ir.Operation) -> ir.Operation:
    """Fuse `second` into `first` (same block, `first` before it, equal bounds); returns the new loop."""
    _make_adjacent(first, second)
    reads = consumer_reads(second, first)  # producer -> consumer: the reads take the yielded value
    n_first = len(first.results)
    with first.location, ir.InsertionPoint(first):
        fused = scf.ForOp(first.operands[0], first.operands[1], first.operands[2],
                          [*first.operands[3:], *second.operands[3:]])
    body = fused.body
    with first.location, ir.InsertionPoint(body):
        yielded = [*_terminator(first).operands, *_terminator(second).operands]
        yield_op = scf.YieldOp(yielded)
    for loop, args in ((first, body.arguments[1:1 + n_first]), (second, body.arguments[1 + n_first:])):
        old = loop.regions[0].blocks[0]
        old.arguments[0].replace_all_uses_with(fused.induction_variable)
        for old_arg, new_arg in zip(list(old.arguments)[1:], args):
            old_arg.replace_all_uses_with(new_arg)
        for op in list(old.operations)[:-1]:
            op.operation.move_before(yield_op.operation)
    for op, k in reads:
        op.operands[0] = yielded[k]
    for i, result in enumerate(first.results):
        result.replace_all_uses_with(fused.results[i])
    for i, result in enumerate(second.results):
        result.replace_all_uses_with(fused.results[n_first + i])
    first.erase()
    second.erase()
    return fused.operation


def fuse_inner_siblings(loop: ir.Operation, limit: int) -> None:
    """Fuse consecutive independent equal-bound `scf.for`s in `loop`'s body, recursively;
    a whole-block slice over `limit` bytes per partition is read row by row (see
    `compose_extracts`)."""
    body = loop.regions[0].blocks[0]
    read_through_inserts(loop)  # a per-head block's rows read from the block itself
    compose_extracts(loop, limit)  # rows of a too-large whole-block slice: rows of the result
    inner = [op.operation for op in body.operations if op.operation.name == "scf.for"]
    if any(consumer_reads(b, a) for a in inner for b in inner if a != b):
        # Producer -> consumer: a whole-row tile's one-trip loop would keep the reduction
        # (whose accumulator it carries) apart from its readers; inlined, they fuse here.
        while any([inline_single_trip(op) for op in inner]):  # a one-trip loop may hold another
            inner = [op.operation for op in body.operations if op.operation.name == "scf.for"]
        read_through_inserts(loop)  # inlined bodies bring their inserts to this level
        inner = [op.operation for op in body.operations if op.operation.name == "scf.for"]
    i = 0
    while i + 1 < len(inner):
        if not same_bounds(inner[i], inner[i + 1]):
            i += 1
            continue
        try:
            inner[i:i + 2] = [fuse_siblings(inner[i], inner[i + 1])]
        except NotFusable:  # e.g. the second loop reads the first: keep both
            i += 1
    for op in inner:
        fuse_inner_siblings(op, limit)


def _terminator(loop: ir.Operation) -> ir.Operation:
    return list(loop.regions[0].blocks[0].operations)[-1].operation


def _make_adjacent(first: ir.Operation, second: ir.Operation) -> None:
    """Move the ops between the loops: dependents of `first` after `second`, the rest above `first`."""
    block_ops = [op.operation for op in first.block.operations]
    between = block_ops[_position(first) + 1:_position(second)]
    tainted = set(first.results)
    after, before = [], []
    for op in between:
        if _uses_any(op, tainted):
            tainted.update(op.results)
            after.append(op)
        elif _has_side_effects(op):
            raise NotFusable(f"'{op.name}' between the loops may have side effects")
        else:
            before.append(op)
    culprit = next((op for op in after if _uses_any(second, set(op.results))), None)
    if culprit is not None and culprit.name == "scf.for" and same_bounds(first, culprit):
        raise FuseFirst(culprit)
    if culprit is not None:
        raise NotFusable(f"one loop reads a value computed from the other by '{culprit.name}' "
                         "between them (fuse that op's loop too)")
    if _uses_any(second, set(first.results)) and (why := why_not_fusable(first, second)) is not None:
        raise NotFusable(f"one loop reads the result of the other: {why}")
    for op in before:
        op.move_before(first)
    for op in reversed(after):
        op.move_after(second)


def _uses_any(op: ir.Operation, values: set[ir.Value]) -> bool:
    """Whether `op` or an op nested in it has an operand in `values`."""
    found = False

    def visit(inner: ir.Operation) -> ir.WalkResult:
        nonlocal found
        if any(v in values for v in inner.operands):
            found = True
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def _has_side_effects(op: ir.Operation) -> bool:
    """Conservative: calls and anything touching memrefs (the bindings expose no effect interface)."""
    if op.name in ("func.call", "func.call_indirect") or op.name.startswith(("memref.", "gpu.")):
        return True
    values = [*op.operands, *op.results]
    return any(isinstance(v.type, ir.MemRefType) for v in values)
