"""`%%nkigen --run / --compare-numpy / --device / --compare` in a real IPython shell: the
Run tab's data, the NumPy check, device errors as messages, two knob variants side by side."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("anywidget")

from explorer_ipython import SOFTMAX, counts, ip, message, run, shown  # noqa: E402,F401 - fixtures
from nkipy_kg import TracedFunction  # noqa: E402
from nkipy_kg.pipeline import PIPELINE  # noqa: E402


def test_run_with_random_inputs_fills_the_run_tab(ip, shown):
    run(ip, '--inputs "x=256x256:f32" --run --seed 5', SOFTMAX)
    static, widget = shown
    data = json.loads(widget.data)
    r = data["run"]
    assert r["device"] == "SimulatedNeuronCore(trn2)" and r["timing_kind"] == "modeled"
    assert r["time_us"] > 0 and r["compared"] is False and r["passed"] is None
    assert all(0 <= u <= 1 for u in r["utilisation"].values()) and len(r["boxes"]) == r["events_total"] > 0
    assert counts(data).startswith(f"stages={len(PIPELINE) + 1}/{len(PIPELINE) + 1}, changed=")
    assert repr(widget) == f"NkigenExplorer(kernel='softmax', target='trn2', {counts(data)}, run='modeled')"
    assert repr(static) == repr(widget).replace("NkigenExplorer", "NkigenStaticExplorer")
    # The same seed gives the same modeled run (the inputs are the same).
    from nkipy_kg.explore_device import random_inputs
    import nkipy_kg.devices as devices

    x = random_inputs([((256, 256), "f32")], seed=5)
    assert r["time_us"] == pytest.approx(devices.run(ip.user_ns["softmax"], *x).time_us, rel=1e-6)


def test_args_and_compare_numpy(ip, shown):
    rng = np.random.default_rng(0)
    ip.user_ns["xa"] = rng.standard_normal((256, 256)).astype(np.float32)
    run(ip, "--args xa --compare-numpy", SOFTMAX)            # --compare-numpy implies --run
    data = json.loads(shown[1].data)
    [out] = data["run"]["outputs"]
    x = ip.user_ns["xa"]
    e = np.exp(x - x.max(-1, keepdims=True))
    want = e / e.sum(-1, keepdims=True)
    import nkipy_kg.devices as devices

    direct = devices.run(ip.user_ns["softmax"], x).outputs
    assert out["max_abs"] == pytest.approx(float(np.abs(direct - want).max()), abs=1e-9)
    assert out["passed"] is True and data["run"]["passed"] is True and out["rtol"] == 2e-5
    assert repr(shown[1]).endswith("run='modeled', numpy='pass')")


def test_device_neuron_without_toolchain_is_a_message(ip, shown, monkeypatch):
    import nkipy_kg.devices.neuron as neuron
    from nkipy_kg.devices.neuron_toolchain import ToolchainStatus

    monkeypatch.setattr(neuron, "probe", lambda: ToolchainStatus(None, None, None, ()))
    run(ip, '--inputs "x=256x256:f32" --device neuron', SOFTMAX)
    text = message(shown)
    assert text.startswith("device error: NeuronDevice(trn2) cannot run here; missing:")
    assert "neuronx-cc" in text and "device='sim'" in text and "Traceback" not in text
    shown.clear()
    run(ip, '--inputs "x=256x256:f32" --device tpu', SOFTMAX)
    assert "argument --device: invalid choice: 'tpu'" in message(shown)


VARIANTS = """\
from nkipy_kg import knob

def sm_128(x):
    m = np.max(x, axis=-1, keepdims=True)
    knob.knob(m).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    e = np.exp(x - m)
    return e / np.sum(e, axis=-1, keepdims=True)

def sm_64(x):
    m = np.max(x, axis=-1, keepdims=True)
    knob.knob(m).tile_op(tile_size=[64, 128]).layout(mem_space="Sbuf")
    e = np.exp(x - m)
    return e / np.sum(e, axis=-1, keepdims=True)
"""


def test_compare_two_knob_variants(ip, shown):
    run(ip, '--compare sm_64 --inputs "x=256x256:f32" --run', VARIANTS)
    assert isinstance(ip.user_ns["sm_128"], TracedFunction) and isinstance(ip.user_ns["sm_64"], TracedFunction)
    static, widget = shown
    data = json.loads(widget.data)
    assert data["mode"] == "compare" and data["a"]["kernel"] == "sm_128" and data["b"]["kernel"] == "sm_64"
    assert len(data["a"]["stages"]) == len(data["b"]["stages"]) == len(PIPELINE) + 1
    assert data["a"]["run"]["time_us"] != data["b"]["run"]["time_us"]
    assert data["a"]["source"]["label"] == data["b"]["source"]["label"] == "this cell"
    assert {"def sm_128(x):", "def sm_64(x):"} <= set(data["a"]["source"]["lines"])    # the panel shows both
    assert repr(widget) == (f"NkigenExplorer(compare: kernel='sm_128', target='trn2', {counts(data['a'])}, "
                            f"run='modeled' | kernel='sm_64', target='trn2', {counts(data['b'])}, run='modeled')")
    assert "<iframe srcdoc=" in static._repr_html_()
    shown.clear()
    run(ip, '--compare nope --inputs "x=256x256:f32"', VARIANTS)
    assert message(shown).startswith("%%nkigen: no function 'nope'")


def test_a_failing_run_is_a_message_and_the_explorer_stays(ip, shown, monkeypatch):
    from nkipy_kg.devices.simulated import SimulatedNeuronCore
    from nkipy_kg.errors import SimError

    def boom(self, compiled, *arrays):
        raise SimError("nisa.tensor_copy reads uninitialised Sbuf memory")

    monkeypatch.setattr(SimulatedNeuronCore, "run", boom)
    run(ip, '--inputs "x=256x256:f32" --run', SOFTMAX)
    note, static, widget = shown
    assert note.text == "%%nkigen --run softmax: simulation error: nisa.tensor_copy reads uninitialised Sbuf memory"
    data = json.loads(widget.data)
    assert data["run"]["error"] == "simulation error: nisa.tensor_copy reads uninitialised Sbuf memory"
    assert repr(widget).endswith("run='failed')")
