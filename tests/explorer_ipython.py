"""Shared set-up of the `%%nkigen` tests: a real IPython shell with the extension loaded,
and what the magic displays (instead of the notebook's display)."""

from __future__ import annotations

import pytest
from IPython.testing import globalipapp

import explorer_ext.magic as magic

STOP = "--stop-after decompose-batch-matmul"


@pytest.fixture(scope="module")
def ip():
    # One global test shell: a second start_ipython() returns None, the shell is then get_ipython().
    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
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


def counts(data: dict) -> str:
    """`stages=R/T, changed=C` as a repr spells them, counted from the widget's data."""
    stages = data["stages"]
    ran = sum(s["status"] in ("input", "changed", "unchanged") for s in stages)
    return f"stages={ran}/{len(stages)}, changed={sum(s['status'] == 'changed' for s in stages)}"


SOFTMAX = """\
def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
"""
