"""Run an MLIR kernel from any pipeline stage on the host CPU through the LLVM JIT.

    kernel = compile_cpu(open("k.mlir").read())        # the module's only public func
    (out,) = kernel(np.ones((4, 8), np.float32), b)   # always a tuple of NumPy arrays

The IR may be linalg on tensors (the traced kernel) or memrefs (after
one-shot-bufferize: memory spaces, strided layouts, `memref.dealloc`, loops,
annotation leftovers). `compile_cpu` parses the text in a fresh context, cleans it
(`memref_prep.py`: memory spaces stripped, annotations dropped, every alloc
zero-filled), lowers it (`lowering.py`: bufferization only if tensors remain,
deallocation only if the IR has none of its own) and builds an `ExecutionEngine`.
Calling the kernel converts the inputs (`abi.convert_inputs`; memref arguments
are copied into fresh buffers with their layout, so the kernel may write them),
allocates the outputs and invokes `_mlir_ciface_<name>` with memref descriptors:
inputs first, then one dense out-parameter per result. Results that alias an
argument or each other come back as independent arrays.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nkipy_kg._mlir import ExecutionEngine, MLIRError, ir, make_context
from nkipy_kg.cpu import abi
from nkipy_kg.cpu.custom_ops import CustomCalls, is_custom_declaration
from nkipy_kg.cpu.lowering import format_diagnostics, lower_to_llvm, render_location
from nkipy_kg.cpu.memref_prep import TENSOR_TYPES, prepare_for_cpu
from nkipy_kg.errors import IRError

OPT_LEVEL = 2


@dataclass(frozen=True, eq=False)
class CpuKernel:
    """A compiled kernel; call it with NumPy arrays, get a tuple of NumPy arrays."""

    signature: abi.Signature
    engine: ExecutionEngine = field(repr=False)
    entry: Callable[[ctypes.Array], None] = field(repr=False)  # packed `_mlir_ciface_<name>`
    # Kept alive as long as the engine: whether it needs them after construction is
    # not documented by the bindings, and destroying a context too early would crash.
    context: ir.Context = field(repr=False)
    module: ir.Module = field(repr=False)
    custom_calls: CustomCalls = field(repr=False, default_factory=CustomCalls)

    @property
    def name(self) -> str:
        return self.signature.name

    def __call__(self, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        inputs = abi.convert_inputs(self.signature, arrays)
        outputs = abi.allocate_results(self.signature)
        pointers = abi.descriptor_pointers(inputs + outputs, [spec.offset for spec in self.signature.args])
        # The packed entry point takes one `void*` per argument; `inputs`, `outputs`
        # and `pointers` stay referenced until it returns.
        packed = (ctypes.c_void_p * len(pointers))(*[ctypes.cast(p, ctypes.c_void_p) for p in pointers])
        self.entry(packed)
        self.custom_calls.raise_errors()
        return tuple(outputs)


def compile_cpu(module_text: str, func_name: str | None = None, *, opt_level: int = OPT_LEVEL) -> CpuKernel:
    """Compile `func_name` (default: the module's only public function) for the CPU.

    Raises IRError if the text does not parse/verify or the function's signature is
    not statically shaped tensors/strided memrefs of supported dtypes, PassError if
    lowering fails.
    `opt_level` is LLVM's (0-3); 0 compiles ~3x faster and runs ~2x slower.
    Compiled kernels are cached by (text, name, opt_level): a kernel is immutable
    and each call allocates fresh outputs, so sharing one is safe.
    """
    return _compile_cached(module_text, func_name, opt_level)


@functools.lru_cache(maxsize=16)  # ~3.5 MB per kernel (context + JIT code)
def _compile_cached(module_text: str, func_name: str | None, opt_level: int) -> CpuKernel:
    context = make_context()
    with context, ir.Location.unknown():
        module = _parse(module_text)
        func_op = _find_func(module, func_name)
        signature = abi.read_signature(func_op)
        # The C interface wrapper takes memref descriptors by pointer, which ctypes can build.
        func_op.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        form = prepare_for_cpu(module, func_op)
        _verify_prepared(module)
        _mark_inputs_read_only(func_op)
        calls = CustomCalls()
        lower_to_llvm(module, bufferize=form.has_tensors, deallocate=not form.has_deallocs, custom_calls=calls)
        engine = _build_engine(context, module, signature.name, opt_level)
        calls.register(engine)
    try:
        # Looked up once: ExecutionEngine.invoke would redo the lookup on every call.
        entry = engine.lookup(signature.name)
    except RuntimeError as exc:  # linking failed, e.g. an unresolved external symbol
        raise IRError(f"linking the JIT-compiled @{signature.name} failed: {exc}") from None
    return CpuKernel(signature=signature, engine=engine, context=context, module=module, entry=entry,
                     custom_calls=calls)


def _build_engine(context: ir.Context, module: ir.Module, name: str, opt_level: int) -> ExecutionEngine:
    """The ExecutionEngine; translation diagnostics go into the IRError, not C++ stderr."""
    messages: list[str] = []

    def collect(diag: ir.Diagnostic) -> bool:
        messages.append(f"{render_location(diag.location, '<kernel>')}: {diag.message}")
        return True  # handled: keeps MLIR from printing it to stderr

    handler = context.attach_diagnostic_handler(collect)
    try:
        return ExecutionEngine(module, opt_level=opt_level)
    except (RuntimeError, MLIRError) as exc:
        detail = "\n".join(messages) or str(exc)
        raise IRError(f"building the LLVM JIT for @{name} failed:\n{detail}") from None
    finally:
        handler.detach()


def _verify_prepared(module: ir.Module) -> None:
    """The cleaned module must verify before any C++ pass sees it."""
    try:
        module.operation.verify()
    except MLIRError as exc:
        raise IRError("preparing the kernel for the CPU broke it:\n" + format_diagnostics(exc)) from None


def _mark_inputs_read_only(func_op: ir.Operation) -> None:
    """`bufferization.writable = false` on every tensor argument (the attribute is tensor-only).

    The arguments are the caller's NumPy arrays: without this, one-shot-bufferize may
    write a result in place into an input (e.g. `tensor.insert_slice ... into %arg0`).
    """
    old = list(ir.ArrayAttr(func_op.attributes["arg_attrs"])) if "arg_attrs" in func_op.attributes else []
    num_args = len(func_op.regions[0].blocks[0].arguments)
    attrs = []
    for i in range(num_args):
        entries = {a.name: a.attr for a in ir.DictAttr(old[i])} if i < len(old) else {}
        if isinstance(func_op.regions[0].blocks[0].arguments[i].type, TENSOR_TYPES):
            entries["bufferization.writable"] = ir.BoolAttr.get(False)
        attrs.append(ir.DictAttr.get(entries))
    func_op.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs)


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
    declared = [f for f in funcs if len(f.regions[0].blocks) == 0 and not is_custom_declaration(f)]
    # A declaration links to a symbol the JIT cannot resolve (and LLVM reports that on
    # C++ stderr): refuse up front.
    if declared:
        raise IRError(f"the module declares external functions ({_names(declared)}); "
                      "the CPU JIT only runs self-contained modules")
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
