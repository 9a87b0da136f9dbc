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
    assert repr(widget) == "NkigenExplorer(kernel='softmax', target='trn2', stages=4/26, changed=1)"
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
