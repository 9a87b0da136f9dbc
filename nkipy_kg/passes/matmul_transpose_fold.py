"""Fold a transposed matmul lhs into a transposed-A matmul (used by `knob-driven-tiling`;
registers no pass).

knob-driven-tiling's schedule transposes every plain matmul's A block into SBUF
(`transform.structured.transpose_matmul`), because TensorE takes its stationary
operand as [K, M]. When A itself is a 2-D `linalg.transpose` (`at.T @ b`, the
canonical Trainium matmul with a pre-transposed stationary operand), that would
transpose `at` twice: once into a [M, K] buffer, then back into SBUF blocks.
Instead the matmul reads `at` directly as its transposed-A operand:

    %t = linalg.transpose ins(%at : tensor<KxM>) outs(%e : tensor<MxK>) permutation = [1, 0]
    %c = linalg.matmul ins(%t, %b : tensor<MxK>, tensor<KxN>) outs(%acc : tensor<MxN>)

becomes

    %c = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>,
                                        affine_map<(d0, d1, d2) -> (d2, d1)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1)>]
           ins(%at, %b : tensor<KxM>, tensor<KxN>) outs(%acc : tensor<MxN>)

and the transpose (with its annotations and its `tensor.empty`) is erased when
nothing else reads it. The schedule then only copies `at`'s [K, BLOCK_M] blocks
into SBUF: no `dma_transpose` and no intermediate buffer. The reference always
transposed (twice here).
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.common import collect, is_inside_nkipy_region

ANNOTATIONS = ("nkipy.layout", "nkipy.tile_op")


def fold_transposed_lhs(module_op: ir.Operation) -> None:
    """Rewrite every plain `linalg.matmul` whose lhs is a 2-D transpose (see above)."""
    matmuls = collect(module_op, lambda op: op.name == "linalg.matmul" and _has_default_maps(op)
                      and not is_inside_nkipy_region(op))
    for matmul in matmuls:
        transpose = _lhs_transpose(matmul)
        if transpose is None:
            continue
        with matmul.location:
            matmul.attributes["indexing_maps"] = _transposed_a_maps()
        matmul.operands[0] = transpose.operands[0]
        _erase_if_dead(transpose)


def _has_default_maps(matmul: ir.Operation) -> bool:
    """linalg.matmul always carries `indexing_maps` (printed only when not the default)."""
    if "indexing_maps" not in matmul.attributes:
        return True
    maps = [str(ir.AffineMapAttr(m).value) for m in ir.ArrayAttr(matmul.attributes["indexing_maps"])]
    return maps == ["(d0, d1, d2) -> (d0, d2)", "(d0, d1, d2) -> (d2, d1)", "(d0, d1, d2) -> (d0, d1)"]


def _lhs_transpose(matmul: ir.Operation) -> ir.Operation | None:
    lhs = matmul.operands[0]
    if not isinstance(lhs, ir.OpResult) or lhs.owner.operation.name != "linalg.transpose":
        return None
    transpose = lhs.owner.operation
    if list(ir.DenseI64ArrayAttr(transpose.attributes["permutation"])) != [1, 0]:
        return None
    return transpose


def _transposed_a_maps() -> ir.ArrayAttr:
    d0, d1, d2 = (ir.AffineDimExpr.get(i) for i in range(3))
    maps = [ir.AffineMap.get(3, 0, exprs) for exprs in ([d2, d0], [d2, d1], [d0, d1])]
    return ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps])


def _erase_if_dead(transpose: ir.Operation) -> None:
    """Erase the transpose (its annotations, its init) when only annotations read it."""
    result = transpose.results[0]
    users = [use.owner.operation for use in result.uses]
    if any(user.name not in ANNOTATIONS for user in users):
        return
    for user in users:
        user.erase()
    init = transpose.operands[1]
    transpose.erase()
    if isinstance(init, ir.OpResult) and init.owner.operation.name == "tensor.empty" and not list(init.uses):
        init.owner.operation.erase()
