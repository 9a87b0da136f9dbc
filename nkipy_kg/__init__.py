"""nkipy-kg: a kernel compiler for AWS Trainium, from NumPy to NISA.

    from nkipy_kg import trace, knob
    import numpy as np

    @trace(input_specs=[((256, 256), "f32"), ((256, 256), "f32")])
    def add_exp(a, b):
        c = a + b
        knob.knob(c).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
        return np.exp(c)

    print(add_exp.to_mlir())
    a = np.ones((256, 256), np.float32)
    r = add_exp.run(a, a)         # or nkipy_kg.run(plain_numpy_fn, a, a): on the simulated NeuronCore
    print(r.outputs, r.time_us, r.timing_kind)   # ..., modeled microseconds, "modeled"
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
from nkipy_kg.frontend.custom_op import CustomOp
from nkipy_kg.frontend.traced_array import TracedArray
from nkipy_kg.frontend.tracer import InputSpec, TracedFunction, trace
from nkipy_kg import devices
from nkipy_kg.devices import RunResult, run

__version__ = "0.1.0"

__all__ = [
    "apply_complete_knob_pipeline", "Compilation", "compile", "ControlFlowError", "CustomOp", "DeviceError", "devices",
    "fori_loop", "InputSpec", "IRError", "knob", "KnobError", "LoopIndex", "NkipyError", "PassError", "run",
    "RunResult", "ShapeError", "SimError", "Snapshot", "trace", "TracedArray", "TracedFunction", "TraceError",
    "UnsupportedError", "verify_against_numpy", "VerifyReport",
]

