"""Knobs: how the user tells the compiler to tile, place and fuse a tensor.

    knob.knob(c).tile_op(tile_size=[128, 128, 128]).layout(mem_space="Sbuf", partition_dim=0)
    knob.fuse(a, b)

`tile_op` takes one tile per iterator of the op producing the tensor, in linalg
iterator order: elementwise = output rank, reduction = input rank, matmul =
[M, N, K], batch matmul = [1, M, N, K]. `layout.tile_size` is the value-shape tile.
Outside tracing (the kernel running as plain NumPy) every call is a no-op, so
kernels stay ordinary functions. Bad values raise `KnobError` at the user's line.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import FuseOp, LayoutOp, MemSpace, TileOp, mem_space_attr, partition_dim_attr
from nkipy_kg.errors import KnobError
from nkipy_kg.frontend import builder as _builder
from nkipy_kg.frontend.locations import user_source_loc
from nkipy_kg.frontend.traced_array import TracedArray

_USER_SPACES = {m.name: m for m in MemSpace if m is not MemSpace.Constant}


def _iteration_space(value: ir.Value) -> tuple[list[int], str]:
    """Extents of the iterators of the op producing `value`, and that op's kind."""
    shape = list(ir.ShapedType(value.type).shape)
    if not isinstance(value, ir.OpResult):
        return shape, "value"
    op = value.owner
    name = op.name
    if name in ("linalg.matmul", "linalg.batch_matmul"):
        k = ir.ShapedType(op.operands[0].type).shape[-1]
        return [*shape, k], "matmul"
    if name == "linalg.generic":
        iterators = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
        if any("reduction" in it for it in iterators):
            return list(ir.ShapedType(op.operands[0].type).shape), "reduction"
    return shape, "elementwise"


def _sizes(sizes: Any, what: str) -> list[int]:
    items = [sizes] if isinstance(sizes, int) else list(sizes) if isinstance(sizes, (list, tuple)) else None
    if items is None or not items or not all(isinstance(s, int) and not isinstance(s, bool) for s in items):
        raise KnobError(f"{what}: tile_size must be an int or a list of ints, got {sizes!r}",
                        user_source_loc(what))
    if any(s <= 0 for s in items):
        raise KnobError(f"{what}: tile sizes must be positive, got {items}", user_source_loc(what))
    return items


class KnobBuilder:
    """Chainable annotations on one traced tensor (a no-op outside tracing)."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self._active = isinstance(target, TracedArray) and _builder.active() is not None
        value = target.knob_target if self._active else None
        if self._active and not isinstance(value, ir.OpResult):
            warnings.warn(f"{user_source_loc('knob')}: knobs on a function argument have no effect; "
                          "annotate the op that consumes it", stacklevel=2)
            self._active = False
        self._value = value

    def tile_op(self, *, tile_size: Sequence[int]) -> KnobBuilder:
        what = "knob.tile_op"
        sizes = _sizes(tile_size, what)
        if not self._active:
            return self
        extents, kind = _iteration_space(self._value)
        if len(sizes) != len(extents):
            order = {"matmul": "[M, N, K]" if len(extents) == 3 else "[1, M, N, K]",
                     "reduction": "one per input dim"}.get(kind, "one per output dim")
            raise KnobError(f"{what}: {kind} op has {len(extents)} iterators ({order}), "
                            f"got {len(sizes)} tile sizes {sizes}", user_source_loc(what))
        for i, (t, e) in enumerate(zip(sizes, extents)):
            if t > e:
                raise KnobError(f"{what}: tile size {t} for iterator {i} is larger than its extent {e}",
                                user_source_loc(what))
        op = TileOp(self._value, loc=_builder.current().loc(what))
        op.attributes["loop_tile_size"] = ir.DenseI64ArrayAttr.get(sizes)
        return self

    def layout(self, *, mem_space: str | MemSpace | None = None, partition_dim: int | None = None,
               tile_size: Sequence[int] | int | None = None) -> KnobBuilder:
        what = "knob.layout"
        attrs: dict[str, ir.Attribute] = {}
        rank = ir.ShapedType(self._value.type).rank if self._active else None
        if mem_space is not None:
            space = mem_space if isinstance(mem_space, MemSpace) else _USER_SPACES.get(str(mem_space))
            if space is None:
                raise KnobError(f"{what}: unknown mem_space {mem_space!r}; use one of "
                                f"{', '.join(_USER_SPACES)}", user_source_loc(what))
            attrs["mem_space"] = None if not self._active else mem_space_attr(space)
        if partition_dim is not None:
            if not isinstance(partition_dim, int) or partition_dim < 0 or (rank is not None and partition_dim >= rank):
                raise KnobError(f"{what}: partition_dim {partition_dim!r} is out of range for a tensor of rank "
                                f"{rank}", user_source_loc(what))
            attrs["partition_dim"] = None if not self._active else partition_dim_attr(partition_dim)
        if tile_size is not None:
            sizes = _sizes(tile_size, what)
            if rank is not None and len(sizes) != rank:
                raise KnobError(f"{what}: tile_size {sizes} has {len(sizes)} entries for a tensor of rank {rank}",
                                user_source_loc(what))
            attrs["tile_size"] = None if not self._active else ir.DenseI64ArrayAttr.get(sizes)
        if not self._active or not attrs:
            return self
        op = LayoutOp(self._value, loc=_builder.current().loc(what))
        for key, attr in attrs.items():
            op.attributes[key] = attr
        return self


def knob(target: Any) -> KnobBuilder:
    """Start annotating `target` (a traced tensor)."""
    return KnobBuilder(target)


def fuse(*tensors: Any) -> None:
    """Ask the compiler to fuse the loops producing `tensors` (at least two, tiled with
    equal outer loops). One may read another where each iteration reads only what the
    same iteration computed (see `knob-driven-fusion`); shapes and dtypes may differ."""
    what = "knob.fuse"
    if len(tensors) < 2:
        raise KnobError(f"{what}: needs at least 2 tensors, got {len(tensors)}", user_source_loc(what))
    if _builder.active() is None or not all(isinstance(t, TracedArray) for t in tensors):
        return
    values = [t.knob_target for t in tensors]
    if not all(isinstance(v, ir.OpResult) for v in values):
        raise KnobError(f"{what}: function arguments cannot be fused", user_source_loc(what))
    loc = _builder.current().loc(what)
    by_type: dict[str, list[ir.Value]] = {}
    for v in values:
        by_type.setdefault(str(v.type), []).append(v)
    if len(by_type) == 1:
        FuseOp(values, loc=loc)
        return
    # IRDL binds one type for all operands of a variadic: one fuse_op per type, tied by `group`.
    group = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), _builder.current().next_fuse_group())
    for same in by_type.values():
        FuseOp(same, loc=loc).operation.attributes["group"] = group
