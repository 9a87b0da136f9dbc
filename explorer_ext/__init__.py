"""Jupyter front end of nkipy-kg (`%load_ext explorer_ext`). Renders compiler data; never touches MLIR.

    %load_ext explorer_ext

    %%nkigen --inputs "x=256x256:f32"
    def softmax(x):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)

The cell defines the kernel (bound in the namespace as a traced function) and shows
the explorer: every pass of the pipeline, before|after IR diffs, source linking,
tile/memory/graph diagrams and, with `--run`, the Run tab (`%nkigen?` lists every flag).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ExplorerWidget", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    from explorer_ext.magic import NkigenMagics

    ipython.register_magics(NkigenMagics)


def unload_ipython_extension(ipython: Any) -> None:
    magics = ipython.magics_manager.magics
    for kind in ("line", "cell"):
        magics[kind].pop("nkigen", None)


def __getattr__(name: str) -> Any:
    # The widget imports anywidget; keep `import explorer_ext` cheap and dependency-free.
    if name == "ExplorerWidget":
        from explorer_ext.widget import ExplorerWidget

        return ExplorerWidget
    raise AttributeError(name)
