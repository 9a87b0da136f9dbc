"""A plain-HTML summary of an exploration, for pages that will not run the explorer.

JupyterLab sanitizes the HTML of an untrusted notebook (one opened fresh from a clone):
`<iframe>`, `<script>` and `<style>` are dropped, tables, classes and inline styles kept.
GitHub's notebook view does the same. There the saved explorer would be an empty box;
this summary (the pass list as a table, and how to get the interactive view) is what
remains. One line, no `<div>` inside: nbval's sanitizer masks it with one regex.

    fallback_html(exploration_or_comparison) -> '<div class="nkx-fallback" ...>...</div>'
"""

from __future__ import annotations

import html
from typing import Any

from nkipy_kg.explore_html import BRAND

BOX = ("font:13px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;border:1px solid #d1d9e0;"
       "border-radius:8px;padding:8px 12px;margin:4px 0")
CELL = "text-align:left;padding:1px 10px 1px 0;border-bottom:1px solid #eef1f4"
HOW = ("This is a static summary: run the cell, or trust the notebook (File → Trust Notebook), "
       "for the interactive explorer.")


def _ops(deltas: dict[str, int]) -> str:
    plus = sum(v for v in deltas.values() if v > 0)
    minus = -sum(v for v in deltas.values() if v < 0)
    return f"+{plus} −{minus}" if plus or minus else ""


def _headline(ex: Any) -> str:
    ran = sum(s.ran for s in ex.stages) - 1
    changed = sum(s.status == "changed" for s in ex.stages)
    text = f"{ran} of {len(ex.stages) - 1} passes ran, {changed} changed the IR"
    if ex.error is not None:
        text += f", failed in {ex.error.pass_name}"
    run = ex.run
    if run is not None and not run.error:
        verdict = {True: ", NumPy: pass", False: ", NumPy: FAIL", None: ""}[run.passed]
        text += f"; ran on {run.device}: {run.time_us:.3f} us ({run.timing_kind}){verdict}"
    return html.escape(text)


def _row(cells: list[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f'<{tag} style="{CELL}">{c}</{tag}>' for c in cells) + "</tr>"


def fallback_html(ex: Any) -> str:
    """The summary of an `Exploration` or a `Comparison` (which has `.a` and `.b`)."""
    esc = html.escape
    if hasattr(ex, "a"):
        a, b = ex.a, ex.b
        title = f"{esc(a.kernel)} vs {esc(b.kernel)}"
        lines = f"{esc(a.kernel)}: {_headline(a)}. {esc(b.kernel)}: {_headline(b)}."
        head = _row(["#", "pass", "phase", esc(a.kernel), "ops", esc(b.kernel), "ops"], "th")
        rows = "".join(_row([str(sa.index), esc(sa.name), esc(sa.phase), esc(sa.status), _ops(sa.op_deltas),
                             esc(sb.status), _ops(sb.op_deltas)]) for sa, sb in zip(a.stages, b.stages))
        target = a.target
    else:
        title, lines, target = esc(ex.kernel), f"{_headline(ex)}.", ex.target
        head = _row(["#", "pass", "phase", "status", "ops"], "th")
        rows = "".join(_row([str(s.index), esc(s.name), esc(s.phase), esc(s.status), _ops(s.op_deltas)])
                       for s in ex.stages)
    return (f'<div class="nkx-fallback" style="{BOX}"><p style="margin:0 0 6px"><b>{BRAND} explorer · {title}</b> '
            f'({esc(target)}): {lines} {HOW}</p><table style="border-collapse:collapse;font-size:12px">'
            f"<thead>{head}</thead><tbody>{rows}</tbody></table></div>")
