"""The suite kernels at production sizes on the simulated NeuronCore.

    python bench/simulate.py [--target trn2] [--repeat 3] [--only NAME ...] [--no-knobs]

Per catalogue kernel (traced from NumPy, compiled by the full pipeline to NISA):
- sim / NumPy: CPU time (`time.process_time`, single-threaded BLAS; steadier than
  wall time on a shared machine) of a run of the decoded kernel with the cost model
  over the NumPy reference's (the kernel run on float32 copies of the inputs), median
  of --repeat (target <= 5x; compile time excluded, and decoding, which the device does
  once per kernel like loading it, is its own column); also the time without the cost
  model;
- modeled time and roofline ratio = max(FLOPs / TensorE peak, HBM bytes / HBM
  bandwidth) / modeled time (target >= 0.6 for matmul-class kernels). FLOPs are the
  matmul FLOPs the simulator executed; HBM bytes are the kernel's inputs plus
  outputs (the minimum traffic); peak and bandwidth are the cost table's
  (neuroncore-model.md §1.1-1.2);
- busiest engine: the engine with the most modeled busy time (DMA: its wire time over
  the 16 DMA engines) and that time over the modeled total: the floor this instruction
  mix puts on the schedule, and how close the schedule comes to it;
- peak SBUF / PSUM: the highest byte address used in a partition.
Kernels that do not compile or run yet are listed with the first error line.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # stable timings on a shared 2-core machine

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

from _lower import first_line, lower_to_nisa  # noqa: E402

from nkipy_kg import dtypes  # noqa: E402
from nkipy_kg.errors import NkipyError  # noqa: E402
from nkipy_kg.kernels import CATALOGUE, KernelCase  # noqa: E402
from nkipy_kg.sim import decode, load_nisa, simulate  # noqa: E402
from nkipy_kg.sim.costs import COST_TABLES  # noqa: E402

# Production sizes (the catalogue's own shapes are test-sized).
SIZES: dict[str, tuple[tuple[int, ...], ...]] = {
    "add": ((2048, 4096), (2048, 4096)),
    "exp": ((2048, 4096),),
    "row_sum": ((2048, 4096),),
    "matmul": ((2048, 2048), (2048, 2048)),
    "softmax": ((2048, 4096),),
    "rmsnorm": ((2048, 4096), (4096,)),
    "softmax_fused": ((2048, 4096),),
    "rmsnorm_fused": ((2048, 4096), (4096,)),
    "rope": ((2048, 32, 128), (2048, 64), (2048, 64)),
    "silu_ffn": ((2048, 2048), (2048, 4096), (2048, 4096), (4096, 2048)),
    "attention": ((8, 2048, 128), (8, 2048, 128), (8, 2048, 128)),
}
MATMUL_CLASS = {"matmul", "silu_ffn", "attention"}


def _median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def _roofline_ns(flops: int, hbm_bytes: int, dtype: np.dtype, target: str) -> float:
    table = COST_TABLES[target]
    peak = 128 * 128 * 2 * table.tensor_ghz  # FLOP/ns, 16-bit inputs (NCM §1.2)
    if dtype == np.float32:
        peak /= table.mm_fp32_factor       # fp32 runs at 1/4 rate (NCM §1.2)
    return max(flops / peak, hbm_bytes / table.hbm_bytes_per_ns)


def _busiest(profile) -> tuple[str, float]:
    """(engine, busy ns) of the busiest engine; DMA's busy time is per engine of the pool."""
    per_lane = {e: b / (profile.dma_engines if e == "DMA" else 1) for e, b in profile.busy_ns.items()}
    engine = max(per_lane, key=per_lane.get)
    return engine, per_lane[engine]


def run_case(name: str, dtype: np.dtype, target: str, repeat: int, knobs: bool = True) -> str:
    case = KernelCase(name, CATALOGUE[name].fn, SIZES[name], CATALOGUE[name].positive)
    inputs = case.inputs(dtype=dtype)
    label = name if knobs else f"{name} (no knobs)"
    try:
        module = load_nisa(lower_to_nisa(case.fn, inputs, target, knobs))
        kernel = decode(module, target)
        result = simulate(kernel, *inputs)
    except NkipyError as exc:
        return f"| {label} | — | — | — | — | — | — | — | — | — | {first_line(exc)[:200]} |"
    decode_s = _median_s(lambda: decode(module, target), repeat)
    sim_s = _median_s(lambda: simulate(kernel, *inputs), repeat)
    plain_s = _median_s(lambda: simulate(kernel, *inputs, cost=False), repeat)
    f32 = [x.astype(np.float32) for x in inputs]
    numpy_s = _median_s(lambda: case.fn(*f32), repeat)
    profile = result.profile
    out_bytes = sum(np.asarray(o).nbytes for o in result.outputs)
    hbm_bytes = sum(x.nbytes for x in inputs) + out_bytes
    bound = _roofline_ns(profile.matmul_flops, hbm_bytes, dtype, target)
    ratio = bound / profile.total_ns
    note = "matmul-class, target >= 0.6" if name in MATMUL_CLASS else ""
    engine, busy = _busiest(profile)
    return (f"| {label} | {result.instructions} | {1e3 * sim_s:.0f} / {1e3 * numpy_s:.1f} = "
            f"{sim_s / numpy_s:.1f}x | {plain_s / numpy_s:.1f}x | {1e3 * decode_s:.1f} | {profile.total_ns / 1e3:.1f} | {bound / 1e3:.1f} | {ratio:.2f} | "
            f"{engine} {busy / 1e3:.0f} ({busy / profile.total_ns:.2f}) | "
            f"{result.sbuf_high_water // 1024} KiB / {result.psum_high_water // 1024} KiB | {note} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", default="trn2", choices=sorted(COST_TABLES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--no-knobs", action="store_true",
                        help="also run each kernel with its knobs stripped (infer-layout's automatic layout)")
    args = parser.parse_args()
    dtype = dtypes.bfloat16 if args.dtype == "bf16" else np.dtype(np.float32)
    print(f"target {args.target}, {args.dtype}; CPU ms (sim with the cost model); modeled and roofline in us")
    print("| kernel | instructions | sim ms / NumPy ms | same, no cost model | decode ms | modeled us | roofline us | "
          "roofline / modeled | busiest engine us (/ modeled) | peak SBUF / PSUM per partition | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name in args.only or SIZES:
        print(run_case(name, dtype, args.target, args.repeat), flush=True)
        if args.no_knobs:
            print(run_case(name, dtype, args.target, args.repeat, knobs=False), flush=True)


if __name__ == "__main__":
    main()
