"""Helpers shared by our passes: walking, op classification, located pass errors.

Conventions every pass relies on:
- knob annotations are `nkipy.layout` / `nkipy.tile_op` side ops whose operand is the
  annotated value; `nkipy.op_id` (i64) on linalg ops identifies them for tiling;
- memory spaces are plain `i32` memref memory spaces: MemSpace Hbm=1, Psum=2, Sbuf=3,
  SharedHbm=4, Constant=5 (never 0: MLIR drops a zero memory space);
- a transposed-A matmul is `linalg.matmul` with `indexing_maps` (A: (d0,d1,d2)->(d2,d0)).
Never keep op handles across passes; inside a pass, collect first, then mutate.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.errors import PassError, SourceLoc, source_loc_from_mlir

OP_ID = "nkipy.op_id"

NAMED_UNARY = {"linalg.exp", "linalg.log", "linalg.tanh", "linalg.negf", "linalg.abs", "linalg.ceil",
               "linalg.floor", "linalg.sqrt", "linalg.rsqrt", "linalg.reciprocal", "linalg.square",
               "linalg.copy", "linalg.erf"}
NAMED_BINARY = {"linalg.add", "linalg.sub", "linalg.mul", "linalg.div", "linalg.max", "linalg.min",
                "linalg.powf"}
MATMULS = {"linalg.matmul", "linalg.batch_matmul"}


def collect(root: ir.Operation, keep: Callable[[ir.Operation], bool]) -> list[ir.Operation]:
    """Every op under `root` (pre-order) for which `keep(op)` holds."""
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if keep(op):
            found.append(op)
        return ir.WalkResult.ADVANCE

    root.walk(visit, ir.WalkOrder.PRE_ORDER)
    return found


def collect_named(root: ir.Operation, *names: str) -> list[ir.Operation]:
    wanted = set(names)
    return collect(root, lambda op: op.name in wanted)


def iterator_types(op: ir.Operation) -> list[str]:
    """'parallel'/'reduction' per loop of a linalg.generic (named ops: all parallel by rank)."""
    if "iterator_types" in op.attributes:
        return [str(a).split("<")[-1].rstrip(">") for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    rank = ir.ShapedType(op.results[0].type).rank if len(op.results) else 0
    return ["parallel"] * rank


def is_matmul(op: ir.Operation) -> bool:
    return op.name in MATMULS


def is_elementwise(op: ir.Operation) -> bool:
    if op.name in NAMED_UNARY | NAMED_BINARY:
        return True
    return op.name == "linalg.generic" and all(t == "parallel" for t in iterator_types(op))


def is_reduction(op: ir.Operation) -> bool:
    return op.name == "linalg.generic" and any(t == "reduction" for t in iterator_types(op))


def is_annotatable(op: ir.Operation) -> bool:
    """Ops that get layouts and tiles: elementwise, reduction and matmul."""
    return is_elementwise(op) or is_reduction(op) or is_matmul(op)


def is_inside_nkipy_region(op: ir.Operation) -> bool:
    parent = op.parent
    while parent is not None and parent.name != "builtin.module":
        if parent.name.startswith("nkipy."):
            return True
        parent = parent.parent
    return False


def memory_space(t: ir.Type) -> MemSpace | None:
    """The nkipy memory space of a memref type, or None."""
    if not isinstance(t, ir.MemRefType) or t.memory_space is None:
        return None
    value = ir.IntegerAttr(t.memory_space).value
    return MemSpace(value) if value in {m.value for m in MemSpace} else None


def pass_error(pass_name: str, op: ir.Operation, message: str, hint: str = "") -> PassError:
    """A PassError located at `op`'s source line, quoting the op."""
    text = op.get_asm(enable_debug_info=False, large_elements_limit=8)
    excerpt = "\n".join(text.splitlines()[:12])
    return PassError(message, _op_source_loc(op), hint, pass_name, excerpt)


def _op_source_loc(op: ir.Operation) -> SourceLoc | None:
    """The op's file location; IR parsed from a string is named "-" (nkipy-kg-opt renames it)."""
    text = str(op.location)
    if (loc := source_loc_from_mlir(text)) is not None:
        return loc
    m = re.search(r'"-":(\d+):(\d+)', text)
    return SourceLoc("-", int(m.group(1)), int(m.group(2)) - 1) if m else None
