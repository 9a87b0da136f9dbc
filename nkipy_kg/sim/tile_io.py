"""Tile I/O for the instruction impls: reading (rejects uninitialised memory), writing
(rounds to the destination dtype and marks it written), fp32 widening, [P, 1] scalar
operands, and the compute engines' partition-placement rule.
"""

from __future__ import annotations

import weakref

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.errors import SimError
from nkipy_kg.sim.instr import Instr
from nkipy_kg.sim.memory import Tile

F32 = np.dtype(np.float32)
BF16 = np.dtype(dtypes.bfloat16)
ON_CHIP = (MemSpace.Sbuf, MemSpace.Psum)


def check_partitions(ins: Instr, t: Tile) -> None:
    """Compute engines reach a tile of n partitions starting at partition 0 if n > 64,
    at 0 or 64 if n > 32, else at a multiple of 32 (neuroncore-model.md §1.3 placement)."""
    arr, buf = t.arr, t.buf
    if arr.ndim == 0 or buf.data.ndim == 0:
        return
    stride = buf.data.strides[0]
    if t.offset() < stride:
        return  # starts in partition 0 (most tiles: the whole buffer or a free-dim slice)
    if arr.strides[0] != stride:
        return  # not a partition-major view (see the note in the module docstring)
    if buf.row_bytes == stride:
        start = t.box()[1]  # the same partition; the box is cached for the cost model
    else:
        start = t.offset() // stride
    n = arr.shape[0]
    quantum = 128 if n > 64 else 64 if n > 32 else 32
    if start % quantum:
        raise SimError(f"{ins.name}: a {n}-partition operand of {buf.name} starts at partition {start}; "
                       f"{ins.engine} reaches {n} partitions only from a multiple of {quantum}", ins.loc)


def read(ins: Instr, t: Tile, role: str) -> np.ndarray:
    mask = t.mask
    # count_nonzero: one C call (ndarray.all() goes through Python-level dispatch).
    if mask is not None and not t.buf.full and np.count_nonzero(mask) != mask.size:
        bad = np.argwhere(~t.mask)[0].tolist()
        raise SimError(f"{ins.name} reads uninitialised {t.buf.space.name} memory: {role} "
                       f"(buffer {t.buf.name}, first unwritten element {bad} of the view)", ins.loc,
                       hint="write the tile (dma_copy, memset, ...) before reading it")
    return t.arr


def write(t: Tile, value, by_matmul: bool = False) -> None:
    t.arr[...] = value  # NumPy casts with round-to-nearest-even (ml_dtypes for bf16)
    if t.mask is not None and not t.buf.full:
        _mark_written(t)
    if t.buf.space is MemSpace.Psum:
        matmul_written(t)[...] = 1 if by_matmul else 0


def _mark_written(t: Tile) -> None:
    buf, arr = t.buf, t.arr
    if arr.size == buf.data.size and (arr.flags.c_contiguous or arr.flags.f_contiguous):
        buf.full = True  # a dense view as large as its buffer covers all of it
        return
    if _distinct(arr):  # count what this write adds, to know when the buffer fills up
        buf.written += arr.size - np.count_nonzero(t.mask)
        buf.full = buf.written >= buf.data.size
    t.mask[...] = True


def _distinct(arr: np.ndarray) -> bool:
    """Whether every element of the view is a different memory element: taken by
    growing stride, each stride clears the extent of the dims before it (a view
    from subview or reshape always does; a reinterpret_cast may not)."""
    extent = 1
    for stride, size in sorted(zip(map(abs, arr.strides), arr.shape)):
        if size == 1:
            continue
        if stride < extent:
            return False
        extent = stride * size
    return True


# Per PSUM buffer: which elements a matmul wrote last. Accumulating onto PSUM that a
# non-matmul instruction (memset, tensor_copy, ...) initialised is undefined on NC-v2/v3
# (neuroncore-model.md §2.1 nc_matmul), so the simulator refuses it. Same itemsize as
# the buffer, so a tile's byte offset and strides index the flags directly.
_MATMUL_WRITTEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def matmul_written(t: Tile) -> np.ndarray:
    buf = t.buf
    flags = _MATMUL_WRITTEN.get(buf)
    if flags is None:
        flags = _MATMUL_WRITTEN[buf] = np.zeros(buf.data.shape, np.dtype(f"u{buf.data.itemsize}"))
    offset = t.offset()
    return np.ndarray(t.arr.shape, flags.dtype, buffer=flags, offset=offset, strides=t.arr.strides)


def f32(x: np.ndarray) -> np.ndarray:
    if x.dtype == F32:
        return x
    if x.dtype == BF16:  # exact: a bf16 is the top half of its f32 (3.5x faster than astype)
        bits = x.view(np.uint16).astype(np.uint32)
        bits <<= 16  # in place: one pass fewer than `<< 16`
        return bits.view(F32)
    return x.astype(F32)


def scalar(ins: Instr, x, ndim: int, role: str):
    """An f32 scalar, or a [P, 1] tile shaped to broadcast over `ndim` dims."""
    if x is None or isinstance(x, float):
        return x
    v = f32(read(ins, x, role))
    return v.reshape(v.shape[0], *([1] * (ndim - 1)))
