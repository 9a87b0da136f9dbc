"""Sanity of the modeled cost (a listener on the simulator) and its calibration."""

from __future__ import annotations

import dataclasses
import json

import ml_dtypes
import numpy as np
import pytest

from nkipy_kg.dialects import nisa
from nkipy_kg.sim import cost_calibration, examples, load_nisa, simulate
from nkipy_kg.sim.cost_formulas import FORMULAS
from nkipy_kg.sim.cost_pool import BandwidthPool
from nkipy_kg.sim.costs import COST_TABLES

BF16 = np.dtype(ml_dtypes.bfloat16)
TRN2 = COST_TABLES["trn2"]
PUBLISHED_32KIB_DMA_NS = 1416.0  # neuroncore-model.md §4 anchor A4 (nki-dma-overview.rst Example 1)


def _zeros(*shapes, dtype=np.float32):
    return [np.zeros(s, dtype) for s in shapes]


def test_every_instruction_has_a_cost_formula() -> None:
    costed = set(FORMULAS) | {nisa.AllocOp, nisa.ReleaseOp}  # alloc/release are compile-time
    assert [c.OPERATION_NAME for c in nisa.ALL_OPS if c not in costed] == []


def test_dma_calibration_within_25_percent_of_published() -> None:
    """[4, 4096] bf16 = 32 KiB HBM -> SBUF on one DMA engine: 1416 ns on trn2 (A4)."""
    result = simulate(examples.single_dma(4, 4096, "bf16"), np.ones((4, 4096), BF16), target="trn2")
    (event,) = result.profile.events
    modeled = event.end_ns - event.start_ns
    assert abs(modeled - PUBLISHED_32KIB_DMA_NS) / PUBLISHED_32KIB_DMA_NS <= 0.25, modeled
    assert result.profile.label == "modeled"


def _matmul_ns(m: int, n: int, k: int, rates=dataclasses.replace(TRN2, tensor_warmup_ns=0.0)) -> tuple[float, int]:
    a, b = np.ones((m, k), BF16), np.ones((k, n), BF16)
    profile = simulate(examples.matmul(m, n, k, dtype="bf16"), a, b, *_zeros((m, n)), rates=rates).profile
    tensor_ns = profile.busy_ns["Tensor"]
    return tensor_ns, profile.matmul_flops


def test_matmul_time_scales_with_flops_over_pe_throughput() -> None:
    small_ns, small_flops = _matmul_ns(128, 512, 128)
    big_ns, big_flops = _matmul_ns(256, 1024, 512)
    assert big_flops == 16 * small_flops
    assert big_ns == pytest.approx(16 * small_ns, rel=1e-6)
    # bf16 peak: 128 x 128 PEs x 2 FLOP x 2.4 GHz (neuroncore-model.md §1.2) -> 78.6 TFLOP/s.
    peak_flops_per_ns = 128 * 128 * 2 * TRN2.tensor_ghz
    assert big_ns == pytest.approx(big_flops / peak_flops_per_ns, rel=0.01)


def test_tensor_engine_warms_up_at_half_rate_after_idle() -> None:
    """Trn2 TensorE runs at ~50% for ~3 us after an idle gap (neuroncore-model.md §3.2)."""
    cold_ns, _ = _matmul_ns(128, 512, 128, rates=TRN2)
    warm_ns, _ = _matmul_ns(128, 512, 128)
    assert cold_ns == pytest.approx(2 * warm_ns)  # one short matmul: entirely in the warm-up window
    big_cold, _ = _matmul_ns(512, 2048, 1024, rates=TRN2)
    big_warm, _ = _matmul_ns(512, 2048, 1024)
    assert big_warm < big_cold < 1.5 * big_warm


def test_elementwise_time_is_at_least_hbm_bytes_over_bandwidth() -> None:
    a = np.ones((1024, 1024), np.float32)
    profile = simulate(examples.tiled_binary(1024, 1024), a, a, np.zeros_like(a)).profile
    hbm_bytes = 3 * a.nbytes
    assert profile.hbm_bytes == hbm_bytes
    assert profile.total_ns >= hbm_bytes / TRN2.hbm_bytes_per_ns


def test_dma_overlaps_compute_and_beats_serial_execution() -> None:
    a = np.ones((1024, 1024), np.float32)
    profile = simulate(examples.tiled_binary(1024, 1024), a, a, np.zeros_like(a)).profile
    serial = sum(e.end_ns - e.start_ns for e in profile.events)
    assert profile.total_ns < 0.8 * serial
    vector = [e for e in profile.events if e.engine == "Vector"]
    dma = [e for e in profile.events if e.engine == "DMA"]
    assert any(d.start_ns < v.end_ns and v.start_ns < d.end_ns for v in vector for d in dma)


def test_dependencies_order_producers_before_consumers() -> None:
    a = np.ones((256, 512), np.float32)
    profile = simulate(examples.tiled_binary(256, 512), a, a, np.zeros_like(a)).profile
    ev = profile.events
    for i in range(0, len(ev), 4):  # per tile: load, load, add, store
        load_a, load_b, add, store = ev[i: i + 4]
        assert add.start_ns >= max(load_a.end_ns, load_b.end_ns)
        assert store.start_ns >= add.end_ns


@pytest.mark.parametrize("kernel", ["add", "matmul"])
def test_utilisation_is_at_most_one(kernel: str) -> None:
    if kernel == "add":
        a = np.ones((512, 2048), np.float32)
        profile = simulate(examples.tiled_binary(512, 2048), a, a, np.zeros_like(a)).profile
    else:
        a, b = np.ones((256, 512), BF16), np.ones((512, 1024), BF16)
        profile = simulate(examples.matmul(256, 1024, 512, dtype="bf16"), a, b, *_zeros((256, 1024))).profile
    util = profile.utilisation()
    assert util and all(0.0 < u <= 1.0 for u in util.values()), util
    assert profile.total_ns >= max(b for e, b in profile.busy_ns.items() if e != "DMA")


def test_perfetto_trace_is_chrome_trace_json(tmp_path) -> None:
    a = np.ones((256, 512), np.float32)
    profile = simulate(examples.tiled_binary(256, 512), a, a, np.zeros_like(a)).profile
    path = profile.to_perfetto(tmp_path / "trace.json")
    data = json.loads(path.read_text())
    slices = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert len(slices) == len(profile.events) == 8
    names = {e["args"]["name"] for e in data["traceEvents"] if e.get("name") == "thread_name"}
    assert "Vector" in names and any(n.startswith("DMA") for n in names)
    assert "modeled" in json.dumps(data)


def test_trn1_is_slower_than_trn2_for_dma() -> None:
    x = np.ones((128, 2048), np.float32)
    text = examples.single_dma(128, 2048, "f32")
    t2 = simulate(text, x, target="trn2").profile.total_ns
    t1 = simulate(text.replace('"trn2"', '"trn1"'), x, target="trn1").profile.total_ns
    assert t1 > t2  # 17 vs 23 B/ns per DMA engine (neuroncore-model.md §3.4)


def test_simulation_without_cost_model() -> None:
    a = np.ones((128, 512), np.float32)
    result = simulate(load_nisa(examples.tiled_binary(128, 512)), a, a, np.zeros_like(a), cost=False)
    assert result.profile is None and result.instructions == 4


def test_timeline_events_point_at_the_source_line() -> None:
    text = examples.single_dma(4, 64, "f32").replace(
        '"nisa.dma_copy"(%t, %a) : (memref<4x64xf32, 3 : i32>, memref<4x64xf32, 1 : i32>) -> ()',
        '"nisa.dma_copy"(%t, %a) : (memref<4x64xf32, 3 : i32>, memref<4x64xf32, 1 : i32>) -> () loc("k.py":9:3)')
    profile = simulate(text, np.ones((4, 64), np.float32)).profile
    (event,) = profile.events
    assert event.loc == "k.py:9:3" and event.lane == "DMA qSync"
    assert "modeled total" in profile.summary()


def _tutorial_args(m: int, n: int, k: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((k, m)).astype(BF16), rng.standard_normal((k, n)).astype(BF16),
            np.zeros((m, n), BF16)]


@pytest.mark.parametrize("kind", ["tiled", "hoist_load", "block_free_dimension", "fully_optimized"])
def test_tutorial_matmul_kernels_compute_the_product(kind: str) -> None:
    """The NISA versions of the NKI tutorial kernels (the A1 calibration) are real matmuls."""
    m, n, k = 512, 1024, 512
    text = {"tiled": lambda: cost_calibration.tiled(m, n, k),
            "hoist_load": lambda: cost_calibration.blocked_free(m, n, k, tiles_m=1, tiles_n=1),
            "block_free_dimension": lambda: cost_calibration.blocked_free(m, n, k),
            "fully_optimized": lambda: cost_calibration.fully_optimized(m, n, k, tiles_m=2, tiles_n=1, tiles_k=2),
            }[kind]()
    lhs_t, rhs, out = _tutorial_args(m, n, k)
    got = simulate(text, lhs_t, rhs, out, target="trn1").args[2].astype(np.float32)
    expected = lhs_t.astype(np.float32).T @ rhs.astype(np.float32)
    # fully_optimized accumulates K blocks in a bf16 SBUF tile, like the tutorial kernel.
    np.testing.assert_allclose(got, expected, rtol=2e-2, atol=0.5)


def test_timing_only_mode_models_the_same_time_without_executing() -> None:
    m, n, k = 512, 1024, 512
    text = cost_calibration.fully_optimized(m, n, k, tiles_m=2, tiles_n=1, tiles_k=2)
    full = simulate(text, *_tutorial_args(m, n, k), target="trn1")
    zeros = [np.zeros_like(a) for a in _tutorial_args(m, n, k)]
    timed = simulate(text, *zeros, target="trn1", execute=False)
    assert timed.profile.total_ns == pytest.approx(full.profile.total_ns)
    assert timed.instructions == full.instructions
    assert not timed.args[2].any()  # nothing was executed


def test_blocked_matmul_keeps_tensor_engine_busy_like_the_published_kernel() -> None:
    """The blocked tutorial kernel (A1: 85.24% of trn1 peak at 4096x8192x8192) is TensorE
    bound in the model too: TensorE busy time is FLOPs / peak, and the total is within
    a pipeline prologue/epilogue of it. The full size is in bench/simulate_calibration.py."""
    m, n, k = 2048, 1024, 4096
    profile = simulate(cost_calibration.fully_optimized(m, n, k), *[np.zeros_like(a) for a in _tutorial_args(m, n, k)],
                       target="trn1", execute=False).profile
    flops = 2 * m * n * k
    peak_flops_per_ns = 128 * 128 * 2 * COST_TABLES["trn1"].tensor_ghz  # 91.75 TFLOP/s (NCM §1.2)
    assert profile.matmul_flops == flops
    assert profile.busy_ns["Tensor"] == pytest.approx(flops / peak_flops_per_ns, rel=1e-6)
    util = flops / peak_flops_per_ns / profile.total_ns
    assert 0.7 <= util <= 1.0, util
    assert profile.utilisation()["Tensor"] == pytest.approx(util, rel=1e-6)


def test_naive_tiled_matmul_is_dma_bound() -> None:
    """The naive tutorial kernel reloads both tiles for every matmul: DMA, not TensorE,
    bounds it (A1: 10.98% of peak published)."""
    m, n, k = 512, 1024, 1024
    profile = simulate(cost_calibration.tiled(m, n, k), *[np.zeros_like(a) for a in _tutorial_args(m, n, k)],
                       target="trn1", execute=False).profile
    util = profile.utilisation()
    assert util["DMA"] > 0.9 and util["Tensor"] < 0.35, util


def _reference_reserve(used: list[float], rate: float, b: float, start: float, nbytes: float,
                       max_rate: float) -> float:
    """The bandwidth pool's definition, one Python step per time bucket."""
    t, left = start, float(nbytes)
    while left > 1e-6:
        i = int(t // b)
        used.extend([0.0] * (i + 1 - len(used)))
        span = (i + 1) * b - t
        r = min(max_rate, rate, (rate * b - used[i]) / span)
        if r <= 1e-9:
            t = (i + 1) * b
            continue
        take = min(r * span, left)
        used[i] += take
        left -= take
        t += take / r
    return t


def test_bandwidth_pool_matches_its_step_by_step_definition() -> None:
    """The vectorised pool (cost_pool.BandwidthPool) finishes every transfer when the per-bucket
    definition does, for overlapping transfers of all sizes and rate limits."""
    rng = np.random.default_rng(1)
    pool, used = BandwidthPool(368.0), []
    for _ in range(300):
        start = float(rng.uniform(0, 20000))
        nbytes = float(rng.choice([64, 4096, 32768, 2 ** 20, 4 * 2 ** 20]))
        max_rate = float(rng.choice([23.0, 184.0, 368.0, 500.0]))
        want = _reference_reserve(used, 368.0, 50.0, max(start, 0.0), nbytes, max_rate)
        got = pool.reserve(start, nbytes, max_rate)
        assert got >= want - 1e-6 and got == pytest.approx(want, rel=1e-6, abs=1e-3)


def test_simulation_leaves_the_callers_arrays_untouched() -> None:
    """Read-only inputs are used in place and the written output argument is copied."""
    a = np.arange(256 * 512, dtype=np.float32).reshape(256, 512)
    b, out = np.ones_like(a), np.zeros_like(a)
    before = a.copy()
    result = simulate(examples.tiled_binary(256, 512), a, b, out, cost=False)
    np.testing.assert_array_equal(result.args[2], a + b)
    assert not out.any() and np.array_equal(a, before) and a.flags.writeable
