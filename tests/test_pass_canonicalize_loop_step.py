"""canonicalize-loop-step: every tiled loop runs with step 1, offsets are `iv * C`,
values are unchanged, and a tile that does not divide its dim is a located error."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nkipy_kg
from knob_driven_tiling_helpers import annotate, prepared, run_passes, same_values
from nkipy_kg import knob
from nkipy_kg.errors import PassError
from nkipy_kg.kernels import CATALOGUE

PASS = "canonicalize-loop-step"
TILING = ("knob-driven-tiling", "apply-and-strip-transforms", "knob-driven-fusion")
LOOP = re.compile(r"scf\.for %(\S+) = %\S+ to %\S+ step %(\S+) ")


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_kernel_loops_get_step_one_and_compute_the_same(name: str) -> None:
    before, arrays = prepared(name)
    tiled = run_passes(before, *TILING)
    after = run_passes(tiled, PASS)
    loops = LOOP.findall(after)
    assert len(loops) == len(LOOP.findall(tiled))
    ones = set(re.findall(r"(%\S+) = arith.constant 1 : index", after))
    assert all(f"%{step}" in ones for _, step in loops)
    # Each rewritten body starts with the rebuilt induction value `lb + iv * step`.
    constants = dict(re.findall(r"(%\S+) = arith.constant (\d+) : index", tiled))
    rewritten = [step for _, step in LOOP.findall(tiled) if constants[f"%{step}"] != "1"]
    rebuilt = re.findall(r"= arith.muli %arg\d+, %c\d+(?:_\d+)? : index[^\n]*\n\s+%\S+ = arith.addi", after)
    assert len(rebuilt) == len(rewritten)
    same_values(before, after, arrays)


def ragged(a):
    e = np.exp(a)
    knob.knob(e).tile_op(tile_size=[64, 64])
    return e


def test_a_tile_that_does_not_divide_is_an_error_at_the_op() -> None:
    a = np.ones((128, 96), np.float32)
    text = nkipy_kg.trace(ragged).to_mlir(a).operation.get_asm(enable_debug_info=True)
    tiled = run_passes(annotate(run_passes(text, "assign-linalg-op-ids")), *TILING)
    with pytest.raises(PassError, match=r"tile size does not divide the dimension: the loop runs 0 to 96 in steps "
                                        r"of 64") as info:
        run_passes(tiled, PASS)
    assert info.value.pass_name == PASS
    assert info.value.loc is not None and info.value.loc.file == __file__
