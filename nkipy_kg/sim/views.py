"""memref view ops resolved to NumPy strided views of the underlying buffer.

`subview` is bounds-checked (NumPy slicing would silently clip), reshapes must
be expressible without a copy (a copy would detach writes from the buffer), and
`reinterpret_cast` maps memref's row-major element strides of the base buffer
onto its physical strides (partition rows on chip).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nkipy_kg._mlir import ir
from nkipy_kg.errors import SimError
from nkipy_kg.sim.memory import Tile

DYN = ir.ShapedType.get_dynamic_size()


def _mixed(static: list[int], dynamic: list[int]) -> Callable[[list], list[int]]:
    """A getter for offsets/sizes/strides mixing static values and dynamic slots."""
    if DYN not in static:
        return lambda vals: static
    slots = iter(dynamic)
    plan = [(None, s) if s != DYN else (next(slots), 0) for s in static]
    return lambda vals: [v if s is None else vals[s] for s, v in plan]


def _reshape(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    v = a.view()
    v.shape = shape  # raises if NumPy would have to copy
    return v


def _subview(op, slot, loc):
    view = op.opview
    src = slot(op.operands[0])
    out = slot(op.results[0])
    offsets = _mixed(list(view.static_offsets), [slot(v) for v in view.offsets])
    sizes = _mixed(list(view.static_sizes), [slot(v) for v in view.sizes])
    strides = _mixed(list(view.static_strides), [slot(v) for v in view.strides])
    result_shape = tuple(ir.MemRefType(op.results[0].type).shape)
    static_sizes = list(view.static_sizes)
    reduce_rank = len(result_shape) != len(static_sizes)
    # (source shape, source strides, offsets, sizes, strides) -> (NumPy index, byte offset)
    checked: dict[tuple, tuple] = {}

    def index_for(tile: Tile, key: tuple) -> tuple:
        """Bounds-check once per distinct pattern (loops repeat a handful of them)."""
        shape, src_strides, offs, szs, sts = key
        for d, (o, n, s) in enumerate(zip(offs, szs, sts)):
            if o < 0 or n < 0 or (n > 0 and o + (n - 1) * s >= shape[d]):
                raise SimError(f"out-of-bounds access: memref.subview of {tile.buf.name} takes "
                               f"[{o}, {o + (n - 1) * s}] on dim {d}, which has size {shape[d]}", loc)
        index = tuple(slice(o, o + (n - 1) * s + 1 if n else o, s) for o, n, s in zip(offs, szs, sts))
        hit = (index, sum(o * s for o, s in zip(offs, src_strides)))
        if len(checked) < 4096:
            checked[key] = hit
        return hit

    def run(vals: list) -> None:
        tile = vals[src]
        arr = tile.arr
        key = (arr.shape, arr.strides, tuple(offsets(vals)), tuple(sizes(vals)), tuple(strides(vals)))
        index, delta = checked.get(key) or index_for(tile, key)
        view = arr[index]
        # A full buffer needs no mask (reads skip the check), so views skip deriving it.
        mask = None if tile.mask is None or tile.buf.full else tile.mask[index]
        if reduce_rank:
            view = _reshape(view, result_shape)
            mask = None if mask is None else _reshape(mask, result_shape)
        vals[out] = Tile(tile.buf, view, mask, tile.offset() + delta)
    return run


def _reshape_op(op, slot, loc):
    src = slot(op.operands[0])
    out = slot(op.results[0])
    shape = tuple(ir.MemRefType(op.results[0].type).shape)

    def run(vals: list) -> None:
        try:
            vals[out] = vals[src].derive(lambda a: _reshape(a, shape))
        except AttributeError:
            raise SimError(f"{op.name} to {list(shape)} is not expressible as a strided view of "
                           f"{vals[src].buf.name}", loc) from None
    return run


def _physical(a: np.ndarray, logical: int) -> int:
    """Byte offset in `a` of row-major element offset `logical` (mixed radix on a.shape)."""
    total = 0
    for size, stride in zip(reversed(a.shape), reversed(a.strides)):
        logical, digit = divmod(logical, size)
        total += digit * stride
    return total + logical * (a.strides[0] * a.shape[0] if a.ndim else 0)


def _reinterpret(op, slot, loc):
    view = op.opview
    src = slot(op.operands[0])
    out = slot(op.results[0])
    offsets = _mixed(list(view.static_offsets), [slot(v) for v in view.offsets])
    sizes = _mixed(list(view.static_sizes), [slot(v) for v in view.sizes])
    strides = _mixed(list(view.static_strides), [slot(v) for v in view.strides])

    def cast(base: np.ndarray, off: int, szs: list[int], sts: list[int]) -> np.ndarray:
        return _strided_from(base, _physical(base, off), szs, [_physical(base, s) for s in sts])

    def run(vals: list) -> None:
        tile = vals[src]
        base = tile.buf
        off, szs, sts = offsets(vals)[0], sizes(vals), strides(vals)
        count = int(np.prod(base.data.shape))
        last = off + sum((n - 1) * s for n, s in zip(szs, sts))
        if off < 0 or last >= count:
            raise SimError(f"out-of-bounds access: memref.reinterpret_cast of {base.name} reaches element "
                           f"{last} of {count}", loc)
        vals[out] = Tile(base, cast(base.data, off, szs, sts),
                         None if base.mask is None or base.full else cast(base.mask, off, szs, sts),
                         _physical(base.data, off))
    return run


def _strided_from(base: np.ndarray, byte_off: int, shape: list[int], strides: list[int]) -> np.ndarray:
    """A writeable view of base's memory starting `byte_off` bytes after its first element."""
    root = base
    while isinstance(root.base, np.ndarray):
        root = root.base
    start = base.__array_interface__["data"][0] - root.__array_interface__["data"][0] + byte_off
    return np.ndarray(tuple(shape), dtype=base.dtype, buffer=root, offset=start, strides=tuple(strides))


def _cast(op, slot, loc):
    src = slot(op.operands[0])
    out = slot(op.results[0])

    def run(vals: list) -> None:
        vals[out] = vals[src]
    return run


VIEW_OPS: dict[str, Callable] = {
    "memref.subview": _subview,
    "memref.collapse_shape": _reshape_op,
    "memref.expand_shape": _reshape_op,
    "memref.reinterpret_cast": _reinterpret,
    "memref.cast": _cast,
}
