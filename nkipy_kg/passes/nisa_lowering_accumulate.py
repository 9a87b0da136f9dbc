"""PSUM accumulation rows of `linalg-to-nisa` (run after every instruction exists).

`linalg.matmul` accumulates into C, so each lowered `nisa.matmul` starts with
`accumulate = true`. Two facts about C's PSUM buffer decide what really happens:

* A reload of a never-written accumulator became a zero `nisa.memset` of the PSUM
  tile (`nisa_lowering_uninit`); when the K loop follows it directly, the memset is
  dropped in favour of the accumulate flag.
* Nothing but matmuls write C: the first K tile must overwrite (`accumulate = false`);
  inside a K loop its first iteration is peeled (a one-trip clone + the rest).
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.nisa_lowering_common import VIEW_OPS, error, root
from nkipy_kg.passes.nisa_lowering_uninit import INDEX_OPS


def writers(buffer: ir.Value) -> list[ir.Operation]:
    """nisa instructions writing (operand 0) into `buffer` or a view of it."""
    found, stack = [], [buffer]
    while stack:
        value = stack.pop()
        for use in value.uses:
            owner = _op(use.owner)
            if owner.name in VIEW_OPS and use.operand_number == 0:
                stack.append(owner.results[0])
            elif owner.name.startswith("nisa.") and owner.name != "nisa.release" and use.operand_number == 0:
                found.append(owner)
    return found


def _op(owner) -> ir.Operation:
    return owner.operation if hasattr(owner, "operation") else owner


# --- first K tile ----------------------------------------------------------------

def first_k_tile_overwrites(matmuls: list[ir.Operation], zero_fills: list[ir.Operation]) -> None:
    """Clear `accumulate` on the first K tile of every accumulator only matmuls write;
    a zero memset made from a reload directly before its K loop gives way to the flag."""
    fills = {root(m.operands[0]): m for m in zero_fills}
    by_root: dict = {}
    for mm in matmuls:
        by_root.setdefault(root(mm.operands[0]), []).append(mm)
    for buffer, mms in by_root.items():
        found = writers(buffer)
        others = [w for w in found if w.name != "nisa.matmul"]
        if others:
            fill = fills.get(buffer)
            if fill is None or others != [fill] or len(mms) != 1 or not _fill_then_loop(fill, mms[0], buffer):
                continue  # initialised by a copy/memset: every tile accumulates
            fill.erase()
        if len(mms) != 1:
            raise error(mms[0], "several matmuls accumulate into one uninitialised PSUM buffer; "
                                "cannot choose the first K tile")
        mm = mms[0]
        loops = _loops_between(mm, buffer)
        if not loops:
            mm.attributes["accumulate"] = ir.BoolAttr.get(False)
        elif len(loops) == 1:
            _peel_first_iteration(loops[0], mm, buffer)
        else:
            raise error(mm, f"matmul accumulates across {len(loops)} loops into an uninitialised "
                            "PSUM buffer; expected one K loop")


def _fill_then_loop(fill: ir.Operation, mm: ir.Operation, buffer: ir.Value) -> bool:
    """The memset is followed (up to index arithmetic and views) by the matmul's only K
    loop, or by the matmul itself when there is no K loop."""
    loops = _loops_between(mm, buffer)
    if len(loops) > 1:
        return False
    first = loops[0] if loops else mm
    if first.block != fill.block:
        return False
    started = False
    for op in fill.block.operations:
        op = _op(op)
        if op == fill:
            started = True
        elif started:
            if op == first:
                return True
            if not (op.name in VIEW_OPS or op.name.startswith(INDEX_OPS)):
                return False
    return False


def _loops_between(op: ir.Operation, buffer: ir.Value) -> list[ir.Operation]:
    """The scf.for loops enclosing `op` inside the block that defines `buffer` (innermost first)."""
    owner_block = buffer.owner if isinstance(buffer, ir.BlockArgument) else _op(buffer.owner).block
    loops, cur = [], op
    while cur.block != owner_block:
        cur = cur.parent
        if cur is None or cur.name == "func.func":
            break
        if cur.name == "scf.for":
            loops.append(cur)
    return loops


def _peel_first_iteration(loop: ir.Operation, mm: ir.Operation, buffer: ir.Value) -> None:
    """for k in [lb, ub): body  ->  for k in [lb, lb+step): body' ; for k in [lb+step, ub): body
    where body' is the clone whose matmul overwrites."""
    if len(loop.results):
        raise error(mm, "the K loop carries values; cannot peel its first iteration")
    lb, step = loop.operands[0], loop.operands[2]
    with ir.InsertionPoint(loop), loop.location:
        nxt = ir.Operation.create("arith.addi", results=[lb.type], operands=[lb, step]).results[0]
        first = loop.clone(ir.InsertionPoint(loop))
    first.operands[1] = nxt
    loop.operands[0] = nxt
    for clone_mm in collect(first, lambda o: o.name == "nisa.matmul"):
        if root(clone_mm.operands[0]) == buffer:
            clone_mm.attributes["accumulate"] = ir.BoolAttr.get(False)
