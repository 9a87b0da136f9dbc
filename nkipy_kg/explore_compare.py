"""Two knob variants of one kernel, side by side: stage N of A against stage N of B.

    cmp = compare(softmax_128, softmax_256, specs=[((256, 256), "f32")], run=True)
    cmp.rows()[9]        # {"index": 9, "name": "knob-driven-tiling", "a_deltas": {...}, "b_deltas": {...}, "same_ir": False}
    cmp.save_html("variants.html")

The explorer opens in compare mode (`{"mode": "compare", "a": ..., "b": ...}`): the
pass list shows both kernels' op-count deltas, and "compare with" defaults to the
same stage of the other kernel, diffed line by line in the browser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nkipy_kg.explore import SCHEMA, Exploration, explore
from nkipy_kg.explore_source import widen


@dataclass
class Comparison:
    a: Exploration
    b: Exploration

    def __post_init__(self) -> None:
        # Both kernels in one file (one notebook cell): kernel a's source panel, the one the
        # explorer shows, covers both, so kernel b's IR lines link to lines on screen.
        sa, sb = self.a.source, self.b.source
        if sa is not None and sb is not None and sa.file == sb.file:
            self.a.source = widen(sa, [sb.first_line, sb.first_line + len(sb.lines) - 1])

    def rows(self) -> list[dict[str, Any]]:
        """Per pipeline stage: both statuses, both op-count deltas, whether the IR is equal."""
        # The kernels' own symbol names differ; that alone does not make the IR differ.
        rename = re.compile(rf"@{re.escape(self.b.kernel)}\b")
        out = []
        for sa, sb in zip(self.a.stages, self.b.stages):
            same = sa.ran and sb.ran and sa.ir == rename.sub(f"@{self.a.kernel}", sb.ir)
            out.append({"index": sa.index, "name": sa.name, "a_status": sa.status, "b_status": sb.status,
                        "a_deltas": dict(sa.op_deltas), "b_deltas": dict(sb.op_deltas), "same_ir": same})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "mode": "compare", "a": self.a.to_dict(), "b": self.b.to_dict()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def title(self) -> str:
        from nkipy_kg.explore_html import BRAND

        return f"{BRAND} · {self.a.kernel} vs {self.b.kernel}"

    def save_html(self, path: str | Path) -> Path:
        from nkipy_kg.explore_html import render_html

        out = Path(path)
        out.write_text(render_html(self.to_json(), title=self.title), encoding="utf-8")
        return out

    def _repr_html_(self) -> str:
        from nkipy_kg.explore_html import saved_output_html

        return saved_output_html(self)

    def __repr__(self) -> str:
        differ = sum(1 for r in self.rows() if r["a_status"] in ("changed", "unchanged") and not r["same_ir"])
        return f"Comparison({self.a!r}, {self.b!r}, stages_differing={differ})"


def compare(fn_a: Any, fn_b: Any, *arrays: Any, **options: Any) -> Comparison:
    """`explore` both kernels with the same inputs and options."""
    return Comparison(explore(fn_a, *arrays, **options), explore(fn_b, *arrays, **options))
