"""Detecting the Neuron toolchain and hardware, and saying exactly what is missing.

Nothing here is ever faked: each check looks at the real machine (PATH, importable
packages, device nodes). Tests substitute a `ToolchainStatus` to check the wording.
"""

from __future__ import annotations

import glob
import importlib.util
import shutil
from dataclasses import dataclass

NEURON_PIP_INDEX = "https://pip.repos.neuron.amazonaws.com"
INSTALL_HINT = (f"on a Trainium instance (trn1/trn2) with the Neuron driver (aws-neuronx-dkms) installed: "
                f"pip install 'neuronx-cc>=2' 'nki>=0.1' --extra-index-url {NEURON_PIP_INDEX} "
                f"(neuronx-cc and nki come from the Neuron pip index; PyPI only has placeholders); "
                f"or run on the simulator: device='sim' (modeled timing)")


def _has_module(name: str) -> bool:
    """`importlib.util.find_spec` without importing the package (a parent that is
    missing raises instead of returning None for dotted names)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class ToolchainStatus:
    """What the Neuron path needs, as found on this machine (None / () = not found)."""

    neuronx_cc: str | None           # path of the `neuronx-cc` executable
    nki_package: str | None          # "nki" or "neuronxcc" (whichever imports)
    runtime_package: str | None      # "nkipy.runtime" (Spike, loads and runs a NEFF)
    devices: tuple[str, ...]         # /dev/neuron* nodes

    def missing(self) -> list[str]:
        """One line per missing piece, naming it and where it comes from."""
        out = []
        if self.neuronx_cc is None:
            out.append("the `neuronx-cc` compiler is not on PATH (Neuron pip package `neuronx-cc`)")
        if self.nki_package is None:
            out.append("the NKI Python package: neither `nki` nor `neuronxcc` is importable "
                       "(Neuron pip packages `nki` / `neuronx-cc`)")
        if self.runtime_package is None:
            out.append("the NEFF runtime `nkipy.runtime` is not importable (install nkipy and its Spike runtime "
                       "from https://github.com/aws-neuron/nkipy; PyPI's `nkipy` is a placeholder)")
        if not self.devices:
            out.append("no Neuron device: /dev/neuron* does not exist (not a Trainium instance, or the "
                       "Neuron driver aws-neuronx-dkms is not loaded)")
        return out

    @property
    def available(self) -> bool:
        return not self.missing()


def probe() -> ToolchainStatus:
    """Look at this machine."""
    nki = next((name for name in ("nki", "neuronxcc") if _has_module(name)), None)
    runtime = "nkipy.runtime" if _has_module("nkipy") and _has_module("nkipy.runtime") else None
    return ToolchainStatus(neuronx_cc=shutil.which("neuronx-cc"), nki_package=nki, runtime_package=runtime,
                           devices=tuple(sorted(glob.glob("/dev/neuron*"))))


def unavailable_message(device: str, status: ToolchainStatus) -> str:
    lines = "\n".join(f"  - {m}" for m in status.missing())
    return f"{device} cannot run here; missing:\n{lines}"
