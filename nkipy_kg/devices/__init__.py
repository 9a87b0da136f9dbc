"""Devices: run a compiled kernel and get its outputs and time.

    import nkipy_kg
    r = nkipy_kg.run(softmax, x)                  # trace + compile (cached) + simulate
    r.outputs, r.time_us, r.timing_kind           # (array, 12.3, "modeled")
    r.profile.to_perfetto("softmax.json")         # engine timeline for ui.perfetto.dev
    nkipy_kg.run(softmax, x, target="trn1")       # another simulated NeuronCore
    nkipy_kg.run(softmax, x, device="neuron")     # real hardware, or a DeviceError naming what is missing

`SimulatedNeuronCore` (the default) reports *modeled* time; `NeuronDevice` reports
*measured* time and exists only where the Neuron toolchain and a device do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nkipy_kg.devices.base import RunResult, Device
from nkipy_kg.devices.cache import CacheInfo, CompileCache
from nkipy_kg.devices.neuron import NeuronDevice
from nkipy_kg.devices.neuron_toolchain import ToolchainStatus, probe
from nkipy_kg.devices.simulated import SimulatedNeuronCore
from nkipy_kg.errors import DeviceError, NkipyError

__all__ = [
    "CacheInfo", "CompileCache", "Device", "DeviceError", "NeuronDevice", "RunResult", "SimulatedNeuronCore",
    "ToolchainStatus", "cache_info", "clear_cache", "get_device", "probe", "run",
]

SIMULATOR_NAMES = ("sim", "simulator", "simulated")
NEURON_NAMES = ("neuron", "hardware", "hw")

_CACHE = CompileCache()
_SIMULATORS: dict[str, SimulatedNeuronCore] = {}


def get_device(device: str | Device | None = None, target: str = "trn2") -> Device:
    """None / "sim" / "simulator" -> SimulatedNeuronCore(target); "neuron" -> NeuronDevice(target)
    (DeviceError if this machine lacks the toolchain or a device); a Device is returned as is."""
    if device is None or (isinstance(device, str) and device.lower() in SIMULATOR_NAMES):
        if target not in _SIMULATORS:  # one per target: it keeps parsed NISA modules between runs
            _SIMULATORS[target] = SimulatedNeuronCore(target)
        return _SIMULATORS[target]
    if isinstance(device, str):
        if device.lower() in NEURON_NAMES:
            return NeuronDevice(target)
        raise DeviceError(f"unknown device {device!r}; use one of: {', '.join(SIMULATOR_NAMES + NEURON_NAMES)}, "
                          f"or a Device instance")
    if not isinstance(device, Device):
        raise DeviceError(f"device must be a name or a Device (with .name, .target and .run), got "
                          f"{type(device).__name__}")
    return device


def run(fn: Callable[..., Any], *arrays: Any, device: str | Device | None = None,
        target: str | None = None) -> RunResult:
    """Trace `fn` (a plain NumPy function or a TracedFunction) with specs from `arrays`,
    compile it for the device's target (cached per function, specs and target) and run it.

    `target` picks the simulated/hardware core ("trn2" by default); a Device instance
    carries its own target, and a different explicit `target` is a DeviceError.
    """
    from nkipy_kg.driver import compile as compile_
    from nkipy_kg.frontend.tracer import TracedFunction, trace

    dev = get_device(device, target or "trn2")
    if target is not None and dev.target != target:
        raise DeviceError(f"target={target!r} but the device {dev.name} is {dev.target}")
    if not callable(fn):
        raise DeviceError(f"run() takes a function (plain NumPy or @trace), got {type(fn).__name__}")
    traced = fn if isinstance(fn, TracedFunction) else trace(fn)
    values = [np.asarray(a) for a in arrays]
    try:
        specs = traced.specs_for(values)
        comp = _CACHE.get_or_compile(fn, specs, dev.target,
                                     lambda: compile_(traced, target=dev.target, specs=specs))
        return dev.run(comp, *values)
    except NkipyError as err:
        raise err.with_traceback(None) from None


def cache_info() -> CacheInfo:
    """Hits, misses and size of `run`'s compilation cache."""
    return _CACHE.info()


def clear_cache() -> None:
    _CACHE.clear()
