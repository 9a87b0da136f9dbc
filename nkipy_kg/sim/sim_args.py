"""Binding the caller's NumPy arrays to a NISA function's HBM memref arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nisa_base import mem_space
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.errors import SimError
from nkipy_kg.sim.memory import Tile, hbm_buffer


@dataclass(frozen=True)
class ArgSpec:
    """A memref argument's type, decoded once."""

    shape: list[int]
    dtype: np.dtype
    space: MemSpace | None
    space_text: str

    @staticmethod
    def of(mt: ir.MemRefType) -> ArgSpec:
        return ArgSpec(list(mt.shape), dtypes.from_mlir_type(mt.element_type), mem_space(mt), str(mt.memory_space))


def bind_arg(i: int, spec: ArgSpec | None, value: Any, copy: bool) -> Any:
    """An HBM buffer over `value` (scalars pass through); copied only if the kernel
    writes it: inputs that are only read are used in place, read-only, saving a copy."""
    if spec is None:
        return value
    array = np.asarray(value)
    if list(array.shape) != spec.shape:
        raise SimError(f"argument {i} has shape {list(array.shape)}, the function expects {spec.shape}")
    if array.dtype != spec.dtype:
        raise SimError(f"argument {i} has dtype {array.dtype}, the function expects {spec.dtype}")
    if spec.space not in (MemSpace.Hbm, MemSpace.SharedHbm):
        raise SimError(f"argument {i} must be an HBM memref, got memory space {spec.space_text}")
    if copy:
        array = array.copy()
    else:
        array = np.ascontiguousarray(array).view()
        array.flags.writeable = False  # a write the analysis missed fails loudly
    buf = hbm_buffer(array, f"%arg{i}", spec.space)
    return Tile(buf, buf.data, None, 0)
