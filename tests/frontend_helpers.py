"""Helpers shared by the frontend test suites: FileCheck, readable locations, source positions.

    asm = with_inline_locations(kernel.to_mlir(x))   # every op ends in loc("np.add"("f.py":12:9))
    filecheck(asm, '''
        CHECK: linalg.add
        CHECK-SAME: loc("np.add"("{file}":{line}:{col}))
    ''')
    line, col = source_position(kernel, "x + y")      # where `x + y` is written in kernel
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

from nkipy_kg._mlir import ir, make_context

BF16 = np.dtype(ml_dtypes.bfloat16)
ERROR_MARKER = "# <- error"

# The `filecheck` console script of the venv running the tests (the Python port of LLVM's).
_FILECHECK = Path(sys.executable).with_name("filecheck")


def filecheck(text: str, checks: str) -> None:
    """Run FileCheck's CHECK lines in `checks` against `text`; fail with its diagnostics."""
    with tempfile.NamedTemporaryFile("w", suffix=".checks", delete=False) as f:
        f.write(textwrap.dedent(checks))
        check_file = f.name
    try:
        proc = subprocess.run([str(_FILECHECK), check_file], input=text, capture_output=True, text=True,
                              timeout=60)
    finally:
        Path(check_file).unlink()
    if proc.returncode != 0:
        raise AssertionError(f"FileCheck failed:\n{proc.stderr}\n--- checks ---\n{textwrap.dedent(checks)}"
                             f"\n--- input ---\n{text}")


_ALIAS_DEF = re.compile(r"^(#loc\d*) = loc\((.*)\)$", re.MULTILINE)
_ALIAS_USE = re.compile(r"#loc\d*\b")


def with_inline_locations(module: ir.Module) -> str:
    """The module's asm with debug info, every `#locN` alias replaced by what it stands for.

    MLIR prints locations as aliases (`loc(#loc13)`, `#loc13 = loc("np.add"(#loc1))`);
    inlining them gives one self-contained `loc("np.add"("file":line:col))` per op,
    which is what a CHECK line can match.
    """
    asm = module.operation.get_asm(enable_debug_info=True)
    defs = {m.group(1): m.group(2) for m in _ALIAS_DEF.finditer(asm)}
    body = _ALIAS_DEF.sub("", asm)

    def resolve(text: str, depth: int = 0) -> str:
        assert depth < 32, "cyclic location aliases"
        return _ALIAS_USE.sub(lambda m: resolve(defs[m.group(0)], depth + 1), text)

    # `defs` holds what is inside each alias's `loc(...)`, so both uses, `loc(#loc13)` on
    # an op and `#loc1` nested in another location, are replaced the same way.
    return "\n".join(line for line in resolve(body).splitlines() if line.strip())


def reparse(module: ir.Module) -> ir.Module:
    """Print `module` and parse it back in a fresh context (raises if the text is invalid)."""
    ctx = make_context()
    with ctx:
        return ir.Module.parse(str(module))


def source_position(obj: Any, snippet: str) -> tuple[int, int]:
    """(line, 1-based column) of the first occurrence of `snippet` in `obj`'s source."""
    lines, start = inspect.getsourcelines(obj)
    for offset, text in enumerate(lines):
        col = text.find(snippet)
        if col >= 0:
            return start + offset, col + 1
    raise AssertionError(f"{snippet!r} does not occur in the source of {obj!r}")


def marker_line(obj: Any, marker: str = ERROR_MARKER) -> int:
    """The line of `obj`'s source (a function or class) carrying the comment `marker`."""
    lines, start = inspect.getsourcelines(obj)
    hits = [start + i for i, text in enumerate(lines) if text.rstrip().endswith(marker)]
    assert len(hits) == 1, f"expected one {marker!r} line in {obj!r}, found {len(hits)}"
    return hits[0]


def source_file(obj: Callable[..., Any]) -> str:
    """The file name tracing records for `obj` (what ends up in MLIR locations)."""
    return obj.__code__.co_filename


def rand(shape: tuple[int, ...], dtype: Any = np.float32, *, low: float = -2.0, high: float = 2.0,
         seed: int = 0) -> np.ndarray:
    """Deterministic test data of `dtype`: uniform floats, integers in [low, high], or bools."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dt, np.integer):
        return rng.integers(int(low), int(high) + 1, size=shape).astype(dt)
    return rng.uniform(low, high, size=shape).astype(dt)
