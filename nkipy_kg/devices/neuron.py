"""`NeuronDevice`: run a compiled kernel on a real NeuronCore and *measure* its time.

Without `neuronx-cc`, the NKI package, the `nkipy` runtime and a `/dev/neuron*`
device, constructing it (or `device="neuron"`) raises a DeviceError listing exactly
what is missing. There is no fallback and no fake hardware path.

The hardware path follows the reference compiler's (research notes: nkigen-digest
§1.1/§4, neuroncore-model §5) and is NOT exercised by this repository's tests, which
run on machines without Trainium:
 1. bridge our NISA text to the wheel's dialect: integer memory spaces become
    `#nisa.mem<...>`, functions get `nki.output_names`; parse it in an NKI context
    (`register_all_dialects`);
 2. `nki.compiler.ncc_driver.compile_mlir_to_neff` (neuronx-cc) writes a NEFF;
 3. Spike (`nkipy.runtime.DeviceKernel`/`DeviceTensor`, over libnrt) loads and runs it
    with inputs `in_tensor_{i}`; `benchmark(mode="device")` gives the on-device
    NeuronCore execution time from the device clock.
Any failure of the toolchain becomes a DeviceError carrying its message.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from nkipy_kg.devices.base import RunResult, pack_outputs
from nkipy_kg.devices.neuron_toolchain import INSTALL_HINT, ToolchainStatus, probe, unavailable_message
from nkipy_kg.devices.signature import entry_function, prepare_inputs, signature
from nkipy_kg.devices.simulated import nisa_text
from nkipy_kg.driver import Compilation
from nkipy_kg.errors import DeviceError
from nkipy_kg.sim.api import load_nisa
from nkipy_kg.targets import TARGETS

_SPACES = {1: "hbm", 2: "psum", 3: "sbuf", 4: "shared_hbm"}
_SPACE = re.compile(r", ([1-4]) : i32>")


def to_nki_text(text: str) -> str:
    """Our NISA text with the wheel's memory-space attributes (nkigen-digest §4.1 step 3)."""
    return _SPACE.sub(lambda m: f", #nisa.mem<{_SPACES[int(m.group(1))]}>>", text)


class NeuronDevice:
    """One NeuronCore of the Trainium machine this process runs on."""

    timing_iterations = 10  # timed runs after 5 warm-ups (Spike's defaults, neuroncore-model §5)

    def __init__(self, target: str = "trn2", status: ToolchainStatus | None = None) -> None:
        if target not in TARGETS:
            raise DeviceError(f"unknown target {target!r}; known targets: {', '.join(TARGETS)}")
        self.target = target
        self.name = f"NeuronDevice({target})"
        self.status = status or probe()
        self._require()
        self._neffs: dict[int, tuple[Compilation, Path, str]] = {}

    def __repr__(self) -> str:
        return self.name

    def _require(self) -> None:
        if not self.status.available:
            raise DeviceError(unavailable_message(self.name, self.status), hint=INSTALL_HINT)

    def run(self, compiled: Compilation, *arrays: Any) -> RunResult:
        """Compile `compiled`'s NISA IR to a NEFF (once), run it and measure device time."""
        self._require()
        if compiled.target != self.target:
            raise DeviceError(f"{compiled.kernel} was compiled for {compiled.target}, this device is {self.name}",
                              hint=f"compile with target={self.target!r}")
        module = load_nisa(nisa_text(compiled), filename=compiled.kernel)
        func = entry_function(module, compiled.kernel)
        inputs = prepare_inputs(func, signature(module, func), arrays)
        neff = self._neff(compiled, func)
        try:
            outputs, time_us = _execute(neff, func, inputs, self.timing_iterations)
        except DeviceError:
            raise
        except Exception as exc:  # noqa: BLE001 - the runtime's errors, reported as ours
            raise DeviceError(f"running {neff} on {self.name} failed: {type(exc).__name__}: {exc}") from None
        return RunResult(pack_outputs(outputs), time_us, "measured", self.name, None, compiled)

    def _neff(self, compiled: Compilation, func: str) -> Path:
        hit = self._neffs.get(id(compiled))
        if hit is not None and hit[0] is compiled:
            return hit[1]
        workdir = Path(tempfile.mkdtemp(prefix=f"nkipy_kg_{func}_"))
        try:
            neff = _compile_neff(nisa_text(compiled), func, self.target, workdir)
        except Exception as exc:  # noqa: BLE001 - neuronx-cc's errors, reported as ours
            raise DeviceError(f"neuronx-cc could not compile {func} for {self.target}: {type(exc).__name__}: "
                              f"{exc}", hint=f"artifacts in {workdir}") from None
        self._neffs[id(compiled)] = (compiled, neff, func)
        return neff


def _compile_neff(text: str, func: str, target: str, workdir: Path) -> Path:
    """NISA text -> NEFF with the NKI wheel (imports only on this path)."""
    from nki.compiler import ncc_driver  # type: ignore[import-not-found]
    from nki.compiler._internal import ir as nki_ir  # type: ignore[import-not-found]
    from nki.compiler._internal import register_all_dialects  # type: ignore[import-not-found]

    source = workdir / f"{func}.nisa.mlir"
    source.write_text(to_nki_text(text))
    output = workdir / f"{func}.neff"
    with nki_ir.Context() as ctx:
        register_all_dialects(ctx)
        ctx.allow_unregistered_dialects = True
        module = nki_ir.Module.parse(source.read_text())
        for op in module.body.operations:
            if op.operation.name == "func.func" and "nki.output_names" not in op.attributes:
                n = len(op.type.results)
                names = ["output"] if n == 1 else [f"output_{i}" for i in range(n)]
                op.attributes["nki.output_names"] = nki_ir.ArrayAttr.get([nki_ir.StringAttr.get(s) for s in names])
        options = ncc_driver.CompileOptions(target=target, verbose=False, output_path=str(output),
                                            neuronx_cc_args=("--lnc=1",), artifacts_dir=str(workdir))
        ncc_driver.compile_mlir_to_neff(module, func, options)
    if not output.exists():
        raise DeviceError(f"neuronx-cc reported success but wrote no NEFF at {output}")
    return output


def _execute(neff: Path, func: str, inputs: list[Any], iterations: int) -> tuple[list[Any], float]:
    """Load the NEFF with Spike, run it once for the outputs, then time it on the device clock."""
    from nkipy.runtime.device_kernel import DeviceKernel  # type: ignore[import-not-found]
    from nkipy.runtime.device_tensor import DeviceTensor  # type: ignore[import-not-found]

    kernel = DeviceKernel.load_from_neff(str(neff), name=func)
    tensors = {f"in_tensor_{i}": DeviceTensor.from_numpy(a) for i, a in enumerate(inputs)}
    outputs = {t.name: t for t in kernel.allocate_output_tensors()}
    kernel(inputs=tensors, outputs=outputs)
    result = [outputs[name].numpy() for name in sorted(outputs, key=_output_order)]
    stats = kernel.benchmark(inputs=tensors, outputs=outputs, warmup_iter=5, benchmark_iter=iterations,
                             mode="device")
    mean_ms = stats["mean_ms"] if isinstance(stats, dict) else stats.mean_ms
    return result, float(mean_ms) * 1000.0


def _output_order(name: str) -> int:
    tail = name.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 0
