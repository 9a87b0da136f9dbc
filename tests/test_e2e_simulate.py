"""End to end on the simulator: every catalogue kernel is traced, compiled by the
pipeline (ending in `linalg-to-nisa`), simulated and compared with NumPy, for fp32
and bf16, at the catalogue shapes, at shapes with several tiles in every tiled
dimension, and with `insert-spill-reload` forced to spill by a small SBUF capacity
(without elementwise fusion, which leaves nothing to spill).

Every kernel and variant must compile through all 26 stages: a failure in any stage
or in the simulator fails the test (no runtime xfails, so a regression in an
earlier stage cannot hide here)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg import dtypes
from nkipy_kg.errors import NkipyError
from nkipy_kg.kernels import CATALOGUE, KernelCase
from nkipy_kg.sim.api import simulate
from nkipy_kg.tolerance import for_dtype

from accuracy import assert_accurate

DTYPES = [pytest.param(np.dtype(np.float32), id="f32"), pytest.param(dtypes.bfloat16, id="bf16")]

# kernel -> [(variant id, input shapes (None: the catalogue's), insert-spill-reload sbuf-capacity)].
# "tiles" shapes need several tiles in every tiled dim (partition tiles are 128 rows;
# matmul/softmax/rmsnorm tile the free dims by 128 too); "spill" capacities are the
# smallest round ones at which insert-spill-reload still compiles and does spill.
VARIANTS: dict[str, list[tuple[str, tuple | None, int | None]]] = {
    "add": [("tiles", ((384, 1024), (384, 1024)), None)],
    "exp": [("tiles", ((384, 1024),), None)],
    "matmul": [("tiles", ((384, 640), (640, 768)), None)],
    "row_sum": [("tiles", ((384, 1024),), None)],
    "softmax": [("tiles", ((384, 512),), None)],
    "rmsnorm": [("tiles", ((384, 512), (512,)), None)],
    "softmax_fused": [("tiles", ((384, 1024),), None)],
    "rmsnorm_fused": [("tiles", ((384, 1024), (1024,)), None)],
    "rope": [("tiles", ((384, 4, 128), (384, 64), (384, 64)), None)],
    "silu_ffn": [("tiles", ((384, 384), (384, 640), (384, 640), (640, 384)), None),
                 ("spill", None, 12288),
                 ("tiles-spill", ((384, 384), (384, 640), (384, 640), (640, 384)), 24576)],
    "attention": [("heads", ((3, 128, 128),) * 3, None), ("tiles", ((2, 256, 128),) * 3, None)],
    # batch 3 x seq 128 rows (the layer fixes seq, heads and head dim)
    "transformer_layer": [("batch3", ((384, 256), (256,), (256,), (256, 256), (256, 256), (256, 256), (256, 256),
                                      (1, 128, 64), (1, 128, 64), (256, 512), (256, 512), (512, 256)), None)],
}


def _cases():
    for name in CATALOGUE:
        yield pytest.param(name, None, None, id=name)
        for variant, shapes, capacity in VARIANTS[name]:
            yield pytest.param(name, shapes, capacity, id=f"{name}-{variant}")


def lower(case: KernelCase, inputs: list[np.ndarray], capacity: int | None) -> str:
    """The NISA IR (with locations) of `case`; any stage's error propagates."""
    # Forced spills need SBUF intermediates to spill: infer-layout's elementwise fusion
    # leaves silu_ffn none (it fits or fails), so those variants compile unfused.
    options = {"insert-spill-reload": f"sbuf-capacity={capacity}",
               "infer-layout": "fuse-elementwise=false"} if capacity else None
    comp = nkipy_kg.compile(nkipy_kg.trace(case.fn).to_mlir(*inputs), raise_on_error=False,
                            pass_options=options)
    if comp.error is not None:
        raise comp.error
    if capacity:
        assert comp.snapshot("insert-spill-reload").changed, "the capacity did not force a spill"
    return comp.nisa_ir_with_locations


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,shapes,capacity", list(_cases()))
def test_kernel_on_simulator(name: str, shapes: tuple | None, capacity: int | None, dtype: np.dtype) -> None:
    case = CATALOGUE[name] if shapes is None else dataclasses.replace(CATALOGUE[name], shapes=shapes)
    inputs = case.inputs(dtype=dtype)
    text = lower(case, inputs, capacity)
    assert "linalg." not in text and "memref.alloc" not in text and "memref.copy" not in text
    result = simulate(text, *inputs, target="trn2")
    # The reference runs in float64 on the same (dtype-rounded) inputs; where rounding
    # accumulates past the elementwise tolerance the kernel must still be about as
    # accurate as NumPy run in the kernel's dtype.
    expected = np.asarray(case.fn(*[x.astype(np.float64) for x in inputs]), np.float64)
    rtol, atol = for_dtype(dtype)
    assert_accurate(result.outputs[0], expected, case.fn(*inputs), rtol,
                    atol * max(1.0, float(np.abs(expected).max())))
    assert result.profile is not None and result.profile.total_ns > 0
