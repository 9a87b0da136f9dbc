"""The CPU JIT (`nkipy_kg.cpu.jit.compile_cpu`) on hand-written tensor-level MLIR."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from nkipy_kg.cpu.abi import KernelArgumentError
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.errors import IRError, PassError

BF16 = np.dtype(ml_dtypes.bfloat16)
RNG = np.random.default_rng(1234)


def unary(op: str, elt: str, shape: str = "4x8") -> str:
    ty = f"tensor<{shape}x{elt}>"
    return f"""
func.func @k(%a: {ty}) -> {ty} {{
  %e = tensor.empty() : {ty}
  %r = {op} ins(%a : {ty}) outs(%e : {ty}) -> {ty}
  return %r : {ty}
}}"""


def binary(op: str, elt: str, shape: str = "4x8") -> str:
    ty = f"tensor<{shape}x{elt}>"
    return f"""
func.func @k(%a: {ty}, %b: {ty}) -> {ty} {{
  %e = tensor.empty() : {ty}
  %r = {op} ins(%a, %b : {ty}, {ty}) outs(%e : {ty}) -> {ty}
  return %r : {ty}
}}"""


def scalar_math(op: str, elt: str) -> str:
    """A generic applying the scalar `math.<op>` elementwise to a 4x8 tensor."""
    ty = f"tensor<4x8x{elt}>"
    return f"""
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @k(%a: {ty}) -> {ty} {{
  %e = tensor.empty() : {ty}
  %r = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}}
      ins(%a : {ty}) outs(%e : {ty}) {{
    ^bb0(%x: {elt}, %o: {elt}):
      %y = {op} %x : {elt}
      linalg.yield %y : {elt}
  }} -> {ty}
  return %r : {ty}
}}"""


FLOATS = {"f16": np.dtype(np.float16), "bf16": BF16, "f32": np.dtype(np.float32), "f64": np.dtype(np.float64)}
# Relative tolerance per type, against a float64 NumPy reference computed from the same inputs.
RTOL = {"f16": 4e-3, "bf16": 3e-2, "f32": 1e-5, "f64": 1e-12}


def positive(dtype: np.dtype, shape: tuple[int, ...] = (4, 8)) -> np.ndarray:
    return (RNG.random(shape) + 0.5).astype(dtype)


def check_close(got: np.ndarray, want: np.ndarray, elt: str) -> None:
    assert got.dtype == FLOATS[elt]
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=RTOL[elt], atol=RTOL[elt])


@pytest.mark.parametrize("elt", FLOATS)
@pytest.mark.parametrize("name, ref", [
    ("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("div", np.divide),
    ("max", np.maximum), ("min", np.minimum), ("powf", np.power),
])
def test_named_binary_float(elt: str, name: str, ref) -> None:
    a, b = positive(FLOATS[elt]), positive(FLOATS[elt])
    (out,) = compile_cpu(binary(f"linalg.{name}", elt))(a, b)
    check_close(out, ref(a.astype(np.float64), b.astype(np.float64)), elt)


@pytest.mark.parametrize("elt", FLOATS)
@pytest.mark.parametrize("name, ref", [
    ("exp", np.exp), ("log", np.log), ("sqrt", np.sqrt), ("rsqrt", lambda x: 1 / np.sqrt(x)),
    ("tanh", np.tanh), ("abs", np.abs), ("reciprocal", lambda x: 1 / x), ("square", np.square),
    ("negf", np.negative), ("floor", np.floor), ("ceil", np.ceil), ("erf", np.vectorize(math.erf)),
])
def test_named_unary_float(elt: str, name: str, ref) -> None:
    a = positive(FLOATS[elt])
    (out,) = compile_cpu(unary(f"linalg.{name}", elt))(a)
    check_close(out, ref(a.astype(np.float64)), elt)


@pytest.mark.parametrize("elt", FLOATS)
@pytest.mark.parametrize("name, ref", [
    ("exp", np.exp), ("log", np.log), ("sqrt", np.sqrt), ("rsqrt", lambda x: 1 / np.sqrt(x)),
    ("tanh", np.tanh), ("sin", np.sin), ("cos", np.cos), ("absf", np.abs),
    ("erf", np.vectorize(math.erf)), ("floor", np.floor), ("ceil", np.ceil),
])
def test_scalar_math_ops(elt: str, name: str, ref) -> None:
    a = positive(FLOATS[elt]) * 2 - 1  # negative values too (log/sqrt excluded below)
    if name in ("log", "sqrt", "rsqrt"):
        a = positive(FLOATS[elt])
    (out,) = compile_cpu(scalar_math(f"math.{name}", elt))(a)
    check_close(out, ref(a.astype(np.float64)), elt)


@pytest.mark.parametrize("elt, dtype", [("i8", np.int8), ("i32", np.int32), ("i64", np.int64)])
def test_integer_add_mul_sub(elt: str, dtype: type) -> None:
    a = RNG.integers(-50, 50, (4, 8)).astype(dtype)
    b = RNG.integers(-50, 50, (4, 8)).astype(dtype)
    for op, ref in [("add", a + b), ("mul", a * b), ("sub", a - b)]:
        (out,) = compile_cpu(binary(f"linalg.{op}", elt))(a, b)
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(out, ref)  # i8 products wrap like NumPy's


def test_bool_logic() -> None:
    text = """
#id = affine_map<(d0) -> (d0)>
func.func @k(%a: tensor<64xi1>, %b: tensor<64xi1>) -> (tensor<64xi1>, tensor<64xi1>) {
  %e = tensor.empty() : tensor<64xi1>
  %x, %n = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel"]}
      ins(%a, %b : tensor<64xi1>, tensor<64xi1>) outs(%e, %e : tensor<64xi1>, tensor<64xi1>) {
    ^bb0(%p: i1, %q: i1, %o1: i1, %o2: i1):
      %true = arith.constant true
      %xor = arith.xori %p, %q : i1
      %and = arith.andi %p, %q : i1
      %nand = arith.xori %and, %true : i1
      linalg.yield %xor, %nand : i1, i1
  } -> (tensor<64xi1>, tensor<64xi1>)
  return %x, %n : tensor<64xi1>, tensor<64xi1>
}"""
    a, b = RNG.random(64) > 0.5, RNG.random(64) > 0.5
    xor, nand = compile_cpu(text)(a, b)
    assert xor.dtype == np.bool_ and nand.dtype == np.bool_
    np.testing.assert_array_equal(xor, a ^ b)
    np.testing.assert_array_equal(nand, ~(a & b))
    # Every byte is 0 or 1, as NumPy requires of bool arrays.
    assert set(np.unique(xor.view(np.uint8))) <= {0, 1}


def test_several_args_and_results_in_order() -> None:
    text = """
func.func @k(%a: tensor<4x8xf32>, %b: tensor<8x6xf32>, %c: tensor<4x8xf32>)
    -> (tensor<4x6xf32>, tensor<8x4xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %e46 = tensor.empty() : tensor<4x6xf32>
  %mm = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x6xf32>) outs(%e46 : tensor<4x6xf32>) -> tensor<4x6xf32>
  %e84 = tensor.empty() : tensor<8x4xf32>
  %tr = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%e84 : tensor<8x4xf32>) permutation = [1, 0]
  %e48 = tensor.empty() : tensor<4x8xf32>
  %s = linalg.sub ins(%a, %c : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e48 : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %mm, %tr, %s, %c : tensor<4x6xf32>, tensor<8x4xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}"""
    a, b, c = positive(np.float32), positive(np.float32, (8, 6)), positive(np.float32)
    outs = compile_cpu(text)(a, b, c)
    assert isinstance(outs, tuple) and [o.shape for o in outs] == [(4, 6), (8, 4), (4, 8), (4, 8)]
    np.testing.assert_allclose(outs[0], a @ b, rtol=1e-5)
    np.testing.assert_array_equal(outs[1], a.T)
    np.testing.assert_array_equal(outs[2], a - c)
    np.testing.assert_array_equal(outs[3], c)  # an argument returned as is is copied out
    assert not np.shares_memory(outs[3], c)


def test_same_value_returned_twice() -> None:
    text = """
func.func @k(%a: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>) {
  %e = tensor.empty() : tensor<16xf32>
  %x = linalg.exp ins(%a : tensor<16xf32>) outs(%e : tensor<16xf32>) -> tensor<16xf32>
  return %x, %x : tensor<16xf32>, tensor<16xf32>
}"""
    a = positive(np.float32, (16,))
    x1, x2 = compile_cpu(text)(a)
    np.testing.assert_allclose(x1, np.exp(a), rtol=1e-6)
    np.testing.assert_array_equal(x1, x2)
    assert not np.shares_memory(x1, x2)


def test_rank0_result_is_a_0d_array() -> None:
    text = """
func.func @k(%a: tensor<4x8xf64>) -> (tensor<f64>, tensor<i64>) {
  %e = tensor.empty() : tensor<f64>
  %r = linalg.reduce ins(%a : tensor<4x8xf64>) outs(%e : tensor<f64>) dimensions = [0, 1]
    (%in: f64, %acc: f64) {
      %s = arith.addf %in, %acc : f64
      linalg.yield %s : f64
    }
  %c = arith.constant dense<42> : tensor<i64>
  return %r, %c : tensor<f64>, tensor<i64>
}"""
    a = positive(np.float64)
    total, const = compile_cpu(text)(a)
    assert total.shape == () and total.dtype == np.float64
    assert const.shape == () and const.dtype == np.int64 and int(const) == 42
    np.testing.assert_allclose(total, a.sum(), rtol=1e-12)


SCF_FOR = """
func.func @k(%a: tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8x4xf32>
  %sq = scf.for %i = %c0 to %c8 step %c2 iter_args(%acc = %e) -> (tensor<8x4xf32>) {
    %s = tensor.extract_slice %a[%i, 0] [2, 4] [1, 1] : tensor<8x4xf32> to tensor<2x4xf32>
    %t = tensor.empty() : tensor<2x4xf32>
    %m = linalg.mul ins(%s, %s : tensor<2x4xf32>, tensor<2x4xf32>) outs(%t : tensor<2x4xf32>) -> tensor<2x4xf32>
    %n = tensor.insert_slice %m into %acc[%i, 0] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<8x4xf32>
    scf.yield %n : tensor<8x4xf32>
  }
  %z = arith.constant dense<0.0> : tensor<4xf32>
  %sum = scf.for %i = %c0 to %c8 step %c1 iter_args(%acc = %z) -> (tensor<4xf32>) {
    %row = tensor.extract_slice %a[%i, 0] [1, 4] [1, 1] : tensor<8x4xf32> to tensor<4xf32>
    %t = tensor.empty() : tensor<4xf32>
    %n = linalg.add ins(%acc, %row : tensor<4xf32>, tensor<4xf32>) outs(%t : tensor<4xf32>) -> tensor<4xf32>
    scf.yield %n : tensor<4xf32>
  }
  return %sq, %sum : tensor<8x4xf32>, tensor<4xf32>
}"""


def test_scf_for_with_tensor_iter_args_and_slices() -> None:
    a = positive(np.float32, (8, 4))
    sq, total = compile_cpu(SCF_FOR)(a)
    np.testing.assert_allclose(sq, a * a, rtol=1e-6)
    np.testing.assert_allclose(total, a.sum(axis=0), rtol=1e-5)


def test_reshapes_broadcast_constants_and_copy() -> None:
    text = """
func.func @k(%a: tensor<4x8xf32>, %v: tensor<8xf32>) -> (tensor<32xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<4x8xf32>, tensor<2x2xf32>) {
  %flat = tensor.collapse_shape %a [[0, 1]] : tensor<4x8xf32> into tensor<32xf32>
  %ex = tensor.expand_shape %flat [[0, 1]] output_shape [2, 16] : tensor<32xf32> into tensor<2x16xf32>
  %shape = arith.constant dense<[2, 16]> : tensor<2xi64>
  %rs = tensor.reshape %flat(%shape) : (tensor<32xf32>, tensor<2xi64>) -> tensor<2x16xf32>
  %e48 = tensor.empty() : tensor<4x8xf32>
  %bc = linalg.broadcast ins(%v : tensor<8xf32>) outs(%e48 : tensor<4x8xf32>) dimensions = [0]
  %cst = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %sl = tensor.extract_slice %a[1, 2] [2, 2] [1, 1] : tensor<4x8xf32> to tensor<2x2xf32>
  %e22 = tensor.empty() : tensor<2x2xf32>
  %sum = linalg.add ins(%cst, %sl : tensor<2x2xf32>, tensor<2x2xf32>) outs(%e22 : tensor<2x2xf32>) -> tensor<2x2xf32>
  %e22b = tensor.empty() : tensor<2x2xf32>
  %cp = linalg.copy ins(%sum : tensor<2x2xf32>) outs(%e22b : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %flat, %ex, %rs, %bc, %cp : tensor<32xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<4x8xf32>, tensor<2x2xf32>
}"""
    a, v = positive(np.float32), positive(np.float32, (8,))
    flat, ex, rs, bc, cp = compile_cpu(text)(a, v)
    np.testing.assert_array_equal(flat, a.ravel())
    np.testing.assert_array_equal(ex, a.reshape(2, 16))
    np.testing.assert_array_equal(rs, a.reshape(2, 16))
    np.testing.assert_array_equal(bc, np.broadcast_to(v, (4, 8)))
    np.testing.assert_allclose(cp, np.array([[1, 2], [3, 4]]) + a[1:3, 2:4], rtol=1e-6)


def test_batch_matmul_bf16() -> None:
    text = """
func.func @k(%a: tensor<2x4x8xbf16>, %b: tensor<2x8x3xbf16>) -> tensor<2x4x3xbf16> {
  %e = tensor.empty() : tensor<2x4x3xbf16>
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x8xbf16>, tensor<2x8x3xbf16>) outs(%e : tensor<2x4x3xbf16>) -> tensor<2x4x3xbf16>
  return %r : tensor<2x4x3xbf16>
}"""
    a, b = positive(BF16, (2, 4, 8)), positive(BF16, (2, 8, 3))
    (out,) = compile_cpu(text)(a, b)
    check_close(out, a.astype(np.float64) @ b.astype(np.float64), "bf16")


def test_gather_clamps_out_of_range_indices() -> None:
    text = """
func.func @k(%table: tensor<16x4xf16>, %idx: tensor<6xi64>) -> tensor<6x4xf16> {
  %e = tensor.empty() : tensor<6x4xf16>
  %g = "nkipy.gather"(%table, %idx, %e) : (tensor<16x4xf16>, tensor<6xi64>, tensor<6x4xf16>) -> tensor<6x4xf16>
  "nkipy.layout"(%g) {mem_space = 3 : i32} : (tensor<6x4xf16>) -> ()
  return %g : tensor<6x4xf16>
}"""
    table = positive(np.float16, (16, 4))
    idx = np.array([0, 15, 3, -4, 99, 7])
    (out,) = compile_cpu(text)(table, idx)
    np.testing.assert_array_equal(out, np.take(table, idx, axis=0, mode="clip"))


REDUCE_INTO_EMPTY = """
func.func @k(%a: tensor<64x64xf32>) -> tensor<64xf32> {
  %e = tensor.empty() : tensor<64xf32>
  %r = linalg.reduce ins(%a : tensor<64x64xf32>) outs(%e : tensor<64xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %e2 = tensor.empty() : tensor<64xf32>
  %x = linalg.exp ins(%r : tensor<64xf32>) outs(%e2 : tensor<64xf32>) -> tensor<64xf32>
  return %x : tensor<64xf32>
}"""


def _dirty_the_heap() -> None:
    """Allocate and free garbage-filled blocks of many sizes so malloc hands them out again."""
    for size in (64, 255, 256, 320, 4096, 16384, 16447):
        blocks = [np.full(size // 4 + 1, np.float32(1e30)) for _ in range(64)]
        del blocks


def test_reduction_into_empty_is_deterministic_on_a_dirty_heap() -> None:
    # exp(sum) overflows to inf if a single garbage 1e30 leaks into the accumulator.
    a = (RNG.random((64, 64), dtype=np.float32) - 0.5) / 64
    kernel = compile_cpu(REDUCE_INTO_EMPTY)
    want = np.exp(a.astype(np.float64).sum(axis=1))
    results = []
    for _ in range(3):
        _dirty_the_heap()
        (out,) = kernel(a)
        results.append(out)
    for out in results:
        np.testing.assert_allclose(out, want, rtol=1e-5)
    np.testing.assert_array_equal(results[0], results[1])


def test_inputs_of_another_dtype_kind_and_layout() -> None:
    # float64 -> f32 is allowed (same kind); a transposed view is made contiguous first.
    a = positive(np.float64, (8, 4)).T
    (out,) = compile_cpu(binary("linalg.add", "f32"))(a, np.ones((4, 8)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, a + 1, rtol=1e-6)


def test_inputs_are_never_written() -> None:
    # Bufferization would write the insert_slice into %a's buffer in place, i.e. into the
    # caller's array, unless the arguments are marked read-only.
    text = """
func.func @k(%a: tensor<4xf32> {test.keep = 1 : i32}, %b: tensor<2xf32>) -> tensor<4xf32> {
  %r = tensor.insert_slice %b into %a[1] [2] [1] : tensor<2xf32> into tensor<4xf32>
  return %r : tensor<4xf32>
}"""
    a, b = np.zeros(4, np.float32), np.ones(2, np.float32)
    (out,) = compile_cpu(text)(a, b)
    np.testing.assert_array_equal(out, [0, 1, 1, 0])
    np.testing.assert_array_equal(a, np.zeros(4))


def test_outputs_are_fresh_per_call_and_kernels_are_cached() -> None:
    text = unary("linalg.exp", "f32")
    kernel = compile_cpu(text)
    assert compile_cpu(text) is kernel
    a = positive(np.float32)
    (first,) = kernel(a)
    (second,) = kernel(a + 1)
    np.testing.assert_allclose(first, np.exp(a), rtol=1e-6)
    np.testing.assert_allclose(second, np.exp(a + 1), rtol=1e-6)


def test_opt_level_0_computes_the_same() -> None:
    a = positive(np.float32)
    (fast,) = compile_cpu(unary("linalg.tanh", "f32"), opt_level=0)(a)
    (opt,) = compile_cpu(unary("linalg.tanh", "f32"))(a)
    np.testing.assert_allclose(fast, opt, rtol=1e-6)
    np.testing.assert_allclose(fast, np.tanh(a), rtol=1e-5)


def test_func_name_selects_among_public_functions() -> None:
    text = unary("linalg.exp", "f32").replace("@k", "@e") + unary("linalg.negf", "f32").replace("@k", "@n")
    a = positive(np.float32)
    (neg,) = compile_cpu(text, "n")(a)
    np.testing.assert_array_equal(neg, -a)
    with pytest.raises(IRError, match=r"2 public functions \(@e, @n\)"):
        compile_cpu(text)
    with pytest.raises(IRError, match="no function @zzz"):
        compile_cpu(text, "zzz")


def test_argument_errors_are_clear() -> None:
    kernel = compile_cpu(binary("linalg.add", "f32"))
    a = positive(np.float32)
    with pytest.raises(KernelArgumentError, match=r"argument #1 of @k has shape \(8, 4\), expected \(4, 8\)"):
        kernel(a, a.T)
    # float -> int would silently truncate: refused.
    with pytest.raises(KernelArgumentError, match=r"argument #0 of @k has dtype float32, expected int32"):
        compile_cpu(binary("linalg.add", "i32"))(a, a)
    with pytest.raises(KernelArgumentError, match="takes 2 arrays, got 1"):
        kernel(a)
    assert issubclass(KernelArgumentError, IRError)


def test_invalid_modules_raise_ir_errors_not_crashes() -> None:
    with pytest.raises(IRError, match=r"<kernel>:3:10: error: use of undeclared SSA value name"):
        compile_cpu("func.func @k(%a: tensor<4xf32>) -> tensor<4xf32> {\n\n  return %b : tensor<4xf32>\n}")
    with pytest.raises(IRError, match="needs static shapes"):
        compile_cpu("func.func @k(%a: tensor<?xf32>) -> tensor<?xf32> { return %a : tensor<?xf32> }")
    with pytest.raises(IRError, match="element type ui32"):
        compile_cpu("func.func @k(%a: tensor<4xui32>) -> tensor<4xui32> { return %a : tensor<4xui32> }")
    with pytest.raises(IRError, match=r"declares external functions \(@ext\)"):
        compile_cpu("""
func.func private @ext(tensor<4xf32>) -> tensor<4xf32>
func.func @k(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = func.call @ext(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}""")


def test_failing_pass_becomes_pass_error_with_diagnostics() -> None:
    # An nkipy.gather with unsigned indices verifies, but cannot be lowered.
    text = """
func.func @k(%t: tensor<4x2xf32>, %i: tensor<3xi32>) -> tensor<3x2xf32> {
  %e = tensor.empty() : tensor<3x2xf32>
  %u = tensor.bitcast %i : tensor<3xi32> to tensor<3xui32>
  %g = "nkipy.gather"(%t, %u, %e) : (tensor<4x2xf32>, tensor<3xui32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %g : tensor<3x2xf32>
}"""
    with pytest.raises(PassError) as info:
        compile_cpu(text)
    assert info.value.pass_name == "lower-nkipy-gather"
    assert "indices must be signless integers, got ui32" in info.value.render()


def test_bf16_arithmetic_is_lowered_to_f32_and_integer_bit_ops() -> None:
    """No LLVM op computes on bf16: only loads, stores and bitcasts touch it.

    Otherwise LLVM legalizes bf16 arithmetic through the compiler-rt call
    `__truncsfbf2`, which links only on hosts with native bf16 conversions
    (AVX512-BF16); this checks the IR, so it fails on every host.
    """
    from nkipy_kg._mlir import ir, make_context
    from nkipy_kg.cpu.lowering import lower_to_llvm

    text = binary("linalg.add", "bf16").replace("linalg.add", "linalg.max")  # cmp + select too
    text += scalar_math("math.exp", "bf16").replace("@k", "@e")
    allowed = {"llvm.load", "llvm.store", "llvm.bitcast", "llvm.getelementptr", "llvm.func",
               "llvm.mlir.constant", "llvm.return"}
    computing_on_bf16: list[str] = []

    def collect(op: ir.Operation) -> ir.WalkResult:
        types = [str(v.type) for v in (*op.operands, *op.results)]
        if "bf16" in types and op.name not in allowed:
            computing_on_bf16.append(str(op))
        return ir.WalkResult.ADVANCE

    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(text.replace("func.func @e", "func.func private @e"))
        lower_to_llvm(module)
        module.operation.walk(collect)
    assert "llvm.bitcast" in str(module)  # the bf16 <-> f32 conversions are there, as bit ops
    assert computing_on_bf16 == []
