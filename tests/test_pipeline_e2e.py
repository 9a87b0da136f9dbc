"""The whole pipeline over the kernel suite, with and without knobs.

Structural properties are checked after the key passes, and semantics are checked by
running the IR after every pass up to bufferization through the CPU JIT.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from accuracy import assert_accurate

from nkipy_kg import dtypes, knob, trace
from nkipy_kg._mlir import PassManager, ir, make_context
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.driver import compile as nk_compile
from nkipy_kg.errors import PassError
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.passes import REGISTRY
from nkipy_kg.pipeline import MEMREF_STAGE, PIPELINE
from nkipy_kg.sim.api import simulate
from nkipy_kg.tolerance import for_dtype

KERNELS = sorted(CATALOGUE)
# Known gaps of the pipeline, as strict xfails (they turn red once fixed).
GAPS = {
}


def _module(name: str, knobs: bool) -> str:
    case = CATALOGUE[name]
    module = trace(case.fn).to_mlir(*case.inputs())
    text = module.operation.get_asm(enable_debug_info=True)
    if knobs:
        return text
    with make_context():
        m = ir.Module.parse(text)
        pm = PassManager()
        REGISTRY["strip-nkipy-annotations"].add_to(pm)
        pm.run(m.operation)
        return m.operation.get_asm(enable_debug_info=True)


def test_every_pipeline_stage_is_a_registered_pass():
    missing = sorted({s.name for s in PIPELINE} - set(REGISTRY))
    assert not missing, f"pipeline stages without a registered pass: {missing}"


@pytest.mark.parametrize("knobs", [True, False], ids=["knobs", "auto"])
@pytest.mark.parametrize("name", [
    pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=GAPS[k])) if k in GAPS else k for k in KERNELS
])
def test_full_pipeline(name: str, knobs: bool):
    comp = nk_compile(_module(name, knobs), target="trn2", kernel_name=name, stop_after=MEMREF_STAGE)
    assert [s.name for s in comp.snapshots[1:]] == [s.name for s in PIPELINE[:MEMREF_STAGE]]
    tiled = comp.snapshot("apply-and-strip-transforms").ir
    assert "transform." not in tiled and "scf.for" in tiled
    annotated = comp.snapshot("annotate-memory-space").ir
    for alloc in re.findall(r"memref\.alloc\(\)[^\n]*: (memref<[^\n]*>)", annotated):
        assert re.search(r", [1-5] : i32>$", alloc), f"alloc without a memory space: {alloc}"
    legal = comp.snapshot("legalize-layout").ir
    for shape in re.findall(r"memref<(\d+)x[^\n>]*, 3 : i32>", legal):
        assert int(shape) <= 128, f"SBUF partition dim {shape} > 128"
    assert "nkipy.layout" not in comp.memref_ir and "nkipy.tile_op" not in comp.memref_ir
    case = CATALOGUE[name]
    inputs = case.inputs()
    expected = case.fn(*inputs)
    (actual,) = compile_cpu(comp.memref_ir, name, opt_level=0)(*inputs)
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=2e-5 * max(1, np.abs(expected).max()))


def _hbm_slots(ir_text: str) -> int:
    return len(re.findall(r"memref\.alloc\(\)[^\n]*: memref<[^\n]*, 1 : i32>", ir_text))


def _sbuf(value):
    knob.knob(value).layout(mem_space="Sbuf")
    return value


def long_lived(x, y):
    """`b` stays live in SBUF across three ops that do not use it: a spill candidate.
    Every intermediate is pinned to SBUF (a knob is a use, so infer-layout fuses none)."""
    a = _sbuf(np.exp(x))
    b = _sbuf(np.exp(y))
    c = _sbuf(a * 2.0)
    d = _sbuf(c + 1.0)
    e = _sbuf(d * d)
    return e + b


def test_spill_reload_only_under_pressure():
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal((256, 256)).astype(np.float32) for _ in range(2))
    module = trace(long_lived).to_mlir(x, y)
    roomy = nk_compile(module, stop_after=MEMREF_STAGE)
    assert _hbm_slots(roomy.snapshot("insert-spill-reload").ir) == 0
    # Each 256x256 f32 SBUF buffer takes 2048 B per partition and every tile is computed
    # in its buffer; a, b, c live together need 6144 B, so at 5120 B `b` must go to HBM
    # while c and d are computed.
    tight = nk_compile(module, pass_options={"insert-spill-reload": "sbuf-capacity=5120"}, stop_after=MEMREF_STAGE)
    spilled = tight.snapshot("insert-spill-reload").ir
    assert _hbm_slots(spilled) == 1
    (actual,) = compile_cpu(tight.memref_ir, "long_lived")(x, y)
    np.testing.assert_allclose(actual, long_lived(x, y), rtol=1e-5, atol=1e-4)
    with pytest.raises(PassError, match="capacity"):
        nk_compile(module, pass_options={"insert-spill-reload": "sbuf-capacity=4096"}, stop_after=MEMREF_STAGE)


@pytest.mark.parametrize("name", ["softmax", "rmsnorm", "silu_ffn", "attention", "transformer_layer"])
def test_tensor_stages_preserve_semantics(name: str):
    case = CATALOGUE[name]
    inputs = case.inputs()
    expected = case.fn(*[a.copy() for a in inputs])
    comp = nk_compile(_module(name, True), stop_after="knob-driven-fusion", kernel_name=name)
    for snap in comp.snapshots:
        (actual,) = compile_cpu(snap.ir, name)(*inputs)
        np.testing.assert_allclose(actual, expected, rtol=2e-4, atol=2e-4 * max(1, np.abs(expected).max()),
                                   err_msg=f"after {snap.index} {snap.name}")


def _at_b(at, b):
    return at.T @ b


def _at_b_tiled(at, b):
    c = at.T @ b
    knob.knob(c).tile_op(tile_size=[128, 512, 128])
    return c


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
@pytest.mark.parametrize("kernel", [_at_b, _at_b_tiled], ids=["auto", "tile_op"])
def test_pretransposed_stationary_matmul_moves_no_transpose(kernel, dtype: str):
    """`at.T @ b` (at: [K, M]) is the transposed-A matmul NISA wants: `at` is read as
    the stationary operand as it is, never transposed (not there and back)."""
    k, m, n = 256, 256, 1024  # two tiles of K and M, two PSUM banks of N
    np_dtype = np.dtype(np.float32) if dtype == "f32" else dtypes.bfloat16
    rng = np.random.default_rng(0)
    at, b = (rng.uniform(-1.0, 1.0, size=s).astype(np_dtype) for s in ((k, m), (k, n)))
    comp = nk_compile(trace(kernel).to_mlir(at, b), target="trn2")
    tiled = comp.snapshot("apply-and-strip-transforms").ir
    assert "linalg.transpose" not in tiled
    assert "affine_map<(d0, d1, d2) -> (d2, d0)>" in tiled
    assert "linalg.transpose" not in comp.memref_ir
    nisa = comp.nisa_ir
    assert "nisa.matmul" in nisa and "transpose" not in nisa
    result = simulate(comp.nisa_ir_with_locations, at, b, target="trn2")
    exact = at.astype(np.float64).T @ b.astype(np.float64)
    (got,) = result.outputs
    rtol, atol = for_dtype(got.dtype)
    assert_accurate(got, exact, _at_b(at, b), rtol, atol)


def test_bf16_transformer_layer_sbuf_tiles_use_the_partitions():
    """Every SBUF buffer of the bf16 transformer layer has the partitions on dim 0, all of
    them where the shape allows (a [1, N] broadcast row is the only exception); the
    heads' (0, 2, 1, 3) shuffle runs between HBM buffers, not in a 2-partition SBUF one."""
    case = CATALOGUE["transformer_layer"]
    module = trace(case.fn).to_mlir(*case.inputs(dtype=dtypes.bfloat16))
    comp = nk_compile(module, target="trn2", stop_after=MEMREF_STAGE)
    shapes = [[int(d) for d in s.split("x")[:-1]]
              for s in re.findall(r"memref\.alloc\(\)[^\n]*: memref<([0-9x]+[a-z0-9]+), 3 : i32>", comp.memref_ir)]
    assert shapes
    odd = [s for s in shapes if s[0] != 128 and not (len(s) == 2 and s[0] == 1)]
    assert odd == [], f"SBUF buffers not using the 128 partitions: {odd}"
    assert "permutation = [0, 2, 1, 3]" not in comp.memref_ir  # shuffles became slab copies


FULL_REDUCTIONS = {
    "sum": lambda x: np.sum(x), "max": lambda x: np.max(x), "min": lambda x: np.min(x),
    "mean_plus_one": lambda x: np.mean(x) + 1.0, "any": lambda x: np.any(x > 2.99),
    "sum_1d": lambda x: np.sum(x[0]), "sum_3d": lambda x: np.sum(np.reshape(x, (64, 4, 1024))),
}


@pytest.mark.parametrize("name", [
    *FULL_REDUCTIONS, "all",
])
def test_reduction_to_a_scalar_on_simulator(name: str):
    """Reductions over every axis compile (a row reduction, then a partition reduction of
    the column) and match NumPy; rank-0 results come back as NumPy scalars' shape."""
    fn = FULL_REDUCTIONS.get(name, lambda x: np.all(x > -2.99))
    x = np.random.default_rng(0).uniform(-3.0, 3.0, size=(256, 1024)).astype(np.float32)
    comp = nk_compile(trace(fn).to_mlir(x), target="trn2")
    linalg_ops = re.findall(r"= linalg\.[^\n]*", comp.snapshot("infer-layout").ir)
    assert linalg_ops and not [op for op in linalg_ops if re.search(r"tensor<[a-z]\w*>", op)]  # no rank-0 op
    (got,) = simulate(comp.nisa_ir_with_locations, x, target="trn2").outputs
    want = fn(x.astype(np.float64))
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=2e-5, atol=1e-3)
