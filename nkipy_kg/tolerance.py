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


def numpy_error_budget(got: np.ndarray, exact: np.ndarray, numpy_in_dtype: np.ndarray,
                       factor: float = 1.5) -> tuple[bool, str]:
    """Is `got` at least about as accurate as NumPy itself in the kernel's dtype?

    Whole kernels in low precision (a bf16 transformer layer) or long fp32 reductions
    amplify rounding beyond any elementwise tolerance; NumPy run in the same dtype
    (`numpy_in_dtype`) shows how much. `got` passes when its max and RMS errors
    against the float64 answer `exact` are within `factor` x NumPy's own. Returns
    (passed, a one-line summary of both errors).
    """
    exact = np.asarray(exact, np.float64)
    err = np.abs(np.asarray(got, np.float64) - exact)
    ref = np.abs(np.asarray(numpy_in_dtype, np.float64) - exact)
    ours, theirs = (float(err.max()), float(np.sqrt(np.mean(err ** 2)))), \
        (float(ref.max()), float(np.sqrt(np.mean(ref ** 2))))
    passed = all(o <= factor * t for o, t in zip(ours, theirs))
    return passed, (f"max/rms error vs float64: ours {ours[0]:.3g}/{ours[1]:.3g}, "
                    f"NumPy in the same dtype {theirs[0]:.3g}/{theirs[1]:.3g} (allowed x{factor})")
