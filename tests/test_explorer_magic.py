"""`%%nkigen` in a real IPython shell: input parsing, namespace binding, readable errors, help."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("anywidget")

from explorer_ext.inputs import InputsError, parse_inputs, specs_for  # noqa: E402
from explorer_ext.widget import ExplorerWidget, StaticExplorer  # noqa: E402
from explorer_ipython import SOFTMAX, STOP, counts, ip, message, run, shown  # noqa: E402,F401 - fixtures
from nkipy_kg import TracedFunction  # noqa: E402
from nkipy_kg.pipeline import PIPELINE  # noqa: E402


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
    assert counts(data).startswith(f"stages=4/{len(PIPELINE) + 1}, changed=")
    assert repr(widget) == f"NkigenExplorer(kernel='softmax', target='trn2', {counts(data)})"
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


def test_help_documents_every_flag(ip):
    doc = ip.find_cell_magic("nkigen").__doc__
    for flag in ("--inputs", "--args", "--target", "--stop-after", "--run", "--compare-numpy", "--device",
                 "--seed", "--compare"):
        assert flag in doc, flag
    assert "sim (SimulatedNeuronCore, modeled time)" in " ".join(doc.split())


def test_knob_error_points_at_the_cell_line(ip, shown):
    body = "from nkipy_kg import knob\n\ndef k(x):\n    y = np.exp(x)\n    knob.knob(y).tile_op(tile_size=[128, 512])\n    return y\n"
    run(ip, '--inputs "x=256x256:f32"', body)
    text = message(shown)
    assert text.startswith("cell line 6:5: knob error: knob.tile_op:")
    assert "knob.knob(y).tile_op(tile_size=[128, 512])" in text and "Traceback" not in text


MISMATCHED = """\
from nkipy_kg import knob

def mismatched(a, b):
    s = np.exp(a)
    knob.knob(s).tile_op(tile_size=[64, 128])
    t = np.exp(b)
    knob.knob(t).tile_op(tile_size=[32, 128])
    knob.fuse(s, t)
    return s, t
"""


def test_pass_error_is_a_message_and_a_failed_stage(ip, shown):
    run(ip, '--inputs "a=128x256:f32, b=128x256:f32"', MISMATCHED)
    note, static, widget = shown
    data = json.loads(widget.data)
    error = data["error"]
    failed = [s for s in data["stages"] if s["status"] == "failed"]
    assert [s["name"] for s in failed] == [error["pass_name"]] and failed[0]["index"] == error["stage"]
    assert all(s["status"] in ("input", "changed", "unchanged") for s in data["stages"][:error["stage"]])
    # Both the message and the explorer's error name the cell line (line 1 is %%nkigen), not a temp file.
    assert note.text.startswith(f"%%nkigen mismatched: pass {error['stage']} {error['pass_name']} failed;")
    assert "cell line 9:5: pass error:" in note.text and "knob.fuse(s, t)" in note.text
    assert "cell line 9:5" in error["rendered"] and "ipykernel" not in error["rendered"]
    assert error["line"] == 9 and error["file"] == data["source"]["file"]       # the source panel marks it
    assert "Traceback" not in note.text
    assert repr(widget).endswith(f"failed={error['pass_name']!r})")


def test_arrays_named_like_the_parameters_give_the_shapes(ip, shown):
    ip.run_cell("x = np.ones((128, 256), np.float32)\nw = np.ones((256,), np.float32)")
    run(ip, STOP, "def scale(x, w, eps=1e-6):\n    return x * w + eps\n")
    data = json.loads(shown[1].data)
    assert "%arg0: tensor<128x256xf32>, %arg1: tensor<256xf32>" in "\n".join(data["stages"][0]["ir_lines"])
    shown.clear()
    run(ip, STOP, "def other(x, nothere):\n    return x\n")        # one parameter has no array
    assert "or define arrays named like its parameters" in message(shown)
    ip.run_cell("del x, w")          # later cells must not pick these up


def test_question_mark_help_shows_the_flags(ip, capsys):
    ip.run_cell("%nkigen?")
    out = capsys.readouterr().out
    assert "Trace the kernel this cell defines" in out
    for flag in ("--inputs", "--args", "--target", "--stop-after", "--run", "--compare-numpy", "--compare"):
        assert flag in out, flag
