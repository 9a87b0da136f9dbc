"""The explorer's graph view: one stage's op dataflow graph, drawn by graphviz.

Ops are nodes (constants and terminators left out), SSA values are edges, each
scf.for is a cluster, and a node's colour is the memory space of its result. The
SVG comes from the system `dot` binary via the `graphviz` package and is sanitised
(no scripts, event handlers or links) before it goes into the explorer's JSON.

    graph_of(module) -> {"nodes": 12, "edges": 15, "svg": "<svg ...>"}   # or {"error": ...}
"""

from __future__ import annotations

import re
import shutil
from typing import Any

from nkipy_kg._mlir import ir
from nkipy_kg.explore_diagrams import MEM_SPACES, _funcs, _ops, _space

MAX_NODES = 400   # beyond this the layout is unreadable (and slow): say so instead
SKIP = {"arith.constant", "scf.yield", "func.return", "linalg.yield"}
COLOURS = {"Sbuf": "#dbeafe", "Psum": "#fde68a", "Hbm": "#fecaca", "SharedHbm": "#e5e7eb", None: "#ffffff"}
INSTALL = "the graph view needs graphviz: `apt-get install graphviz` (the `dot` binary) and `pip install graphviz`"


def _label(op: ir.Operation) -> str:
    name = op.name
    if op.results:
        t = str(op.results[0].type)
        m = re.match(r"(tensor|memref)<([^,>]*)", t)
        return f"{name}\n{m.group(2)}" if m else name
    return name


def _space_of(op: ir.Operation, layouts: dict[int, str]) -> str | None:
    for v in op.results:
        s = _space(v.type)
        if s is not None:
            return MEM_SPACES.get(s)
        if hash(v) in layouts:
            return layouts[hash(v)]
    return None


def _structure(module: ir.Module) -> tuple[list[tuple[str, str, str | None, int]], list[tuple[str, str]],
                                           list[tuple[int, int]]]:
    """Nodes (id, label, space, cluster), edges (from, to) and clusters (id, parent)."""
    nodes: list[tuple[str, str, str | None, int]] = []
    edges: list[tuple[str, str]] = []
    clusters: list[tuple[int, int]] = []
    producer: dict[int, str] = {}
    layouts: dict[int, str] = {}
    for f in _funcs(module):
        for op in _ops(f.regions[0].blocks[0]):
            if op.name == "nkipy.layout" and "mem_space" in op.attributes:
                layouts[hash(op.operands[0])] = MEM_SPACES.get(ir.IntegerAttr(op.attributes["mem_space"]).value, "")
        for k, arg in enumerate(f.regions[0].blocks[0].arguments):
            nid = f"a{k}"
            nodes.append((nid, f"arg{k}\n{str(arg.type).split(',')[0]}", MEM_SPACES.get(_space(arg.type)), 0))
            producer[hash(arg)] = nid

    def uses_in(op: ir.Operation) -> list[ir.Value]:
        """Operands of `op` and of the ops in its non-loop regions (a linalg body's captures)."""
        vals = list(op.operands)
        if op.name != "scf.for":
            for region in op.regions:
                for block in region.blocks:
                    for inner in _ops(block):
                        vals += uses_in(inner)
        return vals

    def walk(block: ir.Block, cluster: int) -> None:
        for op in _ops(block):
            if op.name == "scf.for":
                clusters.append((len(clusters) + 1, cluster))
                walk(op.regions[0].blocks[0], len(clusters))
                for r in op.results:
                    producer[hash(r)] = producer.get(hash(op.regions[0].blocks[0].operations[-1].operands[0]), "") \
                        if len(op.regions[0].blocks[0].operations[-1].operands) else ""
                continue
            if op.name in SKIP or op.name.startswith("nkipy."):
                continue
            nid = f"n{len(nodes)}"
            nodes.append((nid, _label(op), _space_of(op, layouts), cluster))
            for v in uses_in(op):
                src = producer.get(hash(v))
                if src and (src, nid) not in edges:
                    edges.append((src, nid))
            for r in op.results:
                producer[hash(r)] = nid

    for f in _funcs(module):
        walk(f.regions[0].blocks[0], 0)
    return nodes, edges, clusters


def sanitise_svg(svg: str) -> str:
    """Only the <svg> element, without scripts, event handlers, links or namespace URLs."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else ""
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r"<script\b.*?</script\s*>", "", svg, flags=re.S | re.I)
    svg = re.sub(r"<(/?)a\b[^>]*>", "", svg, flags=re.I)
    # Namespace declarations are not needed inside HTML (and would put URLs in the page).
    svg = re.sub(r"\s(on\w+|xlink:href|href|xmlns(?::\w+)?)\s*=\s*(\"[^\"]*\"|'[^']*')", "", svg, flags=re.I)
    return svg.strip()


def graph_of(module: ir.Module) -> dict[str, Any]:
    nodes, edges, clusters = _structure(module)
    out: dict[str, Any] = {"nodes": len(nodes), "edges": len(edges), "clusters": len(clusters)}
    if len(nodes) > MAX_NODES:
        return {**out, "error": f"{len(nodes)} ops: too many to draw (the graph view stops at {MAX_NODES})"}
    try:
        import graphviz
    except ImportError:
        return {**out, "error": INSTALL}
    if shutil.which("dot") is None:
        return {**out, "error": INSTALL}
    g = graphviz.Digraph("stage", graph_attr={"rankdir": "TB", "fontname": "Helvetica", "fontsize": "10",
                                              "bgcolor": "transparent", "nodesep": "0.25", "ranksep": "0.35"},
                         node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica",
                                    "fontsize": "10", "color": "#57606a", "penwidth": "0.8"},
                         edge_attr={"color": "#8c959f", "arrowsize": "0.6"})
    bodies: dict[int, Any] = {0: g}
    subs: dict[int, Any] = {}
    for cid, _parent in clusters:
        subs[cid] = graphviz.Digraph(f"cluster_{cid}", graph_attr={
            "label": "scf.for", "style": "rounded,dashed", "color": "#8250df", "fontcolor": "#8250df"})
    for nid, label, space, cluster in nodes:
        target = subs.get(cluster, g)
        target.node(nid, label, fillcolor=COLOURS.get(space, "#ffffff"))
    for src, dst in edges:
        g.edge(src, dst)
    # Nest clusters innermost first so each subgraph is complete before it is added.
    for cid, parent in reversed(clusters):
        (subs.get(parent) or bodies[0]).subgraph(subs[cid])
    try:
        svg = g.pipe(format="svg", encoding="utf-8")
    except Exception as err:  # graphviz.ExecutableNotFound, CalledProcessError
        return {**out, "error": f"{INSTALL} ({type(err).__name__}: {err})"}
    return {**out, "svg": sanitise_svg(svg)}
