"""Run bufferized (memref-level) kernels on the CPU, for the stage 13-17 pass tests.

`nkipy_kg.cpu.jit.compile_cpu` takes tensor IR only (its signature reader and its
pipeline start with one-shot-bufferize). Memref IR with nkipy memory spaces needs:
- the integer memory spaces stripped (`, 3 : i32>` -> `>`): LLVM lowering would
  turn them into address spaces the host cannot use;
- the nkipy annotation ops stripped;
- a zero `linalg.fill` after every `memref.alloc`, mimicking the hardware (PSUM
  accumulators start at zero; uninitialised reads are deterministic);
- returned strided views copied into contiguous buffers (out-params need them);
- the JIT pipeline minus bufferization.
Candidate to move into nkipy_kg/cpu (the lead decides).
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Sequence

import numpy as np

from nkipy_kg._mlir import ExecutionEngine, PassManager, arith, ir, linalg, make_context, memref
from nkipy_kg.cpu import abi
from nkipy_kg.cpu.lowering import _PYTHON_STEPS, UPSTREAM_PASSES
from nkipy_kg.passes import get as get_pass

MEMORY_SPACE = re.compile(r", \d+ : i32>")


def strip_memory_spaces(text: str) -> str:
    return MEMORY_SPACE.sub(">", text)


def run_memref(text: str, *arrays: np.ndarray, func_name: str | None = None) -> tuple[np.ndarray, ...]:
    """Compile the memref-level module `text` and call its function on `arrays`."""
    context = make_context()
    with context, ir.Location.unknown():
        module = ir.Module.parse(strip_memory_spaces(text))
        func_op = _find_func(module, func_name)
        name = ir.StringAttr(func_op.attributes["sym_name"]).value
        fn_type = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
        result_specs = [_spec(t) for t in fn_type.results]
        func_op.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        _zero_fill_allocs(module.operation)
        _contiguous_results(func_op)
        pm = PassManager()
        get_pass("strip-nkipy-annotations").add_to(pm)
        for step in UPSTREAM_PASSES[1:]:  # [0] is one-shot-bufferize
            if step in _PYTHON_STEPS:
                pm.add(_PYTHON_STEPS[step], step)
            else:
                pm.add(step)
        pm.run(module.operation)
        engine = ExecutionEngine(module, opt_level=2)
        inputs = [np.ascontiguousarray(a) for a in arrays]
        outputs = [np.zeros(shape, dtype) for shape, dtype in result_specs]
        pointers = abi.descriptor_pointers(inputs + outputs)
        packed = (ctypes.c_void_p * len(pointers))(*[ctypes.cast(p, ctypes.c_void_p) for p in pointers])
        engine.lookup(name)(packed)
    return tuple(outputs)


def _spec(t: ir.Type) -> tuple[tuple[int, ...], np.dtype]:
    m = ir.MemRefType(t)
    return tuple(m.shape), abi._DTYPES[str(m.element_type)]


def _find_func(module: ir.Module, func_name: str | None) -> ir.Operation:
    funcs = [op.operation for op in module.body.operations if op.operation.name == "func.func"
             and len(op.operation.regions[0].blocks) > 0]
    if func_name is None:
        return funcs[0]
    return next(f for f in funcs if ir.StringAttr(f.attributes["sym_name"]).value == func_name)


def _zero_fill_allocs(module_op: ir.Operation) -> None:
    allocs: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "memref.alloc":
            allocs.append(op)
        return ir.WalkResult.ADVANCE

    module_op.walk(visit)
    for alloc in allocs:
        element = ir.MemRefType(alloc.results[0].type).element_type
        with alloc.location, ir.InsertionPoint.after(alloc):
            is_float = isinstance(element, ir.FloatType)
            zero = ir.FloatAttr.get(element, 0.0) if is_float else ir.IntegerAttr.get(element, 0)
            cst = arith.ConstantOp(element, zero).result
            linalg.fill(cst, outs=[alloc.results[0]])


def _contiguous_results(func_op: ir.Operation) -> None:
    """Copy returned strided views into fresh buffers: out-params must be contiguous."""
    ret = func_op.regions[0].blocks[0].operations[-1].operation
    for i, value in enumerate(list(ret.operands)):
        t = ir.MemRefType(value.type)
        if isinstance(t.layout, ir.AffineMapAttr):
            continue
        with ret.location, ir.InsertionPoint(ret):
            fresh = memref.AllocOp(ir.MemRefType.get(t.shape, t.element_type), [], []).result
            memref.CopyOp(value, fresh)
        ret.operands[i] = fresh
    args = [a.type for a in func_op.regions[0].blocks[0].arguments]
    func_op.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(args, [v.type for v in ret.operands]))


def run_passes(text: str, *names: str) -> str:
    """`text` after the registered passes `names` (verified)."""
    with make_context():
        module = ir.Module.parse(text)
        pm = PassManager()
        for name in names:
            get_pass(name).add_to(pm)
        pm.run(module.operation)
        module.operation.verify()
        return str(module)


BUFFERIZE = ("one-shot-bufferize", "canonicalize")
MEMORY_STAGES = ("eliminate-uninitialized-copies", "canonicalize", "annotate-memory-space",
                 "canonicalize-reshape", "eliminate-same-memspace-copy", "canonicalize")


def check_same(before: str, after: str, arrays: Sequence[np.ndarray], expected: Sequence[np.ndarray],
               rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Both memref modules compute `expected` on `arrays`."""
    for text in (before, after):
        got = run_memref(text, *arrays)
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
