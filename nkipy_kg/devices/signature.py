"""A compiled kernel's argument signature, and checking user arrays against it.

The signature is read from the NISA function itself (its memref arguments), so
what is checked is exactly what the device will bind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import ir
from nkipy_kg.errors import DeviceError
from nkipy_kg.frontend.tracer import InputSpec


def entry_function(module: ir.Module, name: str | None = None) -> str:
    """The function a device runs: the one called `name`, else the first with a body."""
    defined = [op.operation for op in module.body.operations
               if op.operation.name == "func.func" and len(op.operation.regions[0].blocks) > 0]
    names = [ir.StringAttr(f.attributes["sym_name"]).value for f in defined]
    if not names:
        raise DeviceError("the compiled module has no function to run")
    return name if name in names else names[0]


def signature(module: ir.Module, name: str) -> list[InputSpec]:
    """(shape, dtype) of each argument of function `name`."""
    func = next(op.operation for op in module.body.operations if op.operation.name == "func.func"
                and ir.StringAttr(op.operation.attributes["sym_name"]).value == name)
    with module.context:
        specs = []
        for arg in func.regions[0].blocks[0].arguments:
            if not isinstance(arg.type, ir.MemRefType):
                raise DeviceError(f"argument of type {arg.type} is not an array; devices take arrays only")
            mt = ir.MemRefType(arg.type)
            specs.append(InputSpec(tuple(mt.shape), dtypes.from_mlir_type(mt.element_type)))
        return specs


def describe(kernel: str, specs: Sequence[InputSpec]) -> str:
    return f"{kernel}({', '.join(map(str, specs))})"


def _kind(dtype: np.dtype) -> str:
    if dtype == dtypes.bfloat16 or np.issubdtype(dtype, np.floating):
        return "float"
    if dtype == np.bool_:
        return "bool"
    return "int" if np.issubdtype(dtype, np.integer) else "other"


def prepare_inputs(kernel: str, specs: Sequence[InputSpec], arrays: Sequence[Any]) -> list[np.ndarray]:
    """The arrays as the kernel takes them: same shapes; dtypes cast within a kind
    (float64 -> f32, f32 -> bf16, int64 -> i32); anything else is a DeviceError
    naming the compiled signature."""
    want = describe(kernel, specs)
    if len(arrays) != len(specs):
        raise DeviceError(f"{kernel} takes {len(specs)} array(s), got {len(arrays)}; compiled signature: {want}")
    out = []
    for i, (spec, value) in enumerate(zip(specs, arrays)):
        array = np.asarray(value)
        if tuple(array.shape) != spec.shape:
            raise DeviceError(f"argument {i} of {kernel} has shape {tuple(array.shape)}, the compiled kernel "
                              f"expects {spec.shape}; compiled signature: {want}",
                              hint="recompile for these shapes (nkipy_kg.run traces from the arrays you pass)")
        if array.dtype != spec.dtype:
            if _kind(array.dtype) != _kind(spec.dtype):
                raise DeviceError(f"argument {i} of {kernel} has dtype {array.dtype}, the compiled kernel expects "
                                  f"{dtypes.short_name(spec.dtype)}; compiled signature: {want}",
                                  hint=f"pass .astype({str(spec.dtype)!r}) or recompile for {array.dtype}")
            array = array.astype(spec.dtype)
        out.append(np.ascontiguousarray(array))
    return out
