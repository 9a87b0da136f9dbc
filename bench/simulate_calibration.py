"""Modeled vs published NeuronCore timings (the cost model's calibration anchors).

    python bench/simulate_calibration.py

Anchor A4 of ../shared/research/neuroncore-model.md §4: one HBM -> SBUF DMA of
[4, 4096] bf16 (32 KiB, one DMA engine) takes 1416 ns on trn2
(nki-dma-overview.rst Example 1). Also prints the trn2 matmul peak check
(128x128 PEs x 2 FLOP x 2.4 GHz = 78.6 TFLOP/s bf16, §1.2). Exits 1 if the DMA
anchor is off by more than 25%.
"""

from __future__ import annotations

import dataclasses
import sys

import ml_dtypes
import numpy as np

from nkipy_kg.sim import examples, simulate
from nkipy_kg.sim.costs import COST_TABLES

BF16 = np.dtype(ml_dtypes.bfloat16)


def dma_anchor() -> tuple[float, float]:
    result = simulate(examples.single_dma(4, 4096, "bf16"), np.ones((4, 4096), BF16), target="trn2")
    (event,) = result.profile.events
    return 1416.0, event.end_ns - event.start_ns


def matmul_rate() -> float:
    """TFLOP/s while TensorE is busy, throttling warm-up off (steady state)."""
    m, n, k = 512, 2048, 1024
    a, b = np.ones((m, k), BF16), np.ones((k, n), BF16)
    steady = dataclasses.replace(COST_TABLES["trn2"], tensor_warmup_ns=0.0)
    profile = simulate(examples.matmul(m, n, k, dtype="bf16"), a, b, np.zeros((m, n), np.float32),
                       rates=steady).profile
    return profile.matmul_flops / profile.busy_ns["Tensor"] / 1e3  # TFLOP/s while TensorE is busy


def main() -> int:
    published, modeled = dma_anchor()
    err = (modeled - published) / published
    print("| anchor | published | modeled | error |")
    print("|---|---:|---:|---:|")
    print(f"| A4: 32 KiB HBM->SBUF DMA, [4, 4096] bf16, 1 engine, trn2 | {published:.0f} ns | "
          f"{modeled:.0f} ns | {100 * err:+.1f}% |")
    rate = matmul_rate()
    print(f"| trn2 bf16 matmul rate while TensorE busy, steady state (peak, §1.2) | 78.6 TFLOP/s | "
          f"{rate:.1f} TFLOP/s | {100 * (rate - 78.6) / 78.6:+.1f}% |")
    return 0 if abs(err) <= 0.25 else 1


if __name__ == "__main__":
    sys.exit(main())
