"""Per-instruction cost formulas (engine cycles, or bytes for DMA), one row per op.

Formulas are NCM §3.1 ("Estimated instruction cost", NC-v2 era) with MIN_II;
the rates come from a `CostTable` (costs.py). N = free elements per partition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ml_dtypes
import numpy as np

from nkipy_kg.dialects import nisa
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.sim.costs import CostTable
from nkipy_kg.sim.instr import Instr
from nkipy_kg.sim.memory import Tile


BF16 = np.dtype(ml_dtypes.bfloat16)


@dataclass(frozen=True)
class DmaWork:
    """What a DMA instruction moves: the cost model turns it into time."""

    bytes: int
    partitions: int      # partitions of the on-chip side (decides how many DMA engines)
    hbm_bytes: int       # bytes read from plus written to HBM
    efficiency: float = 1.0


def free_elems(t: Tile) -> int:
    return int(t.arr.size // t.arr.shape[0]) if t.arr.ndim else 1


def lane_cycles(c: CostTable, engine: str, t: Tile) -> float:
    """Cycles to stream t's free elements through one lane of `engine` (the "N")."""
    return free_elems(t) / c.elems_per_cycle(engine)


def _is16(t: Tile) -> bool:
    return t.arr.dtype.itemsize == 2


def _space(t) -> MemSpace | None:
    return t.buf.space if isinstance(t, Tile) else None


def _contiguous_inner(t: Tile) -> bool:
    return t.arr.ndim < 2 or t.arr.strides[-1] == t.arr.itemsize


def _vector_copy_like(c: CostTable, dst: Tile, src: Tile) -> float:
    """tensor_copy / tensor_scalar on Vector: N cycles, NC-v3 perf mode 2x/4x (NCM §3.3)."""
    n = lane_cycles(c, "Vector", src)
    if c.vector_perf_mode and _is16(dst) and _is16(src):
        both_sbuf = _space(dst) == _space(src) == MemSpace.Sbuf
        n = n / 4 if both_sbuf and _contiguous_inner(src) and _contiguous_inner(dst) else n / 2
    return max(c.min_ii, n)


def _gpsimd(c: CostTable, n: float) -> float:
    return c.gpsimd_start_cycles + n  # "150 + N" shape of iota/affine_select (NCM §3.1)


def _matmul(c: CostTable, ins: Instr, ops: list) -> float:
    _, stat, mov = ops
    cycles = max(min(c.mm_min_cycles, stat.arr.shape[1]), mov.arr.shape[1])  # NCM §3.1 nc_matmul
    if stat.arr.dtype == np.float32 or mov.arr.dtype == np.float32:
        cycles *= c.mm_fp32_factor  # fp32 runs at 1/4 rate (NCM §3.1, §1.2)
    return cycles


def _transpose(c: CostTable, ins: Instr, ops: list) -> float:
    p, f = ops[1].arr.shape
    return max(p, min(c.mm_min_cycles, f))  # NCM §3.1 nc_transpose (TensorE)


def _tensor_tensor(c: CostTable, ins: Instr, ops: list) -> float:
    dst, lhs, rhs = ops
    n = lane_cycles(c, ins.engine, dst)
    if ins.engine == "GpSimd":
        return _gpsimd(c, 2 * n)  # guess: GpSimd has "no rule-of-thumb" (NCM §3.3)
    spaces = {_space(lhs), _space(rhs)}
    fast = spaces == {MemSpace.Psum, MemSpace.Sbuf} or (
        all(t.arr.dtype == BF16 for t in ops) and ins.attrs["op"] in ("add", "multiply", "subtract"))
    if c.vector_perf_mode and spaces == {MemSpace.Sbuf} and all(_is16(t) for t in ops):
        fast = True  # NC-v3: 16-bit tensor_tensor from SBUF runs 2x (NCM §3.3)
    return max(c.min_ii, n if fast else 2 * n)  # NCM §3.1 tensor_tensor


def _tensor_scalar(c: CostTable, ins: Instr, ops: list) -> float:
    dst, src = ops[0], ops[1]
    if ins.engine == "GpSimd":
        return _gpsimd(c, lane_cycles(c, "GpSimd", src))
    if ins.engine == "Scalar":
        return max(c.min_ii, lane_cycles(c, "Scalar", src))  # NCM §3.1 tensor_scalar
    return _vector_copy_like(c, dst, src)


def _tensor_scalar_reduce(c: CostTable, ins: Instr, ops: list) -> float:
    # NCM §3.1 tensor_scalar_reduce; no 16-bit performance mode is documented for it
    return max(c.min_ii, lane_cycles(c, "Vector", ops[1])) + c.min_ii


def _activation(c: CostTable, ins: Instr, ops: list) -> float:
    return max(c.min_ii, lane_cycles(c, "Scalar", ops[1]))  # NCM §3.1 activation; scale/bias free (§3.3)


def _activation_reduce(c: CostTable, ins: Instr, ops: list) -> float:
    return max(c.min_ii, lane_cycles(c, "Scalar", ops[1])) + c.min_ii  # NCM §3.1 activation_reduce


def _reciprocal(c: CostTable, ins: Instr, ops: list) -> float:
    return max(c.min_ii, c.reciprocal_cycles_per_elem * lane_cycles(c, "Vector", ops[1]))  # NCM §3.1


def _tensor_reduce(c: CostTable, ins: Instr, ops: list) -> float:
    dst, src = ops
    n = lane_cycles(c, "Vector", src)
    half = dst.arr.dtype == BF16 and src.arr.dtype == BF16 and ins.attrs["op"] in ("add", "max")
    return max(c.min_ii, n / 2 if half else n)  # NCM §3.1 tensor_reduce


def _partition_reduce(c: CostTable, ins: Instr, ops: list) -> float:
    # guess: cost not documented (NCM §6); each GpSimd core serves 16 partitions (NCM §1.2),
    # so charge one pass over the data per 16 partitions.
    src = ops[1]
    return _gpsimd(c, lane_cycles(c, "GpSimd", src) * max(1, src.arr.shape[0] // 16))


def _tensor_copy(c: CostTable, ins: Instr, ops: list) -> float:
    dst, src = ops
    if ins.engine == "GpSimd":
        return _gpsimd(c, lane_cycles(c, "GpSimd", src))
    if ins.engine == "Scalar":
        return max(c.min_ii, lane_cycles(c, "Scalar", src))
    return _vector_copy_like(c, dst, src)  # NCM §3.1 tensor_copy, §3.3 perf mode


def _memset(c: CostTable, ins: Instr, ops: list) -> float:
    dst = ops[0]
    n = lane_cycles(c, ins.engine, dst)
    half = ins.attrs.get("value") == 0 and dst.arr.dtype.itemsize == 2
    return max(c.min_ii, n / 2 if half else n)  # NCM §3.1 memset


def _iota(c: CostTable, ins: Instr, ops: list) -> float:
    return _gpsimd(c, lane_cycles(c, "GpSimd", ops[0]))  # NCM §3.1 iota: 150 + N


def _select(c: CostTable, ins: Instr, ops: list) -> float:
    dst, pred, a, b = ops
    mixed = len({_space(pred), _space(a)}) == 2
    return max(c.min_ii, lane_cycles(c, "Vector", dst) * (1 if mixed else 2))  # like tensor_copy_predicated (NCM §3.1)


def dma_work(c: CostTable, ins: Instr, ops: list) -> DmaWork:
    dst, src = ops[0], ops[1]
    nbytes = int(dst.arr.size * max(dst.arr.itemsize, src.arr.itemsize))
    on_chip = [t for t in (dst, src) if t.buf.space in (MemSpace.Sbuf, MemSpace.Psum)]
    partitions = on_chip[0].arr.shape[0] if on_chip else (dst.arr.shape[0] if dst.arr.ndim else 1)
    hbm = sum(int(t.arr.nbytes) for t in (dst, src) if t.buf.space in (MemSpace.Hbm, MemSpace.SharedHbm))
    eff = 1.0
    if ins.cls is nisa.DmaTransposeOp:
        eff = c.dma_transpose_hbm_eff if _space(src) != MemSpace.Sbuf else c.dma_transpose_sbuf_eff
    return DmaWork(nbytes, max(partitions, 1), hbm, eff)


FORMULAS: dict[type, Callable[[CostTable, Instr, list], float | DmaWork]] = {
    nisa.MatmulOp: _matmul, nisa.TransposeOp: _transpose,
    nisa.TensorTensorArithOp: _tensor_tensor, nisa.TensorScalarArithOp: _tensor_scalar,
    nisa.TensorScalarReduceOp: _tensor_scalar_reduce,
    nisa.ActivationOp: _activation, nisa.ActivationReduceOp: _activation_reduce, nisa.ReciprocalOp: _reciprocal,
    nisa.TensorReduceArithOp: _tensor_reduce, nisa.CrossPartitionReduceOp: _partition_reduce,
    nisa.TensorCopyOp: _tensor_copy, nisa.MemsetOp: _memset, nisa.IotaOp: _iota, nisa.SelectOp: _select,
    nisa.DmaCopyOp: dma_work, nisa.DmaTransposeOp: dma_work, nisa.DmaCopyIndirectOp: dma_work,
}
