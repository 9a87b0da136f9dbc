"""What every device shares: the `RunResult` it returns and the `Device` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from nkipy_kg.driver import Compilation
    from nkipy_kg.sim.cost_model import Profile

TIMING_KINDS = ("modeled", "measured")


@dataclass(frozen=True, eq=False)  # arrays have no single truth value: compare by identity
class RunResult:
    """One run of a compiled kernel on a device.

    `outputs` is one array for a single-result kernel and a tuple for several.
    `time_us` is modeled (the simulator's cost model) or measured (hardware), as
    `timing_kind` says; never compare the two kinds as if they were the same thing.
    """

    outputs: np.ndarray | tuple[np.ndarray, ...]
    time_us: float
    timing_kind: str
    device: str
    profile: Profile | None
    compilation: Compilation

    def __post_init__(self) -> None:
        if self.timing_kind not in TIMING_KINDS:
            raise ValueError(f"timing_kind must be one of {TIMING_KINDS}, got {self.timing_kind!r}")

    def __repr__(self) -> str:
        outs = self.outputs if isinstance(self.outputs, tuple) else (self.outputs,)
        shapes = ", ".join(f"{o.dtype}{list(o.shape)}" for o in outs)
        return (f"<RunResult {self.compilation.kernel} on {self.device}: {self.time_us:.3f} us "
                f"({self.timing_kind}); {shapes}>")


@runtime_checkable
class Device(Protocol):
    """Something that runs a `Compilation` (its NISA IR) on NumPy arrays."""

    name: str
    target: str

    def run(self, compiled: Compilation, *arrays: Any) -> RunResult: ...


def pack_outputs(outputs: list[np.ndarray]) -> np.ndarray | tuple[np.ndarray, ...]:
    """One array for one result, a tuple for several (what the NumPy function returns)."""
    return outputs[0] if len(outputs) == 1 else tuple(outputs)
