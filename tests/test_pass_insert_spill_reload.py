"""insert-spill-reload: victims, slots and copies on hand-written memref IR; values unchanged.

The CPU JIT (`compile_cpu`) only takes functions on ranked tensors ("the CPU JIT only
passes ranked tensors"), so a memref-level kernel is run through a tensor-level
`@main` (`on_cpu`) that copies each argument into a fresh buffer, calls the kernel
and returns the buffers' final contents plus the kernel's results; memory spaces
are stripped first (`, N : i32>` -> `>`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg._mlir import PassManager, ir, make_context
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.errors import PassError
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.passes import get

PASS = "insert-spill-reload"
LIT = Path(__file__).parents[1] / "mlir" / "test" / "insert-spill-reload.mlir"
T = "memref<128x2048xf32, 3 : i32>"  # 8192 B per partition
H = "memref<128x2048xf32, 4 : i32>"


def run_passes(text: str, *specs: tuple[str, str]) -> str:
    with make_context():
        module = ir.Module.parse(text)
        pm = PassManager()
        for name, options in specs:
            get(name).add_to(pm, options)
        pm.run(module.operation)
        module.operation.verify()
        return str(module)


def spill(text: str, capacity: int = 16384) -> str:
    return run_passes(text, (PASS, f"sbuf-capacity={capacity}"))


def lit_case(name: str) -> str:
    """The `// -----` chunk of the lit test that defines @name."""
    return next(c for c in LIT.read_text().split("// -----") if f"func.func @{name}(" in c)


def on_cpu(text: str, name: str):
    """Compile memref-level @name for the CPU JIT through a tensor-level @main wrapper."""
    plain = re.sub(r", \d+ : i32>", ">", text)
    with make_context():
        module = ir.Module.parse(plain)
        for op in module.body.operations:
            if op.operation.name == "func.func":
                op.attributes["sym_visibility"] = ir.StringAttr.get("private")
                if ir.StringAttr(op.attributes["sym_name"]).value == name:
                    ftype = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
        ins, outs = [str(t) for t in ftype.inputs], [str(t) for t in ftype.results]
        body = str(module).rstrip().removesuffix("}")
    tin = [t.replace("memref<", "tensor<") for t in ins]
    tout = [t.replace("memref<", "tensor<") for t in outs]
    lines = [f"func.func @main({', '.join(f'%a{i}: {t}' for i, t in enumerate(tin))}) -> ({', '.join(tin + tout)}) {{"]
    for i, (t, m) in enumerate(zip(tin, ins, strict=True)):
        lines += [f"  %m{i} = bufferization.to_buffer %a{i} : {t} to {m}",
                  f"  %b{i} = memref.alloc() : {m}",
                  f"  memref.copy %m{i}, %b{i} : {m} to {m}"]
    args = ", ".join(f"%b{i}" for i in range(len(ins)))
    call = f"func.call @{name}({args}) : ({', '.join(ins)}) -> ({', '.join(outs)})"
    lines.append(f"  {', '.join(f'%r{i}' for i in range(len(outs)))} = {call}" if outs else f"  {call}")
    rets = []
    for i, (t, m) in enumerate(zip(tin + tout, ins + outs, strict=True)):
        src = f"%b{i}" if i < len(ins) else f"%r{i - len(ins)}"
        lines.append(f"  %t{i} = bufferization.to_tensor {src} restrict : {m} to {t}")
        rets.append(f"%t{i}")
    lines += [f"  return {', '.join(rets)} : {', '.join(tin + tout)}", "}", "}"]
    return compile_cpu(body + "\n".join(lines), "main")


def assert_same_values(before: str, after: str, name: str, *arrays: np.ndarray) -> None:
    want = on_cpu(before, name)(*arrays)
    got = on_cpu(after, name)(*arrays)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g, w)


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def hbm_slots(text: str) -> list[str]:
    return re.findall(r"(%\w+) = memref.alloc\(\) : memref<[^>]*, 1 : i32>", text)


# -- the lit cases, checked for values -------------------------------------------------


def test_reference_case_one_slot_spill_and_reload() -> None:
    before = lit_case("reference")
    after = spill(before)
    (slot,) = hbm_slots(after)
    assert len(re.findall(rf"memref.copy %\w+, {slot} ", after)) == 1   # spill
    assert len(re.findall(rf"memref.copy {slot}, %\w+ ", after)) == 1   # reload
    x = rand(128, 1, 1, 2048)
    assert_same_values(before, after, "reference", x, np.zeros_like(x))
    np.testing.assert_allclose(on_cpu(after, "reference")(x, np.zeros_like(x))[1], 3 * x, rtol=1e-6)


@pytest.mark.parametrize("name", ["next_use_in_loop", "three_peaks", "pressure_in_loop_body"])
def test_lit_cases_keep_their_values(name: str) -> None:
    before = lit_case(name)
    after = spill(before)
    assert hbm_slots(after)
    with make_context():
        fn = ir.Module.parse(re.sub(r", \d+ : i32>", ">", before)).body.operations[0]
        ftype = ir.FunctionType(ir.TypeAttr(fn.attributes["function_type"]).value)
        shapes = [ir.MemRefType(t).shape for t in ftype.inputs]
    arrays = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    assert_same_values(before, after, name, *arrays)


@pytest.mark.parametrize("name", ["at_capacity", "disjoint_lifetimes"])
def test_no_pressure_no_change(name: str) -> None:
    before = lit_case(name)
    assert spill(before) == run_passes(before)


# -- behaviour -------------------------------------------------------------------------


def test_spilled_buffer_is_freed_at_its_spill() -> None:
    """With insert-memref-dealloc after it, the spilled buffer's bytes are free between spill and reload."""
    after = run_passes(lit_case("reference"), (PASS, "sbuf-capacity=16384"), ("insert-memref-dealloc", ""))
    (slot,) = hbm_slots(after)
    spilled = re.search(rf"memref.copy (%\w+), {slot} ", after).group(1)
    lines = [line.strip() for line in after.splitlines()]
    at = next(i for i, line in enumerate(lines) if line.startswith(f"memref.copy {spilled}, {slot} "))
    assert lines[at + 1].startswith(f"memref.dealloc {spilled} ")
    assert not any(re.search(rf"{spilled}\b", line) for line in lines[at + 2:])


def test_victim_is_farthest_next_use() -> None:
    """At the third load, %a (next used last) goes, not %b (next used by the next op)."""
    text = f"""
    func.func @f(%x: {H}, %y: {H}) {{
      %a = memref.alloc() : {T}
      %b = memref.alloc() : {T}
      %c = memref.alloc() : {T}
      memref.copy %x, %a : {H} to {T}
      memref.copy %x, %b : {H} to {T}
      memref.copy %x, %c : {H} to {T}
      linalg.add ins(%b, %c : {T}, {T}) outs(%c : {T})
      linalg.add ins(%a, %c : {T}, {T}) outs(%y : {H})
      return
    }}"""
    after = spill(text)
    (slot,) = hbm_slots(after)
    first = re.search(r"(%\w+) = memref.alloc\(\) : memref<128x2048xf32, 3 : i32>", after).group(1)
    assert f"memref.copy {first}, {slot}" in after
    x = rand(128, 2048)
    assert_same_values(text, after, "f", x, np.zeros_like(x))


def test_uses_through_views_count() -> None:
    """A view keeps its source live from the view's creation to the view's last use: %a, used
    only through %va there, is not spilled inside that span (renaming would miss the view).
    At the load of %c, %b goes instead; %a goes only after the exp, the view's last use."""
    v = "memref<128x1024xf32, strided<[2048, 1]>, 3 : i32>"
    text = f"""
    func.func @f(%x: {H}, %y: {H}) {{
      %a = memref.alloc() : {T}
      %b = memref.alloc() : {T}
      %c = memref.alloc() : {T}
      memref.copy %x, %a : {H} to {T}
      %va = memref.subview %a[0, 0] [128, 1024] [1, 1] : {T} to {v}
      memref.copy %x, %b : {H} to {T}
      memref.copy %x, %c : {H} to {T}
      linalg.exp ins(%va : {v}) outs(%va : {v})
      linalg.add ins(%b, %c : {T}, {T}) outs(%c : {T})
      linalg.add ins(%a, %c : {T}, {T}) outs(%y : {H})
      return
    }}"""
    after = spill(text)
    lines = [line.strip() for line in after.splitlines()]
    sbuf = re.findall(r"(%\w+) = memref.alloc\(\) : memref<128x2048xf32, 3 : i32>", after)
    a, b = sbuf[0], sbuf[1]
    slot_a, slot_b = hbm_slots(after)
    spill_a = lines.index(next(line for line in lines if line.startswith(f"memref.copy {a}, {slot_a} ")))
    spill_b = lines.index(next(line for line in lines if line.startswith(f"memref.copy {b}, {slot_b} ")))
    exp = next(i for i, line in enumerate(lines) if line.startswith("linalg.exp"))
    assert spill_b < exp < spill_a
    assert f"memref.subview {a}[" in after
    x = rand(128, 2048)
    assert_same_values(text, after, "f", x, np.zeros_like(x))


def test_capacity_from_target() -> None:
    """196608 B per partition: too big for trn1 (180224 B), fits trn2 (212984 B)."""
    text = """
    func.func @f(%x: memref<128x49152xf32, 4 : i32>) {
      %a = memref.alloc() : memref<128x49152xf32, 3 : i32>
      memref.copy %x, %a : memref<128x49152xf32, 4 : i32> to memref<128x49152xf32, 3 : i32>
      return
    }"""
    assert run_passes(text, (PASS, "target=trn2")) == run_passes(text)
    with pytest.raises(PassError, match="196608 bytes per partition, more than the capacity of 180224"):
        run_passes(text, (PASS, "target=trn1"))


def test_errors_are_located() -> None:
    text = lit_case("reference").replace("128x1x1x2048xf32, 3", "128x1x1x8192xf32, 3").replace(
        "128x1x1x2048xf32, 4", "128x1x1x8192xf32, 4")
    with pytest.raises(PassError) as info:
        spill(text)
    assert info.value.pass_name == PASS
    assert "32768 bytes per partition" in info.value.message
    assert info.value.ir_excerpt.startswith("%alloc = memref.alloc() : memref<128x1x1x8192xf32, 3 : i32>")
    # Located at the alloc's line in the parsed text.
    alloc_line = next(i for i, line in enumerate(text.splitlines(), 1) if "%a = memref.alloc" in line)
    assert info.value.loc is not None and info.value.loc.line == alloc_line
    with pytest.raises(PassError, match="unknown target 'trn9'"):
        run_passes(text, (PASS, "target=trn9"))
    with pytest.raises(PassError, match="sbuf-capacity must be an integer"):
        run_passes(text, (PASS, "sbuf-capacity=lots"))


# -- catalogue kernels, bufferized, every buffer placed in SBUF (a stand-in for the
#    pipeline's stage-21 IR until the layout passes exist) --------------------------


def with_sbuf_space(text: str) -> str:
    """Give every memref type without a memory space the SBUF one."""
    out, i = [], 0
    while (j := text.find("memref<", i)) >= 0:
        k, depth = j + len("memref<"), 1
        while depth:
            depth += {"<": 1, ">": -1}.get(text[k], 0)
            k += 1
        body = text[j:k - 1]
        out += [text[i:j], body if re.search(r", \d+ : i32$", body) else body + ", 3 : i32", ">"]
        i = k
    return "".join(out) + text[i:]


def bufferized_in_sbuf(name: str) -> str:
    case = CATALOGUE[name]
    text = str(nkipy_kg.trace(case.fn).to_mlir(*case.inputs()))
    with make_context():
        module = ir.Module.parse(text)
        pm = PassManager()
        get("strip-nkipy-annotations").add_to(pm)
        pm.add("one-shot-bufferize{bufferize-function-boundaries"
               " function-boundary-type-conversion=identity-layout-map}")
        pm.add("canonicalize")
        pm.run(module.operation)
        return with_sbuf_space(str(module))


@pytest.mark.parametrize("name", ["softmax", "rmsnorm", "rope"])
def test_kernels_under_a_tight_capacity_keep_their_values(name: str) -> None:
    before = bufferized_in_sbuf(name)
    case = CATALOGUE[name]
    after = spill(before, capacity=3072)
    kernel_name = case.fn.__name__
    arrays = case.inputs()
    want = on_cpu(before, kernel_name)(*[a.copy() for a in arrays])
    got = on_cpu(after, kernel_name)(*[a.copy() for a in arrays])
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g, w)
    if name == "rope":
        assert len(hbm_slots(after)) == 2


@pytest.mark.parametrize("capacity", [6144, 4096, 3072])
def test_many_buffers_in_loops_keep_their_values(capacity: int) -> None:
    """30 buffers, each added to the one three back inside a loop, every 7th kept to the end."""
    t, h = "memref<128x256xf32, 3 : i32>", "memref<128x256xf32, 4 : i32>"
    lines = [f"func.func @chain(%x: {h}, %y: {h}) {{", "%c0 = arith.constant 0 : index",
             "%c1 = arith.constant 1 : index", "%c4 = arith.constant 4 : index"]
    for i in range(30):
        lines += [f"%b{i} = memref.alloc() : {t}", f"memref.copy %x, %b{i} : {h} to {t}"]
        if i >= 3:
            lines.append(f"scf.for %i{i} = %c0 to %c4 step %c1 {{"
                         f" linalg.add ins(%b{i - 3}, %b{i} : {t}, {t}) outs(%b{i} : {t}) }}")
    lines += [f"linalg.add ins(%b{i}, %y : {t}, {h}) outs(%y : {h})" for i in range(0, 30, 7)]
    before = "\n".join(lines + ["return", "}"])
    after = spill(before, capacity)
    assert len(hbm_slots(after)) >= 2
    x = rand(128, 256)
    assert_same_values(before, after, "chain", x, np.zeros_like(x))
