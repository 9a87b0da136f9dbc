"""The Run tab's data (`Exploration.run`), compare mode and the main job, without a browser."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nkipy_kg.devices as devices
import nkipy_kg.devices.neuron as neuron
from nkipy_kg import dtypes, knob, trace
from nkipy_kg.devices.neuron_toolchain import ToolchainStatus
from nkipy_kg.errors import DeviceError, PassError
from nkipy_kg.explore import explore
from nkipy_kg.explore_compare import compare
from nkipy_kg.explore_device import random_inputs
from nkipy_kg.explore_run import MAX_BOXES, check_outputs, gantt_boxes
from nkipy_kg.passes import REGISTRY, PassSpec
from nkipy_kg.pipeline import PIPELINE
from nkipy_kg.sim.cost_model import COMPUTE_ENGINES, Event

SPECS = [((256, 256), "f32")]


def softmax(x):
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_t128(x):
    m = np.max(x, axis=-1, keepdims=True)
    knob.knob(m).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    e = np.exp(x - m)
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_t64(x):
    m = np.max(x, axis=-1, keepdims=True)
    knob.knob(m).tile_op(tile_size=[64, 128]).layout(mem_space="Sbuf")
    e = np.exp(x - m)
    return e / np.sum(e, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def ex():
    return explore(softmax, specs=SPECS, run=True, compare_numpy=True, seed=3)


def test_run_view_is_the_devices_api_result(ex):
    run = ex.run
    assert run is not None and run.error == ""
    assert run.device == "SimulatedNeuronCore(trn2)" and run.target == "trn2"
    assert run.timing_kind == "modeled"
    # The same inputs through the devices API give the same modeled time and outputs.
    x = random_inputs(SPECS, seed=3)
    direct = devices.run(softmax, *x)
    assert direct.timing_kind == "modeled"
    assert run.time_us == pytest.approx(direct.time_us) and run.time_us > 0
    assert run.events_total == len(direct.profile.events)
    assert run.utilisation == pytest.approx(direct.profile.utilisation(), abs=1e-6)


def test_utilisation_lanes_and_boxes(ex):
    run = ex.run
    assert set(run.utilisation) <= {*COMPUTE_ENGINES, "DMA"} and "Vector" in run.utilisation
    assert all(0.0 <= u <= 1.0 for u in run.utilisation.values())
    assert run.utilisation["Vector"] > 0.1
    assert set(run.lanes) >= {"Vector", "DMA qSync"}
    assert run.lanes.index("Vector") < run.lanes.index("DMA qSync")       # engines first, then DMA queues
    # A small kernel: every instruction is its own box (nothing merged), inside the run.
    assert 0 < run.events_total < MAX_BOXES
    assert len(run.boxes) == run.events_total and run.merged_note == ""
    assert all(b[6] == 1 for b in run.boxes)
    assert max(b[2] for b in run.boxes) == pytest.approx(run.time_us * 1000, rel=1e-6)
    assert all(0 <= b[1] <= b[2] and 0 <= b[0] < len(run.lanes) for b in run.boxes)
    # Boxes name the source line of the kernel they came from.
    assert {b[5] for b in run.boxes} & {softmax.__code__.co_firstlineno + k for k in range(1, 4)}


def test_numpy_comparison_numbers(ex):
    [out] = ex.run.outputs
    x = random_inputs(SPECS, seed=3)[0]
    want = softmax(x)
    got = devices.run(softmax, x).outputs
    assert out.name == "result" and out.shape == (256, 256) and out.dtype == "f32"
    assert out.max_abs == pytest.approx(float(np.abs(got - want).max()), abs=1e-12)
    assert out.max_abs < 1e-6 and out.max_rel < 1e-5
    assert (out.rtol, out.atol) == (2e-5, 1e-5) and out.passed and ex.run.passed is True


def test_check_outputs_fails_beyond_the_tolerance():
    want = np.ones((4, 4), np.float32)
    got = want.copy()
    got[1, 2] = 1.5
    [c] = check_outputs(got, want)
    assert (c.max_abs, c.max_rel, c.passed) == (0.5, 0.5, False)
    # bfloat16 at its own tolerance: 1 + 2^-7 is within bf16's 3e-2.
    b = np.full((2, 2), 1 + 2 ** -7, np.float32).astype(dtypes.bfloat16)
    [c] = check_outputs(b, np.ones((2, 2), np.float32))
    assert c.dtype == "bf16" and c.passed and c.rtol == 3e-2
    two = check_outputs((want, want), (want, got))
    assert [c.name for c in two] == ["result[0]", "result[1]"] and [c.passed for c in two] == [True, False]


def test_gantt_caps_and_merges_sub_pixel_events():
    events = [Event("exp", "Scalar", "Scalar", 10.0 * k, 10.0 * k + 8, f"/k/a.py:{k % 7}:1", k) for k in range(10000)]
    events.append(Event("matmul", "Tensor", "Tensor", 0.0, 50000.0, "/k/a.py:3:1", 1))
    boxes, note = gantt_boxes(events, 100000.0, ["Tensor", "Scalar"], source_file="/k/a.py")
    assert len(boxes) <= MAX_BOXES
    assert sum(b[6] for b in boxes) == len(events)                      # nothing is dropped
    assert [b for b in boxes if b[0] == 0] == [(0, 0.0, 50000.0, "matmul", "a.py:3:1", 3, 1)]
    assert any(b[6] > 1 and b[3].startswith("exp ×") for b in boxes)
    assert note.startswith(f"{len(events)} instructions drawn as {len(boxes)} boxes")
    boxes, _ = gantt_boxes(events, 100000.0, ["Tensor", "Scalar"], max_boxes=100)
    assert len(boxes) <= 100 and sum(b[6] for b in boxes) == len(events)


def test_embedded_perfetto_trace_is_capped():
    from nkipy_kg.explore_run import _perfetto
    from nkipy_kg.sim.cost_model import Profile

    prof = Profile("trn2", total_ns=100.0, events=[Event("exp", "Scalar", "Scalar", k, k + 1.0, "", k) for k in range(50)])
    trace, note = _perfetto(prof, limit=20)
    assert sum(e["ph"] == "X" for e in trace["traceEvents"]) == 20
    assert sum(e["ph"] == "M" for e in trace["traceEvents"]) == 2            # process + the one lane named
    assert note == "the downloadable trace holds the first 20 of 50 instructions; profile.to_perfetto(path) writes all of them"
    assert _perfetto(prof, limit=50)[1] == ""


def test_random_inputs_are_seeded_and_typed():
    a = random_inputs([((4, 8), "f32"), ((3,), "bf16"), ((2,), "i32")], seed=1)
    b = random_inputs([((4, 8), "f32"), ((3,), "bf16"), ((2,), "i32")], seed=1)
    assert [x.dtype for x in a] == [np.dtype(np.float32), dtypes.bfloat16, np.dtype(np.int32)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], random_inputs([((4, 8), "f32")], seed=2)[0])


def test_run_data_in_json_and_stable_repr(ex):
    data = json.loads(ex.to_json())
    run = data["run"]
    assert run["timing_kind"] == "modeled" and run["passed"] is True
    assert len(run["boxes"]) == run["events_total"] and run["lanes"] == list(ex.run.lanes)
    spans = [e for e in run["perfetto"]["traceEvents"] if e["ph"] == "X"]
    assert len(spans) == run["events_total"]
    changed = sum(s.status == "changed" for s in ex.stages)
    assert repr(ex) == (f"Exploration(kernel='softmax', target='trn2', stages={len(PIPELINE) + 1}/{len(PIPELINE) + 1}, changed={changed}, "
                        "run='modeled', numpy='pass')")


def test_run_after_an_early_stop_compiles_the_whole_pipeline():
    x = random_inputs(SPECS, seed=0)[0]
    ex = explore(softmax, x, stop_after="prepare-arithmetic", run=True, compare_numpy=False)
    assert [s.status for s in ex.stages[3:5]] == ["not-run", "not-run"]
    assert ex.run.timing_kind == "modeled" and ex.run.compared is False and ex.run.passed is None
    assert ex.run.time_us == pytest.approx(devices.run(softmax, x).time_us)
    assert repr(ex).endswith("run='modeled')")


def _failing(module_op, **_):
    raise PassError("cannot tile")


def test_failed_compilation_is_a_run_error(monkeypatch):
    monkeypatch.setitem(REGISTRY, "prepare-arithmetic", PassSpec("prepare-arithmetic", "fails", body=_failing))
    ex = explore(softmax, specs=SPECS, run=True)
    assert ex.error is not None and ex.run.error == "not run: compilation failed in prepare-arithmetic"
    assert ex.run.passed is None and repr(ex).endswith("run='failed')")


def test_neuron_device_without_toolchain_raises_a_device_error(monkeypatch):
    monkeypatch.setattr(neuron, "probe", lambda: ToolchainStatus(None, None, None, ()))
    with pytest.raises(DeviceError) as info:
        explore(softmax, specs=SPECS, run=True, device="neuron")
    text = info.value.render()
    assert "neuronx-cc" in text and "device='sim'" in text


def test_compare_two_knob_variants():
    cmp = compare(softmax_t128, softmax_t64, specs=SPECS, run=True)
    rows = cmp.rows()
    assert [r["name"] for r in rows] == [s.name for s in cmp.a.stages]
    tiling = next(r for r in rows if r["name"] == "knob-driven-tiling")
    assert tiling["a_status"] == tiling["b_status"] == "changed" and not tiling["same_ir"]
    assert any(r["a_deltas"] != r["b_deltas"] for r in rows)     # some pass counts ops differently
    assert cmp.a.run.passed and cmp.b.run.passed
    assert cmp.a.run.time_us != cmp.b.run.time_us          # the knob changes the modeled schedule
    data = json.loads(cmp.to_json())
    assert data["mode"] == "compare" and data["a"]["kernel"] == "softmax_t128" and data["b"]["kernel"] == "softmax_t64"
    assert repr(cmp).startswith("Comparison(Exploration(kernel='softmax_t128'")


def test_compare_of_one_kernel_under_two_names_is_identical():
    cmp = compare(softmax, trace(softmax, name="softmax_again"), specs=SPECS, stop_after="legalize-layout")
    assert all(r["same_ir"] for r in cmp.rows() if r["a_status"] != "not-run")
    assert repr(cmp).endswith("stages_differing=0)")


def test_main_job_runs_and_writes_the_report(tmp_path, capsys):
    """The README's main job (`python -m nkipy_kg`, its defaults): rmsnorm on the simulator."""
    from nkipy_kg.demo import main

    assert main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("compiled rmsnorm (256x256:float32, 256:float32) for trn2: Exploration(kernel='rmsnorm'")
    assert "ran on SimulatedNeuronCore(trn2):" in out and "us (modeled)" in out
    assert "NumPy check result 256x256:f32: max abs error" in out and out.count(": pass") == 1
    report = tmp_path / "rmsnorm.html"
    assert out.rstrip().endswith(f"wrote the explorer report {report.resolve()}")
    html = report.read_text()
    assert '"timing_kind":"modeled"' in html and "function renderRun" in html
    assert "http://" not in html and "https://" not in html and "<script src" not in html
    assert (tmp_path / "rmsnorm.mlir").read_text().startswith("#loc")           # the traced IR, with locations


def test_measured_run_without_profile():
    from types import SimpleNamespace

    from nkipy_kg.explore_run import run_view_of

    out = np.ones((2, 3), np.float32)
    result = SimpleNamespace(outputs=(out, out), time_us=4.5, timing_kind="measured", device="NeuronDevice(trn2)",
                             profile=None, compilation=SimpleNamespace(target="trn2"))
    view = run_view_of(result, expected=(out, out + 1))
    assert (view.timing_kind, view.time_us, view.target) == ("measured", 4.5, "trn2")
    assert view.boxes == () and view.utilisation == {} and view.perfetto is None
    assert [o.passed for o in view.outputs] == [True, False] and view.passed is False
    assert view.label() == "run='measured', numpy='FAIL'"
