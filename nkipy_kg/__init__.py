"""nkipy-kg: a kernel compiler for AWS Trainium, from NumPy to NISA.

    from nkipy_kg import trace, knob
    import numpy as np

    @trace(input_specs=[((256, 256), "f32"), ((256, 256), "f32")])
    def add_exp(a, b):
        c = a + b
        knob.knob(c).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
        return np.exp(c)

    print(add_exp.to_mlir())
"""

from __future__ import annotations

from nkipy_kg import knob
from nkipy_kg.errors import (
    ControlFlowError, DeviceError, IRError, KnobError, NkipyError, PassError, ShapeError, SimError,
    TraceError, UnsupportedError,
)
from nkipy_kg.cpu.verify import VerifyReport, verify_against_numpy
from nkipy_kg.driver import Compilation, Snapshot, apply_complete_knob_pipeline, compile
from nkipy_kg.frontend.control_flow import LoopIndex, fori_loop
from nkipy_kg.frontend.traced_array import TracedArray
from nkipy_kg.frontend.tracer import InputSpec, TracedFunction, trace

__version__ = "0.1.0"

__all__ = [
    "Compilation", "ControlFlowError", "Snapshot", "apply_complete_knob_pipeline", "compile", "DeviceError", "IRError", "InputSpec", "KnobError", "LoopIndex", "NkipyError",
    "PassError", "ShapeError", "SimError", "TraceError", "TracedArray", "TracedFunction",
    "UnsupportedError", "VerifyReport", "fori_loop", "knob", "trace", "verify_against_numpy",
]

