"""The IR the tracing frontend emits, one op family at a time, checked with FileCheck.

Each test traces a small kernel and checks op names, tensor types, indexing maps,
iterator types and knob attributes; the location tests check that ops carry
`loc("np.<op>"("<this file>":LINE:COL))` for the user's line, with LINE/COL found
in the kernel's own source (never hard-coded).
"""

from __future__ import annotations

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg import fori_loop, knob, trace
from nkipy_kg._mlir import ir
from nkipy_kg.frontend.tracer import InputSpec, TracedFunction

from frontend_helpers import BF16, filecheck, rand, reparse, source_file, source_position, with_inline_locations

F32_8x16 = ((8, 16), "f32")


def ir_of(fn, *specs) -> str:
    return str(trace(fn).to_mlir(specs=list(specs)))


def loc_of(fn, snippet: str, op: str) -> str:
    """The location text an op created by `snippet` (in `fn`'s source) must carry."""
    line, col = source_position(fn, snippet)
    return f'loc("{op}"("{source_file(fn)}":{line}:{col}))'


# -- elementwise ---------------------------------------------------------------------------

def test_same_shape_float_binary_is_named_linalg_op():
    def k(x, y):
        return x + y

    filecheck(ir_of(k, F32_8x16, F32_8x16), """
        CHECK-LABEL: func.func @k(%arg0: tensor<8x16xf32>, %arg1: tensor<8x16xf32>) -> tensor<8x16xf32>
        CHECK: %[[INIT:.*]] = tensor.empty() : tensor<8x16xf32>
        CHECK: %[[R:.*]] = linalg.add ins(%arg0, %arg1 : tensor<8x16xf32>, tensor<8x16xf32>) outs(%[[INIT]] : tensor<8x16xf32>) -> tensor<8x16xf32>
        CHECK: return %[[R]] : tensor<8x16xf32>
    """)


@pytest.mark.parametrize("np_fn, named", [
    (np.exp, "linalg.exp"), (np.log, "linalg.log"), (np.sqrt, "linalg.sqrt"), (np.tanh, "linalg.tanh"),
    (np.abs, "linalg.abs"), (np.negative, "linalg.negf"), (np.reciprocal, "linalg.reciprocal"),
    (np.square, "linalg.square"), (np.floor, "linalg.floor"), (np.ceil, "linalg.ceil"),
])
def test_float_unary_named_ops(np_fn, named):
    def k(x):
        return np_fn(x)

    filecheck(ir_of(k, ((4, 8), "f32")), f"""
        CHECK: {named} ins(%arg0 : tensor<4x8xf32>) outs(%{{{{.*}}}} : tensor<4x8xf32>) -> tensor<4x8xf32>
        CHECK-NOT: linalg.generic
    """)


def test_broadcast_binary_is_generic_with_broadcast_maps():
    def k(x, row, col):
        return (x * row) - col

    filecheck(ir_of(k, F32_8x16, ((16,), "f32"), ((8, 1), "f32")), """
        CHECK-DAG: #[[ID:map[0-9]*]] = affine_map<(d0, d1) -> (d0, d1)>
        CHECK-DAG: #[[ROW:map[0-9]*]] = affine_map<(d0, d1) -> (d1)>
        CHECK-DAG: #[[COL:map[0-9]*]] = affine_map<(d0, d1) -> (d0, 0)>
        CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
        CHECK-SAME: ins(%arg0, %arg1 : tensor<8x16xf32>, tensor<16xf32>)
        CHECK: arith.mulf
        CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[COL]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
        CHECK-SAME: tensor<8x16xf32>, tensor<8x1xf32>
        CHECK: arith.subf
    """)


def test_python_scalar_is_constant_inside_the_body():
    def k(x):
        return x * 2.0 + 1

    filecheck(ir_of(k, ((4,), "f16")), """
        CHECK: linalg.generic
        CHECK-SAME: ins(%arg0 : tensor<4xf16>) outs(%{{.*}} : tensor<4xf16>)
        CHECK-NEXT: ^bb0(%[[IN:.*]]: f16, %{{.*}}: f16):
        CHECK-NEXT: %[[C:.*]] = arith.constant 2.000000e+00 : f16
        CHECK-NEXT: %[[M:.*]] = arith.mulf %[[IN]], %[[C]] : f16
        CHECK-NEXT: linalg.yield %[[M]] : f16
        CHECK: arith.constant 1.000000e+00 : f16
        CHECK: arith.addf
        CHECK-NOT: f32
    """)


def test_bf16_times_python_float_follows_numpy():
    def k(x):
        return x * 2.0, x * 2

    # ml_dtypes < 0.7 does not treat Python floats as weak (bf16 * 2.0 is f32); 0.7 does
    # (bf16). The frontend asks NumPy, so the IR follows whichever is installed.
    float_result = (np.ones(4, BF16) * 2.0).dtype
    if float_result == np.float32:
        float_checks = """
        CHECK: func.func @k(%arg0: tensor<4xbf16>) -> (tensor<4xf32>, tensor<4xbf16>)
        CHECK: arith.extf %{{.*}} : bf16 to f32
        CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
        """
    else:
        assert float_result == BF16
        float_checks = """
        CHECK: func.func @k(%arg0: tensor<4xbf16>) -> (tensor<4xbf16>, tensor<4xbf16>)
        CHECK-NOT: arith.extf
        CHECK: arith.mulf %{{.*}}, %{{.*}} : bf16
        """
    filecheck(ir_of(k, ((4,), "bf16")), float_checks + """
        CHECK: arith.constant 2.000000e+00 : bf16
        CHECK: arith.mulf %{{.*}}, %{{.*}} : bf16
    """)


def test_mixed_dtypes_promote_like_numpy():
    def k(a, b):
        return a + b

    filecheck(ir_of(k, ((4,), "bf16"), ((4,), "f32")), """
        CHECK-LABEL: func.func @k(%arg0: tensor<4xbf16>, %arg1: tensor<4xf32>) -> tensor<4xf32>
        CHECK: linalg.generic
        CHECK: arith.extf %{{.*}} : bf16 to f32
        CHECK: linalg.add ins(%{{.*}}, %arg1 : tensor<4xf32>, tensor<4xf32>)
    """)


def test_comparisons_return_i1_and_compute_in_promoted_dtype():
    def k(a, b):
        return a < b, a > 0.5

    filecheck(ir_of(k, ((8,), "i32"), ((8,), "i32")), """
        CHECK-LABEL: -> (tensor<8xi1>, tensor<8xi1>)
        CHECK: arith.cmpi slt, %{{.*}}, %{{.*}} : i32
        CHECK: -> tensor<8xi1>
        CHECK: arith.sitofp %{{.*}} : i32 to f64
        CHECK: arith.cmpf ogt, %{{.*}}, %{{.*}} : f64
    """)


def test_integer_floor_divide_guards_zero_divisor():
    def k(a, b):
        return a // b

    filecheck(ir_of(k, ((8,), "i32"), ((8,), "i32")), """
        CHECK: %[[ZERO:.*]] = arith.constant 0 : i32
        CHECK: %[[ONE:.*]] = arith.constant 1 : i32
        CHECK: %[[ISZ:.*]] = arith.cmpi eq, %[[B:.*]], %[[ZERO]] : i32
        CHECK: %[[SAFE:.*]] = arith.select %[[ISZ]], %[[ONE]], %[[B]] : i32
        CHECK: %[[Q:.*]] = arith.floordivsi %{{.*}}, %[[SAFE]] : i32
        CHECK: arith.select %[[ISZ]], %[[ZERO]], %[[Q]] : i32
    """)


def test_astype_and_where():
    def k(x, y):
        return np.where(x > y, x, 0.0).astype(np.int32)

    filecheck(ir_of(k, ((4, 8), "f32"), ((4, 8), "f32")), """
        CHECK: arith.cmpf ogt
        CHECK: linalg.generic
        CHECK-SAME: ins(%{{.*}}, %arg0 : tensor<4x8xi1>, tensor<4x8xf32>)
        CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
        CHECK: arith.select %{{.*}}, %{{.*}}, %[[Z]] : f32
        CHECK: arith.fptosi %{{.*}} : f32 to i32
        CHECK: return %{{.*}} : tensor<4x8xi32>
    """)


# -- reductions ----------------------------------------------------------------------------

def test_sum_keepdims_maps_iterators_and_zero_init():
    def k(x):
        return np.sum(x, axis=1, keepdims=True)

    filecheck(ir_of(k, F32_8x16), """
        CHECK-DAG: #[[ID:map[0-9]*]] = affine_map<(d0, d1) -> (d0, d1)>
        CHECK-DAG: #[[KEEP:map[0-9]*]] = affine_map<(d0, d1) -> (d0, 0)>
        CHECK: %[[E:.*]] = tensor.empty() : tensor<8x1xf32>
        CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
        CHECK: %[[F:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%[[E]] : tensor<8x1xf32>) -> tensor<8x1xf32>
        CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[KEEP]]], iterator_types = ["parallel", "reduction"]}
        CHECK-SAME: ins(%arg0 : tensor<8x16xf32>) outs(%[[F]] : tensor<8x1xf32>)
        CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %[[ACC:.*]]: f32):
        CHECK-NEXT: arith.addf %[[IN]], %[[ACC]] : f32
    """)


def test_max_over_axis_tuple_with_negative_axis():
    def k(x):
        return x.max(axis=(0, -1))

    filecheck(ir_of(k, ((2, 4, 8), "f32")), """
        CHECK-DAG: #[[OUT:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d1)>
        CHECK: arith.constant 0xFF800000 : f32
        CHECK: linalg.generic {indexing_maps = [#{{map[0-9]*}}, #[[OUT]]], iterator_types = ["reduction", "parallel", "reduction"]}
        CHECK: arith.maximumf
        CHECK: return %{{.*}} : tensor<4xf32>
    """)


def test_bf16_mean_accumulates_in_f32_and_rounds_once():
    def k(x):
        return np.mean(x, axis=-1)

    filecheck(ir_of(k, ((4, 8), "bf16")), """
        CHECK: arith.extf %{{.*}} : bf16 to f32
        CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
        CHECK: iterator_types = ["parallel", "reduction"]
        CHECK: arith.addf %{{.*}}, %{{.*}} : f32
        CHECK: arith.constant 8.000000e+00 : f32
        CHECK: arith.divf
        CHECK: arith.truncf %{{.*}} : f32 to bf16
        CHECK: return %{{.*}} : tensor<4xbf16>
    """)


# -- matmul --------------------------------------------------------------------------------

def test_matmul_2d():
    def k(a, b):
        return a @ b

    filecheck(ir_of(k, ((8, 16), "f32"), ((16, 32), "f32")), """
        CHECK: %[[E:.*]] = tensor.empty() : tensor<8x32xf32>
        CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
        CHECK: %[[F:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%[[E]] : tensor<8x32xf32>)
        CHECK: linalg.matmul ins(%arg0, %arg1 : tensor<8x16xf32>, tensor<16x32xf32>) outs(%[[F]] : tensor<8x32xf32>) -> tensor<8x32xf32>
    """)


def test_batched_matmul_and_batched_lhs_against_2d_rhs():
    def k(a, b, w):
        return a @ b, a @ w

    filecheck(ir_of(k, ((2, 8, 16), "f32"), ((2, 16, 4), "f32"), ((16, 4), "f32")), """
        CHECK: linalg.batch_matmul ins(%arg0, %arg1 : tensor<2x8x16xf32>, tensor<2x16x4xf32>) outs(%{{.*}} : tensor<2x8x4xf32>)
        CHECK: %[[FLAT:.*]] = tensor.collapse_shape %arg0 {{\\[\\[}}0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
        CHECK: %[[MM:.*]] = linalg.matmul ins(%[[FLAT]], %arg2 : tensor<16x16xf32>, tensor<16x4xf32>)
        CHECK: tensor.expand_shape %[[MM]] {{\\[\\[}}0, 1], [2]] output_shape [2, 8, 4] : tensor<16x4xf32> into tensor<2x8x4xf32>
    """)


def test_bf16_matmul_accumulates_in_f32_and_np_dot_rounds_to_bf16():
    def k(a, b):
        return a @ b, np.dot(a, b)

    # NumPy (ml_dtypes) itself gives float32 for bf16 @ bf16 and bfloat16 for np.dot.
    # Both multiply bf16 operands (no f32 copies of them) into an f32 accumulator.
    filecheck(ir_of(k, ((8, 16), "bf16"), ((16, 4), "bf16")), """
        CHECK-LABEL: -> (tensor<8x4xf32>, tensor<8x4xbf16>)
        CHECK-NOT: arith.extf
        CHECK: linalg.matmul ins(%arg0, %arg1 : tensor<8x16xbf16>, tensor<16x4xbf16>) outs(%{{.*}} : tensor<8x4xf32>)
        CHECK: linalg.matmul ins(%arg0, %arg1 : tensor<8x16xbf16>, tensor<16x4xbf16>) outs(%{{.*}} : tensor<8x4xf32>)
        CHECK: arith.truncf %{{.*}} : f32 to bf16
    """)


# -- shape -----------------------------------------------------------------------------------

def test_transpose_reshape_expand_squeeze():
    def k(x):
        return x.T, x.reshape(2, 64), x.reshape(4, 2, 16), np.expand_dims(x, 0), np.squeeze(x[:1], 0)

    filecheck(ir_of(k, F32_8x16), """
        CHECK: linalg.transpose ins(%arg0 : tensor<8x16xf32>) outs(%{{.*}} : tensor<16x8xf32>) permutation = [1, 0]
        CHECK: %[[C:.*]] = tensor.collapse_shape %arg0 {{\\[\\[}}0, 1]] : tensor<8x16xf32> into tensor<128xf32>
        CHECK: tensor.expand_shape %[[C]] {{\\[\\[}}0, 1]] output_shape [2, 64] : tensor<128xf32> into tensor<2x64xf32>
        CHECK: tensor.expand_shape %arg0 {{\\[\\[}}0, 1], [2]] output_shape [4, 2, 16] : tensor<8x16xf32> into tensor<4x2x16xf32>
        CHECK: tensor.expand_shape %arg0 {{\\[\\[}}0, 1], [2]] output_shape [1, 8, 16] : tensor<8x16xf32> into tensor<1x8x16xf32>
        CHECK: %[[S:.*]] = tensor.extract_slice %arg0[0, 0] [1, 16] [1, 1] : tensor<8x16xf32> to tensor<1x16xf32>
        CHECK: tensor.collapse_shape %[[S]] {{\\[\\[}}0, 1]] : tensor<1x16xf32> into tensor<16xf32>
        CHECK-NOT: tensor.reshape
    """)


def test_reshape_adding_trailing_unit_dims():
    def k(x, s):
        return x.reshape(8, 1), s.reshape(1, 1)

    filecheck(ir_of(k, ((8,), "f32"), ((), "f32")), """
        CHECK: tensor.expand_shape %arg0 {{\\[\\[}}0, 1]] output_shape [8, 1] : tensor<8xf32> into tensor<8x1xf32>
        CHECK: tensor.expand_shape %arg1 [] output_shape [1, 1] : tensor<f32> into tensor<1x1xf32>
    """)


def test_concatenate_is_insert_slices_and_broadcast_to_is_generic():
    def k(x, y):
        return np.concatenate([x, y], axis=1), np.broadcast_to(y[:, :1], (8, 16))

    filecheck(ir_of(k, F32_8x16, ((8, 4), "f32")), """
        CHECK-DAG: #[[PIN:map[0-9]*]] = affine_map<(d0, d1) -> (d0, 0)>
        CHECK: %[[E:.*]] = tensor.empty() : tensor<8x20xf32>
        CHECK: %[[A:.*]] = tensor.insert_slice %arg0 into %[[E]][0, 0] [8, 16] [1, 1] : tensor<8x16xf32> into tensor<8x20xf32>
        CHECK: tensor.insert_slice %arg1 into %[[A]][0, 16] [8, 4] [1, 1] : tensor<8x4xf32> into tensor<8x20xf32>
        CHECK: %[[COL:.*]] = tensor.extract_slice %arg1[0, 0] [8, 1] [1, 1] : tensor<8x4xf32> to tensor<8x1xf32>
        CHECK: linalg.generic {indexing_maps = [#[[PIN]], #{{map[0-9]*}}], iterator_types = ["parallel", "parallel"]} ins(%[[COL]] : tensor<8x1xf32>)
    """)


# -- indexing --------------------------------------------------------------------------------

def test_static_indexing_with_negative_step_none_ellipsis():
    def k(x):
        return x[-1, 1:7:2, None, ...], x[..., 3]

    filecheck(ir_of(k, ((4, 8, 16), "f32")), """
        CHECK: %[[S:.*]] = tensor.extract_slice %arg0[3, 1, 0] [1, 3, 16] [1, 2, 1] : tensor<4x8x16xf32> to tensor<3x16xf32>
        CHECK: tensor.expand_shape %[[S]] {{\\[\\[}}0], [1, 2]] output_shape [3, 1, 16] : tensor<3x16xf32> into tensor<3x1x16xf32>
        CHECK: tensor.extract_slice %arg0[0, 0, 3] [4, 8, 1] [1, 1, 1] : tensor<4x8x16xf32> to tensor<4x8xf32>
    """)


def test_take_with_traced_indices_is_gather_with_negative_wrap():
    def k(x, idx):
        return np.take(x, idx, axis=1)

    filecheck(ir_of(k, F32_8x16, ((3,), "i32")), """
        CHECK: arith.cmpi slt, %{{.*}}, %{{.*}} : i32
        CHECK: arith.constant 16 : i32
        CHECK: arith.addi
        CHECK: %[[IDX:.*]] = linalg.generic
        CHECK: arith.select
        CHECK: %[[T:.*]] = linalg.transpose ins(%arg0 : tensor<8x16xf32>) outs(%{{.*}} : tensor<16x8xf32>) permutation = [1, 0]
        CHECK: %[[G:.*]] = "nkipy.gather"(%[[T]], %[[IDX]], %{{.*}}) : (tensor<16x8xf32>, tensor<3xi32>, tensor<3x8xf32>) -> tensor<3x8xf32>
        CHECK: linalg.transpose ins(%[[G]] : tensor<3x8xf32>) outs(%{{.*}} : tensor<8x3xf32>) permutation = [1, 0]
    """)


def test_take_with_constant_indices_wraps_at_trace_time():
    def k(x):
        return x[[0, -1, 2]]

    filecheck(ir_of(k, F32_8x16), """
        CHECK: %[[I:.*]] = arith.constant dense<[0, 7, 2]> : tensor<3xi32>
        CHECK: "nkipy.gather"(%arg0, %[[I]], %{{.*}}) : (tensor<8x16xf32>, tensor<3xi32>, tensor<3x16xf32>) -> tensor<3x16xf32>
    """)


def test_setitem_on_static_slice_is_insert_slice():
    def k(x):
        y = x.copy()
        y[2:4] = x[0:2]
        y[0, ::4] = 5.0
        return y

    filecheck(ir_of(k, F32_8x16), """
        CHECK: %[[Y:.*]] = linalg.copy ins(%arg0 : tensor<8x16xf32>)
        CHECK: %[[SRC:.*]] = tensor.extract_slice %arg0[0, 0] [2, 16] [1, 1]
        CHECK: %[[Y2:.*]] = tensor.insert_slice %[[SRC]] into %[[Y]][2, 0] [2, 16] [1, 1] : tensor<2x16xf32> into tensor<8x16xf32>
        CHECK: %[[FIVE:.*]] = arith.constant 5.000000e+00 : f32
        CHECK: %[[V:.*]] = linalg.fill ins(%[[FIVE]] : f32) outs(%{{.*}} : tensor<4xf32>)
        CHECK: %[[Y3:.*]] = tensor.insert_slice %[[V]] into %[[Y2]][0, 0] [1, 4] [1, 4] : tensor<4xf32> into tensor<8x16xf32>
        CHECK: return %[[Y3]]
    """)


# -- creation --------------------------------------------------------------------------------

def test_zeros_full_and_host_constants():
    def k(x):
        acc = np.zeros((8, 16), np.float32)
        mask = np.array([True, False, True, False])
        return acc + x + np.arange(16, dtype=np.float32), np.full((2,), 3, np.int32), mask

    filecheck(ir_of(k, F32_8x16), """
        CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
        CHECK: linalg.fill ins(%[[Z]] : f32) outs(%{{.*}} : tensor<8x16xf32>)
        CHECK: arith.constant dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, {{.*}}, 1.500000e+01]> : tensor<16xf32>
        CHECK: %[[THREE:.*]] = arith.constant 3 : i32
        CHECK: linalg.fill ins(%[[THREE]] : i32) outs(%{{.*}} : tensor<2xi32>)
        CHECK: arith.constant dense<[true, false, true, false]> : tensor<4xi1>
        CHECK: return {{.*}} : tensor<8x16xf32>, tensor<2xi32>, tensor<4xi1>
    """)


def test_like_constructors():
    def k(x):
        return np.zeros_like(x), np.ones_like(x, dtype=np.int32), np.full_like(x, 2.5)

    filecheck(ir_of(k, ((4,), "bf16")), """
        CHECK: arith.constant 0.000000e+00 : bf16
        CHECK: linalg.fill {{.*}} tensor<4xbf16>
        CHECK: arith.constant 1 : i32
        CHECK: linalg.fill {{.*}} tensor<4xi32>
        CHECK: arith.constant 2.500000e+00 : bf16
    """)


# -- control flow ----------------------------------------------------------------------------

def test_fori_loop_with_dynamic_slices_is_scf_for():
    def k(x):
        def body(i, acc):
            return acc + x[i * 16:(i + 1) * 16]
        return fori_loop(0, 4, body, np.zeros((16, 8), np.float32))

    filecheck(ir_of(k, ((64, 8), "f32")), """
        CHECK: %[[INIT:.*]] = linalg.fill
        CHECK: %[[LB:.*]] = arith.constant 0 : index
        CHECK: %[[UB:.*]] = arith.constant 4 : index
        CHECK: %[[ST:.*]] = arith.constant 1 : index
        CHECK: %[[R:.*]] = scf.for %[[IV:.*]] = %[[LB]] to %[[UB]] step %[[ST]] iter_args(%[[ACC:.*]] = %[[INIT]]) -> (tensor<16x8xf32>) {
        CHECK: %[[C16:.*]] = arith.constant 16 : index
        CHECK: %[[OFF:.*]] = arith.muli %[[IV]], %[[C16]] : index
        CHECK: %[[BLK:.*]] = tensor.extract_slice %arg0[%[[OFF]], 0] [16, 8] [1, 1] : tensor<64x8xf32> to tensor<16x8xf32>
        CHECK: %[[SUM:.*]] = linalg.add ins(%[[ACC]], %[[BLK]] : tensor<16x8xf32>, tensor<16x8xf32>)
        CHECK: scf.yield %[[SUM]] : tensor<16x8xf32>
        CHECK: return %[[R]] : tensor<16x8xf32>
    """)


def test_fori_loop_setitem_and_tuple_carry():
    def k(x):
        def body(i, carry):
            rows, total = carry
            rows[i] = x[i].sum(axis=-1)
            return rows, total + x[i]
        return fori_loop(0, 4, body, (np.zeros((4, 8), np.float32), np.zeros((8, 16), np.float32)))

    filecheck(ir_of(k, ((4, 8, 16), "f32")), """
        CHECK: scf.for %[[IV:.*]] = {{.*}} iter_args(%[[ROWS:.*]] = %{{.*}}, %[[TOT:.*]] = %{{.*}}) -> (tensor<4x8xf32>, tensor<8x16xf32>)
        CHECK: tensor.extract_slice %arg0[%[[IV]], 0, 0] [1, 8, 16] [1, 1, 1] : tensor<4x8x16xf32> to tensor<8x16xf32>
        CHECK: %[[NEW:.*]] = tensor.insert_slice %{{.*}} into %[[ROWS]][%[[IV]], 0] [1, 8] [1, 1] : tensor<8xf32> into tensor<4x8xf32>
        CHECK: scf.yield %[[NEW]], %{{.*}} : tensor<4x8xf32>, tensor<8x16xf32>
    """)


def test_fori_loop_without_traced_carry_unrolls_in_python():
    def k(x):
        return fori_loop(0, 3, lambda i, acc: acc + i, 0) + x

    filecheck(ir_of(k, ((4,), "i32")), """
        CHECK-NOT: scf.for
        CHECK: arith.constant 3 : i32
        CHECK: arith.addi
    """)


# -- knobs -----------------------------------------------------------------------------------

def test_knob_ops_and_attributes():
    def k(x, w):
        h = np.exp(x)
        knob.knob(h).tile_op(tile_size=[4, 8]).layout(mem_space="Sbuf", partition_dim=0)
        s = h.sum(axis=1)
        knob.knob(s).tile_op(tile_size=[8, 16])
        y = h @ w
        knob.knob(y).tile_op(tile_size=[4, 4, 8]).layout(mem_space="Psum", tile_size=[4, 4])
        g = h * 2.0
        knob.fuse(h, g)
        return y, s, g

    filecheck(ir_of(k, F32_8x16, ((16, 4), "f32")), """
        CHECK: %[[H:.*]] = linalg.exp
        CHECK-NEXT: "nkipy.tile_op"(%[[H]]) {loop_tile_size = array<i64: 4, 8>} : (tensor<8x16xf32>) -> ()
        CHECK-NEXT: "nkipy.layout"(%[[H]]) {mem_space = 3 : i32, partition_dim = 0 : ui32} : (tensor<8x16xf32>) -> ()
        CHECK: %[[S:.*]] = linalg.generic
        CHECK-SAME: iterator_types = ["parallel", "reduction"]
        CHECK: "nkipy.tile_op"(%[[S]]) {loop_tile_size = array<i64: 8, 16>} : (tensor<8xf32>) -> ()
        CHECK: %[[Y:.*]] = linalg.matmul
        CHECK-NEXT: "nkipy.tile_op"(%[[Y]]) {loop_tile_size = array<i64: 4, 4, 8>}
        CHECK-NEXT: "nkipy.layout"(%[[Y]]) {mem_space = 2 : i32, tile_size = array<i64: 4, 4>}
        CHECK: %[[G:.*]] = linalg.generic
        CHECK: arith.mulf
        CHECK: "nkipy.fuse_op"(%[[H]], %[[G]]) {operandSegmentSizes = array<i32: 2>} : (tensor<8x16xf32>, tensor<8x16xf32>) -> ()
    """)


def test_knob_on_low_precision_matmul_targets_the_f32_contraction():
    def k(a, b):
        c = np.dot(a, b)
        knob.knob(c).tile_op(tile_size=[8, 4, 16])
        return c

    filecheck(ir_of(k, ((8, 16), "bf16"), ((16, 4), "bf16")), """
        CHECK: %[[MM:.*]] = linalg.matmul {{.*}} -> tensor<8x4xf32>
        CHECK: "nkipy.tile_op"(%[[MM]]) {loop_tile_size = array<i64: 8, 4, 16>} : (tensor<8x4xf32>) -> ()
    """)


def test_knob_on_batch_matmul_takes_four_tiles():
    def k(a, b):
        c = a @ b
        knob.knob(c).tile_op(tile_size=[1, 8, 4, 16])
        return c

    filecheck(ir_of(k, ((2, 8, 16), "f32"), ((2, 16, 4), "f32")), """
        CHECK: %[[MM:.*]] = linalg.batch_matmul
        CHECK-NEXT: "nkipy.tile_op"(%[[MM]]) {loop_tile_size = array<i64: 1, 8, 4, 16>}
    """)


def test_knobs_are_no_ops_when_running_numpy():
    def k(x):
        y = np.exp(x)
        knob.knob(y).tile_op(tile_size=[4, 8]).layout(mem_space="Sbuf", partition_dim=0)
        knob.fuse(x, y)
        return y

    x = rand((8, 16))
    np.testing.assert_array_equal(trace(k)(x), np.exp(x))


# -- locations -------------------------------------------------------------------------------

def test_every_op_carries_the_users_line_and_column():
    def k(x, y):
        a = x + y
        b = np.exp(a)
        s = b.sum(axis=1)
        m = x @ y.T
        return s, m

    asm = with_inline_locations(trace(k).to_mlir(specs=[F32_8x16, F32_8x16]))
    assert source_file(k) == __file__
    add = loc_of(k, "x + y", "np.add")
    filecheck(asm, f"""
        CHECK: tensor.empty() : tensor<8x16xf32> {add}
        CHECK-NEXT: linalg.add {{{{.*}}}} {add}
        CHECK-NEXT: tensor.empty() : tensor<8x16xf32> {loc_of(k, "np.exp(a)", "np.exp")}
        CHECK-NEXT: linalg.exp {{{{.*}}}} {loc_of(k, "np.exp(a)", "np.exp")}
        CHECK: arith.addf {{{{.*}}}} {loc_of(k, "b.sum(axis=1)", "np.sum")}
        CHECK: }} -> tensor<8xf32> {loc_of(k, "b.sum(axis=1)", "np.sum")}
        CHECK: linalg.transpose {{{{.*}}}} {loc_of(k, "y.T", "np.transpose")}
        CHECK: linalg.matmul {{{{.*}}}} {loc_of(k, "x @ y.T", "np.matmul")}
    """)


def test_arguments_are_named_and_knobs_indexing_loops_are_located():
    def k(x, w):
        h = x[1:5]
        knob.knob(h).layout(mem_space="Sbuf")
        return fori_loop(0, 2, lambda i, acc: acc + w[i], h)

    asm = with_inline_locations(trace(k).to_mlir(specs=[F32_8x16, ((2, 16), "f32")]))
    file = source_file(k)
    def_line = source_position(k, "def k(x, w):")[0]
    filecheck(asm, f"""
        CHECK: func.func @k(%arg0: tensor<8x16xf32> loc("x"("{file}":{def_line}:1)), %arg1: tensor<2x16xf32> loc("w"("{file}":{def_line}:1)))
        CHECK: tensor.extract_slice {{{{.*}}}} {loc_of(k, "x[1:5]", "x[...]")}
        CHECK: "nkipy.layout"{{{{.*}}}} {loc_of(k, "knob.knob(h).layout", "knob.layout")}
        CHECK: scf.for {{{{.*}}}}
        CHECK: tensor.extract_slice %arg1{{{{.*}}}} {loc_of(k, "w[i]", "x[...]")}
        CHECK: arith.addf {{{{.*}}}} {loc_of(k, "acc + w[i]", "np.add")}
        CHECK: }} {loc_of(k, "fori_loop(0, 2", "fori_loop")}
    """)


# -- the module and the TracedFunction API ---------------------------------------------------

def test_module_reparses_and_verifies():
    def k(x, w, idx):
        h = np.maximum(x @ w, 0.0)
        y = np.zeros((8, 4), np.float32)
        y[:, :2] = h[:, 2:]
        g = np.take(h, idx, axis=0)
        return fori_loop(0, 2, lambda i, acc: acc + g[i], y[0]), np.mean(h, axis=0) > 0.5

    module = trace(k).to_mlir(specs=[F32_8x16, ((16, 4), "f32"), ((2,), "i32")])
    again = reparse(module)
    again.operation.verify()
    assert str(again) == str(module)


def test_calling_a_traced_function_runs_numpy():
    @trace
    def k(x, y):
        return np.exp(x) @ y.T

    x, y = rand((4, 8), seed=1), rand((3, 8), seed=2)
    result = k(x, y)
    assert type(result) is np.ndarray
    np.testing.assert_array_equal(result, np.exp(x) @ y.T)
    assert isinstance(k, TracedFunction) and k.__name__ == "k"


def test_bare_trace_to_mlir_from_arrays_and_from_specs():
    @trace
    def add_exp(x, y):
        return np.exp(x + y)

    from_arrays = add_exp.to_mlir(rand((8, 16)), rand((16,)).astype(BF16))
    from_specs = add_exp.to_mlir(specs=[((8, 16), "f32"), ((16,), "bf16")])
    assert str(from_arrays) == str(from_specs)
    filecheck(str(from_specs), """
        CHECK: func.func @add_exp(%arg0: tensor<8x16xf32>, %arg1: tensor<16xbf16>) -> tensor<8x16xf32>
    """)


def test_trace_with_declared_input_specs():
    @trace(input_specs=[((128, 256), "f32"), ((256,), np.float16), InputSpec((), np.dtype(np.int32))])
    def k(x, b, n):
        return x * b + n

    assert k.input_specs == [InputSpec((128, 256), np.dtype(np.float32)),
                             InputSpec((256,), np.dtype(np.float16)), InputSpec((), np.dtype(np.int32))]
    assert repr(k) == "<traced kernel k(128x256:f32, 256:f16, i32)>"
    filecheck(str(k.to_mlir()), """
        CHECK: func.func @k(%arg0: tensor<128x256xf32>, %arg1: tensor<256xf16>, %arg2: tensor<i32>) -> tensor<128x256xf64>
    """)


def test_trace_with_a_name_and_multiple_outputs():
    @trace(name="two_outputs")
    def k(x):
        return [x + 1.0, x.sum(), x.T]

    module = k.to_mlir(rand((4, 8)))
    filecheck(str(module), """
        CHECK: func.func @two_outputs(%arg0: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<f32>, tensor<8x4xf32>)
        CHECK: return %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<f32>, tensor<8x4xf32>
    """)
    func_op = module.body.operations[0]
    assert len(ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value).results) == 3


def test_returning_an_input_or_a_host_constant():
    def k(x):
        return x, np.arange(3, dtype=np.int32)

    filecheck(ir_of(k, ((4,), "f32")), """
        CHECK: %[[C:.*]] = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
        CHECK: return %arg0, %[[C]] : tensor<4xf32>, tensor<3xi32>
    """)


def test_public_api_surface():
    for name in ["trace", "knob", "fori_loop", "verify_against_numpy", "TraceError", "UnsupportedError",
                 "ShapeError", "ControlFlowError", "KnobError"]:
        assert hasattr(nkipy_kg, name), name
    assert issubclass(nkipy_kg.ShapeError, nkipy_kg.TraceError)
    assert issubclass(nkipy_kg.UnsupportedError, nkipy_kg.TraceError)
    assert issubclass(nkipy_kg.ControlFlowError, nkipy_kg.TraceError)
    assert not issubclass(nkipy_kg.KnobError, nkipy_kg.TraceError)
