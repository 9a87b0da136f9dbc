"""The kernel catalogue: sample kernels used by the demo, the benchmarks and the tests.

Each `KernelCase` pairs a plain NumPy function (written the way kernel authors write
them, knobs included) with an input generator, so every consumer traces, compiles
and checks exactly the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nkipy_kg.kernels import transformer as _t


@dataclass(frozen=True)
class KernelCase:
    name: str
    fn: Callable[..., Any]
    shapes: tuple[tuple[int, ...], ...]
    positive: bool = False  # inputs must be > 0 (log, sqrt of inputs)

    def inputs(self, dtype: Any = np.float32, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        arrays = []
        for shape in self.shapes:
            data = rng.random(shape) + 0.5 if self.positive else rng.standard_normal(shape)
            arrays.append((data * (1.0 if self.positive else 0.5)).astype(dtype))
        return arrays


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


def exp(x: np.ndarray) -> np.ndarray:
    return np.exp(x)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a @ b


def row_sum(x: np.ndarray) -> np.ndarray:
    return np.sum(x, axis=-1, keepdims=True)


CATALOGUE: dict[str, KernelCase] = {
    case.name: case
    for case in [
        KernelCase("add", add, ((256, 256), (256, 256))),
        KernelCase("exp", exp, ((256, 256),)),
        KernelCase("matmul", matmul, ((256, 256), (256, 256))),
        KernelCase("row_sum", row_sum, ((256, 256),)),
        KernelCase("softmax", _t.softmax, ((256, 256),)),
        KernelCase("rmsnorm", _t.rmsnorm, ((256, 256), (256,))),
        KernelCase("softmax_fused", _t.softmax_fused, ((256, 512),)),
        KernelCase("rmsnorm_fused", _t.rmsnorm_fused, ((256, 512), (512,))),
        KernelCase("rope", _t.rope, ((256, 4, 128), (256, 64), (256, 64))),
        KernelCase("silu_ffn", _t.silu_ffn, ((256, 256), (256, 512), (256, 512), (512, 256))),
        KernelCase("attention", _t.attention, ((2, 128, 128), (2, 128, 128), (2, 128, 128))),
        KernelCase("transformer_layer", _t.transformer_layer,
                   ((256, 256), (256,), (256,), (256, 256), (256, 256), (256, 256), (256, 256),
                    (1, 128, 64), (1, 128, 64), (256, 512), (256, 512), (512, 256))),
    ]
}

SINGLE_OP = ("add", "exp", "matmul", "row_sum")


def _reference_suite() -> dict[str, KernelCase]:
    from nkipy_kg.kernels import reference as r

    sq2 = ((256, 256), (256, 256))
    rows = ((128, 256),)
    cases = [
        KernelCase("add3d_chain", r.add3d_chain, ((256, 2, 256),) * 3),
        KernelCase("add3d_hbm_only", r.add3d_hbm_only, ((256, 2, 256),) * 3),
        *(KernelCase(f"softmax_{m}x{n}", r.softmax, ((m, n),)) for m, n in ((128, 128), (128, 256), (256, 256))),
        KernelCase("qkv_projection", r.qkv_projection, ((256, 256), (256, 768))),
        KernelCase("attention_scores_loop", r.attention_scores_loop, ((8, 256, 256), (8, 256, 256))),
        KernelCase("attention_scores_sbuf_bmm", r.attention_scores_sbuf_bmm, ((8, 256, 256), (8, 256, 256))),
        KernelCase("exp_auto", r.exp_auto, rows),
        KernelCase("elementwise_chain_auto", r.elementwise_chain_auto, ((256, 128),)),
        KernelCase("sigmoid_auto", r.sigmoid_auto, ((128, 128),)),
        KernelCase("matmul_auto", r.matmul_auto, ((256, 128), (128, 256))),
        KernelCase("matmul_add_auto", r.matmul_add_auto, ((256, 128), (128, 512), (256, 512))),
        KernelCase("feedforward_sbuf", r.feedforward_sbuf, ((256, 256), (256, 512), (256, 256))),
        KernelCase("feedforward_compact_silu", r.feedforward_compact_silu, ((256, 256), (256, 512), (256, 256))),
        KernelCase("head_deconcat", r.head_deconcat, ((4, 128, 128), (256, 256))),
        KernelCase("custom_silu", r.custom_silu, ((256, 256),)),
        KernelCase("matmul_custom_activation", r.matmul_custom_activation, ((256, 256), (256, 256))),
        *(KernelCase(f"matmul_{mem}_add_hbm_{m}x{n}x{k}", fn, ((m, k), (k, n), (m, n)))
          for mem, fn in (("sbuf", r.matmul_sbuf_add_hbm), ("hbm", r.matmul_hbm_add_hbm))
          for m, n, k in r.MATMUL_ADD_SIZES),
        KernelCase("add_and_sub", r.add_and_sub, sq2),
        KernelCase("add_and_mul", r.add_and_mul, sq2),
        KernelCase("three_outputs", r.three_outputs, sq2),
        KernelCase("exp_partition_dim_1", r.exp_partition_dim_1, ((64, 128),)),
        KernelCase("sigmoid_partition_dim_1", r.sigmoid_partition_dim_1, ((64, 128),)),
        KernelCase("qwen3_layer", r.qwen3_layer,
                   ((256, 256), (256, 1), (256, 1), *((256, 256),) * 4, (1, 128, 64), (1, 128, 64),
                    *((256, 256),) * 3)),
        KernelCase("reduce_square_sum", r.reduce_square_sum, ((256, 256),)),
        KernelCase("reduce_square_mean", r.reduce_square_mean, ((256, 256),)),
        KernelCase("reduce_sum", r.reduce_sum, ((256, 256),)),
        KernelCase("reduce_mean", r.reduce_mean, ((256, 256),)),
        KernelCase("rmsnorm_ref", r.rmsnorm, ((256, 256), (256, 1))),
        KernelCase("rope_ref", r.rope, ((256, 4, 128), (256, 64), (256, 64))),
        KernelCase("rope_3d_multi_partition", r.rope_3d_multi_partition, ((4, 128, 64),) * 2 + ((1, 128, 64),) * 2),
        KernelCase("rope_3d_compound_pdim0", r.rope_3d_compound_pdim0, ((128, 4, 64),) * 2 + ((128, 1, 64),) * 2),
        KernelCase("rope_3d_compound_pdim1", r.rope_3d_compound_pdim1, ((4, 128, 64),) * 2 + ((1, 128, 64),) * 2),
        KernelCase("exp_activation", r.exp_activation, rows),
        KernelCase("tensor_add_scalar", r.tensor_add_scalar, rows),
        KernelCase("sigmoid", r.sigmoid, rows),
        KernelCase("scalar_minus_tensor", r.scalar_minus_tensor, rows),
        KernelCase("division_to_reciprocal", r.division_to_reciprocal, rows),
    ]
    return {case.name: case for case in cases}


# The reference compiler's e2e catalogue (digest section 5.2; #15, kernel_builder, not applicable).
REFERENCE_SUITE: dict[str, KernelCase] = _reference_suite()
