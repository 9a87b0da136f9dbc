"""Custom ops on the CPU JIT: each call runs the op's NumPy `reference_fn` through a
runtime callback (the NISA body only runs on a NeuronCore or the simulator).

After bufferization (the `custom-op-callbacks` step of `lowering.py`)

    %r = func.call @__custom_op__exp2x(%x) : (memref<256x512xf32>) -> memref<256x512xf32>

becomes

    %out = memref.alloc() : memref<256x512xf32>
    func.call @nkipy_kg_custom_0(%x, %out) : (memref<256x512xf32>, memref<256x512xf32>) -> ()

with `@nkipy_kg_custom_0` a private `llvm.emit_c_interface` declaration that
`CustomCalls.register` binds to a ctypes function after the ExecutionEngine is built.
The op is found from the body text in the module (`nkipy.custom_op_bodies`), by its
digest in `frontend.custom_op.REGISTRY`. Exceptions raised by a reference are kept
and re-raised by the kernel call (ctypes would only print them).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import ExecutionEngine, func, ir, memref
from nkipy_kg.cpu.abi import descriptor_class
from nkipy_kg.errors import IRError, NkipyError
from nkipy_kg.frontend.custom_op import BODIES_ATTR, MARKER_ATTR, REGISTRY, SYMBOL_PREFIX, body_digest

CALLBACK_PREFIX = "nkipy_kg_custom_"


def is_custom_declaration(func_op: ir.Operation) -> bool:
    return MARKER_ATTR in func_op.attributes


@dataclass
class CustomCalls:
    """The callbacks of one compiled kernel (kept alive as long as its engine)."""

    ops: list = field(default_factory=list)             # CustomOp per callback index
    types: list = field(default_factory=list)           # [(rank, dtype)] per callback argument
    functions: list = field(default_factory=list)       # ctypes functions, referenced while the engine lives
    errors: list[BaseException] = field(default_factory=list)

    def rewrite(self, module_op: ir.Operation, pass_: object = None) -> None:
        """The `custom-op-callbacks` step: calls of custom ops -> calls of callbacks."""
        bodies = _bodies(module_op)
        decls = [op for op in _top_level(module_op) if op.name == "func.func" and is_custom_declaration(op)]
        for call in _calls(module_op):
            name = ir.FlatSymbolRefAttr(call.attributes["callee"]).value[len(SYMBOL_PREFIX):]
            op = REGISTRY.get(body_digest(bodies.get(name, "")))
            if op is None or op.reference_fn is None:
                raise IRError(f"custom op {name}: the CPU JIT runs custom ops through their NumPy reference_fn, "
                              "and this process has no CustomOp with that body and a reference_fn")
            self._replace(module_op, call, op)
        for decl in decls:
            decl.erase()
        if BODIES_ATTR in module_op.attributes:
            del module_op.attributes[BODIES_ATTR]

    def _replace(self, module_op: ir.Operation, call: ir.Operation, op: object) -> None:
        index = len(self.ops)
        symbol = f"{CALLBACK_PREFIX}{index}"
        with call.location, ir.InsertionPoint(call):
            outs = [memref.AllocOp(_dense(r.type), [], []).result for r in call.results]
            args = list(call.operands) + outs
            func.CallOp([], ir.FlatSymbolRefAttr.get(symbol), args)
            for result, out in zip(call.results, outs):
                value = out if out.type == result.type else memref.CastOp(result.type, out).result
                result.replace_all_uses_with(value)
        call.erase()
        with ir.InsertionPoint.at_block_begin(module_op.regions[0].blocks[0]), module_op.location:
            decl = func.FuncOp(symbol, ir.FunctionType.get([a.type for a in args], []), visibility="private")
        decl.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        self.ops.append(op)
        self.types.append([(ir.MemRefType(a.type).rank, dtypes.from_mlir_type(ir.MemRefType(a.type).element_type))
                           for a in args])

    def register(self, engine: ExecutionEngine) -> None:
        for index, (op, types) in enumerate(zip(self.ops, self.types)):
            fn = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * len(types))(self._callback(op, types))
            self.functions.append(fn)
            engine.register_runtime(f"{CALLBACK_PREFIX}{index}", fn)

    def _callback(self, op: object, types: list[tuple[int, np.dtype]]):
        n_in = len(op.input_names)

        def run(*pointers: int) -> None:
            try:
                arrays = [_as_array(p, rank, dtype) for p, (rank, dtype) in zip(pointers, types)]
                results = op.reference_fn(*[a.copy() for a in arrays[:n_in]])
                results = results if isinstance(results, (tuple, list)) else (results,)
                for out, value in zip(arrays[n_in:], results):
                    out[...] = np.asarray(value).astype(out.dtype)
            except BaseException as exc:  # noqa: BLE001 - re-raised by the kernel call
                self.errors.append(exc)

        return run

    def raise_errors(self) -> None:
        if not self.errors:
            return
        exc, self.errors[:] = self.errors[0], []
        if isinstance(exc, NkipyError):
            raise exc
        raise IRError(f"a custom op's reference_fn raised {type(exc).__name__}: {exc}") from exc


def _as_array(pointer: int, rank: int, dtype: np.dtype) -> np.ndarray:
    """A NumPy view of the memref a C-interface descriptor pointer describes."""
    desc = ctypes.cast(pointer, ctypes.POINTER(descriptor_class(rank))).contents
    shape = list(desc.shape) if rank else []
    strides = [s * dtype.itemsize for s in desc.strides] if rank else []
    extent = 1 + sum((n - 1) * s for n, s in zip(shape, desc.strides)) if all(shape) else 0
    raw = (ctypes.c_byte * (max(extent, 1) * dtype.itemsize)).from_address(desc.aligned + desc.offset * dtype.itemsize)
    base = np.frombuffer(raw, dtype=dtype)
    return np.lib.stride_tricks.as_strided(base, shape, strides)


def _dense(t: ir.Type) -> ir.MemRefType:
    m = ir.MemRefType(t)
    return ir.MemRefType.get(list(m.shape), m.element_type)


def _bodies(module_op: ir.Operation) -> dict[str, str]:
    if BODIES_ATTR not in module_op.attributes:
        return {}
    return {a.name: ir.StringAttr(a.attr).value for a in ir.DictAttr(module_op.attributes[BODIES_ATTR])}


def _top_level(module_op: ir.Operation) -> list[ir.Operation]:
    return [o.operation for o in module_op.regions[0].blocks[0].operations]


def _calls(module_op: ir.Operation) -> list[ir.Operation]:
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "func.call" and ir.FlatSymbolRefAttr(op.attributes["callee"]).value.startswith(SYMBOL_PREFIX):
            found.append(op)
        return ir.WalkResult.ADVANCE

    module_op.walk(visit)
    return found
