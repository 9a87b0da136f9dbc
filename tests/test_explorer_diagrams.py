"""The explorer's diagram data (nkipy_kg/explore_diagrams.py, explore_graph.py): tile
grids, SBUF/PSUM occupancy with spill events, and the graphviz dataflow graph."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from nkipy_kg import knob
from nkipy_kg.explore import explore
from nkipy_kg.explore_graph import INSTALL, sanitise_svg
from nkipy_kg.targets import get_target
from test_pipeline_e2e import long_lived

F32 = ((256, 256), "f32")


def softmax(x):
    m = np.max(x, axis=-1, keepdims=True)
    knob.knob(m).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    e = np.exp(x - m)
    s = np.sum(e, axis=-1, keepdims=True)
    return e / s


def add_exp(x, y):
    return np.exp(x) + y


@pytest.fixture(scope="module")
def dot() -> str | None:
    """The system `dot`; installed with apt-get when missing and running as root."""
    if shutil.which("dot") is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", "graphviz"]
        if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
            subprocess.run(cmd, env=env, capture_output=True, timeout=900)
    return shutil.which("dot")


@pytest.fixture(scope="module")
def softmax_ex():
    return explore(softmax, specs=[F32])


def _stage(ex, name: str) -> int:
    return next(s.index for s in ex.stages if s.name == name)


def test_tile_grid_after_infer_layout(softmax_ex):
    tiles = softmax_ex.diagrams[_stage(softmax_ex, "infer-layout")]["tiles"]
    (op,) = [t for t in tiles if t["kind"] == "tile_op" and t["tile"] == [128, 128]]
    assert op["shape"] == [256, 256] and op["op"] == "linalg.generic"      # the max's iteration domain
    grid = [-(-d // t) for d, t in zip(op["shape"], op["tile"])]
    assert grid == [2, 2]
    layouts = [t for t in tiles if t["kind"] == "layout"]
    assert layouts and all(t["partition_dim"] == 0 for t in layouts)
    assert {"shape": [256, 1], "tile": [128, 1], "mem_space": "Sbuf"}.items() <= layouts[0].items()


def test_fused_generics_show_their_body(softmax_ex):
    """infer-layout fused `x - m` into exp: the card says what the generic computes."""
    tiles = softmax_ex.diagrams[_stage(softmax_ex, "infer-layout")]["tiles"]
    bodies = {t["body"] for t in tiles if t["kind"] == "layout"}
    assert "subf · exp" in bodies and "maximumf" in bodies
    loops = softmax_ex.diagrams[_stage(softmax_ex, "canonicalize-loop-step")]["tiles"]
    assert "subf · exp" in {t["body"] for t in loops if t["kind"] == "loop"}


def test_tile_grid_after_tiling(softmax_ex):
    tiles = softmax_ex.diagrams[_stage(softmax_ex, "canonicalize-loop-step")]["tiles"]
    loops = [t for t in tiles if t["kind"] == "loop" and t["op"] == "linalg.generic" and len(t["loops"]) == 2]
    assert loops, tiles
    max_op = loops[0]
    assert max_op["tile"] == [128, 128] and [l["trips"] for l in max_op["loops"]] == [2, 2]
    assert max_op["shape"] == [256, 256]


def test_memory_rectangles_and_peak():
    x = np.zeros((256, 256), np.float32)
    ex = explore(long_lived, x, x)
    stage = _stage(ex, "insert-memref-dealloc")
    mem = ex.diagrams[stage]["memory"]
    trn2 = get_target("trn2")
    assert mem["capacity"] == {"sbuf": trn2.sbuf_bytes_per_partition, "psum": trn2.psum_bytes_per_partition}
    assert mem["partitions"] == trn2.partitions
    full = [b for b in mem["buffers"] if b["shape"] == [128, 2, 1, 256]]
    assert full and all(b["space"] == "sbuf" and b["partitions"] == 128 and b["bytes"] == 2048 for b in full)
    # a, b, c live together: 3 x 2048 B (each tile is computed in its buffer: no temporaries).
    assert mem["peak"]["sbuf"] >= 3 * 2048 and mem["peak"]["psum"] == 0
    assert max(mem["pressure"]["sbuf"]) == mem["peak"]["sbuf"]
    assert mem["events"] == [] and ex.diagrams[0]["memory"] is None       # no buffers before bufferization
    assert mem["budget"] is None                                          # no pass option: the capacity holds
    # a buffer used inside a later loop stays live until that loop ends
    assert all(b["last"] >= b["first"] for b in mem["buffers"])


def test_spill_events_under_a_tight_budget():
    x = np.zeros((256, 256), np.float32)
    ex = explore(long_lived, x, x, pass_options={"insert-spill-reload": "sbuf-capacity=5120"})
    mem = ex.diagrams[_stage(ex, "insert-spill-reload")]["memory"]
    assert mem["hbm_slots"] == 1
    kinds = [e["kind"] for e in mem["events"]]
    assert kinds == ["spill", "reload"]
    spill, reload = mem["events"]
    assert spill["at"] < reload["at"] and spill["slot"] == reload["slot"] and spill["bytes"] == 2048
    assert mem["peak"]["sbuf"] <= 5120                                    # the budget holds after spilling
    assert mem["budget"] == 5120                                          # drawn on the pressure plot
    assert {d["memory"]["budget"] for d in ex.diagrams.values() if d["memory"]} == {5120}
    assert json.loads(ex.to_json())["diagrams"][str(_stage(ex, "insert-spill-reload"))]["memory"]["events"]


def test_graph_nodes_and_edges(dot):
    ex = explore(add_exp, specs=[F32, F32], stop_after="prepare-arithmetic")
    g = ex.diagrams[0]["graph"]
    # arg0, arg1, 2 x tensor.empty, linalg.exp, linalg.add; exp <- arg0, empty; add <- exp, arg1, empty
    assert (g["nodes"], g["edges"], g["clusters"]) == (6, 5, 0)
    if dot is None:
        assert g["error"] == INSTALL and "svg" not in g
        return
    assert g["svg"].startswith("<svg") and "linalg.exp" in g["svg"] and "<script" not in g["svg"]


def test_graph_clusters_loops(softmax_ex, dot):
    g = softmax_ex.diagrams[_stage(softmax_ex, "knob-driven-tiling") + 1]["graph"]
    assert g["clusters"] >= 6 and g["nodes"] > 20
    if dot is not None:
        assert "cluster_1" in g["svg"]


def test_svg_is_sanitised():
    dirty = '<?xml version="1.0"?><!-- c --><svg onload="x()"><script>alert(1)</script><a xlink:href="javascript:1"><text>t</text></a></svg>'
    clean = sanitise_svg(dirty)
    assert clean == "<svg><text>t</text></svg>"


def test_diagrams_can_be_skipped():
    ex = explore(add_exp, specs=[F32, F32], stop_after="prepare-arithmetic", diagrams=False)
    assert ex.diagrams == {} and json.loads(ex.to_json())["diagrams"] == {}


def test_graph_without_graphviz_says_what_to_install(monkeypatch):
    """No `dot` on the PATH, or no `graphviz` package: the view gets the install hint, the
    counts are still there, and nothing raises."""
    import sys

    import nkipy_kg.explore_graph as graph

    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    ex = explore(add_exp, specs=[F32, F32], stop_after="prepare-arithmetic")
    g = ex.diagrams[0]["graph"]
    assert g == {"nodes": 6, "edges": 5, "clusters": 0, "error": INSTALL}
    assert "apt-get install graphviz" in INSTALL and "pip install graphviz" in INSTALL
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "graphviz", None)                    # `import graphviz` fails
    assert explore(add_exp, specs=[F32, F32], stop_after="prepare-arithmetic").diagrams[0]["graph"]["error"] == INSTALL
