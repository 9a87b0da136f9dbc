"""Copies out of never-written memory in `linalg-to-nisa` (run on `memref.copy`, before
any copy is lowered, in program order).

Layout legalization stages output tiles: `copy R[i] -> SBUF tile; reload SBUF -> PSUM;
K loop; store PSUM -> SBUF; copy SBUF -> R[i]`. When R is a fresh allocation that
nothing wrote before (the zero fill of a matmul result was removed upstream), the
copy-in and the reload move garbage, and the hardware would read unwritten memory.
The program cannot depend on that garbage, so:

* a copy into PSUM out of never-written memory becomes `nisa.memset 0` of the PSUM
  tile (the accumulator starts from zero; `nisa_lowering_accumulate` then prefers the
  matmul's accumulate flag when the K loop follows directly);
* any other copy out of never-written memory is erased (its destination is then
  never-written memory itself, so a later reload of it is caught in turn).

"Never written before the copy" is decided statically: every write into the source's
allocation (through views) must come after the copy in the innermost block holding
both, and every loop between that block and the allocation must index the view the
read and the write share (each trip touches its own slice, so no earlier trip wrote
what a later one reads). An unclassifiable use of the buffer (a call, an unknown op)
counts as a write before the copy, so nothing is assumed.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.nisa_lowering_common import VIEW_OPS, emit, root, space

INDEX_OPS = ("arith.", "affine.apply")


def _op(owner) -> ir.Operation:
    return owner.operation if hasattr(owner, "operation") else owner


def drop_copies_of_unwritten(module_op: ir.Operation) -> list[ir.Operation]:
    """Rewrite copies out of never-written memory (see the module doc); returns the
    zero memsets made for PSUM destinations."""
    memsets = []
    for copy in collect(module_op, lambda o: o.name == "memref.copy"):
        src, dst = copy.operands[0], copy.operands[1]
        if not reads_unwritten(copy, src):
            continue
        if space(dst) == MemSpace.Psum:
            memsets.append(emit(copy, "memset", [dst], value=ir.FloatAttr.get(ir.F32Type.get(), 0.0)))
        copy.erase()
    return memsets


def reads_unwritten(reader: ir.Operation, view: ir.Value) -> bool:
    base = root(view)
    if not isinstance(base, ir.OpResult) or _op(base.owner).name not in ("nisa.alloc", "memref.alloc"):
        return False  # an argument: written by the caller
    writes = _memref_writes(base)
    if writes is None:
        return False
    base_block = _op(base.owner).block
    for writer, written in writes:
        if writer == reader:
            continue
        block, first, second = _common_block(reader, writer)
        if block is None or first == second or not _before(first, second):
            return False
        shared = _shared_view(view, written)
        deps = _index_deps(shared)
        if any(loop.regions[0].blocks[0].arguments[0] not in deps for loop in _loops_above(block, base_block)):
            return False
    return True


def _memref_writes(buffer: ir.Value) -> list[tuple[ir.Operation, ir.Value]] | None:
    """(op, view written) for every write into `buffer` through views at memref level;
    None when some use cannot be classified."""
    found, stack = [], [buffer]
    while stack:
        value = stack.pop()
        for use in value.uses:
            owner, n = _op(use.owner), use.operand_number
            if owner.name in VIEW_OPS and n == 0:
                stack.append(owner.results[0])
            elif owner.name in ("memref.dealloc", "func.return", "nisa.release", "memref.dim"):
                continue
            elif owner.name in ("memref.copy", "linalg.transpose") or owner.name.startswith("linalg."):
                if n == len(owner.operands) - 1:  # the single DPS init / copy target is last
                    found.append((owner, value))
            elif owner.name.startswith("nisa."):
                if n == 0:  # nisa instructions write operand 0
                    found.append((owner, value))
            else:
                return None
    return found


def _ancestors(op: ir.Operation) -> list[tuple[ir.Block, ir.Operation]]:
    chain, cur = [], op
    while cur is not None and cur.name != "func.func":
        chain.append((cur.block, cur))
        cur = cur.parent
    return chain


def _common_block(a: ir.Operation, b: ir.Operation):
    """(innermost block holding both, a's ancestor in it, b's ancestor in it)."""
    chain_b = _ancestors(b)
    for block, anc_a in _ancestors(a):
        for block_b, anc_b in chain_b:
            if block_b == block:
                return block, anc_a, anc_b
    return None, None, None


def _before(a: ir.Operation, b: ir.Operation) -> bool:
    for op in a.block.operations:
        op = _op(op)
        if op == a:
            return True
        if op == b:
            return False
    return False


def _view_chain(value: ir.Value) -> list[ir.Value]:
    chain = [value]
    while isinstance(value, ir.OpResult) and _op(value.owner).name in VIEW_OPS:
        value = _op(value.owner).operands[0]
        chain.append(value)
    return chain


def _shared_view(a: ir.Value, b: ir.Value) -> ir.Value:
    """The deepest view both `a` and `b` are derived from (at worst their buffer)."""
    chain_b = _view_chain(b)
    return next(v for v in _view_chain(a) if v in chain_b)


def _loops_above(block: ir.Block, base_block: ir.Block) -> list[ir.Operation]:
    """The scf.for loops enclosing `block` inside `base_block` (the allocation's block)."""
    loops, blk = [], block
    while blk != base_block:
        owner = _op(blk.owner) if blk.owner is not None else None
        if owner is None or owner.name == "func.func":
            break
        if owner.name == "scf.for":
            loops.append(owner)
        blk = owner.block
    return loops


def _index_deps(value: ir.Value) -> set:
    """Block arguments (loop induction variables) a view's offsets derive from."""
    seen, found, stack = set(), set(), [value]
    while stack:
        v = stack.pop()
        if isinstance(v, ir.BlockArgument):
            found.add(v)
            continue
        owner = _op(v.owner)
        if owner in seen:
            continue
        seen.add(owner)
        if owner.name in VIEW_OPS or owner.name.startswith(INDEX_OPS):
            stack.extend(owner.operands)
    return found
