"""`nkipy_kg.devices`: run kernels on the simulated NeuronCore (and the hardware
device's honest refusal where there is no hardware), one-call `nkipy_kg.run`, the
compilation cache, input checking and the profile export."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg import devices, driver, dtypes, knob
from nkipy_kg.devices import (
    Device, DeviceError, NeuronDevice, RunResult, SimulatedNeuronCore, ToolchainStatus, get_device, probe,
)
from nkipy_kg.errors import NkipyError, PassError, SimError, TraceError
from nkipy_kg.kernels import CATALOGUE, REFERENCE_SUITE
from nkipy_kg.tolerance import for_dtype

LOWERING = ["add", "exp", "matmul", "row_sum", "softmax", "rmsnorm", "rope", "silu_ffn"]
DTYPES = [pytest.param(np.dtype(np.float32), id="f32"), pytest.param(dtypes.bfloat16, id="bf16")]
# (kernel, dtype) pairs the pipeline cannot compile yet: (exception, first error line).
GAPS: dict[tuple[str, str], tuple[type, str]] = {}


def _close(got: np.ndarray, want: np.ndarray, dtype: np.dtype) -> None:
    rtol, atol = for_dtype(dtype)
    want = np.asarray(want, np.float32)  # atol scales with the result's magnitude, as in test_e2e_simulate
    np.testing.assert_allclose(np.asarray(got, np.float32), want, rtol=rtol,
                               atol=atol * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", LOWERING)
def test_catalogue_kernel_runs_on_the_simulator(name: str, dtype: np.dtype, request) -> None:
    if (name, dtype.name) in GAPS:
        exc, reason = GAPS[name, dtype.name]
        request.applymarker(pytest.mark.xfail(raises=exc, strict=True, reason=reason))
    case = CATALOGUE[name]
    inputs = case.inputs(dtype=dtype)
    result = nkipy_kg.run(case.fn, *inputs)
    assert isinstance(result, RunResult) and isinstance(result.outputs, np.ndarray)
    assert result.outputs.dtype == np.asarray(case.fn(*inputs)).dtype
    _close(result.outputs, case.fn(*[x.astype(np.float32) for x in inputs]), dtype)
    assert result.timing_kind == "modeled" and result.device == "SimulatedNeuronCore(trn2)"
    assert result.time_us > 0 and result.time_us == pytest.approx(result.profile.total_ns / 1000)
    assert result.compilation.target == "trn2" and result.compilation.nisa_ir is not None
    assert "modeled" in repr(result) and name in repr(result)


def two_results(a, b):
    return a + b, np.exp(a) * b


def test_several_results_come_back_as_a_tuple() -> None:
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((256, 256)).astype(np.float32) for _ in range(2))
    result = nkipy_kg.run(two_results, a, b)
    assert isinstance(result.outputs, tuple) and len(result.outputs) == 2
    for got, want in zip(result.outputs, two_results(a, b)):
        _close(got, want, np.dtype(np.float32))


def test_a_reference_compiler_kernel_with_knobs_runs_unchanged() -> None:
    for name in ("three_outputs", "softmax_128x256"):
        case = REFERENCE_SUITE[name]
        inputs = case.inputs()
        expected = case.fn(*inputs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        result = nkipy_kg.run(case.fn, *inputs)
        got = result.outputs if isinstance(result.outputs, tuple) else (result.outputs,)
        assert len(got) == len(expected) == (3 if name == "three_outputs" else 1)
        for g, want in zip(got, expected):
            _close(g, want, np.dtype(np.float32))


def test_second_run_reuses_the_compilation(monkeypatch) -> None:
    compiles = []
    real = driver.compile
    monkeypatch.setattr(driver, "compile", lambda *a, **k: compiles.append(1) or real(*a, **k))

    def scaled_exp(x):  # a fresh function object: its own cache entries
        return np.exp(x) * 2.0

    x = np.random.default_rng(2).standard_normal((128, 256)).astype(np.float32)
    before = devices.cache_info()
    first = nkipy_kg.run(scaled_exp, x)
    second = nkipy_kg.run(scaled_exp, x + 1.0)
    assert len(compiles) == 1 and second.compilation is first.compilation
    info = devices.cache_info()
    assert (info.misses - before.misses, info.hits - before.hits) == (1, 1)
    _close(second.outputs, scaled_exp(x + 1.0), np.dtype(np.float32))
    nkipy_kg.run(scaled_exp, np.ones((256, 256), np.float32))  # new shape: new compilation
    nkipy_kg.run(scaled_exp, x, target="trn1")  # new target: new compilation
    assert len(compiles) == 3


def test_the_device_decodes_a_kernel_once_and_each_run_starts_afresh(monkeypatch) -> None:
    """The second run reuses the decoded kernel and matches a fresh decode bit for bit
    and in modeled time (no SBUF/PSUM state or cost-model state carries over)."""
    from nkipy_kg.devices import simulated
    decodes = []
    real = simulated.decode
    monkeypatch.setattr(simulated, "decode", lambda *a, **k: decodes.append(1) or real(*a, **k))
    a = np.random.default_rng(5).standard_normal((256, 512)).astype(np.float32)
    compiled = nkipy_kg.trace(CATALOGUE["softmax"].fn).compile(a)
    device = SimulatedNeuronCore()
    runs = [device.run(compiled, x) for x in (a, a[::-1].copy(), a)]
    fresh = SimulatedNeuronCore().run(compiled, a)
    assert len(decodes) == 2
    assert np.array_equal(runs[2].outputs, fresh.outputs) and np.array_equal(runs[0].outputs, fresh.outputs)
    assert runs[0].time_us == runs[2].time_us == fresh.time_us > 0
    assert len(runs[2].profile.events) == len(fresh.profile.events)
    _close(runs[1].outputs, CATALOGUE["softmax"].fn(a[::-1]), np.dtype(np.float32))


def test_traced_function_run_uses_its_specs_and_the_cache() -> None:
    @nkipy_kg.trace(input_specs=[((128, 128), "f32"), ((128, 128), "f32")])
    def sub(a, b):
        return a - b

    a, b = np.full((128, 128), 3.0, np.float32), np.ones((128, 128), np.float32)
    first = sub.run(a, b)
    assert np.array_equal(first.outputs, a - b)
    assert sub.run(a, b, target="trn2").compilation is first.compilation


def test_trn1_is_a_different_and_slower_core_for_a_dma_bound_kernel() -> None:
    # add moves 3 x 256 KiB through HBM and does one vector op per tile: DMA bound, and a
    # trn1 DMA engine moves 17 B/ns against trn2's 23 (neuroncore-model.md §3.7).
    a, b = CATALOGUE["add"].inputs()
    on_trn2 = nkipy_kg.run(CATALOGUE["add"].fn, a, b)
    on_trn1 = nkipy_kg.run(CATALOGUE["add"].fn, a, b, device=SimulatedNeuronCore("trn1"))
    assert on_trn1.device == "SimulatedNeuronCore(trn1)" and on_trn1.compilation.target == "trn1"
    assert on_trn1.compilation is not on_trn2.compilation
    assert np.array_equal(on_trn1.outputs, on_trn2.outputs)
    assert on_trn1.time_us > on_trn2.time_us


def _add_compilation(shape=(256, 256)) -> driver.Compilation:
    x = np.zeros(shape, np.float32)
    return nkipy_kg.trace(CATALOGUE["add"].fn).compile(x, x)


def test_bad_shape_names_the_compiled_signature() -> None:
    comp, sim = _add_compilation(), SimulatedNeuronCore()
    with pytest.raises(DeviceError, match=r"argument 0 of add has shape \(128, 256\), the compiled kernel expects "
                                          r"\(256, 256\); compiled signature: add\(256x256:f32, 256x256:f32\)"):
        sim.run(comp, np.zeros((128, 256), np.float32), np.zeros((256, 256), np.float32))
    with pytest.raises(DeviceError, match="takes 2 array"):
        sim.run(comp, np.zeros((256, 256), np.float32))


def test_bad_dtype_is_an_error_and_a_same_kind_dtype_is_cast() -> None:
    comp, sim = _add_compilation(), SimulatedNeuronCore()
    with pytest.raises(DeviceError, match=r"argument 1 of add has dtype int32, the compiled kernel expects f32"):
        sim.run(comp, np.zeros((256, 256), np.float32), np.zeros((256, 256), np.int32))
    a = np.random.default_rng(3).standard_normal((256, 256))  # float64, cast to f32
    result = sim.run(comp, a, a.tolist())
    assert result.outputs.dtype == np.float32
    np.testing.assert_allclose(result.outputs, (a + a).astype(np.float32), rtol=1e-6)


def test_device_refuses_a_compilation_that_is_not_nisa_or_for_another_target() -> None:
    x = np.zeros((128, 128), np.float32)
    partial = nkipy_kg.trace(CATALOGUE["add"].fn).compile(x, x, stop_after=25)
    with pytest.raises(DeviceError, match="stopped after stage 25 .*canonicalize.*linalg-to-nisa"):
        SimulatedNeuronCore().run(partial, x, x)
    with pytest.raises(DeviceError, match="compiled for trn2, this device is SimulatedNeuronCore\\(trn1\\)"):
        SimulatedNeuronCore("trn1").run(_add_compilation(), x, x)


def test_compile_errors_propagate_and_are_not_cached() -> None:
    def sorts(x):
        return np.sort(x)

    before = devices.cache_info()
    for _ in range(2):
        with pytest.raises(TraceError):
            nkipy_kg.run(sorts, np.zeros((128, 128), np.float32))
    after = devices.cache_info()
    assert after.size == before.size and after.misses - before.misses == 2


def two_big_tiles(x, y):
    a = np.exp(x)
    knob.knob(a).tile_op(tile_size=[128, 32768]).layout(mem_space="Sbuf")  # 128 KiB per partition
    b = np.exp(y)
    knob.knob(b).tile_op(tile_size=[128, 32768]).layout(mem_space="Sbuf")
    return a + b


def test_pass_and_simulator_errors_propagate_located() -> None:
    x = np.zeros((128, 32768), np.float32)
    with pytest.raises(PassError, match="over the capacity of 212984 bytes") as pass_err:
        nkipy_kg.run(two_big_tiles, x, x)
    assert pass_err.value.pass_name == "insert-spill-reload" and pass_err.value.loc.file == __file__
    # Lie to the spill pass about the SBUF size: the simulator's real SBUF then overflows.
    comp = nkipy_kg.trace(two_big_tiles).compile(x, x, pass_options={"insert-spill-reload": "sbuf-capacity=10000000"})
    with pytest.raises(SimError, match="Sbuf overflow: .* needs 131072 B per partition") as sim_err:
        SimulatedNeuronCore().run(comp, x, x)
    assert sim_err.value.loc.file == __file__


def test_get_device() -> None:
    sim = get_device()
    assert isinstance(sim, SimulatedNeuronCore) and isinstance(sim, Device) and sim.name == "SimulatedNeuronCore(trn2)"
    assert get_device("simulator", target="trn1").target == "trn1" and get_device("sim") is sim
    mine = SimulatedNeuronCore("trn1")
    assert get_device(mine) is mine
    with pytest.raises(DeviceError, match="unknown device 'gpu'"):
        get_device("gpu")
    with pytest.raises(DeviceError, match="unknown target 'trn9'"):
        SimulatedNeuronCore("trn9")
    with pytest.raises(DeviceError, match="target='trn2' but the device SimulatedNeuronCore\\(trn1\\) is trn1"):
        nkipy_kg.run(CATALOGUE["exp"].fn, np.zeros((128, 128), np.float32), device=mine, target="trn2")


NOTHING = ToolchainStatus(neuronx_cc=None, nki_package=None, runtime_package=None, devices=())
NO_DEVICE = ToolchainStatus(neuronx_cc="/opt/aws/neuron/bin/neuronx-cc", nki_package="nki",
                            runtime_package="nkipy.runtime", devices=())


def test_neuron_device_says_what_is_missing() -> None:
    with pytest.raises(DeviceError) as info:
        NeuronDevice("trn2", status=NOTHING)
    text = str(info.value)
    assert "NeuronDevice(trn2) cannot run here; missing:" in text
    for needle in ("`neuronx-cc` compiler is not on PATH", "neither `nki` nor `neuronxcc` is importable",
                   "nkipy.runtime", "/dev/neuron* does not exist",
                   "pip install 'neuronx-cc>=2' 'nki>=0.1' --extra-index-url https://pip.repos.neuron.amazonaws.com"):
        assert needle in text, needle
    with pytest.raises(DeviceError) as only_device:
        NeuronDevice("trn1", status=NO_DEVICE)
    assert "/dev/neuron*" in str(only_device.value) and "neuronx-cc` compiler" not in str(only_device.value)
    assert NO_DEVICE.missing() == [NO_DEVICE.missing()[0]] and NOTHING.missing().__len__() == 4


def test_device_neuron_on_this_machine_is_real_or_refused() -> None:
    """No fake hardware path: where the probe finds everything, the device exists; elsewhere
    `device="neuron"` fails naming exactly what this machine lacks."""
    status = probe()
    assert status.devices == tuple(sorted(status.devices))
    if status.available:
        assert get_device("neuron").name == "NeuronDevice(trn2)"
        return
    with pytest.raises(DeviceError) as info:
        nkipy_kg.run(CATALOGUE["add"].fn, *CATALOGUE["add"].inputs(), device="neuron")
    for line in status.missing():
        assert line in str(info.value)


def test_profile_writes_perfetto_json(tmp_path) -> None:
    x = CATALOGUE["softmax"].inputs()[0]
    result = nkipy_kg.run(CATALOGUE["softmax"].fn, x)
    path = result.profile.to_perfetto(tmp_path / "softmax.json")
    trace = json.loads(path.read_text())
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    spans = [e for e in events if e.get("ph") == "X"]
    assert len(spans) == len(result.profile.events) > 0
    assert max(e["ts"] + e["dur"] for e in spans) == pytest.approx(result.time_us, rel=1e-6)


def test_run_result_rejects_an_unknown_timing_kind() -> None:
    with pytest.raises(ValueError, match="timing_kind"):
        RunResult(np.zeros(1), 1.0, "guessed", "x", None, _add_compilation((128, 128)))


def test_errors_are_nkipy_errors() -> None:
    assert issubclass(DeviceError, NkipyError)
