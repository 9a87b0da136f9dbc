"""The calling convention between NumPy and a JIT-compiled kernel.

A kernel is a `func.func` on statically shaped ranked tensors or memrefs (IR from
after bufferization). After lowering, every argument and then every result (as a
caller-allocated, dense out-parameter) is passed as a pointer to an MLIR memref
descriptor (`llvm.emit_c_interface`). Tensor arguments are read-only, so the
caller's arrays are passed as they are; a memref argument may be written in place
and may have a strided layout, so it gets a fresh buffer with exactly that layout
(dynamic strides and offsets become dense row-major, offset 0).
This module maps MLIR element types to NumPy dtypes, reads a function's
signature, checks and converts the caller's arrays, and builds the descriptors.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import ml_dtypes
import numpy as np

from nkipy_kg._mlir import ir
from nkipy_kg.errors import IRError

# MLIR element type (as printed) -> NumPy dtype. Unsigned/signed-explicit integer
# types are absent on purpose: arith only computes on signless integers.
_DTYPES: dict[str, np.dtype] = {
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(ml_dtypes.bfloat16),
    "f32": np.dtype(np.float32),
    "f64": np.dtype(np.float64),
    "i1": np.dtype(np.bool_),
    "i8": np.dtype(np.int8),
    "i16": np.dtype(np.int16),
    "i32": np.dtype(np.int32),
    "i64": np.dtype(np.int64),
}


class KernelArgumentError(IRError):
    """Arrays passed to a compiled kernel do not fit its signature."""

    kind = "kernel argument error"


@dataclass(frozen=True)
class TensorSpec:
    """Shape and dtype of one function argument or result."""

    shape: tuple[int, ...]
    dtype: np.dtype
    mlir_type: str
    memref: bool = False            # a memref argument gets a fresh buffer with this layout:
    strides: tuple[int, ...] = ()   # in elements; empty: dense row-major
    offset: int = 0                 # in elements

    def __str__(self) -> str:
        return self.mlir_type


@dataclass(frozen=True)
class Signature:
    name: str
    args: tuple[TensorSpec, ...]
    results: tuple[TensorSpec, ...]


def tensor_spec(ty: ir.Type, what: str) -> TensorSpec:
    """The spec of a statically shaped ranked tensor or memref type, or IRError naming `what`."""
    if not isinstance(ty, (ir.RankedTensorType, ir.MemRefType)):
        raise IRError(f"{what} has type {ty}; the CPU JIT only passes ranked tensors and memrefs")
    shaped = ir.ShapedType(ty)
    if not shaped.has_static_shape:
        raise IRError(f"{what} has type {ty}; the CPU JIT needs static shapes")
    element = str(shaped.element_type)
    if element not in _DTYPES:
        supported = ", ".join(_DTYPES)
        raise IRError(f"{what} has element type {element}; supported: {supported}")
    spec = TensorSpec(tuple(shaped.shape), _DTYPES[element], str(ty))
    if not isinstance(ty, ir.MemRefType):
        return spec
    strides, offset = _memref_layout(ir.MemRefType(ty), what)
    return TensorSpec(spec.shape, spec.dtype, spec.mlir_type, True, strides, offset)


def _memref_layout(ty: ir.MemRefType, what: str) -> tuple[tuple[int, ...], int]:
    """Element strides and offset honouring every static entry of the layout.

    Dynamic strides are laid out row-major *outside* the span of the static ones,
    so the buffer never overlaps itself (`strided<[?, ?], offset: ?>` is dense).
    """
    try:
        strides, offset = ty.get_strides_and_offset()
    except Exception:  # noqa: BLE001 - the bindings raise a bare error for non-strided maps
        raise IRError(f"{what} has type {ty}; the CPU JIT only passes strided layouts") from None
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    shape = list(ty.shape)
    if any(s != dynamic and s < 0 for s in strides):
        raise IRError(f"{what} has type {ty}; negative strides are not supported")
    unit = 1 + sum((n - 1) * s for n, s in zip(shape, strides) if s != dynamic)
    resolved = list(strides)
    for i in reversed(range(len(shape))):
        if strides[i] == dynamic:
            resolved[i] = unit
            unit *= max(shape[i], 1)
    return tuple(resolved), 0 if offset == dynamic else offset


def read_signature(func_op: ir.Operation) -> Signature:
    """The signature of a `func.func` as written (before bufferization or lowering changes it)."""
    name = ir.StringAttr(func_op.attributes["sym_name"]).value
    fn_type = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
    args = tuple(tensor_spec(t, f"argument #{i} of @{name}") for i, t in enumerate(fn_type.inputs))
    results = tuple(tensor_spec(t, f"result #{i} of @{name}") for i, t in enumerate(fn_type.results))
    return Signature(name, args, results)


def convert_inputs(sig: Signature, arrays: Sequence[object]) -> list[np.ndarray]:
    """C-contiguous arrays of the exact argument dtypes, or KernelArgumentError.

    Casts within a kind (float64 -> float32, int64 -> int32, bool -> int) are
    allowed so NumPy's default dtypes work; casts across kinds (float -> int,
    int -> bool) are refused because they silently change values.
    """
    if len(arrays) != len(sig.args):
        raise KernelArgumentError(f"@{sig.name} takes {len(sig.args)} arrays, got {len(arrays)}")
    out = []
    for i, (value, spec) in enumerate(zip(arrays, sig.args)):
        array = np.asarray(value)
        if array.shape != spec.shape:
            raise KernelArgumentError(
                f"argument #{i} of @{sig.name} has shape {array.shape}, expected {spec.shape} ({spec})"
            )
        if not np.can_cast(array.dtype, spec.dtype, casting="same_kind"):
            raise KernelArgumentError(
                f"argument #{i} of @{sig.name} has dtype {array.dtype}, expected {spec.dtype} ({spec})"
            )
        out.append(_fresh_buffer(spec, array) if spec.memref else np.ascontiguousarray(array, dtype=spec.dtype))
    return out


def _fresh_buffer(spec: TensorSpec, array: np.ndarray) -> np.ndarray:
    """A copy of `array` in a new allocation, laid out with `spec.strides` after `spec.offset`.

    The view keeps its base (which starts `spec.offset` elements earlier) alive.
    """
    extent = 1 + sum((n - 1) * s for n, s in zip(spec.shape, spec.strides)) if all(spec.shape) else 0
    base = np.zeros(spec.offset + max(extent, 1), spec.dtype)
    itemsize = spec.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(base[spec.offset:], spec.shape, [s * itemsize for s in spec.strides])
    view[...] = array
    return view


def allocate_results(sig: Signature) -> list[np.ndarray]:
    """Zeroed output arrays: deterministic even where a kernel leaves elements unwritten."""
    return [np.zeros(spec.shape, spec.dtype) for spec in sig.results]


def descriptor_pointers(arrays: Sequence[np.ndarray], offsets: Sequence[int] = ()) -> list[ctypes._Pointer]:
    """`T**` per array, as the packed `_mlir_ciface_` entry point expects.

    `offsets[i]` (default 0) is the memref offset, in elements, at which `arrays[i]`
    starts inside its allocation. The descriptors hold raw pointers into the arrays:
    the caller keeps the arrays alive until the call returns.
    """
    offsets = list(offsets) + [0] * (len(arrays) - len(offsets))
    return [ctypes.pointer(ctypes.pointer(_descriptor(a, o))) for a, o in zip(arrays, offsets)]


def _descriptor(array: np.ndarray, offset: int = 0) -> ctypes.Structure:
    # The bindings' get_ranked_memref_descriptor defines a new ctypes class on every
    # call (~20 us each); the layout only depends on the rank, so build it once.
    desc = descriptor_class(array.ndim)()
    desc.allocated = desc.aligned = array.ctypes.data - offset * array.itemsize
    desc.offset = offset
    if array.ndim:
        desc.shape[:] = array.shape
        # NumPy strides are in bytes, memref strides in elements.
        desc.strides[:] = [s // array.itemsize for s in array.strides]
    return desc


@functools.cache
def descriptor_class(rank: int) -> type[ctypes.Structure]:
    """`{T* allocated, T* aligned, i64 offset, i64 shape[rank], i64 strides[rank]}`.

    The element pointers are untyped: only the layout matters to the callee.
    """
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p), ("offset", ctypes.c_int64)]
    if rank:
        fields += [("shape", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})
