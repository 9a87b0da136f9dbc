"""The live explorer: an anywidget fed by `Exploration.to_json()` (or a `Comparison`'s).

All pass switching happens in the browser (`static/explorer.js`); the kernel is only
told which stage is selected (`stage`), so it survives a reload of the view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

from nkipy_kg.explore import Exploration
from nkipy_kg.explore_compare import Comparison
from nkipy_kg.explore_html import bundle_js, saved_output_html

STATIC = Path(__file__).parent / "static"


def _one(ex: Exploration) -> str:
    changed = sum(s.status == "changed" for s in ex.stages)
    failed = f", failed={ex.error.pass_name!r}" if ex.error else ""
    run = f", {ex.run.label()}" if ex.run else ""
    return (f"kernel={ex.kernel!r}, target={ex.target!r}, stages={len(ex.ran)}/{len(ex.stages)}, "
            f"changed={changed}{failed}{run}")


def summary(ex: Exploration | Comparison, kind: str) -> str:
    """A stable one-line description (no addresses, no timings): nbval compares it."""
    if isinstance(ex, Comparison):
        return f"{kind}(compare: {_one(ex.a)} | {_one(ex.b)})"
    return f"{kind}({_one(ex)})"


class ExplorerWidget(anywidget.AnyWidget):
    _esm = bundle_js()          # static/*.js (explore_html.JS_FILES) as one module
    _css = STATIC / "explorer.css"
    data = traitlets.Unicode("{}").tag(sync=True)
    stage = traitlets.Int(-1).tag(sync=True)

    def __init__(self, exploration: Exploration | Comparison, **kwargs: Any) -> None:
        super().__init__(data=exploration.to_json(), **kwargs)
        self.exploration = exploration

    def __repr__(self) -> str:
        return summary(self.exploration, "NkigenExplorer")


class StaticExplorer:
    """The same explorer as a self-contained `<iframe srcdoc>` (plus a plain summary for
    viewers that strip iframes): what a saved notebook shows without a kernel. The live
    widget hides it while it is running."""

    def __init__(self, exploration: Exploration | Comparison) -> None:
        self.exploration = exploration

    def _repr_html_(self) -> str:
        return saved_output_html(self.exploration)

    def __repr__(self) -> str:
        return summary(self.exploration, "NkigenStaticExplorer")
