"""The cost model's memory of who touched which bytes when (for dependencies).

Per memory (`Tile.box()` key: SBUF/PSUM, or one HBM buffer) every accessed box
(rows r0..r1, bytes c0..c1) keeps its last write end, the writing engine and the
last read end. Boxes are filed in buckets (column ranges on chip, where tiles
differ by address; row x column blocks in HBM) so a
lookup only scans the boxes near it, not every box the kernel ever touched.

This runs once per operand of every instruction, so the hot paths are written
as flat loops over cached bucket lists rather than small composed helpers.
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
_CHIP_SPACES = (MemSpace.Sbuf, MemSpace.Psum)
_CACHE_LIMIT = 1 << 16  # cached bucket lists per kind; loops reuse a few hundred boxes

Box = tuple[int, int, int, int]  # (r0, r1, c0, c1), inclusive
TileBox = tuple[Any, int, int, int, int]  # (memory key, r0, r1, c0, c1): `Tile.box()`


@dataclass(slots=True, eq=False)  # identity: ready_after collects regions in a set
class Region:
    box: Box
    write_end: float = 0.0
    write_engine: str = ""
    read_end: float = 0.0


def _is_chip(key: Any) -> bool:
    return key.__class__ is MemSpace and key in _CHIP_SPACES


def _buckets(key: Any, box: Box) -> list[tuple[int, int]]:
    rb, cb = _CHIP_BUCKET if _is_chip(key) else _HBM_BUCKET
    cols = range(box[2] // cb, box[3] // cb + 1)
    return [(r, c) for r in range(box[0] // rb, box[1] // rb + 1) for c in cols]


def _near(buckets: dict, ids: tuple):
    """The regions filed in buckets `ids`, each once. A wide box meets a wide region in
    every bucket they share; set.update dedups in C, and callers only take maxima and
    drop by box, which do not depend on the order."""
    if len(ids) == 1:
        regs = buckets.get(ids[0])
        return regs.values() if regs else ()
    found = set()
    for b in ids:
        regs = buckets.get(b)
        if regs:
            found.update(regs.values())
    return found


class RegionIndex:
    def __init__(self) -> None:
        self.memories: dict[Any, dict[tuple[int, int], dict[Box, Region]]] = {}
        # Bucket lists by (kind, box): on-chip and HBM boxes bucket differently. (HBM keys
        # are ("hbm", id) tuples, so they never equal the IntEnum MemSpace keys.)
        self._ids_cache: tuple[dict, dict] = ({}, {})      # [chip] box -> bucket ids
        self._query_cache: dict[TileBox, tuple] = {}        # tile box -> (box, bucket ids, key)

    def _ids(self, chip: bool, key: Any, box: Box) -> tuple:
        cache = self._ids_cache[chip]
        ids = cache.get(box)
        if ids is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            ids = cache[box] = tuple(_buckets(key, box))
        return ids

    def _query(self, tbox: TileBox) -> tuple[Box, tuple, Any]:
        """(box without key, its bucket ids, key) of a `Tile.box()` tuple, cached. A hit
        must have the very key object (cheap, and safe whatever keys compare equal)."""
        hit = self._query_cache.get(tbox)
        if hit is not None and hit[2] is tbox[0]:
            return hit
        cache = self._query_cache
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        key, box = tbox[0], tbox[1:]
        hit = cache[tbox] = (box, self._ids(_is_chip(key), key, box), key)
        return hit

    def overlapping(self, key: Any, box: Box) -> list[Region]:
        """Regions of `key` overlapping `box` (a region spanning several buckets may repeat)."""
        buckets = self.memories.get(key)
        if not buckets:
            return []
        r0, r1, c0, c1 = box
        out = []
        for b in self._ids(_is_chip(key), key, box):
            regs = buckets.get(b)
            if regs:
                out += [reg for (o0, o1, p0, p1), reg in regs.items()
                        if not (o0 > r1 or r0 > o1 or p0 > c1 or c0 > p1)]
        return out

    def ready_after(self, tbox: TileBox, is_write: bool, producers: set[str]) -> float:
        """When `tbox` may next be read (after its writers) or written (after its
        readers and writers); adds the engines that wrote what a read sees to `producers`."""
        buckets = self.memories.get(tbox[0])
        if not buckets:
            return 0.0
        _, r0, r1, c0, c1 = tbox
        ready = 0.0
        for reg in _near(buckets, self._query(tbox)[1]):
            o0, o1, p0, p1 = reg.box
            if o0 > r1 or r0 > o1 or p0 > c1 or c0 > p1:
                continue
            if reg.write_end > ready:
                ready = reg.write_end
            if is_write:
                if reg.read_end > ready:
                    ready = reg.read_end
            elif reg.write_end > 0:
                producers.add(reg.write_engine)
        return ready

    def record_read(self, tbox: TileBox, end: float) -> None:
        key = tbox[0]
        box, ids, _ = self._query(tbox)
        buckets = self.memories.get(key)
        first = buckets.get(ids[0]) if buckets else None
        reg = first.get(box) if first else None
        if reg is None:
            reg = Region(box)
            self._file(key, ids, reg)
        if end > reg.read_end:
            reg.read_end = end

    def record_write(self, tbox: TileBox, end: float, engine: str) -> None:
        key = tbox[0]
        box, ids, _ = self._query(tbox)
        _, r0, r1, c0, c1 = tbox
        buckets = self.memories.get(key)
        if buckets:
            covered = []
            for reg in _near(buckets, ids):
                o0, o1, p0, p1 = reg.box
                # Inside and overlapping (separate tests: a zero-size box is inside, not overlapping).
                if r0 <= o0 and o1 <= r1 and c0 <= p0 and p1 <= c1 and \
                        o0 <= r1 and r0 <= o1 and p0 <= c1 and c0 <= p1:
                    covered.append(reg)
            chip = _is_chip(key)
            for reg in covered:  # the new write dominates everything it fully covers
                for b in self._ids(chip, key, reg.box):
                    regs = buckets.get(b)
                    if regs:
                        regs.pop(reg.box, None)
        self._file(key, ids, Region(box, end, engine, end))

    def _file(self, key: Any, ids: tuple, reg: Region) -> None:
        buckets = self.memories.get(key)
        if buckets is None:
            buckets = self.memories[key] = {}
        for b in ids:
            regs = buckets.get(b)
            if regs is None:
                buckets[b] = {reg.box: reg}
            else:
                regs[reg.box] = reg

    def prune(self, horizon: float) -> dict[Any, float]:
        """Forget regions whose last access ended by `horizon`; returns, per memory,
        the latest end among them (the caller keeps it as a conservative floor)."""
        floors: dict[Any, float] = {}
        for key, buckets in self.memories.items():
            latest, dropped = 0.0, False
            for regs in buckets.values():
                old = [box for box, reg in regs.items() if reg.write_end <= horizon and reg.read_end <= horizon]
                for box in old:
                    reg = regs.pop(box)
                    latest, dropped = max(latest, reg.write_end, reg.read_end), True
            if dropped:
                floors[key] = latest
        return floors
