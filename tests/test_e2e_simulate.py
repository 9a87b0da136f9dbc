"""End to end on the simulator: every catalogue kernel is traced, compiled by the
pipeline, lowered by `linalg-to-nisa`, simulated and compared with NumPy (per-dtype
tolerance). Kernels that cannot run yet are strict xfails naming the first error;
a kernel the pipeline itself cannot compile yet is a runtime xfail (another stage's
job) with the pipeline's first error line."""

from __future__ import annotations

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg import dtypes
from nkipy_kg.errors import NkipyError, PassError, SimError
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.passes import run_passes
from nkipy_kg.sim.api import simulate
from nkipy_kg.tolerance import for_dtype

_BCAST3 = ("[linalg-to-nisa] transformer.py:59: operand indexing map (d0, d1, d2) -> (d0, d1, 0) is not an "
           "identity, a per-partition [P, 1] broadcast or a [1, F] row broadcast (the SBUF tile is "
           "memref<1x128x128xf32>: partition dim 0 has size 1, legalize-layout left the batch dim first)")
# Kernels that compile but do not run end to end yet: (exception, first error line).
NOT_YET = {
    "silu_ffn": (SimError, "nisa.tensor_copy reads uninitialised Sbuf memory: the PSUM accumulator is "
                           "reloaded from an SBUF result buffer that nothing wrote (zero fill removed upstream)"),
    "attention": (PassError, _BCAST3),
    "transformer_layer": (PassError, _BCAST3),
}
DTYPES = [pytest.param(np.dtype(np.float32), id="f32"), pytest.param(dtypes.bfloat16, id="bf16")]


def _cases():
    for name in CATALOGUE:
        if name in NOT_YET:
            exc, reason = NOT_YET[name]
            yield pytest.param(name, marks=pytest.mark.xfail(raises=exc, strict=True, reason=reason), id=name)
        else:
            yield pytest.param(name, id=name)


def lower(name: str, inputs: list[np.ndarray]) -> str:
    try:
        comp = nkipy_kg.compile(nkipy_kg.trace(CATALOGUE[name].fn).to_mlir(*inputs))
    except NkipyError as exc:
        pytest.xfail(f"pipeline: {str(exc).splitlines()[0]}")
    return run_passes(comp.snapshots[-1].ir_with_locations, "linalg-to-nisa",
                      options={"linalg-to-nisa": "target=trn2"})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(_cases()))
def test_kernel_on_simulator(name: str, dtype: np.dtype) -> None:
    case = CATALOGUE[name]
    inputs = case.inputs(dtype=dtype)
    text = lower(name, inputs)
    assert "linalg." not in text and "memref.alloc" not in text and "memref.copy" not in text
    result = simulate(text, *inputs, target="trn2")
    expected = case.fn(*[x.astype(np.float32) for x in inputs])
    got = result.outputs[0]
    rtol, atol = for_dtype(dtype)
    np.testing.assert_allclose(got.astype(np.float32), np.asarray(expected, np.float32), rtol=rtol, atol=atol)
    assert result.profile is not None and result.profile.total_ns > 0
