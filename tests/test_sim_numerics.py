"""The simulator's NumPy semantics of each NISA instruction against NumPy itself."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from nkipy_kg.dialects import nisa
from nkipy_kg.dialects.nisa_base import ARITH_OPS, BITVEC_OPS
from nkipy_kg.sim import examples, simulate
from nkipy_kg.sim.examples import mref as T
from nkipy_kg.sim.impls import missing_impls

BF16 = np.dtype(ml_dtypes.bfloat16)
rng = np.random.default_rng(0)


def kernel(args: list[tuple[str, tuple[int, ...], str, int]], body: str) -> str:
    sig = ", ".join(f"%{name}: {T(shape, dt, space)}" for name, shape, dt, space in args)
    return f"""module attributes {{nisa.target = "trn2"}} {{
  func.func @k({sig}) {{
{body}
    return
  }}
}}"""


def load_store(name: str, shape, dt: str, out: str | None = None) -> tuple[str, str]:
    """Lines loading HBM %name into SBUF %s_name (and storing %s_out back to %out)."""
    sb, hb = T(shape, dt, 3), T(shape, dt, 1)
    load = f'    %s_{name} = "nisa.alloc"() : () -> {sb}\n    "nisa.dma_copy"(%s_{name}, %{name}) : ({sb}, {hb}) -> ()\n'
    store = ""
    if out:
        ob = T(shape, dt, 4)
        store = f'    "nisa.dma_copy"(%{out}, %s_{out}) : ({ob}, {sb}) -> ()\n'
    return load, store


def test_every_nisa_op_has_an_impl() -> None:
    assert missing_impls() == []


@pytest.mark.parametrize("dtype,npdt", [("f32", np.float32), ("bf16", BF16)])
def test_tiled_add_equals_numpy(dtype: str, npdt) -> None:
    a = rng.standard_normal((256, 1024)).astype(npdt)
    b = rng.standard_normal((256, 1024)).astype(npdt)
    result = simulate(examples.tiled_binary(256, 1024, dtype=dtype), a, b, np.zeros_like(a))
    # bf16: math in fp32, one rounding on write (NumPy's bf16 add does the same).
    expected = (a.astype(np.float32) + b.astype(np.float32)).astype(npdt)
    np.testing.assert_array_equal(result.args[2], expected)
    assert result.instructions == 2 * 2 * 4  # 2x2 tiles x (2 loads, add, store)


@pytest.mark.parametrize("dtype,npdt", [("f32", np.float32), ("bf16", BF16)])
def test_matmul_with_k_accumulation_equals_numpy(dtype: str, npdt) -> None:
    a = rng.standard_normal((256, 384)).astype(npdt)
    b = rng.standard_normal((384, 1024)).astype(npdt)
    result = simulate(examples.matmul(256, 1024, 384, dtype=dtype), a, b, np.zeros((256, 1024), np.float32))
    expected = a.astype(np.float32) @ b.astype(np.float32)  # fp32 accumulation
    np.testing.assert_allclose(result.args[2], expected, rtol=1e-5, atol=1e-4)


def test_matmul_bf16_output_rounds_once() -> None:
    a = rng.standard_normal((128, 128)).astype(BF16)
    b = rng.standard_normal((128, 512)).astype(BF16)
    result = simulate(examples.matmul(128, 512, 128, dtype="bf16", out_dtype="bf16"), a, b,
                      np.zeros((128, 512), BF16))
    expected = (a.astype(np.float32) @ b.astype(np.float32)).astype(BF16)
    np.testing.assert_allclose(result.args[2].astype(np.float32), expected.astype(np.float32), rtol=1e-2)


@pytest.mark.parametrize("func,ref", [
    ("exp", np.exp), ("tanh", np.tanh), ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("relu", lambda x: np.maximum(x, 0)), ("square", np.square), ("abs", np.abs),
    ("silu", lambda x: x / (1 + np.exp(-x))), ("gelu", None),
])
def test_activation_scale_bias(func: str, ref) -> None:
    x = rng.standard_normal((128, 64)).astype(np.float32)
    bias = rng.standard_normal((128, 1)).astype(np.float32)
    load_x, _ = load_store("x", (128, 64), "f32")
    load_b, _ = load_store("b", (128, 1), "f32")
    sb, col, ob = T((128, 64), "f32", 3), T((128, 1), "f32", 3), T((128, 64), "f32", 4)
    body = load_x + load_b + f"""    %half = arith.constant 0.5 : f32
    %y = "nisa.alloc"() : () -> {sb}
    "nisa.activation"(%y, %s_x, %s_b, %half) {{op = "{func}", operandSegmentSizes = array<i32: 1, 1, 1, 1>}} : ({sb}, {sb}, {col}, f32) -> ()
    "nisa.dma_copy"(%out, %y) : ({ob}, {sb}) -> ()"""
    args = [("x", (128, 64), "f32", 1), ("b", (128, 1), "f32", 1), ("out", (128, 64), "f32", 4)]
    result = simulate(kernel(args, body), x, bias, np.zeros_like(x))
    z = x * 0.5 + bias
    if ref is None:  # exact gelu via erf, computed from math.erf on a few values
        import math
        ref = np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))
    np.testing.assert_allclose(result.args[2], ref(z).astype(np.float32), rtol=1e-5, atol=1e-6)


PI32, HALF_PI32 = float(np.float32(np.pi)), float(np.float32(np.pi / 2))


@pytest.mark.parametrize("func,ref,inside,outside", [
    ("sin", np.sin, [-PI32, -1.0, 0.0, 3.0, PI32], [3.1416, -3.2, 9.0, -1e4, np.inf]),
    ("arctan", np.arctan, [-HALF_PI32, -1.0, 0.0, 1.5, HALF_PI32], [1.5708, -1.6, 2.0, 1e4, -np.inf]),
    ("log", np.log, [2.0 ** -64, 1e-10, 1.0, 1e10, 2.0 ** 64], [0.0, -1.0, 2.0 ** -65, 2.0 ** 65, np.inf]),
])
def test_activation_is_nan_outside_its_valid_range(func: str, ref, inside: list, outside: list) -> None:
    """sin, arctan and log are valid on [-pi, pi], [-pi/2, pi/2] and [2^-64, 2^64] only
    (no range reduction on hardware): exact inside, NaN outside, NaN stays NaN."""
    x = np.array([inside + outside + [np.nan]] * 128, np.float32)
    shape = x.shape
    load_x, _ = load_store("x", shape, "f32")
    sb, ob = T(shape, "f32", 3), T(shape, "f32", 4)
    body = load_x + f"""    %y = "nisa.alloc"() : () -> {sb}
    "nisa.activation"(%y, %s_x) {{op = "{func}", operandSegmentSizes = array<i32: 1, 1, 0, 0>}} : ({sb}, {sb}) -> ()
    "nisa.dma_copy"(%out, %y) : ({ob}, {sb}) -> ()"""
    result = simulate(kernel([("x", shape, "f32", 1), ("out", shape, "f32", 4)], body), x, np.zeros_like(x))
    got = result.args[1]
    n = len(inside)
    np.testing.assert_allclose(got[:, :n], ref(x[:, :n]), rtol=1e-6)
    assert np.isnan(got[:, n:]).all()


def test_activation_range_applies_after_scale_and_bias() -> None:
    """sin(x * 4 + 0): x = 1 is 4 > pi, outside; x = 0.5 is inside."""
    x = np.array([[0.5, 1.0]] * 128, np.float32)
    load_x, _ = load_store("x", (128, 2), "f32")
    sb, ob = T((128, 2), "f32", 3), T((128, 2), "f32", 4)
    body = load_x + f"""    %four = arith.constant 4.0 : f32
    %zero = arith.constant 0.0 : f32
    %y = "nisa.alloc"() : () -> {sb}
    "nisa.activation"(%y, %s_x, %zero, %four) {{op = "sin", operandSegmentSizes = array<i32: 1, 1, 1, 1>}} : ({sb}, {sb}, f32, f32) -> ()
    "nisa.dma_copy"(%out, %y) : ({ob}, {sb}) -> ()"""
    result = simulate(kernel([("x", (128, 2), "f32", 1), ("out", (128, 2), "f32", 4)], body), x, np.zeros_like(x))
    np.testing.assert_allclose(result.args[1][:, 0], np.sin(np.float32(2.0)), rtol=1e-6)
    assert np.isnan(result.args[1][:, 1]).all()


@pytest.mark.parametrize("op,ref", [
    ("add", np.sum), ("max", np.max), ("min", np.min), ("multiply", np.prod),
    ("subtract", lambda x, axis: x[:, 0, 0] - (x.sum(axis=axis) - x[:, 0, 0])),
])
def test_tensor_reduce_trailing_axes(op: str, ref) -> None:
    x = rng.standard_normal((128, 4, 32)).astype(np.float32)
    load_x, _ = load_store("x", (128, 4, 32), "f32")
    sb, col, ob = T((128, 4, 32), "f32", 3), T((128, 1), "f32", 3), T((128, 1), "f32", 4)
    body = load_x + f"""    %r = "nisa.alloc"() : () -> {col}
    "nisa.tensor_reduce_arith"(%r, %s_x) {{op = "{op}", num_r_dim = 2 : i64, negate = true}} : ({col}, {sb}) -> ()
    "nisa.dma_copy"(%out, %r) : ({ob}, {col}) -> ()"""
    result = simulate(kernel([("x", (128, 4, 32), "f32", 1), ("out", (128, 1), "f32", 4)], body), x,
                      np.zeros((128, 1), np.float32))
    np.testing.assert_allclose(result.args[1], -ref(x, axis=(1, 2)).reshape(128, 1), rtol=1e-4, atol=1e-5)


def test_pe_transpose_and_cross_partition_reduce() -> None:
    x = rng.standard_normal((128, 64)).astype(np.float32)
    load_x, _ = load_store("x", (128, 64), "f32")
    sb, ps, sbt = T((128, 64), "f32", 3), T((64, 128), "f32", 2), T((64, 128), "f32", 3)
    row, ot, orow = T((1, 64), "f32", 3), T((64, 128), "f32", 4), T((1, 64), "f32", 4)
    body = load_x + f"""    %t = "nisa.alloc"() : () -> {ps}
    "nisa.transpose"(%t, %s_x) : ({ps}, {sb}) -> ()
    %ts = "nisa.alloc"() : () -> {sbt}
    "nisa.tensor_copy"(%ts, %t) : ({sbt}, {ps}) -> ()
    "nisa.dma_copy"(%outT, %ts) : ({ot}, {sbt}) -> ()
    %r = "nisa.alloc"() : () -> {row}
    "nisa.cross_partition_reduce"(%r, %s_x) {{op = "max"}} : ({row}, {sb}) -> ()
    "nisa.dma_copy"(%outR, %r) : ({orow}, {row}) -> ()"""
    args = [("x", (128, 64), "f32", 1), ("outT", (64, 128), "f32", 4), ("outR", (1, 64), "f32", 4)]
    result = simulate(kernel(args, body), x, np.zeros((64, 128), np.float32), np.zeros((1, 64), np.float32))
    np.testing.assert_array_equal(result.args[1], x.T)
    np.testing.assert_array_equal(result.args[2], x.max(axis=0, keepdims=True))


def test_tensor_scalar_two_ops_reverse_and_vector_operand() -> None:
    x = rng.standard_normal((128, 64)).astype(np.float32)
    v = rng.standard_normal((128, 1)).astype(np.float32)
    load_x, _ = load_store("x", (128, 64), "f32")
    load_v, _ = load_store("v", (128, 1), "f32")
    sb, col, ob = T((128, 64), "f32", 3), T((128, 1), "f32", 3), T((128, 64), "f32", 4)
    body = load_x + load_v + f"""    %five = arith.constant 5.0 : f32
    %y = "nisa.alloc"() : () -> {sb}
    "nisa.tensor_scalar_arith"(%y, %s_x, %five, %s_v) {{op0 = "subtract", reverse0 = true, op1 = "multiply",
        operandSegmentSizes = array<i32: 1, 1, 1, 1>}} : ({sb}, {sb}, f32, {col}) -> ()
    "nisa.dma_copy"(%out, %y) : ({ob}, {sb}) -> ()"""
    args = [("x", (128, 64), "f32", 1), ("v", (128, 1), "f32", 1), ("out", (128, 64), "f32", 4)]
    result = simulate(kernel(args, body), x, v, np.zeros_like(x))
    np.testing.assert_allclose(result.args[2], (5.0 - x) * v, rtol=1e-6)


def test_memset_iota_select_reciprocal_and_gather() -> None:
    table = rng.standard_normal((512, 64)).astype(np.float32)
    sb, i8, col = T((8, 64), "f32", 3), T((8, 1), "i32", 3), T((8, 1), "f32", 3)
    tb, ob = T((512, 64), "f32", 1), T((8, 64), "f32", 4)
    body = f"""    %idx = "nisa.alloc"() : () -> {i8}
    "nisa.iota"(%idx) {{pattern = array<i64: 0, 1>, offset = 3 : i64, channel_multiplier = 7 : i64}} : ({i8}) -> ()
    %rows = "nisa.alloc"() : () -> {sb}
    "nisa.dma_copy_indirect"(%rows, %table, %idx) : ({sb}, {tb}, {i8}) -> ()
    %zero = "nisa.alloc"() : () -> {sb}
    "nisa.memset"(%zero) {{value = 0.0 : f32}} : ({sb}) -> ()
    %pos = "nisa.alloc"() : () -> {sb}
    "nisa.tensor_tensor_arith"(%pos, %rows, %zero) {{op = "is_gt"}} : ({sb}, {sb}, {sb}) -> ()
    %y = "nisa.alloc"() : () -> {sb}
    "nisa.select"(%y, %pos, %rows, %zero) : ({sb}, {sb}, {sb}, {sb}) -> ()
    %inv = "nisa.alloc"() : () -> {sb}
    "nisa.reciprocal"(%inv, %rows) : ({sb}, {sb}) -> ()
    "nisa.tensor_tensor_arith"(%y, %y, %inv) {{op = "multiply"}} : ({sb}, {sb}, {sb}) -> ()
    "nisa.dma_copy"(%out, %y) : ({ob}, {sb}) -> ()"""
    args = [("table", (512, 64), "f32", 1), ("out", (8, 64), "f32", 4)]
    result = simulate(kernel(args, body), table, np.zeros((8, 64), np.float32))
    rows = table[3 + 7 * np.arange(8)]
    np.testing.assert_allclose(result.args[1], np.where(rows > 0, 1.0, 0.0), rtol=1e-6)


def test_views_collapse_expand_and_reinterpret_cast() -> None:
    x = rng.standard_normal((128, 4, 16)).astype(np.float32)
    s3, s2 = T((128, 4, 16), "f32", 3), T((128, 64), "f32", 3)
    h3, o2 = T((128, 4, 16), "f32", 1), T((128, 64), "f32", 4)
    half = "memref<128x32xf32, strided<[64, 1], offset: 32>, 3 : i32>"
    ohalf = "memref<128x32xf32, strided<[64, 1], offset: 32>, 4 : i32>"
    body = f"""    %t = "nisa.alloc"() : () -> {s3}
    "nisa.dma_copy"(%t, %x) : ({s3}, {h3}) -> ()
    %flat = memref.collapse_shape %t [[0], [1, 2]] : {s3} into {s2}
    %back = memref.expand_shape %flat [[0], [1, 2]] output_shape [128, 4, 16] : {s2} into {s3}
    %two = arith.constant 2.0 : f32
    "nisa.tensor_scalar_arith"(%back, %back, %two) {{op0 = "multiply", operandSegmentSizes = array<i32: 1, 1, 1, 0>}} : ({s3}, {s3}, f32) -> ()
    %hi = memref.reinterpret_cast %flat to offset: [32], sizes: [128, 32], strides: [64, 1] : {s2} to {half}
    %ohi = memref.reinterpret_cast %out to offset: [32], sizes: [128, 32], strides: [64, 1] : {o2} to {ohalf}
    "nisa.dma_copy"(%ohi, %hi) : ({ohalf}, {half}) -> ()"""
    args = [("x", (128, 4, 16), "f32", 1), ("out", (128, 64), "f32", 4)]
    result = simulate(kernel(args, body), x, np.zeros((128, 64), np.float32))
    expected = np.zeros((128, 64), np.float32)
    expected[:, 32:] = 2 * x.reshape(128, 64)[:, 32:]
    np.testing.assert_array_equal(result.args[1], expected)


def test_casting_dma_and_bf16_rounding() -> None:
    x = (1.0 + rng.random((128, 64)) * 2.0 ** -8).astype(np.float32)  # not representable in bf16
    sbf, hf, ob = T((128, 64), "bf16", 3), T((128, 64), "f32", 1), T((128, 64), "bf16", 4)
    body = f"""    %t = "nisa.alloc"() : () -> {sbf}
    "nisa.dma_copy"(%t, %x) : ({sbf}, {hf}) -> ()
    "nisa.dma_copy"(%out, %t) : ({ob}, {sbf}) -> ()"""
    args = [("x", (128, 64), "f32", 1), ("out", (128, 64), "bf16", 4)]
    result = simulate(kernel(args, body), x, np.zeros((128, 64), BF16))
    np.testing.assert_array_equal(result.args[1], x.astype(BF16))  # round-to-nearest-even


def test_all_ops_listed_in_dialect_have_engines() -> None:
    for cls in nisa.ALL_OPS:
        assert cls.ENGINE in nisa.ENGINE_NAMES


def test_loop_carried_offsets_and_index_math() -> None:
    """scf.for with iter_args and arith index math computing the tile offset."""
    x = rng.standard_normal((512, 64)).astype(np.float32)
    full, out = T((512, 64), "f32", 1), T((512, 64), "f32", 4)
    tile, otile = ("memref<128x64xf32, strided<[64, 1], offset: ?>, 1 : i32>",
                   "memref<128x64xf32, strided<[64, 1], offset: ?>, 4 : i32>")
    sb = T((128, 64), "f32", 3)
    body = f"""    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c128 = arith.constant 128 : index
    %c384 = arith.constant 384 : index
    %last = scf.for %it = %c0 to %c4 step %c1 iter_args(%prev = %c0) -> (index) {{
      %off = arith.muli %it, %c128 : index
      %rev = arith.subi %c384, %off : index
      %s = memref.subview %x[%off, 0] [128, 64] [1, 1] : {full} to {tile}
      %o = memref.subview %out[%rev, 0] [128, 64] [1, 1] : {out} to {otile}
      %t = "nisa.alloc"() : () -> {sb}
      "nisa.dma_copy"(%t, %s) : ({sb}, {tile}) -> ()
      "nisa.dma_copy"(%o, %t) : ({otile}, {sb}) -> ()
      "nisa.release"(%t) : ({sb}) -> ()
      %next = arith.addi %prev, %c1 : index
      scf.yield %next : index
    }}"""
    args = [("x", (512, 64), "f32", 1), ("out", (512, 64), "f32", 4)]
    result = simulate(kernel(args, body), x, np.zeros_like(x))
    expected = x.reshape(4, 128, 64)[::-1].reshape(512, 64)  # tiles in reverse order
    np.testing.assert_array_equal(result.args[1], expected)


def _binary_kernel(op: str, dt: str) -> str:
    sb, hb, ob = T((128, 32), dt, 3), T((128, 32), dt, 1), T((128, 32), dt, 4)
    body = f"""    %x = "nisa.alloc"() : () -> {sb}
    %y = "nisa.alloc"() : () -> {sb}
    "nisa.dma_copy"(%x, %a) : ({sb}, {hb}) -> ()
    "nisa.dma_copy"(%y, %b) : ({sb}, {hb}) -> ()
    "nisa.tensor_tensor_arith"(%x, %x, %y) {{op = "{op}"}} : ({sb}, {sb}, {sb}) -> ()
    "nisa.dma_copy"(%out, %x) : ({ob}, {sb}) -> ()"""
    return kernel([("a", (128, 32), dt, 1), ("b", (128, 32), dt, 1), ("out", (128, 32), dt, 4)], body)


FLOAT_REFS = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "max": np.maximum, "min": np.minimum, "is_gt": lambda a, b: (a > b) * 1.0,
    "is_le": lambda a, b: (a <= b) * 1.0, "logical_or": lambda a, b: ((a != 0) | (b != 0)) * 1.0,
    "abs_max": lambda a, b: np.maximum(abs(a), abs(b)),
}


@pytest.mark.parametrize("op", sorted(ARITH_OPS))
def test_every_alu_op_runs(op: str) -> None:
    bitvec = op in BITVEC_OPS
    if bitvec:
        a = rng.integers(0, 1 << 20, (128, 32)).astype(np.int32)
        b = rng.integers(0, 8, (128, 32)).astype(np.int32)
        dt = "i32"
    else:
        a = rng.standard_normal((128, 32)).astype(np.float32)
        b = (rng.random((128, 32)) + 0.5).astype(np.float32)
        dt = "f32"
    got = simulate(_binary_kernel(op, dt), a, b, np.zeros_like(a)).args[2]
    assert got.shape == a.shape and got.dtype == a.dtype
    if op in FLOAT_REFS:
        np.testing.assert_allclose(got, FLOAT_REFS[op](a, b).astype(np.float32), rtol=1e-6)
    if op == "right_shift":
        np.testing.assert_array_equal(got, a >> b)


def test_returned_hbm_allocation_is_an_output() -> None:
    x = rng.standard_normal((128, 16)).astype(np.float32)
    sb, hb, ob = T((128, 16), "f32", 3), T((128, 16), "f32", 1), T((128, 16), "f32", 4)
    text = f"""module {{
  func.func @k(%x: {hb}) -> {ob} {{
    %t = "nisa.alloc"() : () -> {sb}
    "nisa.dma_copy"(%t, %x) : ({sb}, {hb}) -> ()
    "nisa.activation"(%t, %t) {{op = "abs", operandSegmentSizes = array<i32: 1, 1, 0, 0>}} : ({sb}, {sb}) -> ()
    %o = "nisa.alloc"() : () -> {ob}
    "nisa.dma_copy"(%o, %t) : ({ob}, {sb}) -> ()
    return %o : {ob}
  }}
}}"""
    (out,) = simulate(text, x).outputs
    np.testing.assert_array_equal(out, np.abs(x))


@pytest.mark.parametrize("reduce_op", ["max", "min", "add"])
@pytest.mark.parametrize("dst_dtype", ["f32", "bf16"])
def test_tensor_scalar_reduce_writes_the_scaled_tile_and_reduces_what_it_wrote(dst_dtype: str, reduce_op: str) -> None:
    """dst = x * 3 (rounded to dst's dtype) and the row reduction of the written values,
    from a PSUM source (the fused attention's score chunks)."""
    x = rng.standard_normal((128, 64)).astype(np.float32)
    load_x, _ = load_store("x", (128, 64), "f32")
    sb, ps, col = T((128, 64), "f32", 3), T((128, 64), "f32", 2), T((128, 1), "f32", 3)
    yt, ob, os_ = T((128, 64), dst_dtype, 3), T((128, 64), dst_dtype, 4), T((128, 1), "f32", 4)
    body = load_x + f"""    %p = "nisa.alloc"() : () -> {ps}
    "nisa.tensor_copy"(%p, %s_x) : ({ps}, {sb}) -> ()
    %three = arith.constant 3.0 : f32
    %y = "nisa.alloc"() : () -> {yt}
    %r = "nisa.alloc"() : () -> {col}
    "nisa.tensor_scalar_reduce"(%y, %p, %three, %r) {{op0 = "multiply", reduce_op = "{reduce_op}"}} : ({yt}, {ps}, f32, {col}) -> ()
    "nisa.dma_copy"(%out, %y) : ({ob}, {yt}) -> ()
    "nisa.dma_copy"(%res, %r) : ({os_}, {col}) -> ()"""
    args = [("x", (128, 64), "f32", 1), ("out", (128, 64), dst_dtype, 4), ("res", (128, 1), "f32", 4)]
    out_dtype = np.float32 if dst_dtype == "f32" else BF16
    result = simulate(kernel(args, body), x, np.zeros((128, 64), out_dtype), np.zeros((128, 1), np.float32))
    y = (x * np.float32(3.0)).astype(out_dtype)
    np.testing.assert_array_equal(result.args[1], y)
    expected = {"max": np.max, "min": np.min, "add": np.sum}[reduce_op](y.astype(np.float32), axis=1, keepdims=True)
    np.testing.assert_allclose(result.args[2], expected, rtol=1e-6)
    if reduce_op != "add":
        np.testing.assert_array_equal(result.args[2], expected)


@pytest.mark.parametrize("dst_dtype", ["f32", "bf16"])
def test_activation_reduce_writes_the_activation_and_its_fp32_row_sums(dst_dtype: str) -> None:
    """exp(x - m) and its row sum in one ScalarE instruction; the sum is of the fp32
    results, before dst's rounding (so with a bf16 dst it is not the sum of dst)."""
    x = rng.standard_normal((128, 64)).astype(np.float32)
    negm = -x.max(axis=1, keepdims=True)
    load_x, _ = load_store("x", (128, 64), "f32")
    load_b, _ = load_store("b", (128, 1), "f32")
    sb, col = T((128, 64), "f32", 3), T((128, 1), "f32", 3)
    yt, ob, os_ = T((128, 64), dst_dtype, 3), T((128, 64), dst_dtype, 4), T((128, 1), "f32", 4)
    body = load_x + load_b + f"""    %y = "nisa.alloc"() : () -> {yt}
    %s = "nisa.alloc"() : () -> {col}
    "nisa.activation_reduce"(%y, %s_x, %s, %s_b) {{op = "exp", operandSegmentSizes = array<i32: 1, 1, 1, 1, 0>}} : ({yt}, {sb}, {col}, {col}) -> ()
    "nisa.dma_copy"(%out, %y) : ({ob}, {yt}) -> ()
    "nisa.dma_copy"(%sum, %s) : ({os_}, {col}) -> ()"""
    args = [("x", (128, 64), "f32", 1), ("b", (128, 1), "f32", 1), ("out", (128, 64), dst_dtype, 4),
            ("sum", (128, 1), "f32", 4)]
    out_dtype = np.float32 if dst_dtype == "f32" else BF16
    result = simulate(kernel(args, body), x, negm, np.zeros((128, 64), out_dtype), np.zeros((128, 1), np.float32))
    e = np.exp(x + negm, dtype=np.float32)
    np.testing.assert_array_equal(result.args[2], e.astype(out_dtype))
    np.testing.assert_allclose(result.args[3], e.sum(axis=1, keepdims=True), rtol=1e-6)
    if dst_dtype == "bf16":
        rounded = result.args[2].astype(np.float32).sum(axis=1, keepdims=True)
        assert np.any(rounded != result.args[3])
