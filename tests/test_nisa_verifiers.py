"""Each hardware rule the nisa verifiers enforce: one illegal instruction per rule,
rejected when the module is loaded, with the rule's message at the op's source line.

`load_nisa` turns the first verifier diagnostic into a `SimError` located at the
failing op's `loc(...)`, so each case puts its bad op on line 7 of "verify.py".
"""

from __future__ import annotations

import pytest

from nkipy_kg.errors import SimError
from nkipy_kg.sim import load_nisa
from nkipy_kg.sim.examples import mref as T

LINE = 7
AT = f'loc("verify.py":{LINE}:5)'


def S(shape, dt="f32") -> str:  # noqa: N802 - short type builders read like the IR
    return T(shape, dt, 3)


def P(shape, dt="f32") -> str:  # noqa: N802
    return T(shape, dt, 2)


def H(shape, dt="f32") -> str:  # noqa: N802
    return T(shape, dt, 1)


A, B, C = S((128, 64)), S((128, 64)), S((128, 64))
PS = P((128, 64))
COL = S((128, 1))


def op(name: str, operands: list[tuple[str, str]], attrs: str = "") -> str:
    """`"nisa.name"(%a, %b) {attrs} : (ta, tb) -> ()` at the failing location."""
    names = ", ".join(n for n, _ in operands)
    types = ", ".join(t for _, t in operands)
    attr = f" {{{attrs}}}" if attrs else ""
    return f'"nisa.{name}"({names}){attr} : ({types}) -> () {AT}'


def alloc(t: str) -> str:
    return f'%t = "nisa.alloc"() : () -> {t} {AT}'


# id -> (function arguments [(name, type)], the failing op's line, message regex)
CASES: dict[str, tuple[list[tuple[str, str]], str, str]] = {
    # --- alloc: partition dim, capacity per memory and target, memory space, static shape
    "alloc_partition_dim": ([], alloc(S((129, 8))), r"partition dim 129 exceeds the 128 partitions of trn2"),
    "alloc_sbuf_capacity_trn2": ([], alloc(S((128, 60000))), r"needs 240000 B per partition, Sbuf has 212984"),
    "alloc_psum_capacity": ([], alloc(P((128, 4097))), r"needs 16388 B per partition, Psum has 16384"),
    "alloc_constant_space": ([], alloc(T((128, 8), "f32", 5)), r"result memory space must be Hbm=1, Psum=2"),
    "alloc_no_space": ([], alloc("memref<128x8xf32>"), r"result memory space must be Hbm=1"),
    "alloc_dynamic_shape": ([], alloc("memref<?x8xf32, 3 : i32>"), r"result must have a static shape"),
    "release_argument": ([("%a", A)], f'"nisa.release"(%a) : ({A}) -> () {AT}', r"operand must be an nisa.alloc result"),
    # --- operand rules shared by every instruction
    "operand_partition_dim": ([("%a", S((256, 8))), ("%b", S((256, 8)))],
                              op("tensor_copy", [("%a", S((256, 8))), ("%b", S((256, 8)))]),
                              r"dst partition dim 256 exceeds the 128 partitions of trn2"),
    "operand_psum_bank": ([("%a", S((128, 1024))), ("%p", P((128, 1024)))],
                          op("tensor_copy", [("%a", S((128, 1024))), ("%p", P((128, 1024)))]),
                          r"src uses 4096 B per partition; a PSUM tile must fit one 2048 B bank"),
    "operand_not_from_alloc": ([], f'%m = memref.alloc() : {A}\n    ' + op("memset", [("%m", A)], "value = 0.0 : f32"),
                               r"dst must be an nisa.alloc result, a function argument or a view of one, "
                               r"not a result of 'memref.alloc'"),
    "compute_reads_hbm": ([("%a", A), ("%h", H((128, 64)))], op("tensor_copy", [("%a", A), ("%h", H((128, 64)))]),
                          r"src must live in Psum/Sbuf, got Hbm"),
    "gpsimd_has_no_psum": ([("%a", A), ("%p", PS)], op("tensor_copy", [("%a", A), ("%p", PS)], 'engine = "GpSimd"'),
                           r"src must live in Sbuf, got Psum"),
    "engine_not_allowed": ([("%a", A)], op("memset", [("%a", A)], 'value = 0.0 : f32, engine = "Tensor"'),
                           r"engine 'Tensor' is not one of Vector, GpSimd"),
    # --- DMA
    "dma_never_psum": ([("%p", PS), ("%h", H((128, 64)))], op("dma_copy", [("%p", PS), ("%h", H((128, 64)))]),
                       r"dst must live in Hbm/Sbuf/SharedHbm, got Psum"),
    "dma_element_count": ([("%a", A), ("%h", H((128, 32)))], op("dma_copy", [("%a", A), ("%h", H((128, 32)))]),
                          r"dst has 8192 elements, src has 4096"),
    "dma_transpose_dtype": ([("%a", S((64, 128), "bf16")), ("%h", H((128, 64)))],
                            op("dma_transpose", [("%a", S((64, 128), "bf16")), ("%h", H((128, 64)))]),
                            r"dst and src element types differ"),
    "dma_transpose_permutation": ([("%a", S((64, 128))), ("%h", H((128, 64)))],
                                  op("dma_transpose", [("%a", S((64, 128))), ("%h", H((128, 64)))],
                                     "permutation = array<i64: 0, 0>"),
                                  r"permutation \[0, 0\] is not a permutation of 2 axes"),
    "dma_transpose_shape": ([("%a", A), ("%h", H((128, 64)))], op("dma_transpose", [("%a", A), ("%h", H((128, 64)))]),
                            r"dst shape \[128, 64\] must be \[64, 128\]"),
    "indirect_src_in_hbm": ([("%a", S((8, 64))), ("%s", S((128, 64))), ("%i", S((8, 1), "i32"))],
                            op("dma_copy_indirect", [("%a", S((8, 64))), ("%s", S((128, 64))), ("%i", S((8, 1), "i32"))]),
                            r"src must live in Hbm/SharedHbm, got Sbuf"),
    "indirect_integer_index": ([("%a", S((8, 64))), ("%s", H((512, 64))), ("%i", S((8, 1)))],
                               op("dma_copy_indirect", [("%a", S((8, 64))), ("%s", H((512, 64))), ("%i", S((8, 1)))]),
                               r"index must be an integer \[8, 1\] tile"),
    "indirect_row_shape": ([("%a", S((8, 32))), ("%s", H((512, 64))), ("%i", S((8, 1), "i32"))],
                           op("dma_copy_indirect", [("%a", S((8, 32))), ("%s", H((512, 64))), ("%i", S((8, 1), "i32"))]),
                           r"dst row shape \[32\] differs from src \[64\]"),
    # --- PE array: memories, stationary/moving limits, fp32 PSUM accumulation
    "matmul_stationary_in_sbuf": ([("%d", P((128, 512))), ("%s", P((128, 128), "bf16")), ("%m", S((128, 512), "bf16"))],
                                  op("matmul", [("%d", P((128, 512))), ("%s", P((128, 128), "bf16")), ("%m", S((128, 512), "bf16"))]),
                                  r"stationary must live in Sbuf, got Psum"),
    "matmul_dst_in_psum": ([("%d", S((128, 512))), ("%s", S((128, 128), "bf16")), ("%m", S((128, 512), "bf16"))],
                           op("matmul", [("%d", S((128, 512))), ("%s", S((128, 128), "bf16")), ("%m", S((128, 512), "bf16"))]),
                           r"dst must live in Psum, got Sbuf"),
    "matmul_contraction": ([("%d", P((128, 512))), ("%s", S((128, 128), "bf16")), ("%m", S((64, 512), "bf16"))],
                           op("matmul", [("%d", P((128, 512))), ("%s", S((128, 128), "bf16")), ("%m", S((64, 512), "bf16"))]),
                           r"contraction dims differ: stationary K=128, moving K=64"),
    "matmul_stationary_free": ([("%d", P((128, 512))), ("%s", S((128, 256), "bf16")), ("%m", S((128, 512), "bf16"))],
                               op("matmul", [("%d", P((128, 512))), ("%s", S((128, 256), "bf16")), ("%m", S((128, 512), "bf16"))]),
                               r"stationary free size 256 exceeds 128"),
    "matmul_moving_free": ([("%d", P((128, 512))), ("%s", S((128, 128), "bf16")), ("%m", S((128, 1024), "bf16"))],
                           op("matmul", [("%d", P((128, 512))), ("%s", S((128, 128), "bf16")), ("%m", S((128, 1024), "bf16"))]),
                           r"moving free size 1024 exceeds 512"),
    "matmul_psum_fp32": ([("%d", P((128, 512), "bf16")), ("%s", S((128, 128), "bf16")), ("%m", S((128, 512), "bf16"))],
                         op("matmul", [("%d", P((128, 512), "bf16")), ("%s", S((128, 128), "bf16")), ("%m", S((128, 512), "bf16"))]),
                         r"dst must be f32 \(PSUM accumulates in fp32\), got bf16"),
    "matmul_fp32_pairs": ([("%d", P((128, 512))), ("%s", S((128, 128))), ("%m", S((128, 512), "bf16"))],
                          op("matmul", [("%d", P((128, 512))), ("%s", S((128, 128))), ("%m", S((128, 512), "bf16"))]),
                          r"an f32 operand must pair with an f32 operand"),
    "matmul_dst_shape": ([("%d", P((64, 512))), ("%s", S((128, 128), "bf16")), ("%m", S((128, 512), "bf16"))],
                         op("matmul", [("%d", P((64, 512))), ("%s", S((128, 128), "bf16")), ("%m", S((128, 512), "bf16"))]),
                         r"dst shape \[64, 512\] must be \[128, 512\]"),
    "matmul_integer_input": ([("%d", P((128, 512))), ("%s", S((128, 128), "i32")), ("%m", S((128, 512), "i32"))],
                             op("matmul", [("%d", P((128, 512))), ("%s", S((128, 128), "i32")), ("%m", S((128, 512), "i32"))]),
                             r"stationary element type i32 is not a PE-array input type \(bf16, f16, f32"),
    "transpose_dst_in_psum": ([("%d", S((64, 128))), ("%s", S((128, 64)))], op("transpose", [("%d", S((64, 128))), ("%s", S((128, 64)))]),
                              r"dst must live in Psum, got Sbuf"),
    "transpose_shape": ([("%d", P((128, 64))), ("%s", S((128, 64)))], op("transpose", [("%d", P((128, 64))), ("%s", S((128, 64)))]),
                        r"dst shape \[128, 64\] must be the 2-D transpose of \[128, 64\]"),
    "transpose_dtype": ([("%d", P((64, 128), "bf16")), ("%s", S((128, 64)))],
                        op("transpose", [("%d", P((64, 128), "bf16")), ("%s", S((128, 64)))]),
                        r"dst and src element types differ"),
    # --- Vector / Scalar / GpSimd
    "tensor_tensor_op": ([("%a", A), ("%b", B)], op("tensor_tensor_arith", [("%a", A), ("%a", A), ("%b", B)], 'op = "fma"'),
                         r"op 'fma' is not one of abs_max, abs_min, add"),
    "tensor_tensor_needs_op": ([("%a", A), ("%b", B)], op("tensor_tensor_arith", [("%a", A), ("%a", A), ("%b", B)]),
                               r"requires a string attribute 'op'"),
    "tensor_tensor_two_psum": ([("%a", A), ("%p", PS), ("%q", PS)],
                               op("tensor_tensor_arith", [("%a", A), ("%p", PS), ("%q", PS)], 'op = "add"'),
                               r"may not read both inputs from PSUM"),
    "tensor_tensor_shapes": ([("%a", A), ("%b", S((128, 32)))],
                             op("tensor_tensor_arith", [("%a", A), ("%a", A), ("%b", S((128, 32)))], 'op = "add"'),
                             r"rhs shape \[128, 32\] does not match dst \[128, 64\] \(only size-1 free dims broadcast\)"),
    "tensor_scalar_op1_alone": ([("%a", A), ("%c", "f32")],
                                op("tensor_scalar_arith", [("%a", A), ("%a", A), ("%c", "f32")],
                                   'op0 = "add", op1 = "multiply", operandSegmentSizes = array<i32: 1, 1, 1, 0>'),
                                r"op1 and operand1 must be given together"),
    "tensor_scalar_column": ([("%a", A), ("%v", S((128, 2)))],
                             op("tensor_scalar_arith", [("%a", A), ("%a", A), ("%v", S((128, 2)))],
                                'op0 = "add", operandSegmentSizes = array<i32: 1, 1, 1, 0>'),
                             r"operand0 must be an f32 scalar or a \[P, 1\] SBUF/PSUM memref"),
    "tensor_scalar_partitions": ([("%a", A), ("%v", S((64, 1)))],
                                 op("tensor_scalar_arith", [("%a", A), ("%a", A), ("%v", S((64, 1)))],
                                    'op0 = "add", operandSegmentSizes = array<i32: 1, 1, 1, 0>'),
                                 r"operand0 has 64 partitions, the data has 128"),
    "tensor_scalar_mixed_kinds": ([("%a", S((128, 64), "i32")), ("%c", "f32")],
                                  op("tensor_scalar_arith", [("%a", S((128, 64), "i32")), ("%a", S((128, 64), "i32")),
                                                             ("%c", "f32"), ("%c", "f32")],
                                     'op0 = "bitwise_and", op1 = "add", operandSegmentSizes = array<i32: 1, 1, 1, 1>'),
                                  r"op0 'bitwise_and' and op1 'add' must both be arithmetic or both bitvec"),
    "tensor_scalar_bitvec_engine": ([("%a", S((128, 64), "i32")), ("%c", "f32")],
                                    op("tensor_scalar_arith", [("%a", S((128, 64), "i32")), ("%a", S((128, 64), "i32")),
                                                               ("%c", "f32")],
                                       'op0 = "left_shift", engine = "GpSimd", '
                                       'operandSegmentSizes = array<i32: 1, 1, 1, 0>'),
                                    r"bitvec op 'left_shift' runs on the Vector engine only, not GpSimd"),
    "tensor_scalar_scalar_engine_pairs": ([("%a", A), ("%c", "f32")],
                                          op("tensor_scalar_arith", [("%a", A), ("%a", A), ("%c", "f32"), ("%c", "f32")],
                                             'op0 = "add", op1 = "multiply", engine = "Scalar", '
                                             'operandSegmentSizes = array<i32: 1, 1, 1, 1>'),
                                          r"the Scalar engine runs \(multiply, add\), \(multiply\) or \(add\) only, "
                                          r"not \(add, multiply\)"),
    "activation_scale_fp32": ([("%a", A), ("%s", S((128, 1), "bf16"))],
                              op("activation", [("%a", A), ("%a", A), ("%s", S((128, 1), "bf16"))],
                                 'op = "exp", operandSegmentSizes = array<i32: 1, 1, 0, 1>'),
                              r"scale must be fp32, got a bf16 tile"),
    "activation_function": ([("%a", A)], op("activation", [("%a", A), ("%a", A)],
                                            'op = "cosine", operandSegmentSizes = array<i32: 1, 1, 0, 0>'),
                            r"op 'cosine' is not one of abs, arctan, copy"),
    "activation_bias_column": ([("%a", A), ("%b", S((128, 4)))],
                               op("activation", [("%a", A), ("%a", A), ("%b", S((128, 4)))],
                                  'op = "exp", operandSegmentSizes = array<i32: 1, 1, 1, 0>'),
                               r"bias must be an f32 scalar or a \[P, 1\] SBUF/PSUM memref"),
    "activation_reduce_res_shape": ([("%a", A), ("%r", S((128, 2)))],
                                    op("activation_reduce", [("%a", A), ("%a", A), ("%r", S((128, 2)))],
                                       'op = "exp", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>'),
                                    r"reduce_res must be an f32 \[128, 1\] tile"),
    "activation_reduce_res_in_psum": ([("%a", A), ("%p", P((128, 1)))],
                                      op("activation_reduce", [("%a", A), ("%a", A), ("%p", P((128, 1)))],
                                         'op = "exp", operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>'),
                                      r"reduce_res must live in Sbuf, got Psum"),
    "tensor_scalar_reduce_op": ([("%a", A), ("%r", S((128, 1)))],
                                op("tensor_scalar_reduce", [("%a", A), ("%a", A), ("%r", S((128, 1))), ("%r", S((128, 1)))],
                                   'op0 = "multiply", reduce_op = "abs_max"'),
                                r"reduce_op 'abs_max' is not one of add, max, min, multiply"),
    "tensor_scalar_reduce_res_shape": ([("%a", A), ("%c", S((128, 1))), ("%r", S((128, 2)))],
                                       op("tensor_scalar_reduce", [("%a", A), ("%a", A), ("%c", S((128, 1))),
                                                                   ("%r", S((128, 2)))],
                                          'op0 = "multiply", reduce_op = "max"'),
                                       r"reduce_res must be an f32 \[128, 1\] tile"),
    "tensor_scalar_reduce_on_scalar": ([("%a", A), ("%r", S((128, 1)))],
                                       op("tensor_scalar_reduce", [("%a", A), ("%a", A), ("%r", S((128, 1))),
                                                                   ("%r", S((128, 1)))],
                                          'op0 = "multiply", reduce_op = "max", engine = "Scalar"'),
                                       r"engine 'Scalar' is not one of Vector"),
    "reciprocal_in_hbm": ([("%a", A), ("%h", H((128, 64)))], op("reciprocal", [("%a", A), ("%h", H((128, 64)))]),
                          r"src must live in Psum/Sbuf, got Hbm"),
    "select_two_psum": ([("%a", A), ("%p", PS), ("%q", PS), ("%b", B)],
                        op("select", [("%a", A), ("%b", B), ("%p", PS), ("%q", PS)]),
                        r"may read at most one input from PSUM"),
    "select_shapes": ([("%a", A), ("%b", S((128, 32)))], op("select", [("%a", A), ("%b", S((128, 32))), ("%a", A), ("%a", A)]),
                      r"dst and pred: shapes \[128, 64\] and \[128, 32\] differ"),
    "reduce_partition_axis": ([("%r", S((128, 1))), ("%a", A)],
                              op("tensor_reduce_arith", [("%r", S((128, 1))), ("%a", A)], 'op = "add", num_r_dim = 2 : i64'),
                              r"num_r_dim 2 must be in \[1, 1\] \(the partition axis is not reducible\)"),
    "reduce_dst_shape": ([("%r", S((128, 2))), ("%a", A)], op("tensor_reduce_arith", [("%r", S((128, 2))), ("%a", A)], 'op = "add"'),
                         r"dst shape \[128, 2\] must hold the kept dims \[128\]"),
    "reduce_op": ([("%r", COL), ("%a", A)], op("tensor_reduce_arith", [("%r", COL), ("%a", A)], 'op = "divide"'),
                  r"op 'divide' is not one of add, bitwise_and"),
    "partition_reduce_op": ([("%r", S((1, 64))), ("%a", A)],
                            op("cross_partition_reduce", [("%r", S((1, 64))), ("%a", A)], 'op = "multiply"'),
                            r"op 'multiply' is not one of add, average, bitwise_and, bitwise_or, max"),
    "partition_reduce_shape": ([("%r", S((2, 64))), ("%a", A)],
                               op("cross_partition_reduce", [("%r", S((2, 64))), ("%a", A)], 'op = "add"'),
                               r"dst shape \[2, 64\] must be \[1, 64\]"),
    "partition_reduce_psum": ([("%r", S((1, 64))), ("%p", PS)],
                              op("cross_partition_reduce", [("%r", S((1, 64))), ("%p", PS)], 'op = "add"'),
                              r"src must live in Sbuf, got Psum"),
    "memset_value": ([("%a", A)], op("memset", [("%a", A)]), r"requires a float or integer 'value' attribute"),
    "iota_pattern": ([("%a", S((128, 64), "i32"))], op("iota", [("%a", S((128, 64), "i32"))], "pattern = array<i64: 1, 32>"),
                     r"pattern nums \[32\] must equal the free shape \[64\]"),
    "iota_in_psum": ([("%p", P((128, 64), "i32"))], op("iota", [("%p", P((128, 64), "i32"))], "pattern = array<i64: 1, 64>"),
                     r"dst must live in Sbuf, got Psum"),
}


def module(args: list[tuple[str, str]], line: str, target: str = "trn2") -> str:
    sig = ", ".join(f"{n}: {t}" for n, t in args)
    return (f'module attributes {{nisa.target = "{target}"}} {{\n'
            f"  func.func @k({sig}) {{\n"
            f"    {line}\n"
            f"    return\n  }}\n}}\n")


@pytest.mark.parametrize("case", list(CASES))
def test_rule_rejects_the_instruction_at_its_line(case: str) -> None:
    args, line, message = CASES[case]
    with pytest.raises(SimError, match=message) as info:
        load_nisa(module(args, line))
    assert info.value.loc is not None
    assert (info.value.loc.file, info.value.loc.line) == ("verify.py", LINE)
    assert "invalid NISA module" in str(info.value)


def test_limits_come_from_the_module_target() -> None:
    """The same SBUF allocation fits trn2 (212984 B/partition) but not trn1 (180224 B)."""
    line = alloc(S((128, 50000)))  # 200000 B per partition
    load_nisa(module([], line, "trn2"))
    with pytest.raises(SimError, match=r"needs 200000 B per partition, Sbuf has 180224") as info:
        load_nisa(module([], line, "trn1"))
    assert info.value.loc.line == LINE


def test_valid_forms_of_each_rule_are_accepted() -> None:
    """Guard against over-eager rules: the legal neighbours of the cases above load."""
    bf_s, bf_m, f_s, f_m = S((128, 128), "bf16"), S((128, 512), "bf16"), S((128, 128)), S((128, 512))
    acc, tp, x = P((128, 512)), P((64, 128)), S((128, 64))
    args = [("%d", acc), ("%s", bf_s), ("%m", bf_m), ("%fs", f_s), ("%fm", f_m), ("%t", tp), ("%x", x),
            ("%a", A), ("%p", PS), ("%c", "f32"), ("%f8", S((128, 128), "f8E4M3FN"))]
    lines = [
        op("matmul", [("%d", acc), ("%s", bf_s), ("%m", bf_m)], "accumulate = true"),
        op("matmul", [("%d", acc), ("%fs", f_s), ("%fm", f_m)]),
        op("transpose", [("%t", tp), ("%x", x)]),
        op("tensor_tensor_arith", [("%a", A), ("%p", PS), ("%a", A)], 'op = "add"'),
        op("tensor_copy", [("%a", A), ("%p", PS)], 'engine = "Scalar"'),
        op("activation", [("%a", A), ("%p", PS)], 'op = "arctan", operandSegmentSizes = array<i32: 1, 1, 0, 0>'),
        op("select", [("%a", A), ("%p", PS), ("%a", A), ("%a", A)]),
        op("tensor_scalar_arith", [("%a", A), ("%a", A), ("%c", "f32"), ("%c", "f32")],
           'op0 = "multiply", op1 = "add", engine = "Scalar", operandSegmentSizes = array<i32: 1, 1, 1, 1>'),
        op("matmul", [("%d", acc), ("%f8", S((128, 128), "f8E4M3FN")), ("%m", bf_m)]),
    ]
    load_nisa(module(args, "\n    ".join(lines)))
