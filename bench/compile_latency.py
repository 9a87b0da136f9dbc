"""Full-pipeline compile latency per kernel, per pass, and its growth with kernel size.

    python bench/compile_latency.py [--repeat N]

For each catalogue kernel: median wall time of `nkipy_kg.compile` (all stages,
snapshots included), the three slowest passes, and for a chain of elementwise +
matmul blocks the time at 1x, 2x, 4x, 8x ops. Targets: median <= 300 ms per suite
kernel, <= 2 s for the transformer layer, near-linear growth.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import numpy as np

from nkipy_kg import knob, trace
from nkipy_kg.driver import compile as nk_compile
from nkipy_kg.errors import NkipyError
from nkipy_kg.kernels import CATALOGUE


def block_chain(n_blocks: int):
    """A kernel of `n_blocks` (matmul + bias + exp + scale) blocks on 256x256 tiles."""

    def kernel(x, w):
        h = x
        for _ in range(n_blocks):
            h = h @ w
            knob.knob(h).tile_op(tile_size=[128, 128, 128]).layout(mem_space="Sbuf")
            h = np.exp(h * 0.01) * 0.5
        return h

    kernel.__name__ = f"chain{n_blocks}"
    return kernel


def timed_compile(text_or_fn, repeat: int, *arrays) -> tuple[float, dict[str, float], str]:
    times, per_pass = [], defaultdict(list)
    error = ""
    for _ in range(repeat):
        module = trace(text_or_fn).to_mlir(*arrays)
        start = time.perf_counter()
        try:
            comp = nk_compile(module)
        except NkipyError as err:
            error = err.message.splitlines()[0][:60]
            comp = err.compilation
        times.append(time.perf_counter() - start)
        for snap in comp.snapshots[1:]:
            per_pass[snap.name].append(snap.seconds)
    return statistics.median(times) * 1000, {k: sum(v) / repeat * 1000 for k, v in per_pass.items()}, error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| kernel | median ms | slowest passes (ms) | status |")
    print("|---|---:|---|---|")
    for name, case in CATALOGUE.items():
        ms, passes, error = timed_compile(case.fn, args.repeat, *case.inputs())
        top = ", ".join(f"{k} {v:.1f}" for k, v in sorted(passes.items(), key=lambda kv: -kv[1])[:3])
        print(f"| {name} | {ms:.0f} | {top} | {'stops: ' + error if error else 'ok'} |")
    print()
    print("| blocks | ops ×| median ms | ms per block |")
    print("|---:|---:|---:|---:|")
    x = np.ones((256, 256), np.float32)
    for n in (1, 2, 4, 8):
        ms, _, error = timed_compile(block_chain(n), args.repeat, x, x)
        print(f"| {n} | {n}x | {ms:.0f} | {ms / n:.0f} |" + (f" stops: {error}" if error else ""))


if __name__ == "__main__":
    main()
