"""Memory-space propagation of `annotate-memory-space` (step 3; registers no pass).

Rules, strongest first, applied to a fixpoint:
- a space flows both ways through every view op (`VIEW_OPS`);
- an unannotated root `memref.alloc` copied into an annotated buffer is an HBM
  intermediate (Hbm), e.g. a gather output DMA'd to SBUF (the reference's
  `inferHbmForCopySources`);
- an unannotated root alloc filled by a copy from an annotated buffer is a
  private clone: Hbm for an HBM source, Sbuf for a Constant one, else the
  source's space (beyond the reference, which left such clones unplaced);
- beyond the reference: an unannotated root alloc that only DMAs touch (copies,
  `linalg.transpose`, views of it, deallocs) lives in Hbm. infer-layout gives
  compute ops layouts, but not pure data movement (`linalg.transpose` is not
  annotatable), so a transposed intermediate feeding a gather or another
  transpose had no space at all and stopped in insert-memref-dealloc.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect_named
from nkipy_kg.passes.memref_helpers import VIEW_OPS, all_uses, base_memref, defining_op, set_space, space_of

# Space of a private clone of a buffer in the key space (others: the same space).
CLONE_SPACE = {MemSpace.SharedHbm: MemSpace.Hbm, MemSpace.Constant: MemSpace.Sbuf}
# Ops that only move a buffer's bytes (DMA on NISA) or do not touch them.
DMA_ONLY_USERS = frozenset({"memref.copy", "linalg.transpose", "memref.dealloc", "nkipy.layout", *VIEW_OPS})


def propagate(func_op: ir.Operation) -> None:
    """Fill in missing spaces until nothing changes; clones are typed next to last and
    DMA-only buffers last (the weakest rules).

    A worklist of views and copies: when a value gets a space, the view ops and
    copies touching it (and the views of its root) are revisited.
    """
    ops = collect_named(func_op, *VIEW_OPS, "memref.copy")
    copies = [op for op in ops if op.name == "memref.copy"]
    work = list(ops)
    while True:
        while work:
            for value in _visit(work.pop()):
                work.extend(_neighbours(value))
        changed = [root for copy in copies if (root := _infer_copy_destination(copy)) is not None]
        if not changed:
            changed = _place_dma_only_allocs(func_op)
        if not changed:
            return
        for value in changed:
            work.extend(_neighbours(value))


def _visit(op: ir.Operation) -> list[ir.Value]:
    """Apply the propagation rules at `op`; the values that got a space."""
    if op.name == "memref.copy":
        root = _infer_hbm_copy_source(op)
        return [] if root is None else [root]
    source, result = op.operands[0], op.results[0]
    if _flow(source, result):
        return [result]
    if _flow(result, source):
        return [source]
    return []


def _neighbours(value: ir.Value) -> list[ir.Operation]:
    """View ops and copies whose rules read `value`'s space."""
    ops = [u.owner.operation for u in value.uses if u.owner.name in VIEW_OPS or u.owner.name == "memref.copy"]
    producer = defining_op(value)
    if producer is not None and producer.name in VIEW_OPS:
        ops.append(producer)
    return ops


def _flow(src: ir.Value, dst: ir.Value) -> bool:
    space = space_of(src)
    if space is None or space_of(dst) is not None:
        return False
    set_space(dst, space)
    return True


def _infer_hbm_copy_source(copy: ir.Operation) -> ir.Value | None:
    """An unannotated root alloc copied into an annotated buffer is an HBM intermediate."""
    source, target = copy.operands
    if space_of(source) is not None or space_of(target) is None:
        return None
    root = base_memref(source)
    root_op = defining_op(root)
    if space_of(root) is not None or root_op is None or root_op.name != "memref.alloc":
        return None
    set_space(root, MemSpace.Hbm)
    return root


def _infer_copy_destination(copy: ir.Operation) -> ir.Value | None:
    """An unannotated root alloc filled by a copy from an annotated buffer is its clone.

    Bufferization makes such clones for out-of-place writes. The clone is private:
    an HBM source gives Hbm, a Constant source (a broadcast marker, not memory) Sbuf,
    any other source its own space.
    """
    space = space_of(copy.operands[0])
    if space is None:
        return None
    root = base_memref(copy.operands[1])
    if space_of(root) is not None:
        return None
    root_op = defining_op(root)
    if root_op is None or root_op.name != "memref.alloc":
        return None
    clone_space = CLONE_SPACE.get(space, space)
    set_space(root, clone_space)
    return root


def _place_dma_only_allocs(func_op: ir.Operation) -> list[ir.Value]:
    """Unplaced root allocs that only DMAs touch become Hbm; returns them."""
    placed = []
    for alloc in collect_named(func_op, "memref.alloc"):
        buffer = alloc.results[0]
        if space_of(buffer) is not None:
            continue
        if all(use.owner.name in DMA_ONLY_USERS for use in all_uses(buffer)):
            set_space(buffer, MemSpace.Hbm)
            placed.append(buffer)
    return placed
