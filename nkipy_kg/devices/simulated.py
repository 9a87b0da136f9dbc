"""`SimulatedNeuronCore`: the default device, the NumPy NeuronCore simulator.

It runs a Compilation's NISA IR with `nkipy_kg.sim.api.simulate` (an `@impl` per
instruction, capacity-limited SBUF/PSUM) and reports the cost model's *modeled*
time; it never pretends to measure anything.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from nkipy_kg._mlir import ir
from nkipy_kg.devices.base import RunResult, pack_outputs
from nkipy_kg.devices.signature import entry_function, prepare_inputs, signature
from nkipy_kg.driver import Compilation
from nkipy_kg.errors import DeviceError
from nkipy_kg.frontend.tracer import InputSpec
from nkipy_kg.pipeline import NISA_STAGE, PIPELINE
from nkipy_kg.sim.api import decode, load_nisa, simulate
from nkipy_kg.sim.interpreter import NisaInterpreter
from nkipy_kg.targets import TARGETS, get_target

_PARSED_MAX = 16  # parsed NISA modules kept per device (parsing a big kernel takes a while)


def nisa_text(compiled: Compilation) -> str:
    """The NISA IR (with source locations) of a finished compilation, or a DeviceError."""
    if compiled.error is not None:
        raise DeviceError(f"{compiled.kernel} did not compile: {compiled.error.message}")
    text = compiled.nisa_ir_with_locations
    if text is None:
        last = compiled.snapshots[-1]
        raise DeviceError(f"{compiled.kernel} stopped after stage {last.index} ({last.name}); a device runs the "
                          f"NISA IR of stage {NISA_STAGE} ({PIPELINE[NISA_STAGE - 1].name})",
                          hint="compile without stop_after")
    return text


@dataclass
class _Loaded:
    """A compilation's parsed NISA, and its decoded entry function once it has run."""

    compiled: Compilation  # kept so the id() key is not reused while cached
    module: ir.Module
    func: str
    specs: list[InputSpec]
    kernel: NisaInterpreter | None = None


class SimulatedNeuronCore:
    """One simulated NeuronCore of `target` ("trn2" or "trn1")."""

    def __init__(self, target: str = "trn2") -> None:
        if target not in TARGETS:
            raise DeviceError(f"unknown target {target!r}; the simulator models: {', '.join(TARGETS)}")
        self.target = get_target(target).name
        self.name = f"SimulatedNeuronCore({self.target})"
        self._parsed: OrderedDict[int, _Loaded] = OrderedDict()

    def __repr__(self) -> str:
        return self.name

    def _load(self, compiled: Compilation) -> _Loaded:
        hit = self._parsed.get(id(compiled))
        if hit is not None and hit.compiled is compiled:
            self._parsed.move_to_end(id(compiled))
            return hit
        module = load_nisa(nisa_text(compiled), filename=compiled.kernel)
        func = entry_function(module, compiled.kernel)
        loaded = self._parsed[id(compiled)] = _Loaded(compiled, module, func, signature(module, func))
        while len(self._parsed) > _PARSED_MAX:
            self._parsed.popitem(last=False)
        return loaded

    def signature(self, compiled: Compilation) -> list[InputSpec]:
        """The (shape, dtype) of each argument the compiled kernel takes."""
        return self._load(compiled).specs

    def run(self, compiled: Compilation, *arrays: Any) -> RunResult:
        """Simulate `compiled` on `arrays`; SimError on an illegal access, DeviceError on bad inputs."""
        if compiled.target != self.target:
            raise DeviceError(f"{compiled.kernel} was compiled for {compiled.target}, this device is {self.name}",
                              hint=f"compile with target={self.target!r}")
        loaded = self._load(compiled)
        inputs = prepare_inputs(loaded.func, loaded.specs, arrays)
        if loaded.kernel is None:  # decoded on the first run, reused by the next ones
            loaded.kernel = decode(loaded.module, self.target, loaded.func)
        result = simulate(loaded.kernel, *inputs)
        profile = result.profile
        time_us = profile.total_ns / 1000.0 if profile is not None else 0.0
        return RunResult(pack_outputs(result.outputs), time_us, "modeled", self.name, profile, compiled)
