"""Where infer-layout's values live: the memory space of every laid-out value (registers no pass).

In order:
- values crossing a kernel boundary are SharedHbm: returned ones (also through tensor
  reshapes, which bufferize to views: a returned reshape of an SBUF buffer would be
  an HBM view of SBUF memory, which annotate-memory-space cannot build; np.repeat
  and np.tile return such a collapse) and operands of custom-op calls (a NISA kernel
  reads its arguments from HBM);
- otherwise the entry's space (a user's knob, or Sbuf when propagated); without one,
  SharedHbm when the value traces to a function argument through slices, else Sbuf;
- Sbuf values that do not fit the target's SBUF move to Hbm (`sbuf_budget`).
Rank > 3 `linalg.transpose` results (head shuffles) are Hbm: they run as DMAs between
HBM buffers (simplify-linalg row 1).
"""

from __future__ import annotations

from collections.abc import Callable

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect, is_inside_nkipy_region
from nkipy_kg.passes.sbuf_budget import Placement, bytes_per_partition, is_small, to_hbm

# Tensor reshapes: views of their source once bufferized.
RESHAPES = ("tensor.collapse_shape", "tensor.expand_shape", "tensor.reshape")


def value_spaces(func: ir.Operation, entries: dict[ir.Value, MemSpace | None], user_chose: Callable[[ir.Value], bool],
                 partitions: int, sbuf_bytes: int) -> dict[ir.Value, MemSpace]:
    """The memory space of every value in `entries` (value -> its entry's space, if any)."""
    boundary = [v for op in collect(func, lambda op: op.name in ("func.return", "func.call")) for v in op.operands]
    spaces = {}
    for value, space in entries.items():
        if reaches(value, boundary):
            space = MemSpace.SharedHbm
        elif space is None:
            space = MemSpace.SharedHbm if traces_to_argument(value) else MemSpace.Sbuf
        spaces[value] = space
    for value in _over_sbuf(func, spaces, user_chose, partitions, sbuf_bytes):
        spaces[value] = MemSpace.Hbm
    return spaces


def _over_sbuf(func: ir.Operation, spaces: dict[ir.Value, MemSpace], user_chose: Callable[[ir.Value], bool],
               partitions: int, sbuf_bytes: int) -> list[ir.Value]:
    """The Sbuf values to place in Hbm instead: inferred ones over half the SBUF alone or
    over the live budget, a user's only when it exceeds all of it (`sbuf_budget`)."""
    placements, moved = [], []
    for value, space in spaces.items():
        if space != MemSpace.Sbuf:
            continue
        nbytes = bytes_per_partition(value, partitions)
        user = user_chose(value)
        if nbytes > sbuf_bytes or (not user and 2 * nbytes > sbuf_bytes):
            moved.append(value)
        else:
            placements.append(Placement(value, nbytes, movable=not user and not is_small(nbytes, sbuf_bytes)))
    return moved + to_hbm(func, placements, sbuf_bytes // 2)


def traces_to_argument(value: ir.Value) -> bool:
    while isinstance(value, ir.OpResult) and value.owner.operation.name == "tensor.extract_slice":
        value = value.owner.operation.operands[0]
    return isinstance(value, ir.BlockArgument)


def reaches(value: ir.Value, boundary: list[ir.Value]) -> bool:
    """Whether `value`, or a reshape of it (a view once bufferized), is a boundary value."""
    todo = [value]
    while todo:
        v = todo.pop()
        if any(v == b for b in boundary):
            return True
        todo.extend(use.owner.operation.results[0] for use in v.uses if use.owner.name in RESHAPES)
    return False


def is_high_rank_transpose(op: ir.Operation) -> bool:
    """A rank > 3 `linalg.transpose` (a head shuffle `[0, 2, 1, 3]`)."""
    return (op.name == "linalg.transpose" and not is_inside_nkipy_region(op)
            and isinstance(op.results[0].type, ir.RankedTensorType)
            and ir.RankedTensorType(op.results[0].type).rank > 3)
