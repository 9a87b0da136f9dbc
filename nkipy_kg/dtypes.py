"""Element types: NumPy dtype <-> MLIR type, and the dtype names users may write.

Integers are signless in MLIR and signed in nkipy-kg (NumPy int32/int64); bool is i1.
Result dtypes are never re-derived by hand: the frontend asks NumPy itself (see
`numpy_result_dtype`), so promotion matches NumPy exactly, including ml_dtypes'
bfloat16 rules.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np

from nkipy_kg._mlir import ir

bfloat16 = np.dtype(ml_dtypes.bfloat16)

# The dtypes kernels may use. float64/int64 appear through NumPy promotion
# (int32 / int32 -> float64, sum(int32) -> int64); the device may reject them later.
SUPPORTED: tuple[np.dtype, ...] = tuple(
    np.dtype(d) for d in (np.float32, np.float16, bfloat16, np.int32, np.bool_, np.float64, np.int64, np.int8)
)

_ALIASES: dict[str, np.dtype] = {
    "f32": np.dtype(np.float32), "float32": np.dtype(np.float32),
    "f16": np.dtype(np.float16), "float16": np.dtype(np.float16),
    "bf16": bfloat16, "bfloat16": bfloat16,
    "f64": np.dtype(np.float64), "float64": np.dtype(np.float64),
    "i32": np.dtype(np.int32), "int32": np.dtype(np.int32),
    "i64": np.dtype(np.int64), "int64": np.dtype(np.int64),
    "i8": np.dtype(np.int8), "int8": np.dtype(np.int8),
    "bool": np.dtype(np.bool_), "i1": np.dtype(np.bool_), "bool_": np.dtype(np.bool_),
}


def to_dtype(spec: Any) -> np.dtype:
    """A dtype from a user spelling ("f32", "bfloat16", np.float16, ml_dtypes.bfloat16, ...)."""
    if isinstance(spec, str):
        if spec not in _ALIASES:
            raise ValueError(f"unknown dtype {spec!r}; use one of {', '.join(sorted(_ALIASES))}")
        return _ALIASES[spec]
    dtype = np.dtype(spec)
    if dtype not in SUPPORTED:
        raise ValueError(f"dtype {dtype} is not supported; use one of {', '.join(map(str, SUPPORTED))}")
    return dtype


def short_name(dtype: np.dtype) -> str:
    """The MLIR spelling used in specs and IR: f32, bf16, i32, i1, ..."""
    with ir.Context():  # callers such as repr(InputSpec) run outside any trace's context
        return str(mlir_type(dtype))


def mlir_type(dtype: np.dtype) -> ir.Type:
    """The MLIR element type for `dtype` (needs an active context)."""
    dtype = np.dtype(dtype)
    if dtype == bfloat16:
        return ir.BF16Type.get()
    table: dict[np.dtype, Callable[[], ir.Type]] = {
        np.dtype(np.float32): ir.F32Type.get,
        np.dtype(np.float16): ir.F16Type.get,
        np.dtype(np.float64): ir.F64Type.get,
        np.dtype(np.int32): lambda: ir.IntegerType.get_signless(32),
        np.dtype(np.int64): lambda: ir.IntegerType.get_signless(64),
        np.dtype(np.int8): lambda: ir.IntegerType.get_signless(8),
        np.dtype(np.bool_): lambda: ir.IntegerType.get_signless(1),
    }
    if dtype not in table:
        raise ValueError(f"dtype {dtype} has no MLIR element type in nkipy-kg")
    return table[dtype]()


def from_mlir_type(t: ir.Type) -> np.dtype:
    """The NumPy dtype of an MLIR element type."""
    text = str(t)
    table = {
        "f32": np.float32, "f16": np.float16, "bf16": bfloat16, "f64": np.float64,
        "i32": np.int32, "i64": np.int64, "i8": np.int8, "i1": np.bool_,
    }
    if text not in table:
        raise ValueError(f"MLIR element type {text} has no NumPy dtype in nkipy-kg")
    return np.dtype(table[text])


def is_float(dtype: np.dtype) -> bool:
    return dtype == bfloat16 or np.issubdtype(dtype, np.floating)


def is_bool(dtype: np.dtype) -> bool:
    return dtype == np.bool_


def is_int(dtype: np.dtype) -> bool:
    return np.issubdtype(dtype, np.signedinteger)


def numpy_result_dtype(fn: Callable[..., Any], *stand_ins: Any, **kwargs: Any) -> np.dtype:
    """The dtype NumPy itself gives `fn(*stand_ins, **kwargs)`.

    Callers pass one-element arrays of the operands' dtypes for traced values and
    the original Python/NumPy scalars for scalars, so NumPy's own promotion
    (weak Python scalars, ml_dtypes rules) decides the result type.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(fn(*stand_ins, **kwargs)).dtype


def stand_in(dtype: np.dtype, ndim: int = 1) -> np.ndarray:
    """A tiny array of `dtype` used to ask NumPy for result dtypes."""
    return np.ones((1,) * max(ndim, 1), dtype=dtype)
