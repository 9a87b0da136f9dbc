"""`%%nkigen` in a real IPython shell: input parsing, namespace binding, readable errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("anywidget")
from IPython.testing.globalipapp import start_ipython  # noqa: E402

import explorer_ext.magic as magic  # noqa: E402
from explorer_ext.inputs import InputsError, parse_inputs, specs_for  # noqa: E402
from explorer_ext.widget import ExplorerWidget, StaticExplorer  # noqa: E402
from nkipy_kg import TracedFunction  # noqa: E402

STOP = "--stop-after decompose-batch-matmul"


@pytest.fixture(scope="module")
def ip():
    shell = start_ipython()
    shell.run_line_magic("load_ext", "explorer_ext")
    shell.run_cell("import numpy as np")
    return shell


@pytest.fixture
def shown(monkeypatch):
    """Everything the magic displays, in order."""
    out: list = []
    monkeypatch.setattr(magic, "display", out.append)
    return out


def run(ip, line: str, body: str):
    result = ip.run_cell(f"%%nkigen {line}\n{body}")
    assert result.success, result.error_in_exec   # the magic never raises into the shell
    return result


def message(shown) -> str:
    [out] = shown
    assert isinstance(out, magic.NkigenMessage), out
    return out.text


SOFTMAX = """\
def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
"""


def test_inputs_bind_the_traced_kernel_and_show_the_explorer(ip, shown):
    run(ip, f'--inputs "x=256x256:f32" {STOP}', SOFTMAX)
    assert isinstance(ip.user_ns["softmax"], TracedFunction)
    static, widget = shown
    assert isinstance(static, StaticExplorer) and isinstance(widget, ExplorerWidget)
    data = json.loads(widget.data)
    assert data["kernel"] == "softmax" and data["target"] == "trn2"
    assert [s["status"] for s in data["stages"][:4]] == ["input", "unchanged", "changed", "unchanged"]
    # The source panel shows the cell; line numbers are the editor's (line 1 is %%nkigen).
    assert data["source"]["first_line"] == 2 and data["source"]["lines"][0] == "def softmax(x):"
    assert data["source"]["label"] == "this cell"
    assert repr(widget) == "NkigenExplorer(kernel='softmax', target='trn2', stages=4/27, changed=1)"
    bundle, _ = widget._repr_mimebundle_()
    assert bundle["text/plain"] == repr(widget)
    assert "<iframe srcdoc=" in static._repr_html_() and "data-nkigen-static" in static._repr_html_()
    # The traced kernel still runs NumPy.
    x = np.ones((2, 4), np.float32)
    assert np.allclose(ip.user_ns["softmax"](x), 0.25)


def test_args_take_arrays_from_the_namespace(ip, shown):
    ip.user_ns["a"] = np.ones((128, 64), np.float32)
    ip.user_ns["b"] = np.ones((64, 32), np.float32)
    run(ip, f"--args a,b --target trn1 {STOP}", "def mm(p, q):\n    return p @ q\n")
    data = json.loads(shown[1].data)
    assert data["target"] == "trn1"
    assert "tensor<128x64xf32>" in "\n".join(data["stages"][0]["ir_lines"])


def test_declared_input_specs_need_no_flags(ip, shown):
    run(ip, STOP, "from nkipy_kg import trace\n@trace(input_specs=[((128, 128), 'f32')])\ndef ex(x):\n    return np.exp(x)\n")
    assert json.loads(shown[1].data)["kernel"] == "ex"


def test_several_functions_need_a_name(ip, shown):
    body = "def helper(x):\n    return x * 2.0\n\ndef kern(x):\n    return helper(x) + 1.0\n"
    run(ip, '--inputs "x=128x128:f32"', body)
    assert message(shown) == "%%nkigen: the cell defines helper, kern; name the kernel: %%nkigen kern"
    shown.clear()
    run(ip, f'kern --inputs "x=128x128:f32" {STOP}', body)
    assert json.loads(shown[1].data)["kernel"] == "kern"


def test_trace_error_points_at_the_cell_line(ip, shown):
    run(ip, '--inputs "x=128x128:f32"', "def k(x):\n    y = x + 1.0\n    return np.fft.fft(y)\n")
    text = message(shown)
    assert text.startswith("cell line 4:12: unsupported: np.fft is not supported")
    assert "return np.fft.fft(y)" in text and "Traceback" not in text


def test_python_errors_in_the_cell_are_one_readable_line(ip, shown):
    run(ip, '--inputs "x=128x128:f32"', "def k(x)\n    return x\n")
    assert message(shown).startswith("cell line 2: SyntaxError: expected ':'")
    shown.clear()
    run(ip, '--inputs "x=128x128:f32"', "undefined_name + 1\n")
    assert message(shown) == "cell line 2: NameError: name 'undefined_name' is not defined\n    undefined_name + 1"


@pytest.mark.parametrize("line, expected", [
    ('--inputs "y=128:f32"', "%%nkigen: --inputs: the kernel has no parameter 'y' (it takes x)"),
    ('--inputs "x=128:f99"', "input spec"),
    ('--inputs "x=12 8"', "--inputs: cannot read 'x=12 8'"),
    ("", "input shapes are unknown; add --inputs"),
    ("--args nothere", "--args: nothere not defined in the notebook"),
    ('--inputs "x=128:f32" --args a', "give either --inputs or --args, not both"),
    ('--inputs "x=128:f32" --stop-after nope', "%%nkigen --stop-after: unknown stop_after 'nope'"),
    ("--target trn9", "invalid choice: 'trn9'"),
])
def test_usage_errors_are_messages(ip, shown, line, expected):
    run(ip, line, "def k(x):\n    return x\n")
    assert expected in message(shown)


def test_kernel_survives_and_line_magic_explains(ip, shown):
    assert ip.run_cell("1 + 1").result == 2
    ip.run_line_magic("nkigen", "")
    assert "is a cell magic" in message(shown)
    doc = ip.find_cell_magic("nkigen").__doc__
    assert "--inputs" in doc and "--stop-after" in doc and "Examples" in doc


def test_parse_inputs():
    assert parse_inputs("x=128x256:f32, w=256:bf16") == [("x", (128, 256), "f32"), ("w", (256,), "bf16")]
    assert parse_inputs("128 x 256:f32, s=f32") == [(None, (128, 256), "f32"), ("s", (), "f32")]
    with pytest.raises(InputsError):
        parse_inputs(" , ")

    def k(x, w, eps=1e-6):
        return x

    assert specs_for(k, "w=256:f32, x=4x256:f32") == [((4, 256), "f32"), ((256,), "f32")]
    with pytest.raises(InputsError, match="no shape for parameter 'w'"):
        specs_for(k, "x=4:f32")


def test_run_with_random_inputs_fills_the_run_tab(ip, shown):
    run(ip, '--inputs "x=256x256:f32" --run --seed 5', SOFTMAX)
    static, widget = shown
    data = json.loads(widget.data)
    r = data["run"]
    assert r["device"] == "SimulatedNeuronCore(trn2)" and r["timing_kind"] == "modeled"
    assert r["time_us"] > 0 and r["compared"] is False and r["passed"] is None
    assert all(0 <= u <= 1 for u in r["utilisation"].values()) and len(r["boxes"]) == r["events_total"] > 0
    assert repr(widget) == "NkigenExplorer(kernel='softmax', target='trn2', stages=27/27, changed=14, run='modeled')"
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
    assert len(data["a"]["stages"]) == len(data["b"]["stages"]) == 27
    assert data["a"]["run"]["time_us"] != data["b"]["run"]["time_us"]
    assert data["a"]["source"]["label"] == data["b"]["source"]["label"] == "this cell"
    assert repr(widget) == ("NkigenExplorer(compare: kernel='sm_128', target='trn2', stages=27/27, changed=14, "
                            "run='modeled' | kernel='sm_64', target='trn2', stages=27/27, changed=14, run='modeled')")
    assert "<iframe srcdoc=" in static._repr_html_()
    shown.clear()
    run(ip, '--compare nope --inputs "x=256x256:f32"', VARIANTS)
    assert message(shown).startswith("%%nkigen: no function 'nope'")


def test_help_documents_every_flag(ip):
    doc = ip.find_cell_magic("nkigen").__doc__
    for flag in ("--inputs", "--args", "--target", "--stop-after", "--run", "--compare-numpy", "--device",
                 "--seed", "--compare"):
        assert flag in doc, flag
    assert "sim (SimulatedNeuronCore, modeled time)" in " ".join(doc.split())


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
