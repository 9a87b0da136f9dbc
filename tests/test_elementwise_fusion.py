"""infer-layout's elementwise fusion (`passes/elementwise_fusion.py`) on traced kernels:
what fuses, what must not, and what it buys on the simulated device."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg import dtypes, knob
from nkipy_kg.kernels import CATALOGUE, KernelCase
from nkipy_kg.sim import load_nisa, simulate

from nkipy_kg.tolerance import for_dtype

from accuracy import assert_accurate


def _check(outputs, fn, arrays) -> None:
    expected = np.asarray(fn(*[x.astype(np.float64) for x in arrays]), np.float64)
    rtol, atol = for_dtype(arrays[0].dtype)
    assert_accurate(outputs[0], expected, fn(*arrays), rtol, atol * max(1.0, float(np.abs(expected).max())))


def _compile(fn, arrays, fuse: bool, stop_after: str | None = None):
    comp = nkipy_kg.compile(nkipy_kg.trace(fn).to_mlir(*arrays), stop_after=stop_after,
                            pass_options={"infer-layout": f"fuse-elementwise={'true' if fuse else 'false'}"})
    assert comp.error is None, comp.error
    return comp


def _generics(text: str) -> list[str]:
    """The body ops (arith/math names) of every linalg.generic in `text`, in order."""
    bodies = re.findall(r"linalg\.generic .*?\{\n(.*?)linalg\.yield", text, re.S)
    return [" ".join(re.findall(r"= ((?:arith|math)\.\w+)", b)) for b in bodies]


def test_softmax_fuses_the_shift_into_exp_and_the_widening_into_the_sum() -> None:
    case = CATALOGUE["softmax"]
    arrays = case.inputs(dtype=dtypes.bfloat16)
    text = _compile(case.fn, arrays, fuse=True, stop_after="infer-layout").snapshots[-1].ir
    bodies = _generics(text)
    assert "arith.subf math.exp" in bodies
    assert "arith.extf arith.addf" in bodies  # the f32 copy of e is gone
    assert "linalg.exp" not in text and not re.search(r"tensor<256x256xf32>", text)


def test_a_knob_keeps_its_value() -> None:
    """The author's layout on `x - m` is a use: the value stays (and keeps its knob)."""
    def shifted_exp(x):
        d = x - np.max(x, axis=-1, keepdims=True)
        knob.knob(d).layout(mem_space="Sbuf")
        return np.exp(d)

    text = _compile(shifted_exp, [np.ones((256, 256), np.float32)], fuse=True, stop_after="infer-layout").snapshots[-1].ir
    assert "linalg.exp" in text and "arith.subf" in text


def _sim(fn, arrays, fuse: bool):
    nisa = _compile(fn, arrays, fuse).nisa_ir_with_locations
    return simulate(load_nisa(nisa), *arrays, target="trn2")


def test_fused_softmax_at_production_size_skips_the_hbm_round_trip() -> None:
    """2048 x 4096 bf16: unfused, the SBUF budget puts `x - m` (16 MiB) and the f32
    copy of e (32 MiB) in HBM; fused, neither exists, so the modeled DMA work and the
    modeled time drop, and the result still matches NumPy."""
    case = KernelCase("softmax", CATALOGUE["softmax"].fn, ((2048, 4096),), CATALOGUE["softmax"].positive)
    arrays = case.inputs(dtype=dtypes.bfloat16)
    fused, unfused = _sim(case.fn, arrays, True), _sim(case.fn, arrays, False)
    assert fused.profile.busy_ns["DMA"] < 0.6 * unfused.profile.busy_ns["DMA"]
    assert fused.profile.total_ns < 0.9 * unfused.profile.total_ns
    _check(fused.outputs, case.fn, arrays)


@pytest.mark.parametrize("name", ["rmsnorm", "silu_ffn", "rope"])
def test_fusion_changes_no_result(name: str) -> None:
    case = CATALOGUE[name]
    arrays = case.inputs(dtype=dtypes.bfloat16)
    fused, unfused = _sim(case.fn, arrays, True), _sim(case.fn, arrays, False)
    assert fused.instructions < unfused.instructions
    _check(fused.outputs, case.fn, arrays)


def _silu_gate(x, u):
    return x / (1.0 + np.exp(-x)) * u


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize("dtype", [np.dtype(np.float32), dtypes.bfloat16], ids=["f32", "bf16"])
@pytest.mark.parametrize(("fn", "activation"), [(_silu_gate, "silu"), (_sigmoid, "sigmoid")])
def test_spelled_out_activations_are_one_instruction(fn, activation: str, dtype) -> None:
    """Fused, `x / (1 + exp(-x))` is one silu and `1 / (1 + exp(-x))` one sigmoid on
    ScalarE (no exp, no VectorE reciprocal), and the results still match NumPy."""
    rng = np.random.default_rng(3)
    arrays = [(rng.standard_normal((256, 512)) * 4).astype(dtype) for _ in range(fn.__code__.co_argcount)]
    nisa = _compile(fn, arrays, fuse=True).nisa_ir
    ops = re.findall(r'"nisa\.activation"\(.*?\{op = "(\w+)"', nisa)
    assert set(ops) == {activation} and '"nisa.reciprocal"' not in nisa
    _check(simulate(load_nisa(nisa), *arrays, target="trn2").outputs, fn, arrays)


def test_rmsnorm_without_knobs_keeps_its_squares_on_chip() -> None:
    """`mean(square(x))` with no knobs at 2048 x 4096 bf16: the square is fused into the
    sum, and linalg-to-nisa splits it back per SBUF tile (a ScalarE square into a bf16
    tile, rounded as NumPy rounds `np.square` of bf16, then its row sum), so the squares
    never make the HBM round trip the unfused kernel gives them (as f32, 32 MiB)."""
    from nkipy_kg.passes import run_passes
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2048, 4096)).astype(dtypes.bfloat16)
    w = rng.standard_normal((4096,)).astype(dtypes.bfloat16)
    text = run_passes(nkipy_kg.trace(CATALOGUE["rmsnorm"].fn).to_mlir(x, w).operation.get_asm(enable_debug_info=True),
                      "strip-nkipy-annotations")
    runs = {}
    for fuse in (True, False):
        comp = nkipy_kg.compile(text, pass_options={"infer-layout": f"fuse-elementwise={'true' if fuse else 'false'}"})
        assert comp.error is None, comp.error
        runs[fuse] = (comp.nisa_ir_with_locations, simulate(load_nisa(comp.nisa_ir_with_locations), x, w, target="trn2"))
    (nisa, fused), (_, unfused) = runs[True], runs[False]
    assert re.search(r'"nisa.activation"\(%\w+, %\w+\) \{op = "square".*memref<128x4096xbf16, 3 : i32>', nisa)
    squares = 4 * x.size  # f32
    assert fused.profile.hbm_bytes <= unfused.profile.hbm_bytes - 2 * squares
    assert fused.profile.hbm_bytes <= 3 * x.nbytes + 16 * w.nbytes  # x twice, the result, w per row block
    assert fused.profile.total_ns < 0.7 * unfused.profile.total_ns
    _check(fused.outputs, CATALOGUE["rmsnorm"].fn, [x, w])
