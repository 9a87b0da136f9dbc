"""The cost model's memory of who touched which bytes when (for dependencies).

Per memory (`Tile.box()` key: SBUF/PSUM, or one HBM buffer) every accessed box
(rows r0..r1, bytes c0..c1) keeps its last write end, the writing engine and the
last read end. Boxes are filed in buckets (column ranges on chip, where tiles
differ by address; row x column blocks in HBM) so a
lookup only scans the boxes near it, not every box the kernel ever touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nkipy_kg.dialects.nkipy import MemSpace

# Bucket sizes (rows, bytes): on chip every tile spans the partitions and differs by
# address, so buckets are 512 B column ranges (a [128, 128] bf16 tile is 256 B); in HBM
# tiles differ by rows and columns, so buckets are 128 rows x 1 KiB.
_CHIP_BUCKET = (1 << 30, 512)
_HBM_BUCKET = (128, 1024)

Box = tuple[int, int, int, int]  # (r0, r1, c0, c1), inclusive


@dataclass
class Region:
    box: Box
    write_end: float = 0.0
    write_engine: str = ""
    read_end: float = 0.0


def _buckets(key: Any, box: Box) -> list[tuple[int, int]]:
    rb, cb = _CHIP_BUCKET if key.__class__ is MemSpace and key in (MemSpace.Sbuf, MemSpace.Psum) else _HBM_BUCKET
    cols = range(box[2] // cb, box[3] // cb + 1)
    return [(r, c) for r in range(box[0] // rb, box[1] // rb + 1) for c in cols]


class RegionIndex:
    def __init__(self) -> None:
        self.memories: dict[Any, dict[tuple[int, int], dict[Box, Region]]] = {}

    def overlapping(self, key: Any, box: Box) -> list[Region]:
        """Regions of `key` overlapping `box` (a region spanning several buckets may repeat)."""
        buckets = self.memories.get(key)
        if not buckets:
            return []
        r0, r1, c0, c1 = box
        out = []
        for b in _buckets(key, box):
            regs = buckets.get(b)
            if regs:
                out += [reg for (o0, o1, p0, p1), reg in regs.items()
                        if not (o0 > r1 or r0 > o1 or p0 > c1 or c0 > p1)]
        return out

    def ready_after(self, key: Any, box: Box, is_write: bool, producers: set[str]) -> float:
        """When `box` may next be read (after its writers) or written (after its
        readers and writers); adds the engines that wrote what a read sees to `producers`."""
        ready = 0.0
        for reg in self.overlapping(key, box):
            if reg.write_end > ready:
                ready = reg.write_end
            if is_write:
                if reg.read_end > ready:
                    ready = reg.read_end
            elif reg.write_end > 0:
                producers.add(reg.write_engine)
        return ready

    def _file(self, key: Any, reg: Region) -> None:
        buckets = self.memories.setdefault(key, {})
        for b in _buckets(key, reg.box):
            buckets.setdefault(b, {})[reg.box] = reg

    def _drop(self, key: Any, reg: Region) -> None:
        buckets = self.memories[key]
        for b in _buckets(key, reg.box):
            buckets.get(b, {}).pop(reg.box, None)

    def record_read(self, key: Any, box: Box, end: float) -> None:
        buckets = self.memories.get(key)
        first = buckets.get(_buckets(key, box)[0], {}) if buckets else {}
        reg = first.get(box)
        if reg is None:
            reg = Region(box)
            self._file(key, reg)
        reg.read_end = max(reg.read_end, end)

    def record_write(self, key: Any, box: Box, end: float, engine: str) -> None:
        r0, r1, c0, c1 = box
        covered = [reg for reg in self.overlapping(key, box)
                   if r0 <= reg.box[0] and reg.box[1] <= r1 and c0 <= reg.box[2] and reg.box[3] <= c1]
        for reg in covered:  # the new write dominates everything it fully covers
            self._drop(key, reg)
        self._file(key, Region(box, write_end=end, write_engine=engine, read_end=end))

    def prune(self, horizon: float) -> dict[Any, float]:
        """Forget regions whose last access ended by `horizon`; returns, per memory,
        the latest end among them (the caller keeps it as a conservative floor)."""
        floors: dict[Any, float] = {}
        for key, buckets in self.memories.items():
            for regs in buckets.values():
                old = [box for box, reg in regs.items() if max(reg.write_end, reg.read_end) <= horizon]
                for box in old:
                    reg = regs.pop(box)
                    floors[key] = max(floors.get(key, 0.0), reg.write_end, reg.read_end)
        return floors
