"""Simulator speed: wall time of simulating tiled NISA kernels vs NumPy.

    python bench/simulate_speed.py [--repeat N]

Kernels from `nkipy_kg.sim.examples`: a 2048x2048 f32 tiled add ([128, 512]
tiles, 256 instructions), the same add on 1024x1024 with tiny [128, 16] tiles
(2048 instructions: measures the per-instruction overhead) and a
512x1024x1024 bf16 matmul. Reports median wall
time with and without the cost model, the time per executed instruction and the
NumPy time of the same math.
"""

from __future__ import annotations

import os

# Small per-tile matmuls are slower with a threaded BLAS on a busy machine; one
# thread keeps the timings stable (set before NumPy loads its BLAS).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402

from nkipy_kg.sim import decode, examples, load_nisa, simulate  # noqa: E402

BF16 = np.dtype(ml_dtypes.bfloat16)


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append((time.process_time() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    rng = np.random.default_rng(0)
    a = rng.random((2048, 2048), dtype=np.float32)
    b = rng.random((2048, 2048), dtype=np.float32)
    ma, mb = rng.random((512, 1024)).astype(BF16), rng.random((1024, 1024)).astype(BF16)
    cases = [
        ("tiled add 2048x2048 f32", load_nisa(examples.tiled_binary(2048, 2048)), (a, b, np.zeros_like(a)),
         lambda: a + b),
        ("tiled add 1024x1024 f32, [128, 16] tiles (overhead)",
         load_nisa(examples.tiled_binary(1024, 1024, tile_f=16)), (a[:1024, :1024].copy(), b[:1024, :1024].copy(),
                                                                   np.zeros((1024, 1024), np.float32)),
         lambda: a[:1024, :1024] + b[:1024, :1024]),
        ("matmul 512x1024x1024 bf16", load_nisa(examples.matmul(512, 1024, 1024, dtype="bf16")),
         (ma, mb, np.zeros((512, 1024), np.float32)), lambda: ma.astype(np.float32) @ mb.astype(np.float32)),
    ]
    print("| kernel | instructions | sim ms (no cost) | sim ms (with cost) | us / instr | NumPy ms | modeled us |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, module, args, ref in cases:
        kernel = decode(module)  # once, as the device does
        result = simulate(kernel, *args)
        plain = _median_ms(lambda: simulate(kernel, *args, cost=False), repeat)
        costed = _median_ms(lambda: simulate(kernel, *args), repeat)
        numpy_ms = _median_ms(ref, repeat)
        per = 1e3 * costed / result.instructions
        print(f"| {name} | {result.instructions} | {plain:.1f} | {costed:.1f} | {per:.0f} | {numpy_ms:.2f} | "
              f"{result.profile.total_ns / 1e3:.1f} |")


if __name__ == "__main__":
    main()
