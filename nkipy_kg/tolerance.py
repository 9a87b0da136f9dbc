"""Per-dtype comparison tolerances against NumPy (data, used by every numeric check).

float32 results differ from NumPy's in accumulation order and in libm vs NumPy's
SIMD transcendental functions (a few ulp); low-precision floats round after every
op, so their tolerances follow their epsilons (fp16 2^-10, bf16 2^-7).
"""

from __future__ import annotations

import numpy as np

from nkipy_kg import dtypes

# dtype name -> (rtol, atol)
TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-10, 1e-12),
    "float32": (2e-5, 1e-5),
    "float16": (4e-3, 4e-3),
    "bfloat16": (3e-2, 3e-2),
    "int64": (0.0, 0.0),
    "int32": (0.0, 0.0),
    "int8": (0.0, 0.0),
    "bool": (0.0, 0.0),
}


def for_dtype(dtype: np.dtype) -> tuple[float, float]:
    name = "bfloat16" if np.dtype(dtype) == dtypes.bfloat16 else np.dtype(dtype).name
    return TOLERANCES.get(name, (1e-5, 1e-6))
