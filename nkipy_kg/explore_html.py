"""The self-contained HTML of an exploration: the explorer's JS and CSS inlined, the
data embedded as `</script>`-safe JSON, nothing fetched from the network.

The JS/CSS are the same files the `%%nkigen` widget ships (`explorer_ext/static/`).
The iframe sandbox allows scripts and downloads (the Run tab's Blob downloads) only.

    render_html(ex.to_json(), title)     # the page `Exploration.save_html` writes
    saved_output_html(ex)                # what a notebook keeps: the page in an iframe + a plain summary
"""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

BRAND = "nkipy-kg"
# One module scope, in this order: helpers first, the app (`mount`, the widget export) last.
JS_FILES = ("explorer_ir.js", "explorer_shell.js", "explorer_diagrams.js", "explorer_run.js", "explorer.js",
            "explorer_widget.js")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def static_text(name: str) -> str:
    return (resources.files("explorer_ext") / "static" / name).read_text(encoding="utf-8")


def bundle_js() -> str:
    """The explorer as one ES module (the files of JS_FILES share one scope)."""
    return "\n".join(static_text(name) for name in JS_FILES)


def script_safe_json(json_text: str) -> str:
    """JSON that cannot end its `<script>` element early (`</script>`, `<!--`)."""
    return "".join(_JSON_ESCAPES.get(ch, ch) for ch in json_text)


def render_html(json_text: str, title: str = BRAND) -> str:
    js = bundle_js().replace("export function mount", "function mount")
    # The widget's default export is unused here; keep it as a plain object.
    js = js.replace("export default {", "const widget = {")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>{html.escape(title)}</title>
<style>html, body {{ margin: 0; height: 100%; }}
{static_text("explorer.css")}</style>
</head><body>
<div id="nkx-root" class="nkx-page" data-testid="nkx-root"></div>
<script type="application/json" id="nkx-data">{script_safe_json(json_text)}</script>
<script>
{js}
(function () {{
  var data = JSON.parse(document.getElementById("nkx-data").textContent);
  var root = document.getElementById("nkx-root");
  var m = /stage=(\\d+)/.exec(location.hash);
  window.nkigen = mount(root, data, {{
    initial: m ? Number(m[1]) : undefined,
    onSelect: function (i) {{ try {{ history.replaceState(null, "", "#stage=" + i); }} catch (e) {{}} }}
  }});
  root.focus();
}})();
</script>
</body></html>
"""


def iframe_html(json_text: str, title: str = BRAND, height: int = 660) -> str:
    """The page inside an `<iframe srcdoc>`: renders in saved notebooks with no kernel."""
    page = html.escape(render_html(json_text, title), quote=True)
    return (f'<iframe srcdoc="{page}" title="{html.escape(title)}" '
            f'style="width:100%;height:{height}px;border:1px solid #d1d9e0;border-radius:8px" '
            f'sandbox="allow-scripts allow-downloads"></iframe>')


# Where `<style>` survives, so does the iframe: hide the plain summary. And without a kernel
# the live widget's output (next to this one) is only ipywidgets' "Error displaying widget:
# model not found" text, under a working explorer: hide that output while it has no element.
SAVED_STYLE = ("<style>.nkx-static > .nkx-fallback { display: none; } "
               ".jp-OutputArea-child:has(.nkx-static) + .jp-OutputArea-child > .jupyter-widgets:not(:has(*)) "
               "{ display: none; }</style>")


def saved_output_html(ex: Any) -> str:
    """The explorer as a notebook keeps it: the iframe, and a plain summary of the passes for
    viewers that strip iframes and styles (an untrusted notebook in JupyterLab, GitHub)."""
    from nkipy_kg.explore_fallback import fallback_html

    return (f'<div class="nkx-static" data-nkigen-static="1">{SAVED_STYLE}'
            f'{iframe_html(ex.to_json(), title=ex.title)}{fallback_html(ex)}</div>')
