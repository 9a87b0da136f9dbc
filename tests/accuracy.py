"""One accuracy check for simulated kernels: elementwise within the dtype's tolerance,
or, where rounding accumulates (long reductions, whole bf16 layers), no less
accurate than NumPy itself in the kernel's dtype (`tolerance.numpy_error_budget`)."""

from __future__ import annotations

import numpy as np

from nkipy_kg.tolerance import numpy_error_budget


def assert_accurate(got: np.ndarray, exact: np.ndarray, numpy_in_dtype: np.ndarray,
                    rtol: float, atol: float) -> None:
    got, exact = np.asarray(got, np.float64), np.asarray(exact, np.float64)
    assert got.shape == exact.shape
    if np.allclose(got, exact, rtol=rtol, atol=atol):
        return
    passed, summary = numpy_error_budget(got, exact, numpy_in_dtype)
    assert passed, f"outside rtol={rtol}, atol={atol} and less accurate than NumPy: {summary}"
