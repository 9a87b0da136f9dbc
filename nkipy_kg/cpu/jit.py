"""Run a tensor-level MLIR kernel on the host CPU through the LLVM JIT.

    kernel = compile_cpu(open("k.mlir").read())          # the module's only public func
    (out,) = kernel(np.ones((4, 8), np.float32), b)     # always a tuple of NumPy arrays

`compile_cpu` parses the text in a fresh context, lowers it (`lowering.py`),
and builds an `ExecutionEngine`. Calling the kernel converts the inputs
(`abi.convert_inputs`), allocates the outputs and invokes `_mlir_ciface_<name>`
with memref descriptors: inputs first, then one out-parameter per result.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from nkipy_kg._mlir import ExecutionEngine, MLIRError, ir, make_context
from nkipy_kg.cpu import abi
from nkipy_kg.cpu.lowering import format_diagnostics, lower_to_llvm
from nkipy_kg.errors import IRError

OPT_LEVEL = 2


@dataclass(frozen=True, eq=False)
class CpuKernel:
    """A compiled kernel; call it with NumPy arrays, get a tuple of NumPy arrays."""

    signature: abi.Signature
    engine: ExecutionEngine = field(repr=False)
    # The engine's code does not reference the MLIR context, but keeping both alive
    # with the engine removes any doubt about destruction order.
    context: ir.Context = field(repr=False)
    module: ir.Module = field(repr=False)

    @property
    def name(self) -> str:
        return self.signature.name

    def __call__(self, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        inputs = abi.convert_inputs(self.signature, arrays)
        outputs = abi.allocate_results(self.signature)
        # `inputs` and `outputs` stay referenced until invoke returns: the
        # descriptors hold raw pointers into them.
        self.engine.invoke(self.name, *abi.descriptor_pointers(inputs + outputs))
        return tuple(outputs)


def compile_cpu(module_text: str, func_name: str | None = None) -> CpuKernel:
    """Compile `func_name` (default: the module's only public function) for the CPU.

    Raises IRError if the text does not parse/verify or the function's signature is
    not statically shaped tensors of supported dtypes, PassError if lowering fails.
    Compiled kernels are cached by (text, name): a kernel is immutable and each
    call allocates fresh outputs, so sharing one is safe.
    """
    return _compile_cached(module_text, func_name)


@functools.lru_cache(maxsize=64)
def _compile_cached(module_text: str, func_name: str | None) -> CpuKernel:
    context = make_context()
    with context, ir.Location.unknown():
        module = _parse(module_text)
        func_op = _find_func(module, func_name)
        signature = abi.read_signature(func_op)
        # The C interface wrapper takes memref descriptors by pointer, which ctypes can build.
        func_op.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        lower_to_llvm(module)
        try:
            engine = ExecutionEngine(module, opt_level=OPT_LEVEL)
        except (RuntimeError, MLIRError) as exc:
            raise IRError(f"building the LLVM JIT for @{signature.name} failed: {exc}") from None
    return CpuKernel(signature=signature, engine=engine, context=context, module=module)


def _parse(text: str) -> ir.Module:
    """Parse and verify, turning MLIR diagnostics into an IRError."""
    try:
        module = ir.Module.parse(text)
        module.operation.verify()  # parse verifies already; this states the precondition
    except MLIRError as exc:
        raise IRError("the kernel module does not parse or verify:\n" + format_diagnostics(exc)) from None
    return module


def _find_func(module: ir.Module, func_name: str | None) -> ir.Operation:
    funcs = [op.operation for op in module.body.operations if op.operation.name == "func.func"]
    defined = [f for f in funcs if len(f.regions[0].blocks) > 0]
    if func_name is not None:
        for f in defined:
            if ir.StringAttr(f.attributes["sym_name"]).value == func_name:
                return f
        raise IRError(f"no function @{func_name} in the module; it defines {_names(defined)}")
    public = [f for f in defined if _is_public(f)]
    if len(public) != 1:
        raise IRError(f"pass func_name: the module has {len(public)} public functions ({_names(public)})")
    return public[0]


def _is_public(func_op: ir.Operation) -> bool:
    if "sym_visibility" not in func_op.attributes:
        return True
    return ir.StringAttr(func_op.attributes["sym_visibility"]).value == "public"


def _names(funcs: list[ir.Operation]) -> str:
    return ", ".join("@" + ir.StringAttr(f.attributes["sym_name"]).value for f in funcs) or "none"
