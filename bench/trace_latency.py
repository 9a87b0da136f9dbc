"""Trace + print latency of the kernel catalogue (issue: foundation).

    python bench/trace_latency.py [--repeat N] [--json out.json]

For each kernel: median wall time of `trace(fn).to_mlir(*inputs)` followed by
`str(module)`, over N runs, and the number of ops in the printed IR. Also a
transformer layer (>= 60 ops). Targets: <= 50 ms per single-op kernel,
<= 300 ms for the layer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from nkipy_kg import trace
from nkipy_kg._mlir import ir
from nkipy_kg.kernels import CATALOGUE, SINGLE_OP

TARGET_MS = {"single-op": 50.0, "layer": 300.0}


def count_ops(module: ir.Module) -> int:
    count = 0

    def visit(op: ir.Operation) -> ir.WalkResult:
        nonlocal count
        count += 1
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return count - 1  # the module itself


def measure(name: str, repeat: int) -> dict[str, float | int | str]:
    case = CATALOGUE[name]
    inputs = case.inputs()
    times, ops = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        module = trace(case.fn).to_mlir(*inputs)
        str(module)
        times.append((time.perf_counter() - start) * 1000)
        ops = count_ops(module)
    kind = "single-op" if name in SINGLE_OP else ("layer" if name == "transformer_layer" else "kernel")
    return {"kernel": name, "kind": kind, "ops": ops, "median_ms": statistics.median(times),
            "min_ms": min(times), "target_ms": TARGET_MS.get(kind, "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = [measure(name, args.repeat) for name in CATALOGUE]
    print("| kernel | ops | median ms | min ms | target ms |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['kernel']} | {r['ops']} | {r['median_ms']:.1f} | {r['min_ms']:.1f} | {r['target_ms']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
