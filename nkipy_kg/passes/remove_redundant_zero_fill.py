"""Pass `remove-redundant-zero-fill`: drop the `linalg.fill(0)` that only initialises matmul accumulators.

NISA's matmul zeroes its PSUM accumulator itself (`psum_zero_region`), so the
zero fill the frontend puts in front of every `a @ b` would cost a full memset
for nothing. The pass replaces such a fill by its init tensor:

    %e = tensor.empty() : tensor<256x256xf32>
    %cst = arith.constant 0.000000e+00 : f32
    %f = linalg.fill ins(%cst : f32) outs(%e : tensor<256x256xf32>) -> tensor<256x256xf32>
    %m = linalg.matmul ins(%a, %b : ...) outs(%f : tensor<256x256xf32>) -> tensor<256x256xf32>

becomes

    %e = tensor.empty() : tensor<256x256xf32>
    %m = linalg.matmul ins(%a, %b : ...) outs(%e : tensor<256x256xf32>) -> tensor<256x256xf32>

A fill is removed only if its value is an `arith.constant` zero (int or float,
either sign) and **every** use is the accumulator (DPS init) of a matmul-like op:
`linalg.matmul` (any `indexing_maps`, so transposed-A/B too), `linalg.batch_matmul`,
and the old named `*matmul_transpose_*` spellings. The constant is erased when it
becomes dead.

Semantics: on the CPU the resulting IR accumulates onto the `tensor.empty`, i.e.
it is only correct because the hardware matmul starts from zero. The CPU JIT
zero-fills every `tensor.empty`, so numerical checks still hold after this pass.

Stricter than the reference (which only checks the user ops): the fill's init
must be a `tensor.empty`, and the fill must be the matmul's *init*, not one of
its inputs. Dropping a fill over real data (a function argument, a loop-carried
tensor) would make the matmul accumulate onto that data on every backend, and a
zero fill used as a matmul *input* is not an accumulator at all.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.common import collect, is_inside_nkipy_region
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "remove-redundant-zero-fill"

MATMUL_LIKE = frozenset({
    "linalg.matmul", "linalg.batch_matmul",
    # Spellings removed upstream in 2025; kept so IR from older producers still qualifies.
    "linalg.matmul_transpose_a", "linalg.matmul_transpose_b",
    "linalg.batch_matmul_transpose_a", "linalg.batch_matmul_transpose_b",
})


@python_pass(PASS_NAME, "drop linalg.fill(0) inits used only as matmul accumulators")
def remove_redundant_zero_fill(module_op: ir.Operation) -> None:
    """Replace each redundant zero fill by its `tensor.empty` init."""
    fills = collect(module_op, _is_redundant_zero_fill)
    for fill in fills:
        constant = fill.operands[0].owner.operation
        fill.results[0].replace_all_uses_with(fill.operands[1])
        fill.erase()
        if not any(True for _ in constant.results[0].uses):
            constant.erase()


def _is_redundant_zero_fill(op: ir.Operation) -> bool:
    if op.name != "linalg.fill" or len(op.results) != 1 or is_inside_nkipy_region(op):
        return False
    value, init = op.operands[0], op.operands[1]
    if not _is_zero_constant(value):
        return False
    init_op = _defining_op(init)
    if init_op is None or init_op.name != "tensor.empty":
        return False
    uses = list(op.results[0].uses)
    return bool(uses) and all(_is_matmul_init(use) for use in uses)


def _defining_op(value: ir.Value) -> ir.Operation | None:
    owner = value.owner
    return None if isinstance(owner, ir.Block) else owner.operation


def _is_zero_constant(value: ir.Value) -> bool:
    owner = _defining_op(value)
    if owner is None or owner.name != "arith.constant":
        return False
    attr = owner.attributes["value"]
    if isinstance(attr, ir.FloatAttr):
        return ir.FloatAttr(attr).value == 0.0
    if isinstance(attr, ir.IntegerAttr):
        return ir.IntegerAttr(attr).value == 0
    return False


def _is_matmul_init(use: ir.OpOperand) -> bool:
    owner = use.owner.operation
    if owner.name not in MATMUL_LIKE or len(owner.results) != 1:
        return False
    # DPS: the inits are the last #results operands.
    return use.operand_number >= len(owner.operands) - len(owner.results)
