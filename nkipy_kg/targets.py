"""Target descriptions: the hardware limits passes consult, as data.

Numbers from ../shared/research/neuroncore-model.md §1.3 and §3.1 (the
reference's HardwareConstants.h): SBUF usable bytes per partition exclude the
compiler-reserved area; PSUM has 8 banks of 2 KiB per partition, and a PSUM tile
may not cross a bank, so a matmul's free dim holds at most 2048 / 4 = 512 fp32.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    sbuf_bytes_per_partition: int   # usable (compiler reserve excluded)
    partitions: int = 128           # SBUF and PSUM partitions (nl.tile_size.pmax)
    psum_bytes_per_partition: int = 16384
    psum_banks: int = 8
    psum_bank_bytes: int = 2048
    gemm_stationary_fmax: int = 128  # matmul stationary free size (M per instruction)
    gemm_moving_fmax: int = 512      # matmul moving free size (N per instruction)
    # VectorE and GpSimdE may read and write SBUF at the same time: NC-v3 yes, NC-v2 no
    # (the compiler serialises them there; neuroncore-model.md §1.3 concurrency).
    vector_gpsimd_share_sbuf: bool = False
    # VectorE and ScalarE clocks in GHz (neuroncore-model.md §1.2); linalg-to-nisa puts
    # a copy or a multiply-add that either engine can run on the one less loaded.
    vector_ghz: float = 1.12
    scalar_ghz: float = 1.4
    tensor_ghz: float = 2.8  # TensorE clock (§1.2): matmul estimates of the software pipeliner
    # NC-v3 VectorE performance mode (§3.3): a 16-bit tensor_copy / tensor_scalar runs
    # 2x (4x SBUF -> SBUF), which ScalarE does not; 1 = no such mode (NC-v2).
    vector_16bit_speedup: int = 1

    @property
    def matmul_free_max(self) -> int:
        """Largest matmul N tile: one PSUM bank of fp32 accumulators."""
        return self.psum_bank_bytes // 4


TARGETS: dict[str, Target] = {
    # trn1: NeuronCore-v2, 192 KiB SBUF per partition, 16 KiB reserved.
    "trn1": Target(name="trn1", sbuf_bytes_per_partition=180224),
    # trn2: NeuronCore-v3, 224 KiB SBUF per partition; usable 212984 B per KLR kernelEnv.
    "trn2": Target(name="trn2", sbuf_bytes_per_partition=212984, vector_gpsimd_share_sbuf=True,
                   vector_ghz=0.96, scalar_ghz=1.2, tensor_ghz=2.4, vector_16bit_speedup=4),
}

DEFAULT_TARGET = "trn2"


def get_target(name: str | Target | None = None) -> Target:
    if isinstance(name, Target):
        return name
    key = name or DEFAULT_TARGET
    if key not in TARGETS:
        raise ValueError(f"unknown target {key!r}; known targets: {', '.join(TARGETS)}")
    return TARGETS[key]
