"""Pass `insert-spill-reload`: keep the live SBUF bytes per partition under capacity by spilling to HBM.

SBUF is small (trn2: 212984 usable bytes per partition) and NISA has no virtual
memory: if the buffers live at some point of the kernel do not fit, some must wait
in HBM. After `legalize-layout` every SBUF alloc (`memref<..., 3 : i32>`) has its
physical shape, dim 0 = partition, so its footprint on each partition is
`numElements / shape[0] * elemBytes`. The pass computes, at every op (nested ones
included), the bytes of the SBUF allocs live there; where that exceeds the
capacity it picks victims with Belady's MIN rule (the buffer whose next use is
farthest goes first) and moves them to an HBM (1) spill slot over the gap between
two of their uses:

    %a = memref.alloc() : memref<128x2048xf32, 3 : i32>      // 8 KiB / partition each,
    %b = memref.alloc() : memref<128x2048xf32, 3 : i32>      // capacity 16 KiB
    %c = memref.alloc() : memref<128x2048xf32, 3 : i32>
    memref.copy %x, %a          // a
    memref.copy %x, %b          // a b
    memref.copy %x, %c          // a b c  <- 24 KiB: a is live, unused until the last add
    linalg.add ins(%b, %c) outs(%c)
    linalg.add ins(%a, %c) outs(%c)

becomes

    %a = memref.alloc() : memref<128x2048xf32, 3 : i32>
    %slot = memref.alloc() : memref<128x2048xf32, 1 : i32>
    ...
    memref.copy %x, %a
    memref.copy %a, %slot                                    // spill, right after a's last use
    memref.copy %x, %b
    memref.copy %x, %c
    linalg.add ins(%b, %c) outs(%c)
    %a2 = memref.alloc() : memref<128x2048xf32, 3 : i32>
    memref.copy %slot, %a2                                   // reload, right before the next use
    linalg.add ins(%a2, %c) outs(%c)

Liveness. An alloc defined in block D is live in D from the first to the last op
of D that uses it, where a use is any user reached through view ops (subview,
collapse/expand_shape, reinterpret_cast, cast, ...) and a use nested in a region
counts at its ancestor op in D (a loop uses everything its body uses). A view
keeps its source live from the view's creation to the view's last use. Inside a
nested block the alloc is live from its first use there (or from the block start
if it was live before the parent op, or is used in the body of a loop it lives
across) to its last use there (or the block end, symmetrically); a buffer passed
to a region op as an operand (e.g. an iter_arg) is live in all of its blocks.
As in the reference, liveness starts at the first use, not at the alloc op, and
ends at the last use, where `insert-memref-dealloc` frees the buffer. Pressure is
computed at every op of every block, so pressure that exists only inside a loop
body is detected.

Victims. At an op over capacity, the candidates are the live buffers that the op
does not use at their own block level; they are taken farthest next use first
(ties: larger first) until the excess is covered. A dead buffer is not live, so
the reference's "no future use goes first" case cannot arise: every candidate has
a next use. A reloaded buffer counts again from its reload on and may be spilled
again at a later peak (the reference excludes a victim from all later points).

Better than the reference (nkigen `InsertSpillReload.cpp`), which analyses only
the function's entry block, counts only direct uses of an alloc (not uses through
subviews, which is how nearly every SBUF buffer is used after legalize-layout),
spills *after* the over-capacity op (so the pressure at that op is unchanged) and
only inserts copies: the victim's SBUF buffer stays the same SSA value, used again
after the reload, so no allocator can reuse its bytes in between. Here:
- every block is analysed, loops count as uses of everything used in their body;
- the spill is placed right after the victim's last use before the over-capacity
  op and the reload right before its next use, so the bytes are free at that op;
- the reload goes into a **fresh** SBUF alloc and every later use (through views,
  in nested regions, the return) is renamed to it, so the spilled buffer's last
  use is the spill copy: `insert-memref-dealloc` frees it there and its bytes are
  genuinely reusable until the reload;
- a buffer may be spilled over several gaps (one HBM slot per buffer, reused).
Guarantee: every spill really frees its buffer between the spill and the reload
(once `insert-memref-dealloc` has run), because a victim is spilled over a gap of
its own block (a buffer defined before a loop and not used in it is spilled
around the loop). A buffer used inside the loop whose body is over capacity is
not a candidate there: freeing it would need loop-carried staging; tiling and
multi-buffering are the remedy, as the reference notes. Copy-only spills, which
cost DMA traffic and free nothing, are never inserted.

Errors (located PassError): an SBUF alloc larger than the capacity on its own; a
point over capacity where the buffers that could be spilled do not free enough
(the op's own operands, or buffers used inside the enclosing loop, exceed the
capacity). Dynamic-shaped SBUF allocs have no static size and are not counted.
Options: `target` (capacity from `nkipy_kg.targets`), `sbuf-capacity` in bytes
(-1, the default: the target's usable SBUF bytes per partition).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nkipy_kg._mlir import ir, memref
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect, collect_named, is_inside_nkipy_region, memory_space, pass_error
from nkipy_kg.passes.memref_helpers import ancestor_in, per_partition_bytes
from nkipy_kg.passes.registry import python_pass
from nkipy_kg.targets import DEFAULT_TARGET, get_target

PASS_NAME = "insert-spill-reload"

# Ops whose result aliases their (first) operand: a use of the result is a use of the buffer.
VIEW_OPS = frozenset({"memref.subview", "memref.collapse_shape", "memref.expand_shape", "memref.reinterpret_cast",
                      "memref.cast", "memref.reshape", "memref.view", "memref.transpose",
                      "memref.memory_space_cast"})
# A buffer used in the body of one of these, and live across it, is live through the whole body.
LOOP_OPS = frozenset({"scf.for", "scf.while", "scf.parallel", "scf.forall", "affine.for", "affine.parallel"})


@dataclass(eq=False)
class Buffer:
    """One static SBUF alloc; positions are op indices in its defining block."""

    key: int  # the alloc's pre-order index: stable order and cache key
    alloc: ir.Operation
    size: int
    block: ir.Block
    ops: list[ir.Operation]  # the ops of `block` before any rewrite
    uses: list[int]
    values: list[ir.Value]  # the alloc's result and every view of it
    gaps: list[tuple[int, int]] = field(default_factory=list)  # spilled over (u_k, u_k+1), exclusive


@python_pass(PASS_NAME, "spill SBUF buffers to HBM where live SBUF bytes exceed capacity",
             target=DEFAULT_TARGET, sbuf_capacity="-1")
def insert_spill_reload(module_op: ir.Operation, target: str = DEFAULT_TARGET, sbuf_capacity: str = "-1") -> None:
    """Insert HBM spill slots and spill/reload copies so live SBUF bytes fit the capacity."""
    capacity = _capacity(module_op, target, sbuf_capacity)
    for func in collect_named(module_op, "func.func"):
        if len(func.regions[0].blocks) == 0:  # a declaration
            continue
        _Function(func, capacity).run()


def _capacity(module_op: ir.Operation, target: str, sbuf_capacity: str) -> int:
    try:
        override = int(sbuf_capacity)
    except ValueError:
        raise pass_error(PASS_NAME, module_op, f"sbuf-capacity must be an integer, got {sbuf_capacity!r}") from None
    if override >= 0:
        return override
    try:
        return get_target(target).sbuf_bytes_per_partition
    except ValueError as exc:
        raise pass_error(PASS_NAME, module_op, str(exc)) from None


class _Function:
    """Liveness, victim choice and rewriting for one func.func."""

    def __init__(self, func: ir.Operation, capacity: int) -> None:
        self.func = func
        self.capacity = capacity
        self.pos: dict[ir.Operation, int] = {}     # op -> index in its block
        self.order: dict[ir.Operation, int] = {}   # op -> pre-order index in the function
        self.block_ops: dict[ir.Block, list[ir.Operation]] = {}
        self._use_cache: dict[tuple[int, ir.Block], list[int]] = {}
        self._index(func.regions[0].blocks[0])
        allocs = [op.operation for op in collect(func, _is_sbuf_alloc)]
        self.buffers = [b for b in map(self._buffer, allocs) if b is not None]

    def run(self) -> None:
        if sum(b.size for b in self.buffers) <= self.capacity:
            return
        self._sweep(self.func.regions[0].blocks[0], [])
        for buf in self.buffers:
            if buf.gaps:
                self._rewrite(buf)

    # -- analysis ---------------------------------------------------------------------

    def _index(self, block: ir.Block) -> None:
        ops = [op.operation for op in block.operations]
        self.block_ops[block] = ops
        for i, op in enumerate(ops):
            self.pos[op] = i
            self.order[op] = len(self.order)
            for region in op.regions:
                for inner in region.blocks:
                    self._index(inner)

    def _buffer(self, alloc: ir.Operation) -> Buffer | None:
        size = per_partition_bytes(ir.MemRefType(alloc.results[0].type))
        if size is None:
            return None  # dynamic shape: no static footprint to account
        if size > self.capacity:
            raise pass_error(PASS_NAME, alloc, f"SBUF buffer needs {size} bytes per partition, more than the "
                             f"capacity of {self.capacity} bytes on its own",
                             hint="tile the op that produces it into smaller blocks")
        key = self.order[alloc]
        uses = self._uses_in(key, alloc.results[0], alloc.block)
        return Buffer(key, alloc, size, alloc.block, self.block_ops[alloc.block], uses, _views(alloc.results[0]))

    def _uses_in(self, key: int, value: ir.Value, block: ir.Block) -> list[int]:
        """Sorted positions in `block` of the ops using `value` (through views; nested uses at their ancestor)."""
        cached = self._use_cache.get((key, block))
        if cached is not None:
            return cached
        found: set[int] = set()
        _collect_positions(value, block, self.pos, found)
        result = sorted(found)
        self._use_cache[(key, block)] = result
        return result

    def _sweep(self, block: ir.Block, chain: list[tuple[ir.Block, int]]) -> None:
        """Visit every op in pre-order; spill where the live SBUF bytes exceed capacity."""
        for i, op in enumerate(self.block_ops[block]):
            here = chain + [(block, i)]
            self._relieve(op, here)
            for region in op.regions:
                for inner in region.blocks:
                    self._sweep(inner, here)

    def _relieve(self, op: ir.Operation, chain: list[tuple[ir.Block, int]]) -> None:
        live = [b for b in self.buffers if self._is_live(b, chain) and not _is_spilled_at(b, chain)]
        excess = sum(b.size for b in live) - self.capacity
        if excess <= 0:
            return
        candidates = []
        for buf in live:
            gap = _gap_at(buf, chain)
            if gap is not None:
                next_use = self.order[self.block_ops[buf.block][gap[1]]]
                candidates.append((-next_use, -buf.size, buf.key, buf, gap))
        candidates.sort(key=lambda c: c[:3])  # Belady's MIN: farthest next use first
        for *_, buf, gap in candidates:
            if excess <= 0:
                break
            buf.gaps.append(gap)
            excess -= buf.size
        if excess > 0:
            need = sum(b.size for b in live if not _is_spilled_at(b, chain))
            raise pass_error(PASS_NAME, op, f"SBUF pressure here is {need} bytes per partition, over the capacity "
                             f"of {self.capacity} bytes, and spilling the buffers this op does not use frees "
                             f"too little", hint="tile this op or the loop around it into smaller blocks")

    def _is_live(self, buf: Buffer, chain: list[tuple[ir.Block, int]]) -> bool:
        """Is `buf` live at the op reached by `chain` (blocks and positions from the function body down)?"""
        level = next((k for k, (blk, _) in enumerate(chain) if blk == buf.block), None)
        if level is None:
            return False
        live_in = live_out = False
        for k in range(level, len(chain)):
            blk, at = chain[k]
            uses = self._uses_in(buf.key, buf.alloc.results[0], blk) if k > level else buf.uses
            if k > level:
                parent = self.block_ops[chain[k - 1][0]][chain[k - 1][1]]
                if parent.name in LOOP_OPS and uses:
                    live_in = live_out = True  # live across the loop and used in it: carried between iterations
                if any(operand in buf.values for operand in parent.operands):
                    live_in = live_out = True  # passed to a region op (e.g. as an iter_arg): live in all its blocks
            last = len(self.block_ops[blk]) - 1
            if uses:
                lo, hi = (0 if live_in else uses[0]), (last if live_out else uses[-1])
            elif live_in or live_out:
                lo, hi = 0, last
            else:
                return False
            if not lo <= at <= hi:
                return False
            live_in, live_out = lo < at, hi > at
        return True

    # -- rewriting --------------------------------------------------------------------

    def _rewrite(self, buf: Buffer) -> None:
        """HBM slot after the alloc; per gap: spill after its start, fresh alloc + reload before its end."""
        loc = buf.alloc.location
        sbuf_type = ir.MemRefType(buf.alloc.results[0].type)
        ops = buf.ops
        with loc:
            hbm = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), int(MemSpace.Hbm))
            slot_type = ir.MemRefType.get(sbuf_type.shape, sbuf_type.element_type, sbuf_type.layout, hbm)
            slot = memref.AllocOp(slot_type, [], [], ip=ir.InsertionPoint.after(buf.alloc)).result
            current = buf.alloc.results[0]
            for start, end in sorted(buf.gaps):
                memref.CopyOp(current, slot, ip=ir.InsertionPoint.after(ops[start]))
                fresh = buf.alloc.clone(ip=ir.InsertionPoint(ops[end])).results[0]
                memref.CopyOp(slot, fresh, ip=ir.InsertionPoint(ops[end]))
                # Positions, not the op dicts: an op's hash changes when its operands do.
                for use in list(current.uses):
                    owner = use.owner.operation
                    anchor = ancestor_in(owner, buf.block)
                    if anchor is not None and (anchor == ops[end] or ops[end].is_before_in_block(anchor)):
                        owner.operands[use.operand_number] = fresh
                current = fresh


def _is_sbuf_alloc(op: ir.Operation) -> bool:
    return (op.name == "memref.alloc" and memory_space(op.results[0].type) == MemSpace.Sbuf
            and not is_inside_nkipy_region(op))


def _collect_positions(value: ir.Value, block: ir.Block, pos: dict[ir.Operation, int], found: set[int]) -> None:
    """Add to `found` the positions in `block` of `value`'s users; a view spans creation..last use."""
    for use in value.uses:
        owner = use.owner.operation
        anchor = ancestor_in(owner, block)
        at = pos.get(anchor) if anchor is not None else None
        if owner.name in VIEW_OPS and owner.results:
            inner: set[int] = set()
            for result in owner.results:
                _collect_positions(result, block, pos, inner)
            if at is not None and inner:
                inner.update(range(at, max(inner) + 1))
            found.update(inner)
        if at is not None:
            found.add(at)


def _views(value: ir.Value) -> list[ir.Value]:
    """`value` and every value derived from it through view ops."""
    found = [value]
    for use in value.uses:
        owner = use.owner.operation
        if owner.name in VIEW_OPS:
            for result in owner.results:
                found += _views(result)
    return found


def _gap_at(buf: Buffer, chain: list[tuple[ir.Block, int]]) -> tuple[int, int] | None:
    """The (prev use, next use) interval of `buf`'s block strictly containing the chain's op there."""
    at = next(p for blk, p in chain if blk == buf.block)
    if at in buf.uses:
        return None
    before = [u for u in buf.uses if u < at]
    after = [u for u in buf.uses if u > at]
    return (before[-1], after[0]) if before and after else None


def _is_spilled_at(buf: Buffer, chain: list[tuple[ir.Block, int]]) -> bool:
    at = next(p for blk, p in chain if blk == buf.block)
    return any(start < at < end for start, end in buf.gaps)
