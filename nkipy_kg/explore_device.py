"""Run an explored kernel on a device for the Run tab: inputs, the device run, NumPy.

    arrays = random_inputs(specs, seed=0)          # when only shapes are known
    view = run_for_exploration(comp, fn, arrays, device=None, compare_numpy=True, source_file=...)

The device comes from the devices API (`nkipy_kg.devices.get_device`); a device
that is unavailable (no Neuron toolchain) raises its `DeviceError` to the caller,
while a failure *during* the run (a simulator error) becomes the Run tab's error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg.driver import Compilation, compile as compile_
from nkipy_kg.errors import NkipyError
from nkipy_kg.explore_run import RunView, failed_run, run_view_of
from nkipy_kg.frontend.tracer import InputSpec
from nkipy_kg.pipeline import PIPELINE


def random_inputs(specs: Sequence[Any], seed: int = 0) -> list[np.ndarray]:
    """Seeded inputs for the given specs: floats ~ N(0, 0.5^2) (exp/div stay tame),
    ints in [-8, 8), bools half true."""
    rng = np.random.default_rng(seed)
    out = []
    for raw in specs:
        spec = InputSpec.of(raw)
        if spec.dtype == np.bool_:
            out.append(rng.random(spec.shape) < 0.5)
        elif dtypes.is_float(spec.dtype):
            out.append((0.5 * rng.standard_normal(spec.shape)).astype(spec.dtype))
        else:
            out.append(rng.integers(-8, 8, size=spec.shape).astype(spec.dtype))
    return out


def numpy_reference(fn: Callable[..., Any], arrays: Sequence[np.ndarray]) -> Any:
    """The plain NumPy result; low-precision inputs are widened to float32 first (the
    compiler accumulates them in float32 too), outputs cast back to the input's dtype."""
    low = [a.dtype in (dtypes.bfloat16, np.dtype(np.float16)) for a in arrays]
    wide = [a.astype(np.float32) if lo else a for a, lo in zip(arrays, low)]
    return fn(*wide)


def device_for(device: Any, target: str) -> Any:
    """The devices-API device (raises DeviceError for an unavailable one)."""
    from nkipy_kg.devices import get_device

    return get_device(device, target=target)


def device_label(device: Any) -> str:
    return device if isinstance(device, str) else getattr(device, "name", "") or "default device"


def _complete(comp: Compilation) -> bool:
    return comp.error is None and len(comp.snapshots) == len(PIPELINE) + 1


def run_for_exploration(comp: Compilation, fn: Callable[..., Any] | None, arrays: Sequence[np.ndarray],
                        dev: Any, compare_numpy: bool = True, source_file: str | None = None,
                        pass_options: dict[str, str] | None = None) -> RunView:
    """Run the fully compiled kernel on `dev` (from `device_for`). When `comp` stopped
    early (stop_after), its traced IR is compiled through the whole pipeline for the run."""
    name = getattr(dev, "name", "") or device_label(dev)
    if comp.error is not None:
        stage = getattr(comp.error, "pass_name", "") or "a pass"
        return failed_run(name, comp.target, f"not run: compilation failed in {stage}")
    if not _complete(comp):
        full = compile_(comp.snapshots[0].ir_with_locations, target=comp.target, raise_on_error=False,
                        kernel_name=comp.kernel, pass_options=pass_options)
        if full.error is not None:
            stage = getattr(full.error, "pass_name", "") or "a pass"
            return failed_run(name, comp.target, f"not run: the full pipeline fails in {stage}:\n{full.error.render()}")
        comp = full
    try:
        result = dev.run(comp, *arrays)
    except NkipyError as err:
        return failed_run(name, comp.target, err.render())
    expected = numpy_reference(fn, arrays) if compare_numpy and fn is not None else None
    return run_view_of(result, expected, source_file)
