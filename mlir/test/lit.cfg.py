"""lit configuration for nkipy-kg's FileCheck tests: `.venv/bin/lit mlir/test -v`.

Tools resolve from the Python environment running lit (the bin dir of
`sys.executable`), so the tests exercise the installed `nkipy-kg-opt` and the
PyPI `filecheck`, never whatever happens to be first on PATH.
"""

import os
import sys
import tempfile

import lit.formats

config.name = "nkipy-kg"
config.test_format = lit.formats.ShTest(execute_external=False)  # `not`, pipes: lit's own shell
config.suffixes = [".mlir"]
config.excludes = ["lit.cfg.py", "Output"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
# Keep lit's scratch files out of the source tree.
config.test_exec_root = os.path.join(tempfile.gettempdir(), "nkipy-kg-lit")

bin_dir = os.path.dirname(sys.executable)
config.environment["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
# Not inherited by default; the bindings and NumPy read these to find a home dir.
for name in ("HOME", "TMPDIR"):
    if name in os.environ:
        config.environment[name] = os.environ[name]


def _tool(name: str) -> tuple[str, str]:
    """Substitute a bare tool name (not part of a longer word or path) by its absolute path."""
    return (rf"(?<![\w/.-]){name}(?![\w.-])", os.path.join(bin_dir, name))


config.substitutions.append(("%python", sys.executable))
config.substitutions.append(_tool("nkipy-kg-opt"))
config.substitutions.append(_tool("filecheck"))
