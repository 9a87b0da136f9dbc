"""ScalarE activation functions as NumPy (fp32 in, fp32 out), with the hardware's
valid input ranges: `activate(func, x)` is what `nisa.activation` computes after
scale and bias.

The limited-range functions (neuroncore-model.md §2.2) are piecewise polynomials
whose output is invalid outside their range (sin(9.0) is about 27.65 on hardware),
so the simulator returns NaN there: a kernel relying on out-of-range inputs fails
its numeric check instead of silently getting NumPy's exact answer. Compilers
must range-reduce (prepare-arithmetic does, for sin, cos, tan and arctan).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): vectorised, no SciPy needed.
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


# func -> exact NumPy semantics (inside the valid range).
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "copy": lambda x: x, "exp": np.exp, "log": np.log, "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)), "sqrt": np.sqrt,
    "rsqrt": lambda x: 1.0 / np.sqrt(x), "relu": lambda x: np.maximum(x, 0),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0)))),
    "gelu_apprx_tanh": lambda x: 0.5 * x * (1 + np.tanh(np.float32(0.7978845608) * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x / (1.0 + np.exp(-x)), "square": np.square, "sin": np.sin, "abs": np.abs,
    "sign": np.sign, "reciprocal": lambda x: 1.0 / x, "erf": _erf,
    "softplus": lambda x: np.logaddexp(np.float32(0), x), "arctan": np.arctan,
    "gelu_apprx_sigmoid": lambda x: x / (1.0 + np.exp(np.float32(-1.702) * x)),
    "mish": lambda x: x * np.tanh(np.logaddexp(np.float32(0), x)),
}

# Valid input ranges (§2.2; the fp32 roundings of pi and pi/2 count as inside). The
# sqrt, rsqrt and reciprocal ranges ([2^-116, 2^118], [2^-87, 2^97], +-[2^-42, 2^42])
# are not enforced: they exclude 0, which kernels feed sqrt routinely (the std of a
# constant row), and what the hardware returns there is not documented.
ACTIVATION_RANGES: dict[str, tuple[float, float]] = {
    "sin": (-float(np.float32(np.pi)), float(np.float32(np.pi))),
    "arctan": (-float(np.float32(np.pi / 2)), float(np.float32(np.pi / 2))),
    "log": (2.0 ** -64, 2.0 ** 64),
}


def activate(func: str, x: np.ndarray) -> np.ndarray:
    """The activation `func` on fp32 `x`: NaN outside its valid range (if limited)."""
    out = ACTIVATIONS[func](x)  # FP warnings are off for the run (interpreter.py)
    bounds = ACTIVATION_RANGES.get(func)
    if bounds is None:
        return out
    return np.where((x < bounds[0]) | (x > bounds[1]), np.float32(np.nan), out)
