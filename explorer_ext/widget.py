"""The live explorer: an anywidget fed by `Exploration.to_json()`.

All pass switching happens in the browser (`static/explorer.js`); the kernel is only
told which stage is selected (`stage`), so it survives a reload of the view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

from nkipy_kg.explore import Exploration
from nkipy_kg.explore_html import iframe_html

STATIC = Path(__file__).parent / "static"


def summary(ex: Exploration, kind: str) -> str:
    """A stable one-line description (no addresses, no timings): nbval compares it."""
    changed = sum(s.status == "changed" for s in ex.stages)
    failed = f", failed={ex.error.pass_name!r}" if ex.error else ""
    return (f"{kind}(kernel={ex.kernel!r}, target={ex.target!r}, stages={len(ex.ran)}/{len(ex.stages)}, "
            f"changed={changed}{failed})")


class ExplorerWidget(anywidget.AnyWidget):
    _esm = STATIC / "explorer.js"
    _css = STATIC / "explorer.css"
    data = traitlets.Unicode("{}").tag(sync=True)
    stage = traitlets.Int(-1).tag(sync=True)

    def __init__(self, exploration: Exploration, **kwargs: Any) -> None:
        super().__init__(data=exploration.to_json(), **kwargs)
        self.exploration = exploration

    def __repr__(self) -> str:
        return summary(self.exploration, "NkigenExplorer")


class StaticExplorer:
    """The same explorer as a self-contained `<iframe srcdoc>`: what a saved notebook
    shows without a kernel. The live widget hides it while it is running."""

    def __init__(self, exploration: Exploration) -> None:
        self.exploration = exploration

    def _repr_html_(self) -> str:
        page = iframe_html(self.exploration.to_json(), title=f"nkigen · {self.exploration.kernel}")
        return f'<div class="nkx-static" data-nkigen-static="1">{page}</div>'

    def __repr__(self) -> str:
        return summary(self.exploration, "NkigenStaticExplorer")
