"""Per-target rate tables for the cost model (data only; `cost_model.py` uses them).

Every number cites /work/shared/research/neuroncore-model.md ("NCM §x"). NC-v3
(trn2) has no published per-instruction cycle formulas, so the NC-v2 formulas
of NCM §3.1 are applied with trn2 clocks (NCM §6 lists this as unresolved).
Numbers marked "guess" are not documented anywhere and are calibration knobs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CostTable:
    name: str
    # Engine clocks in GHz (cycles per ns).
    tensor_ghz: float
    vector_ghz: float
    scalar_ghz: float
    gpsimd_ghz: float
    # Vector/Scalar/GpSimd fixed cost per instruction: MIN_II ~ 64 cycles (NCM §3.1, §3.7).
    min_ii: int = 64
    # Elements per partition lane per cycle for one-input instructions: "about N cycles"
    # for N elements, all 128 lanes in parallel (NCM §3.3; NC-v2 rule, the NC-v3 fp32
    # rate is unresolved, NCM §3.3 / §6). Two-input instructions cost 2N (NCM §3.3).
    vector_elems_per_cycle: float = 1.0
    scalar_elems_per_cycle: float = 1.0
    gpsimd_elems_per_cycle: float = 1.0  # guess: 16 fp32 lanes per core x 8 cores / 128 partitions (NCM §1.2)
    # Extra cycles when an instruction depends on the previous one on the same
    # engine: "+100 engine cycles static overhead" (NCM §3.3, trainium_inferentia2_arch L403).
    dependent_overhead_cycles: int = 100
    # Matmul: cost max(min(64, M), N) cycles, x4 for fp32 (NCM §3.1 nc_matmul);
    # MM_INIT_LATENCY 64 (NCM §3.2).
    mm_min_cycles: int = 64
    mm_fp32_factor: int = 4
    # TensorE throttling on Trn2/Trn3: ~50% rate for ~3 us after an idle gap of ~3 us
    # (NCM §3.2 "Throttling"); 0 disables it (trn1: not documented).
    tensor_warmup_ns: float = 0.0
    tensor_warmup_rate: float = 0.5
    # GpSimd start-up ~150 cycles (NCM §3.1 iota / affine_select GPSIMD_START).
    gpsimd_start_cycles: int = 150
    # Vector reciprocal is 8 cycles per element (NCM §3.1 reciprocal).
    reciprocal_cycles_per_elem: int = 8
    # NC-v3 VectorE performance mode (NCM §3.3): tensor_copy / tensor_scalar
    # SBUF->SBUF 16-bit contiguous is 4x, 16-bit-only 2x; tensor_tensor 16-bit SBUF 2x.
    vector_perf_mode: bool = False
    # DMA: per-engine bandwidth B/ns and engines per core (NCM §3.4 table:
    # Trn2 23 B/ns x 16, Trn1 17 B/ns x 16); one engine per 8 partitions (NCM §3.4).
    dma_engine_bytes_per_ns: float = 23.0
    dma_engines: int = 16
    dma_partitions_per_engine: int = 8
    # Latency from a cross-engine semaphore to the DMA start: ~1300 ns (NCM §3.4
    # nki-dma-bandwidth-guide); charged when a DMA waits on a compute engine.
    dma_cross_engine_latency_ns: float = 1300.0
    # guess: per-partition descriptor overhead in bytes-equivalent, chosen so that
    # < 256 B/partition is >= 2x slower ("severely overhead-bound") and >= 4 KiB is
    # within ~6% of peak ("saturates") (NCM §3.4 payload table).
    dma_descriptor_overhead_bytes: float = 256.0
    # DMA transpose efficiency: HBM->SBUF up to 90%, SBUF->SBUF up to 50% (NCM §3.4).
    dma_transpose_hbm_eff: float = 0.9
    dma_transpose_sbuf_eff: float = 0.5
    # HBM bandwidth per NeuronCore in B/ns (derived, NCM §1.1: chip / cores).
    hbm_bytes_per_ns: float = 362.5
    # Cross-engine semaphore hop: not documented (NCM §3.7: "0 or ~64 cycles"); 0 here.
    semaphore_ns: float = 0.0

    def elems_per_cycle(self, engine: str) -> float:
        if engine == "Scalar":
            return self.scalar_elems_per_cycle
        return self.gpsimd_elems_per_cycle if engine == "GpSimd" else self.vector_elems_per_cycle

    def ghz(self, engine: str) -> float:
        if engine == "Tensor":
            return self.tensor_ghz
        if engine == "Vector":
            return self.vector_ghz
        return self.gpsimd_ghz if engine == "GpSimd" else self.scalar_ghz


COST_TABLES: dict[str, CostTable] = {
    # trn2 / NC-v3: Tensor 2.4 GHz, Vector 0.96, Scalar 1.2, GpSimd 1.2 (NCM §1.2);
    # DMA 23 B/ns/engine (NCM §3.4); HBM 2.9 TB/s / 8 cores = 362.5 B/ns (NCM §1.1, derived).
    "trn2": CostTable(name="trn2", tensor_ghz=2.4, vector_ghz=0.96, scalar_ghz=1.2, gpsimd_ghz=1.2,
                      vector_perf_mode=True, tensor_warmup_ns=3000.0, dma_engine_bytes_per_ns=23.0, hbm_bytes_per_ns=362.5),
    # trn1 / NC-v2: Tensor 2.8 GHz, Vector 1.12, Scalar 1.4, GpSimd 1.4 (NCM §1.2);
    # DMA 17 B/ns/engine (NCM §3.4); HBM 820 GB/s / 2 cores = 410 B/ns (NCM §1.1, derived).
    "trn1": CostTable(name="trn1", tensor_ghz=2.8, vector_ghz=1.12, scalar_ghz=1.4, gpsimd_ghz=1.4,
                      vector_perf_mode=False, dma_engine_bytes_per_ns=17.0, hbm_bytes_per_ns=410.0),
}


def cost_table(target_name: str) -> CostTable:
    if target_name not in COST_TABLES:
        raise ValueError(f"no cost table for target {target_name!r}; known: {', '.join(COST_TABLES)}")
    return COST_TABLES[target_name]
