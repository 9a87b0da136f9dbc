"""The cost model's dependency boxes (`Tile.box()`): conservative, and tight for tiles."""

from __future__ import annotations

import numpy as np
import pytest

from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.sim.memory import Buffer, Tile


def _hbm(shape: tuple[int, ...], dtype=np.float32) -> Buffer:
    return Buffer(MemSpace.Hbm, np.zeros(shape, dtype), None, "t")


def _touched(buf: Buffer, view: np.ndarray) -> list[tuple[int, int]]:
    """(row, column unit) of every byte of every element of `view`."""
    idx = np.indices(view.shape).reshape(view.ndim, -1).T
    offs = (view.ctypes.data - buf.base_ptr) + idx @ np.array(view.strides)
    out = []
    for o in offs:
        for b in (int(o), int(o) + view.itemsize - 1):
            row, col = divmod(b, buf.row_bytes)
            out.append((row, col // buf.col_unit))
    return out


def test_a_head_tile_of_attention_scores_is_a_few_buckets_wide() -> None:
    """[1, 128, 2048] f32 of [8, 2048, 2048]: head 3, bytes 2 MiB..3 MiB of its 16 MiB
    row, in 256 B units (a 1 KiB-unit box spanned 1024 of the cost model's buckets)."""
    buf = _hbm((8, 2048, 2048))
    assert buf.col_unit == 256
    tile = Tile(buf, buf.data[3:4, 256:384, :], None)
    assert tile.box() == (buf.key, 3, 3, 256 * 8192 // 256, (384 * 8192 - 1) // 256)


def test_tiles_of_different_heads_do_not_overlap() -> None:
    """rope's [128, 1, 64] tiles of an [S, 32, 64] intermediate: one head each, so a
    store to head h never waits for the store to head h - 1."""
    buf = _hbm((2048, 32, 64), np.dtype("V2"))
    boxes = [Tile(buf, buf.data[0:128, h], None).box() for h in (4, 5)]
    (_, r0, r1, a0, a1), (_, s0, s1, b0, b1) = boxes
    assert (r0, r1) == (s0, s1) == (0, 127) and a1 < b0


def test_hbm_keys_never_equal_an_on_chip_memory() -> None:
    """MemSpace is an IntEnum: a bare buffer id 3 would share SBUF's dependency index."""
    keys = {_hbm((4, 4)).key for _ in range(8)}
    assert not keys & {MemSpace.Sbuf, MemSpace.Psum, 2, 3}


@pytest.mark.parametrize("make", [
    lambda a: a[1:3, 5:70:2, 7:9],           # strided in every dim
    lambda a: a[2, :, 3:4].T,                # a transposed column
    lambda a: a.reshape(-1)[5:4000:37],      # a stride that is not whole rows, past a row
    lambda a: a.reshape(4, 2, 64, 8)[1, :, 3:9, 2:5],
])
def test_every_touched_byte_lies_in_the_box(make) -> None:
    buf = _hbm((4, 16, 64))
    view = make(buf.data)
    _, r0, r1, c0, c1 = Tile(buf, view, None).box()
    for row, col in _touched(buf, view):
        assert r0 <= row <= r1 and c0 <= col <= c1
