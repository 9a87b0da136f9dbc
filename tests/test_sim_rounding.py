"""bf16/fp16 arithmetic rounds like the hardware: every instruction computes in fp32
and rounds its result once, to nearest even, when it writes a bf16/fp16 `dst`;
matmul accumulates in fp32 in PSUM (neuroncore-model.md §1.4).

Each test picks values whose exact bit pattern differs between that rule and the
plausible wrong ones (accumulating in bf16, rounding intermediates, truncating).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from nkipy_kg.sim import simulate
from nkipy_kg.sim.examples import mref as T

BF16 = np.dtype(ml_dtypes.bfloat16)
F16 = np.dtype(np.float16)
NP = {"bf16": BF16, "f16": F16, "f32": np.dtype(np.float32)}
EPS = {"bf16": 2.0 ** -7, "f16": 2.0 ** -10}   # ulp of 1.0
ONE = {"bf16": 0x3F80, "f16": 0x3C00}            # bits of 1.0


def bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).view(np.uint16 if x.dtype.itemsize == 2 else np.uint32)


def kernel(args: list[tuple[str, tuple[int, ...], str]], body: str, out: tuple[str, tuple[int, ...], str]) -> str:
    """HBM inputs `args` loaded into SBUF tiles %s_<name>; `body` writes SBUF %res,
    which is stored to the HBM output."""
    name, shape, dt = out
    sig = ", ".join(f"%{n}: {T(s, d, 1)}" for n, s, d in args) + f", %out: {T(shape, dt, 4)}"
    loads = "".join(f'    %s_{n} = "nisa.alloc"() : () -> {T(s, d, 3)}\n'
                    f'    "nisa.dma_copy"(%s_{n}, %{n}) : ({T(s, d, 3)}, {T(s, d, 1)}) -> ()\n' for n, s, d in args)
    store = f'    "nisa.dma_copy"(%out, %res) : ({T(shape, dt, 4)}, {T(shape, dt, 3)}) -> ()\n'
    return (f'module attributes {{nisa.target = "trn2"}} {{\n  func.func @k({sig}) {{\n{loads}{body}\n{store}'
            f"    return\n  }}\n}}")


def run(text: str, *arrays: np.ndarray, out_shape, out_dtype) -> np.ndarray:
    return simulate(text, *arrays, np.zeros(out_shape, out_dtype), cost=False).args[-1]


@pytest.mark.parametrize("dt", ["bf16", "f16"])
def test_tensor_tensor_add_rounds_half_to_even(dt: str) -> None:
    eps, one = EPS[dt], ONE[dt]
    a = np.array([1.0, 1.0 + eps, 1.0, 1.0], np.float32)
    b = np.array([eps / 2, eps / 2, eps * 3 / 4, eps / 4], np.float32)
    # exact sums: 1 + eps/2 (tie -> even 1.0), 1 + 1.5 eps (tie -> even 1 + 2 eps),
    # 1 + 0.75 eps (-> 1 + eps; truncation would give 1.0), 1 + 0.25 eps (-> 1.0)
    want = np.array([one, one + 2, one + 1, one], np.uint16)
    x, y = np.tile(a, (128, 1)).astype(NP[dt]), np.tile(b, (128, 1)).astype(NP[dt])
    sb = T((128, 4), dt, 3)
    body = (f'    %res = "nisa.alloc"() : () -> {sb}\n'
            f'    "nisa.tensor_tensor_arith"(%res, %s_x, %s_y) {{op = "add"}} : ({sb}, {sb}, {sb}) -> ()')
    got = run(kernel([("x", (128, 4), dt), ("y", (128, 4), dt)], body, ("out", (128, 4), dt)),
              x, y, out_shape=(128, 4), out_dtype=NP[dt])
    assert (bits(got) == want).all(), hex(int(bits(got)[0, 0]))


@pytest.mark.parametrize("dt", ["bf16", "f16"])
def test_tensor_reduce_accumulates_in_fp32_then_rounds_once(dt: str) -> None:
    """1 + 7 * (eps/2): fp32 sum 1 + 3.5 eps rounds (tie, to even) to 1 + 4 eps;
    accumulating in bf16/fp16 would stay at 1.0 (each 1 + eps/2 is a tie back to 1)."""
    eps, one = EPS[dt], ONE[dt]
    row = np.array([1.0] + [eps / 2] * 7, np.float32)
    x = np.tile(row, (128, 1)).astype(NP[dt])
    sb, col = T((128, 8), dt, 3), T((128, 1), dt, 3)
    body = (f'    %res = "nisa.alloc"() : () -> {col}\n'
            f'    "nisa.tensor_reduce_arith"(%res, %s_x) {{op = "add", num_r_dim = 1 : i64}} : ({col}, {sb}) -> ()')
    got = run(kernel([("x", (128, 8), dt)], body, ("out", (128, 1), dt)), x, out_shape=(128, 1), out_dtype=NP[dt])
    assert (bits(got) == one + 4).all()
    sequential = np.array(1.0, NP[dt])
    for v in row[1:].astype(NP[dt]):
        sequential = (sequential.astype(np.float32) + v.astype(np.float32)).astype(NP[dt])
    assert bits(sequential) == one  # the wrong rule really gives a different answer


@pytest.mark.parametrize("dt", ["bf16", "f16"])
def test_matmul_accumulates_in_fp32_psum(dt: str) -> None:
    """ones[K=128]^T @ [1, eps/2, eps/2, ...]: PSUM holds the exact fp32 sum
    1 + 63.5 eps, twice after an accumulating second matmul; the copy to the
    low-precision dtype rounds once (tie -> even: 1 + 64 eps, 2 + 127 eps -> ...)."""
    eps = EPS[dt]
    stationary = np.ones((128, 128), NP[dt])
    moving = np.full((128, 512), eps / 2, np.float32)
    moving[0] = 1.0
    moving = moving.astype(NP[dt])
    st, mv, ps, sb = T((128, 128), dt, 3), T((128, 512), dt, 3), T((128, 512), "f32", 2), T((128, 512), dt, 3)
    body = (f'    %acc = "nisa.alloc"() : () -> {ps}\n'
            f'    "nisa.matmul"(%acc, %s_s, %s_m) : ({ps}, {st}, {mv}) -> ()\n'
            f'    %once = "nisa.alloc"() : () -> {T((128, 512), "f32", 3)}\n'
            f'    "nisa.tensor_copy"(%once, %acc) : ({T((128, 512), "f32", 3)}, {ps}) -> ()\n'
            f'    "nisa.dma_copy"(%f32out, %once) : ({T((128, 512), "f32", 4)}, {T((128, 512), "f32", 3)}) -> ()\n'
            f'    "nisa.matmul"(%acc, %s_s, %s_m) {{accumulate = true}} : ({ps}, {st}, {mv}) -> ()\n'
            f'    %res = "nisa.alloc"() : () -> {sb}\n'
            f'    "nisa.tensor_copy"(%res, %acc) : ({sb}, {ps}) -> ()')
    text = kernel([("s", (128, 128), dt), ("m", (128, 512), dt)], body, ("out", (128, 512), dt))
    text = text.replace("%out:", f"%f32out: {T((128, 512), 'f32', 4)}, %out:")
    result = simulate(text, stationary, moving, np.zeros((128, 512), np.float32), np.zeros((128, 512), NP[dt]),
                      cost=False)
    exact_once = np.float32(1.0 + 127 * eps / 2)
    assert (result.args[2] == exact_once).all()            # fp32 in PSUM, no rounding at all
    twice = 2 * (1.0 + 127 * eps / 2)                        # 2 + 127 eps: ulp is 2 eps at 2
    want = np.float32(2.0 + 128 * eps).astype(NP[dt])       # tie (63.5 ulp) -> even 64 ulp
    assert (bits(result.args[3]) == bits(np.array(want))).all()
    assert np.float32(twice).astype(NP[dt]) == want


def test_activation_rounds_only_its_result() -> None:
    """square(x + bias) with x = 1 (bf16) and bias = 2^-8 (fp32): fp32 math gives
    1 + 2^-7 + 2^-16 -> bf16 1 + 2^-7 (0x3F81); rounding x + bias to bf16 first
    would give square(1.0) = 1.0 (0x3F80)."""
    x = np.ones((128, 4), BF16)
    sb = T((128, 4), "bf16", 3)
    body = (f'    %bias = arith.constant 3.90625e-03 : f32\n'
            f'    %res = "nisa.alloc"() : () -> {sb}\n'
            f'    "nisa.activation"(%res, %s_x, %bias) {{op = "square", '
            f'operandSegmentSizes = array<i32: 1, 1, 1, 0>}} : ({sb}, {sb}, f32) -> ()')
    got = run(kernel([("x", (128, 4), "bf16")], body, ("out", (128, 4), "bf16")), x, out_shape=(128, 4), out_dtype=BF16)
    assert (bits(got) == 0x3F81).all()


def test_tensor_scalar_keeps_the_intermediate_in_fp32() -> None:
    """(x + 2^-8) + 2^-8 with x = 1: exact 1 + 2^-7 (0x3F81); a bf16 intermediate
    would round 1 + 2^-8 back to 1.0 twice (0x3F80)."""
    x = np.ones((128, 4), BF16)
    sb = T((128, 4), "bf16", 3)
    body = (f'    %c = arith.constant 3.90625e-03 : f32\n'
            f'    %res = "nisa.alloc"() : () -> {sb}\n'
            f'    "nisa.tensor_scalar_arith"(%res, %s_x, %c, %c) {{op0 = "add", op1 = "add", '
            f'operandSegmentSizes = array<i32: 1, 1, 1, 1>}} : ({sb}, {sb}, f32, f32) -> ()')
    got = run(kernel([("x", (128, 4), "bf16")], body, ("out", (128, 4), "bf16")), x, out_shape=(128, 4), out_dtype=BF16)
    assert (bits(got) == 0x3F81).all()


def test_casting_copies_round_to_nearest_even_not_truncate() -> None:
    """f32 -> bf16 on tensor_copy: 1 + 2^-8 + 2^-20 is just above the tie, so it
    rounds up to 0x3F81 (truncation gives 0x3F80); 1 + 2^-8 exactly ties to 0x3F80;
    1 + 3 * 2^-8 ties up to the even 0x3F82."""
    vals = np.array([1 + 2 ** -8 + 2 ** -20, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8 + 2 ** -20)], np.float32)
    x = np.tile(vals, (128, 1))
    sf, sb = T((128, 4), "f32", 3), T((128, 4), "bf16", 3)
    body = (f'    %res = "nisa.alloc"() : () -> {sb}\n'
            f'    "nisa.tensor_copy"(%res, %s_x) : ({sb}, {sf}) -> ()')
    got = run(kernel([("x", (128, 4), "f32")], body, ("out", (128, 4), "bf16")), x, out_shape=(128, 4), out_dtype=BF16)
    assert (bits(got) == np.array([0x3F81, 0x3F80, 0x3F82, 0xBF81], np.uint16)).all()


def test_bf16_widening_is_exact_for_every_bit_pattern() -> None:
    """The simulator widens bf16 operands by bit shifting (faster than astype): every
    one of the 65,536 bf16 values, NaNs and subnormals included, gives astype's f32."""
    from nkipy_kg.sim.impls import f32

    bits = np.arange(1 << 16, dtype=np.uint16)
    x = bits.view(np.dtype(ml_dtypes.bfloat16))
    got, want = f32(x).view(np.uint32), x.astype(np.float32).view(np.uint32)
    assert got.dtype == np.uint32 and np.array_equal(got, want)
    strided = x.reshape(256, 256)[:, ::3]  # a strided view widens the same way
    assert np.array_equal(f32(strided).view(np.uint32), strided.astype(np.float32).view(np.uint32))


def test_compiled_bf16_chain_rounds_each_op_like_numpy() -> None:
    """A fused bf16 elementwise chain (rope: `x0 * c - x1 * s`, one generic after
    infer-layout) keeps each intermediate in a bf16 SBUF tile, so every op rounds where
    NumPy's bf16 op rounds: the compiled kernel's bits equal NumPy's, and differ from
    the fp32-intermediate result in some elements (the test can tell them apart)."""
    import nkipy_kg
    from nkipy_kg.kernels.transformer import rope
    rng = np.random.default_rng(11)
    x = rng.standard_normal((256, 4, 64)).astype(BF16)
    cos = rng.standard_normal((256, 32)).astype(BF16)
    sin = rng.standard_normal((256, 32)).astype(BF16)
    comp = nkipy_kg.compile(nkipy_kg.trace(rope).to_mlir(x, cos, sin), target="trn2")
    assert comp.error is None, comp.error
    got = simulate(comp.nisa_ir_with_locations, x, cos, sin, target="trn2").outputs[0]
    want = rope(x, cos, sin)
    assert got.dtype == want.dtype == BF16 and np.array_equal(bits(got), bits(want))
    f32 = [a.astype(np.float32) for a in (x, cos, sin)]
    assert not np.array_equal(bits(got), bits(rope(*f32).astype(BF16)))  # fp32 intermediates differ
