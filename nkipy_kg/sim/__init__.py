"""A NumPy simulator of one NeuronCore executing NISA, plus a modeled cost.

    from nkipy_kg.sim import simulate
    result = simulate(module_text, a, b, target="trn2")   # SimResult
    kernel = decode(module_text); simulate(kernel, a, b)  # decode once, run many times
    result.outputs, result.args, result.profile.total_ns
    result.profile.to_perfetto("trace.json")

`interpreter.py` walks the function, `impls.py` is the per-instruction NumPy
semantics (reading and writing tiles through `tile_io.py`), `memory.py` the SBUF/PSUM
allocator, `cost_model.py` the listener that schedules instructions over the engines
with the rates in `costs.py`.
"""

from nkipy_kg.sim.api import decode, load_nisa, simulate
from nkipy_kg.sim.cost_model import CostModel, Profile
from nkipy_kg.sim.interpreter import NisaInterpreter, SimResult

__all__ = ["CostModel", "NisaInterpreter", "Profile", "SimResult", "decode", "load_nisa", "simulate"]
