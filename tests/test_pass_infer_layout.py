"""infer-layout: tiles and placements on traced kernels, user knobs kept, errors located, semantics unchanged."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg import knob
from nkipy_kg._mlir import PassManager, ir, make_context
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.errors import PassError
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.passes import get
from nkipy_kg.passes.common import collect, is_annotatable, is_inside_nkipy_region
from nkipy_kg.passes.layout_loops import num_loops

PASS = "infer-layout"
PREPARATION = ("remove-redundant-zero-fill", "prepare-arithmetic", "decompose-batch-matmul")


def run_passes(text: str, *names: str, target: str = "trn2", fuse: bool = False) -> str:
    """Most tests here check layout propagation through op chains, so infer-layout's
    elementwise fusion (tests/test_elementwise_fusion.py) is off unless `fuse`."""
    options = {PASS: f"target={target} fuse-elementwise={'true' if fuse else 'false'}",
               "canonicalize-partition-dim": f"target={target}"}
    with make_context():
        module = ir.Module.parse(text)
        pm = PassManager()
        for name in names:
            get(name).add_to(pm, options.get(name, ""))
        pm.run(module.operation)
        module.operation.verify()
        return str(module)


def rng_array(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def traced(fn, *arrays: np.ndarray, locations: bool = False) -> str:
    module = nkipy_kg.trace(fn).to_mlir(*arrays)
    return module.operation.get_asm(enable_debug_info=locations)


def annotation_lines(text: str) -> dict[str, list[str]]:
    """SSA name -> the nkipy annotation lines on it."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        m = re.search(r'"nkipy\.(layout|tile_op)"\((%[\w#]+)\)', line)
        if m:
            found.setdefault(m.group(2), []).append(line.strip())
    return found


def layout_of(text: str, op_pattern: str) -> tuple[str, str]:
    """(layout line, tile_op line) of the first op whose line matches `op_pattern`."""
    name = re.search(rf"(%\w+) = {op_pattern}", text).group(1)
    lines = annotation_lines(text)[name]
    return next(line for line in lines if "nkipy.layout" in line), next(line for line in lines if "tile_op" in line)


def assert_fully_annotated(text: str) -> None:
    """Every annotatable op: one layout with all fields (value-rank tile) and one tile_op (one size per loop)."""
    with make_context():
        module = ir.Module.parse(text)
        ops = collect(module.operation, lambda op: is_annotatable(op) and not is_inside_nkipy_region(op))
        assert ops
        for op in ops:
            value = op.results[0]
            users = [u.owner.operation for u in value.uses]
            layouts = [u for u in users if u.name == "nkipy.layout"]
            tiles = [u for u in users if u.name == "nkipy.tile_op"]
            assert len(layouts) == 1 and len(tiles) == 1, f"{op.name}: {len(layouts)} layouts, {len(tiles)} tile_ops"
            assert {"mem_space", "partition_dim", "tile_size"} <= set(layouts[0].attributes)
            rank = ir.RankedTensorType(value.type).rank
            assert len(ir.DenseI64ArrayAttr(layouts[0].attributes["tile_size"])) == rank
            assert len(ir.DenseI64ArrayAttr(tiles[0].attributes["loop_tile_size"])) == num_loops(op)


def check_same_values(before: str, after: str, arrays: list[np.ndarray]) -> None:
    want = compile_cpu(before)(*arrays)
    got = compile_cpu(after)(*arrays)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


# -- every kernel of the catalogue, with and without its knobs ----------------------------------


@pytest.mark.parametrize("knobs", [True, False], ids=["knobs", "no-knobs"])
@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_kernels_end_fully_annotated(name: str, knobs: bool) -> None:
    case = CATALOGUE[name]
    arrays = case.inputs()
    text = traced(case.fn, *arrays)
    if not knobs:
        text = run_passes(text, "strip-nkipy-annotations")
        assert "nkipy.layout" not in text and "nkipy.tile_op" not in text
    prepared = run_passes(text, *PREPARATION)
    after = run_passes(prepared, PASS, fuse=True)  # as in the pipeline
    assert_fully_annotated(after)
    check_same_values(prepared, after, arrays)
    # The next stage accepts what this one produced (partition dims it can honour).
    run_passes(after, "canonicalize-partition-dim")
    # Everything is annotated (and fused) now, so a second run changes nothing.
    assert run_passes(after, PASS, fuse=True) == after


def test_user_knobs_survive_on_kernels() -> None:
    case = CATALOGUE["softmax"]
    after = run_passes(traced(case.fn, *case.inputs()), PASS)
    # r = e / s carries the user's SharedHbm and [128,128]; nothing was overridden or duplicated.
    assert after.count('"nkipy.tile_op"') == after.count('"nkipy.layout"')
    assert "mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>" in after


# -- the digest's examples (traced) ---------------------------------------------------------------


def test_matmul_default_tiles() -> None:
    after = run_passes(traced(lambda a, b: a @ b, rng_array(256, 128), rng_array(128, 512)), PASS)
    layout, tile = layout_of(after, "linalg.matmul")
    assert "tile_size = array<i64: 128, 512>" in layout and "mem_space = 4 : i32" in layout
    assert "loop_tile_size = array<i64: 128, 512, 128>" in tile


@pytest.mark.parametrize(("shape", "tile"), [((128, 4, 256), "128, 4, 256"), ((128, 32, 256), "128, 1, 256"),
                                             ((2, 128, 256), "1, 128, 256"),
                                             ((64, 512), "64, 512"),
                                             ((512,), "128"), ((300, 7), "100, 7")])  # 128 does not divide 300
def test_elementwise_fallback(shape: tuple[int, ...], tile: str) -> None:
    after = run_passes(traced(np.exp, rng_array(*shape)), PASS)
    layout, tile_op = layout_of(after, "linalg.exp")
    assert f"tile_size = array<i64: {tile}>" in layout and f"loop_tile_size = array<i64: {tile}>" in tile_op


def test_intermediates_sbuf_returned_shared_hbm() -> None:
    after = run_passes(traced(lambda x: np.exp(x) + 1.0, rng_array(256, 256)), PASS)
    assert "mem_space = 3 : i32" in layout_of(after, "linalg.exp")[0]
    assert "mem_space = 4 : i32" in layout_of(after, "linalg.generic")[0]


def test_slice_of_an_argument_is_shared_hbm() -> None:
    text = """
    func.func @f(%x: tensor<256x64xf32>) -> tensor<128x64xf32> {
      %s = tensor.extract_slice %x[0, 0] [128, 64] [1, 1] : tensor<256x64xf32> to tensor<128x64xf32>
      "nkipy.tile_op"(%s) {loop_tile_size = array<i64: 128, 64>} : (tensor<128x64xf32>) -> ()
      %e = tensor.empty() : tensor<128x64xf32>
      %r = linalg.exp ins(%s : tensor<128x64xf32>) outs(%e : tensor<128x64xf32>) -> tensor<128x64xf32>
      return %r : tensor<128x64xf32>
    }"""
    after = run_passes(text, PASS)
    slice_layout = next(line for line in annotation_lines(after)["%extracted_slice"] if "layout" in line)
    assert "mem_space = 4 : i32" in slice_layout


# -- propagation on traced kernels ------------------------------------------------------------------


def silu_ffn_h_knob(x, wg, wu, wd):
    gate = x @ wg
    up = x @ wu
    h = gate / (1.0 + np.exp(-gate)) * up
    knob.knob(h).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    return h @ wd


def test_silu_chain_from_one_knob() -> None:
    """e2e #17: a knob only on h; the chain, both producer matmuls and the consumer matmul are filled in."""
    arrays = [rng_array(256, 256), rng_array(256, 512), rng_array(256, 512), rng_array(512, 256)]
    prepared = run_passes(traced(silu_ffn_h_knob, *arrays), *PREPARATION)
    after = run_passes(prepared, PASS)
    assert_fully_annotated(after)
    for op in ("linalg.negf", "linalg.exp", "linalg.reciprocal"):
        assert "loop_tile_size = array<i64: 128, 128>" in layout_of(after, op)[1]
    matmul_tiles = re.findall(r'"nkipy.tile_op"\(%\w+\) \{loop_tile_size = array<i64: ([\d, ]+)>', after)
    assert matmul_tiles.count("128, 128, 128") == 2  # gate and up, lifted from h with K = min(256, 128)
    assert "128, 256, 128" in matmul_tiles  # the un-annotated h @ wd: its own seed
    check_same_values(prepared, after, arrays)


def test_knob_free_silu_ffn_has_no_conflict() -> None:
    """The reference errors here: h already has partition_dim 0 (from x @ wu) when h @ wd wants 1."""
    case = CATALOGUE["silu_ffn"]
    text = run_passes(traced(case.fn, *case.inputs()), "strip-nkipy-annotations", *PREPARATION, PASS)
    muls = [line for line in text.splitlines() if "linalg.mul" in line]
    h = re.search(r"(%\w+) = linalg.mul", muls[-1]).group(1)
    assert any("partition_dim = 0" in line for line in annotation_lines(text)[h])


def rmsnorm_w(x, w):
    sq = np.square(x)
    knob.knob(sq).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    ms = np.mean(sq, axis=-1, keepdims=True)
    return x / np.sqrt(ms + 1e-6) * w


def test_mean_to_sum_and_broadcast_clamping() -> None:
    arrays = [rng_array(256, 256), rng_array(256)]
    prepared = run_passes(traced(rmsnorm_w, *arrays), *PREPARATION)
    after = run_passes(prepared, PASS)
    reduction = layout_of(after, r'linalg.generic \{indexing_maps = \[#map, #map1\], iterator_types = \["parallel", '
                                 r'"reduction"\]')
    assert "tile_size = array<i64: 128, 1>" in reduction[0] and "array<i64: 128, 128>" in reduction[1]
    assert "tile_size = array<i64: 128, 1>" in layout_of(after, "linalg.sqrt")[0]
    # The [256,1] broadcast operand does not shrink x / sqrt(...) to [128, 1] (the reference does).
    last = annotation_lines(after)[re.search(r"return (%\w+)", after).group(1)]
    assert any("tile_size = array<i64: 128, 256>" in line and "mem_space = 4" in line for line in last)
    check_same_values(prepared, after, arrays)


def test_other_target_is_accepted() -> None:
    after = run_passes(traced(np.exp, rng_array(256, 256)), PASS, target="trn1")
    assert "tile_size = array<i64: 128, 256>" in after


def test_annotations_carry_the_defining_ops_location() -> None:
    def f(x):
        return np.exp(x)

    text = traced(f, rng_array(64, 64), locations=True)
    with make_context():
        module = ir.Module.parse(text)
        get(PASS).add_to(pm := PassManager(), "target=trn2")
        pm.run(module.operation)
        exp = collect(module.operation, lambda op: op.name == "linalg.exp")[0]
        found = [u.owner.operation for u in exp.results[0].uses if u.owner.operation.name.startswith("nkipy.")]
        assert len(found) == 2
        assert all(str(a.location) == str(exp.location) and __file__ in str(a.location) for a in found)


# -- errors ------------------------------------------------------------------------------------------


def test_conflicting_partition_dims_point_at_the_user_line() -> None:
    def f(x):
        a = np.exp(x)
        knob.knob(a).layout(partition_dim=0, tile_size=[64, 128])
        b = np.exp(a)
        knob.knob(b).layout(partition_dim=1, tile_size=[64, 128])
        return b

    with pytest.raises(PassError, match="conflicting partition_dim") as info:
        run_passes(traced(f, rng_array(64, 128), locations=True), PASS)
    assert info.value.pass_name == PASS
    assert info.value.loc is not None and info.value.loc.file == __file__
    assert "b = np.exp(a)" in info.value.render()


def test_incompatible_tiles() -> None:
    def f(x):
        a = np.exp(x)
        knob.knob(a).tile_op(tile_size=[48, 128])
        b = -a
        knob.knob(b).tile_op(tile_size=[64, 128])
        return b

    with pytest.raises(PassError, match=r"incompatible tile_size: \[64, 128\] vs \[48, 128\]"):
        run_passes(traced(f, rng_array(192, 128), locations=True), PASS)
