"""CustomOp: hand-written NISA kernels called from traced NumPy (reference #12-#15).

Tracing emits a call to a private `nkipy.custom_op` declaration plus the body text in
`nkipy.custom_op_bodies`; `linalg-to-nisa` inlines the body; the CPU JIT runs the
op's `reference_fn` through a runtime callback; the simulator runs the NISA body.
"""

from __future__ import annotations

import importlib.util
import inspect

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg import CustomOp, knob
from nkipy_kg.errors import ShapeError, TraceError, UnsupportedError
from nkipy_kg.kernels import REFERENCE_SUITE
from nkipy_kg.kernels.custom import silu_nisa, silu_op, silu_reference
from nkipy_kg.sim.api import simulate
from nkipy_kg.tolerance import for_dtype

X = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
W = (np.random.default_rng(1).standard_normal((256, 256)) / 16).astype(np.float32)


def _nisa(fn, *arrays) -> str:
    comp = nkipy_kg.compile(nkipy_kg.trace(fn).to_mlir(*arrays))
    return comp.nisa_ir_with_locations


def test_trace_emits_call_declaration_and_body():  # reference #12
    text = str(nkipy_kg.trace(REFERENCE_SUITE["custom_silu"].fn).to_mlir(X))
    assert "call @__custom_op__silu_256x256_256x256(%arg0) : (tensor<256x256xf32>) -> tensor<256x256xf32>" in text
    assert ("func.func private @__custom_op__silu_256x256_256x256(tensor<256x256xf32> "
            '{bufferization.access = "read"}) -> tensor<256x256xf32> attributes {nkipy.custom_op}') in text
    assert "nkipy.custom_op_bodies = {silu_256x256_256x256 = " in text
    # The printed module re-parses with the body intact (nkipy-kg-opt reads it back).
    assert nkipy_kg.compile(text, stop_after="infer-layout").error is None


def test_called_on_numpy_runs_the_reference():  # reference #14
    op = silu_op(128, 64)
    x = np.linspace(-3, 3, 128 * 64, dtype=np.float32).reshape(128, 64)
    np.testing.assert_array_equal(op(x), silu_reference(x))


def test_matmul_then_custom_silu_inlines_and_simulates():  # reference #13
    fn = REFERENCE_SUITE["matmul_custom_activation"].fn
    text = _nisa(fn, X, W)
    assert "__custom_op__" not in text and "nkipy.custom_op" not in text
    for instr in ('"nisa.matmul"', '"nisa.activation"', '{op = "silu"', '"nisa.dma_copy"'):
        assert instr in text
    result = simulate(text, X, W, target="trn2")
    rtol, atol = for_dtype(np.float32)
    np.testing.assert_allclose(result.outputs[0], fn(X, W), rtol=rtol, atol=atol)


def test_verify_against_numpy_runs_the_reference_through_the_jit():
    def kernel(x):
        return silu_op()(x * 0.5) + 1.0

    report = nkipy_kg.verify_against_numpy(kernel, X)
    assert report.passed and report.outputs[0].max_abs_error < 1e-5


def test_every_memref_stage_runs_the_custom_op_on_the_cpu():
    from nkipy_kg.cpu.jit import compile_cpu
    from nkipy_kg.pipeline import MEMREF_STAGE

    def kernel(x):
        y = silu_op()(np.exp(x * 0.1))
        knob.knob(y * 2.0)
        return y * 2.0

    comp = nkipy_kg.compile(nkipy_kg.trace(kernel).to_mlir(X))
    want = kernel(X)
    for snap in comp.snapshots[:MEMREF_STAGE + 1]:
        (got,) = compile_cpu(snap.ir)(X)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5, err_msg=f"stage {snap.index} {snap.name}")


def test_output_as_argument_style_and_run():
    op = silu_op(style="outputs")
    assert not op.return_style

    def kernel(x):
        return op(x) - x

    result = nkipy_kg.run(kernel, X)
    assert result.timing_kind == "modeled" and result.time_us > 0
    np.testing.assert_allclose(result.outputs, kernel(X), rtol=2e-5, atol=1e-5)


def test_bf16_body():
    from nkipy_kg import dtypes

    op = silu_op(256, 256, "bf16")
    x = X.astype(dtypes.bfloat16)
    result = nkipy_kg.run(lambda a: op(a), x)
    assert result.outputs.dtype == dtypes.bfloat16
    rtol, atol = for_dtype(dtypes.bfloat16)
    np.testing.assert_allclose(result.outputs.astype(np.float32), silu_reference(X), rtol=rtol, atol=atol)


# -- bad input: located errors ---------------------------------------------------------------

def _line_of(fn, needle: str) -> int:
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if needle in line)


def test_wrong_input_shape_is_a_located_shape_error():
    op = silu_op(128, 256)

    def kernel(x):
        return op(x)  # x is 256x256

    with pytest.raises(ShapeError, match=r"input x must be 128x256:f32, got 256x256:f32") as info:
        nkipy_kg.trace(kernel).to_mlir(X)
    assert info.value.loc.file == __file__ and info.value.loc.line == _line_of(kernel, "return op(x)")


def test_untraced_argument_and_arity_errors():
    op = silu_op()

    def constant_input(x):
        return op(np.ones((256, 256), np.float32)) + x

    def two_inputs(x):
        return op(x, x)

    with pytest.raises(TraceError, match="custom op silu_256x256_256x256 takes 1 inputs"):
        nkipy_kg.trace(two_inputs).to_mlir(X)
    # A NumPy-only call runs the reference; mixing it into a trace is fine.
    assert nkipy_kg.verify_against_numpy(constant_input, X).passed


def test_no_reference_fn_cannot_run_on_numpy():
    op = CustomOp(silu_nisa(128, 64, name="k"), "k", ["x"], ["y"], [(128, 64)], [(128, 64)], ["f32"], ["f32"])
    with pytest.raises(UnsupportedError, match="has no reference_fn") as info:
        op(np.zeros((128, 64), np.float32))
    assert info.value.loc.line == inspect.currentframe().f_lineno - 1


@pytest.mark.parametrize("text,name,message", [
    ("module { func.func @k( }", "k", "the NISA text does not parse"),
    (silu_nisa(128, 64, name="other"), "k", r"defines no func.func @k \(it has @other\)"),
    (silu_nisa(128, 32, name="k"), "k", r"has memref<128x32xf32, 4 : i32> where the spec says 128x64:f32"),
])
def test_bad_nisa_text_is_rejected_at_construction(text, name, message):
    with pytest.raises(TraceError, match=message) as info:
        CustomOp(text, name, ["x"], ["y"], [(128, 64)], [(128, 64)], ["f32"], ["f32"])
    assert info.value.loc.file == __file__


def test_kernel_builder_needs_the_nki_toolchain():  # reference #15
    with pytest.raises(UnsupportedError, match="needs the NKI toolchain" if importlib.util.find_spec("nki") is None
                       else "NKI's own MLIR dialect"):
        CustomOp.from_kernel_builder(lambda: None, {}, {})
