"""Simulated NeuronCore memories: SBUF and PSUM as capacity-limited partition x
byte address spaces with an allocator, HBM buffers, and tiles (NumPy views).

The allocator assigns each on-chip buffer partitions [0, P) and a byte range per
partition (its address, used for capacity, bank and dependency checks); the
buffer's values live in their own C-contiguous NumPy array so whole-tile
instructions are plain vectorised NumPy.

Every buffer carries an "initialised" mask with one bool per logical element;
views of a buffer are derived from the data and the mask by the same NumPy
indexing, so an instruction checks its inputs with one vectorised `.all()`.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.errors import SimError, SourceLoc
from nkipy_kg.targets import Target

_ALIGN = 64  # bytes; the reference backend allocates SBUF temporaries with alignment 64 (nkigen-digest §4.4)
_ids = itertools.count()
_HBM_ROW_UNITS = 1 << 16  # an HBM row spans at most 64 buckets of the cost model's index


@dataclass(eq=False)
class Buffer:
    """One allocation (or a kernel argument). `data`/`mask` have its logical shape."""

    space: MemSpace
    data: np.ndarray
    mask: np.ndarray | None  # None: always initialised (kernel arguments)
    name: str
    loc: SourceLoc | None = None
    offset: int = 0           # address: byte offset in each partition (SBUF/PSUM), 0 in HBM
    nbytes: int = 0           # bytes per partition (SBUF/PSUM)
    released: bool = False
    id: int = field(default_factory=lambda: next(_ids))
    # Every element written: reads skip the mask check and writes the mask update. Set
    # by a write of the whole buffer (the usual tile: one DMA or compute fills it); a
    # buffer filled piecewise keeps checking its mask, which is only slower.
    full: bool = False
    written: int = 0          # elements written so far, while not full (distinct views only)
    row_bytes: int = 1         # bytes between rows (partitions on chip)
    key: object = None         # dependency-tracking namespace (memory on chip, ("hbm", id) in HBM)
    col_unit: int = 1          # bytes per box column (coarser for HBM buffers with huge rows)

    def __post_init__(self) -> None:
        # Rows are dim-0 rows (partitions on chip); on chip the key is the memory and
        # `offset` shifts columns to the buffer's bytes. In HBM the key is ("hbm", id)
        # (a bare id could equal a MemSpace value, which is an int) and columns count
        # `col_unit` bytes: a [8, 2048, 2048] f32 buffer has 16 MiB rows, and a
        # [1, 128, 2048] tile's 1 MiB column range would otherwise span 1024 of the
        # cost model's 1 KiB buckets (256 B units: 4).
        on_chip = self.space in (MemSpace.Sbuf, MemSpace.Psum)
        self.key = self.space if on_chip else ("hbm", self.id)
        self.row_bytes = max(self.data.strides[0] if self.data.ndim > 1 else self.data.nbytes, 1)
        self.col_unit = 1 if on_chip else max(1, self.row_bytes // _HBM_ROW_UNITS)

    @property
    def base_ptr(self) -> int:
        """Address of the first element (views' byte offsets are taken from it)."""
        return self.data.__array_interface__["data"][0]


@dataclass(eq=False, slots=True)
class Tile:
    """A view of a buffer: what an instruction operand resolves to."""

    buf: Buffer
    arr: np.ndarray
    mask: np.ndarray | None
    # Byte offset of arr's first element in buf.data. The view ops compute it (cheap
    # integer math); -1 asks NumPy for the address (`ctypes.data` costs microseconds,
    # and every instruction needs the offset of every operand).
    off: int = -1
    cached_box: tuple | None = None  # box() is asked by every instruction using the tile

    def derive(self, fn) -> "Tile":
        """A reshaped view (same first element, so the same offset)."""
        mask = None if self.mask is None or self.buf.full else fn(self.mask)
        return Tile(self.buf, fn(self.arr), mask, self.offset())

    def offset(self) -> int:
        if self.off < 0:
            self.off = self.arr.ctypes.data - self.buf.base_ptr
        return self.off

    def box(self) -> tuple[int, int, int, int, int]:
        """(memory key, first row, last row, first byte, last byte) the tile touches.

        On chip the key is the memory space and rows/bytes are physical partitions
        and byte offsets, so a new buffer reusing released bytes depends on the old
        one's users; in HBM the key is the buffer, rows are its dim-0 rows and
        columns are `col_unit`-byte units.
        Used by the cost model for dependencies (a conservative bounding box).
        """
        if self.cached_box is not None:
            return self.cached_box
        buf = self.buf
        off = self.off if self.off >= 0 else self.offset()
        row_bytes = buf.row_bytes
        rows = cols = 0
        for size, stride in zip(self.arr.shape, self.arr.strides):
            if stride and stride % row_bytes == 0:
                rows += (size - 1) * (stride // row_bytes)
            else:
                cols += (size - 1) * stride
        r0, c0 = divmod(off, row_bytes)
        c1 = c0 + cols + self.arr.itemsize - 1
        if c1 >= row_bytes:
            # A stride that is not whole rows but reaches past the row (a reshaped
            # view): cover every byte from the first to the last, whole rows.
            last = off + rows * row_bytes + cols + self.arr.itemsize - 1
            rows, c0, c1 = last // row_bytes - r0, 0, row_bytes - 1
        unit = buf.col_unit
        self.cached_box = (buf.key, r0, r0 + rows, (c0 + buf.offset) // unit, (c1 + buf.offset) // unit)
        return self.cached_box


def new_mask(shape: tuple[int, ...]) -> np.ndarray:
    return np.zeros(shape, dtype=np.bool_)


class OnChipMemory:
    """SBUF or PSUM: `partitions x bytes_per_partition` bytes and a first-fit allocator.

    Each allocation owns a byte range in partitions [0, P) (the placement rule
    lets a > 64-partition tensor start only at partition 0, neuroncore-model.md
    §1.3). PSUM allocations are rounded to whole 2 KiB banks so a bank-sized tile
    never straddles two banks (§1.3 PSUM tile rule).
    """

    def __init__(self, space: MemSpace, target: Target) -> None:
        self.space = space
        self.target = target
        self.partitions = target.partitions
        self.capacity = (target.sbuf_bytes_per_partition if space == MemSpace.Sbuf
                         else target.psum_bytes_per_partition)
        self.granule = target.psum_bank_bytes if space == MemSpace.Psum else _ALIGN
        self.live: dict[int, Buffer] = {}   # buffer id -> buffer
        self.spans: list[tuple[int, int]] = []  # live (offset, end), sorted: they never overlap
        self.cursor = 0                      # next-fit position (bytes)
        self.high_water = 0
        # Arrays of released buffers by (shape, dtype), reused by the next allocation of
        # that type: tiles are allocated per loop iteration, and fresh arrays cost page
        # faults (calloc'd masks, mmap'd data) on every first touch.
        self.spare: dict[tuple, list[tuple[np.ndarray, np.ndarray]]] = {}

    def _holes(self) -> list[tuple[int, int]]:
        spans = sorted((b.offset, b.offset + b.nbytes) for b in self.live.values())
        holes, cursor = [], 0
        for lo, hi in spans:
            if lo > cursor:
                holes.append((cursor, lo))
            cursor = max(cursor, hi)
        if cursor < self.capacity:
            holes.append((cursor, self.capacity))
        return holes

    def alloc(self, shape: tuple[int, ...], dtype: np.dtype, name: str, loc: SourceLoc | None) -> Buffer:
        if not shape or shape[0] > self.partitions:
            raise SimError(f"{self.space.name} allocation {name} of shape {list(shape)} has partition dim "
                           f"{shape[0] if shape else 'none'} > {self.partitions} partitions of "
                           f"{self.target.name}", loc)
        per_part = math.prod(shape[1:]) * dtype.itemsize
        size = -(-max(per_part, 1) // self.granule) * self.granule
        offset = self._next_fit(size)
        if offset is None:
            used = sum(b.nbytes for b in self.live.values())
            raise SimError(f"{self.space.name} overflow: {name} needs {per_part} B per partition, "
                           f"{self.capacity - used} of {self.capacity} B free"
                           f" (largest hole {max((h - l for l, h in self._holes()), default=0)} B)", loc,
                           hint="release buffers earlier or use smaller tiles")
        # The allocator owns the address space; each buffer's bytes are a separate
        # C-contiguous array (fast whole-tile NumPy ops; stale data is caught by the mask).
        spare = self.spare.get((shape, dtype))
        if spare:
            data, mask = spare.pop()
            mask.fill(False)  # stale data stays, but reads of it are caught by the mask
        else:
            data, mask = np.empty(shape, dtype), new_mask(shape)
        buf = Buffer(self.space, data, mask, name, loc, offset, size)
        self.live[buf.id] = buf
        bisect.insort(self.spans, (offset, offset + size))
        self.cursor = offset + size
        self.high_water = max(self.high_water, offset + size)
        return buf

    def _next_fit(self, size: int) -> int | None:
        """The first hole at or after the last allocation, wrapping around.

        Next-fit rotates addresses across loop iterations the way a compiler's
        allocator double-buffers, so a freshly allocated tile does not falsely
        wait (in the cost model) for the readers of the tile released just before.
        """
        spans, cursor = self.spans, self.cursor
        i = bisect.bisect_right(spans, (cursor, math.inf))  # the first span starting after the cursor
        start = max(cursor, spans[i - 1][1]) if i else cursor
        fit = self._first_fit(size, i, start)
        return fit if fit is not None else self._first_fit(size, 0, 0)

    def _first_fit(self, size: int, i: int, start: int) -> int | None:
        """The first hole of at least `size` bytes from `start`, walking spans[i:]."""
        for lo, hi in itertools.islice(self.spans, i, None):
            if lo - start >= size:
                return start
            start = hi
        return start if self.capacity - start >= size else None

    def release(self, buf: Buffer) -> None:
        if self.live.pop(buf.id, None) is not None:
            del self.spans[bisect.bisect_left(self.spans, (buf.offset, buf.offset + buf.nbytes))]
            self.spare.setdefault((buf.data.shape, buf.data.dtype), []).append((buf.data, buf.mask))
        buf.released = True


def hbm_buffer(array: np.ndarray, name: str, space: MemSpace = MemSpace.Hbm,
               loc: SourceLoc | None = None, initialised: bool = True) -> Buffer:
    data = np.ascontiguousarray(array)
    mask = None if initialised else new_mask(data.shape)
    return Buffer(space, data, mask, name, loc)


def hand_over(value: object, args: list) -> object:
    """A kernel result for the caller: a buffer the kernel allocated in HBM is handed
    over as is; a view or an argument is copied (results must not alias the inputs)."""
    if not isinstance(value, Tile):
        return value
    owned = value.arr is value.buf.data and not any(value.arr is a for a in args)
    return value.arr if owned and value.buf.space in (MemSpace.Hbm, MemSpace.SharedHbm) else np.array(value.arr)
