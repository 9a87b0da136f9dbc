"""insert-memref-dealloc: one dealloc per on-chip buffer, after every use; placement errors.

Values are not compared through the CPU JIT here: its lowering runs upstream
`buffer-deallocation-pipeline`, which rejects IR that already contains
`memref.dealloc` ("memory free side-effect on MemRef value not supported!").
Instead every test checks the property that makes a dealloc safe: no use of the
buffer (through views, nested uses at their ancestor) comes after it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nkipy_kg._mlir import ir, make_context
from nkipy_kg.errors import PassError
from nkipy_kg.kernels import CATALOGUE
from test_pass_insert_spill_reload import bufferized_in_sbuf, lit_case, run_passes

PASS = "insert-memref-dealloc"
VIEWS = {"memref.subview", "memref.collapse_shape", "memref.expand_shape", "memref.reinterpret_cast", "memref.cast"}


def dealloc(text: str) -> str:
    return run_passes(text, (PASS, ""))


def check_deallocs(text: str) -> dict[str, int]:
    """Assert every dealloc follows all uses of its buffer; return {memory space: #deallocs}."""
    counts: dict[str, int] = {}
    with make_context():
        module = ir.Module.parse(text)
        deallocs: list[ir.Operation] = []
        module.operation.walk(lambda op: (deallocs.append(op.operation) if op.operation.name == "memref.dealloc"
                                          else None, ir.WalkResult.ADVANCE)[1])
        for d in deallocs:
            buffer = d.operands[0]
            space = str(ir.MemRefType(buffer.type).memory_space)
            counts[space] = counts.get(space, 0) + 1
            for user in _users(buffer):
                if user == d:
                    continue
                anchor = user
                while anchor.block != d.block:
                    anchor = anchor.parent
                assert anchor.is_before_in_block(d), f"use after dealloc:\n{user}\n{d}"
            assert sum(1 for u in _users(buffer) if u.name == "memref.dealloc") == 1, "freed twice"
    return counts


def _users(value: ir.Value) -> list[ir.Operation]:
    out = []
    for use in value.uses:
        owner = use.owner.operation
        out.append(owner)
        if owner.name in VIEWS:
            out += _users(owner.results[0])
    return out


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_kernels_every_unreturned_buffer_freed_after_its_uses(name: str) -> None:
    before = bufferized_in_sbuf(name)
    after = dealloc(before)
    allocs = len(re.findall(r"= memref.alloc\(\)", before))
    returned = len(re.findall(r"^\s*return %", before, re.M))  # each kernel returns one fresh buffer
    assert check_deallocs(after).get("3 : i32", 0) == allocs - returned


def test_spill_then_dealloc() -> None:
    """The stage order of the pipeline: the spilled buffer and the reloaded one are both freed."""
    after = run_passes(lit_case("three_peaks"), ("insert-spill-reload", "sbuf-capacity=16384"), (PASS, ""))
    counts = check_deallocs(after)
    assert counts == {"3 : i32": 7}  # 4 buffers + 3 reloaded copies; HBM slots untouched


def test_memory_spaces_left_alone_and_idempotent() -> None:
    text = """
    func.func @f(%x: memref<128x64xf32, 4 : i32>) {
      %s = memref.alloc() : memref<128x64xf32, 3 : i32>
      %p = memref.alloc() : memref<128x64xf32, 2 : i32>
      %h = memref.alloc() : memref<128x64xf32, 1 : i32>
      %g = memref.alloc() : memref<128x64xf32, 4 : i32>
      %k = memref.alloc() : memref<128x64xf32, 5 : i32>
      memref.copy %x, %s : memref<128x64xf32, 4 : i32> to memref<128x64xf32, 3 : i32>
      memref.copy %s, %p : memref<128x64xf32, 3 : i32> to memref<128x64xf32, 2 : i32>
      memref.copy %p, %h : memref<128x64xf32, 2 : i32> to memref<128x64xf32, 1 : i32>
      memref.copy %h, %g : memref<128x64xf32, 1 : i32> to memref<128x64xf32, 4 : i32>
      return
    }"""
    once = dealloc(text)
    assert check_deallocs(once) == {"3 : i32": 1, "2 : i32": 1}
    lines = [line.strip() for line in once.splitlines()]
    assert lines[lines.index(next(l for l in lines if l.startswith("memref.copy %alloc, %alloc_0"))) + 1] \
        == "memref.dealloc %alloc : memref<128x64xf32, 3 : i32>"
    assert dealloc(once) == once


def test_lit_cases_are_safe() -> None:
    lit = (Path(__file__).parents[1] / "mlir" / "test" / "insert-memref-dealloc.mlir").read_text()
    for chunk in lit.split("// -----"):
        check_deallocs(dealloc(chunk))


def test_unplaced_alloc_is_a_located_error() -> None:
    text = """func.func @f() {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      scf.for %i = %c0 to %c1 step %c1 {
        %a = memref.alloc() : memref<128x512xf32>
      }
      return
    }"""
    with pytest.raises(PassError) as info:
        dealloc(text)
    err = info.value
    assert err.pass_name == PASS
    assert err.message == "memref.alloc must have an nkipy memory space annotation (SBUF, PSUM, HBM, or SHAREDHBM)"
    assert err.loc is not None and err.loc.line == 5
    assert "memref<128x512xf32>" in err.ir_excerpt
