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
        KernelCase("rope", _t.rope, ((256, 4, 128), (256, 64), (256, 64))),
        KernelCase("silu_ffn", _t.silu_ffn, ((256, 256), (256, 512), (256, 512), (512, 256))),
        KernelCase("attention", _t.attention, ((2, 128, 128), (2, 128, 128), (2, 128, 128))),
        KernelCase("transformer_layer", _t.transformer_layer,
                   ((256, 256), (256,), (256,), (256, 256), (256, 256), (256, 256), (256, 256),
                    (1, 128, 64), (1, 128, 64), (256, 512), (256, 512), (512, 256))),
    ]
}

SINGLE_OP = ("add", "exp", "matmul", "row_sum")
