"""Pass `strip-nkipy-annotations`: erase the result-less nkipy annotation ops.

`nkipy.layout`, `nkipy.tile_op` and `nkipy.fuse_op` only carry knobs for the
Trainium pipeline; they have no results, so erasing them never changes what a
kernel computes. Paths that do not consume the knobs (the CPU JIT, upstream
bufferization, which cannot bufferize Python-defined ops) strip them first.

    %0 = linalg.add ins(%a, %b : ...) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
    "nkipy.tile_op"(%0) {loop_tile_size = array<i64: 2, 8>} : (tensor<4x8xf32>) -> ()
    "nkipy.layout"(%0) {mem_space = 3 : i32} : (tensor<4x8xf32>) -> ()

becomes

    %0 = linalg.add ins(%a, %b : ...) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>

`nkipy.gather` computes a value and is left alone (see `lower-nkipy-gather`).
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.registry import python_pass

ANNOTATION_OPS = frozenset({"nkipy.layout", "nkipy.tile_op", "nkipy.fuse_op"})


@python_pass("strip-nkipy-annotations", "erase nkipy.layout / nkipy.tile_op / nkipy.fuse_op")
def strip_nkipy_annotations(module_op: ir.Operation) -> None:
    """Erase every nkipy annotation op (they have no results, so no uses to fix)."""
    found: list[ir.Operation] = []

    def collect(op: ir.Operation) -> ir.WalkResult:
        if op.name in ANNOTATION_OPS:
            found.append(op)
        return ir.WalkResult.ADVANCE

    # Collect first, then mutate: erasing during the walk would invalidate it.
    module_op.walk(collect)
    for op in found:
        op.erase()
