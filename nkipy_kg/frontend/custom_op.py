"""`CustomOp`: a hand-written NISA kernel called from a traced NumPy function.

    exp2x = CustomOp(NISA_TEXT, "exp2x", ["x"], ["out"], [(256, 512)], [(256, 512)],
                     ["f32"], ["f32"], reference_fn=lambda x: np.exp(2 * x))

    @trace
    def kernel(x):
        return exp2x(x + 1.0) * 3.0

`NISA_TEXT` is an MLIR module with a `func.func @exp2x` in the `nisa` dialect whose
arguments are HBM memrefs: either "return-value style" (inputs as arguments,
outputs returned) or "output-as-argument style" (inputs then outputs as arguments,
nothing returned). Called on NumPy arrays it runs `reference_fn`; while tracing it
emits `func.call @__custom_op__exp2x` to a private declaration marked
`nkipy.custom_op`, and the module carries the body text in its
`nkipy.custom_op_bodies` dictionary (the reference compiler's encoding).
`linalg-to-nisa` inlines the body at the call; the CPU JIT (`verify_against_numpy`,
per-stage checks) calls `reference_fn` through a runtime callback instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import MLIRError, func, ir, make_context
from nkipy_kg.errors import ShapeError, SourceLoc, TraceError, UnsupportedError
from nkipy_kg.frontend import builder as builder_mod
from nkipy_kg.frontend.builder import tensor_type
from nkipy_kg.frontend.locations import user_source_loc
from nkipy_kg.frontend.traced_array import TracedArray

SYMBOL_PREFIX = "__custom_op__"
BODIES_ATTR = "nkipy.custom_op_bodies"
MARKER_ATTR = "nkipy.custom_op"
# body-text digest -> CustomOp: how the CPU JIT finds a custom op's NumPy reference
# from nothing but the module (the IR carries the body text, not Python objects).
REGISTRY: dict[str, CustomOp] = {}


def body_digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class CustomOp:
    """A NISA kernel with fixed input/output shapes and dtypes (see the module docstring)."""

    def __init__(self, nisa_mlir: str, func_name: str, input_names: Sequence[str], output_names: Sequence[str],
                 input_shapes: Sequence[Sequence[int]], output_shapes: Sequence[Sequence[int]],
                 input_dtypes: Sequence[Any], output_dtypes: Sequence[Any],
                 reference_fn: Callable[..., Any] | None = None) -> None:
        where = user_source_loc("CustomOp")
        self.nisa_mlir, self.func_name, self.reference_fn = nisa_mlir, func_name, reference_fn
        self.input_names, self.output_names = list(input_names), list(output_names)
        n_in, n_out = len(self.input_names), len(self.output_names)
        counts = {len(input_shapes), len(input_dtypes)}, {len(output_shapes), len(output_dtypes)}
        if counts != ({n_in}, {n_out}) or n_out == 0:
            raise TraceError(f"CustomOp {func_name}: give one name, shape and dtype per input and per "
                             f"output (at least one output)", where)
        self.input_dtypes = [dtypes.to_dtype(d) for d in input_dtypes]
        self.output_dtypes = [dtypes.to_dtype(d) for d in output_dtypes]
        self.input_shapes = [tuple(int(d) for d in s) for s in input_shapes]
        self.output_shapes = [tuple(int(d) for d in s) for s in output_shapes]
        self.return_style = _check_body(self, where)  # False: outputs are trailing arguments
        REGISTRY[body_digest(nisa_mlir)] = self

    def __repr__(self) -> str:
        ins = ", ".join(f"{n}: {_spec(s, d)}" for n, s, d in zip(self.input_names, self.input_shapes,
                                                               self.input_dtypes))
        return f"<CustomOp {self.func_name}({ins})>"

    @classmethod
    def from_kernel_builder(cls, *args: Any, **kwargs: Any) -> CustomOp:
        """The reference compiler's NKI `kernel_builder` path; needs the Neuron toolchain."""
        if importlib.util.find_spec("nki") is None:
            raise UnsupportedError("CustomOp.from_kernel_builder needs the NKI toolchain (`nki`, from the Neuron "
                                   "pip repository on a Trainium host), which is not installed",
                                   user_source_loc("CustomOp.from_kernel_builder"),
                                   hint="write the kernel as nisa-dialect MLIR text and use CustomOp(...)")
        raise UnsupportedError("kernel_builder emits NKI's own MLIR dialect, which nkipy-kg's nisa dialect and "
                               "simulator do not read", user_source_loc("CustomOp.from_kernel_builder"),
                               hint="write the kernel as nisa-dialect MLIR text and use CustomOp(...)")

    @property
    def symbol(self) -> str:
        return SYMBOL_PREFIX + self.func_name

    def __call__(self, *args: Any) -> Any:
        if not any(isinstance(a, TracedArray) for a in args):
            return self._reference(*args)
        where = user_source_loc(self.func_name)
        if len(args) != len(self.input_names):
            raise TraceError(f"custom op {self.func_name} takes {len(self.input_names)} inputs "
                             f"({', '.join(self.input_names)}), got {len(args)}", where)
        for name, arg, shape, dtype in zip(self.input_names, args, self.input_shapes, self.input_dtypes):
            if not isinstance(arg, TracedArray):
                raise TraceError(f"custom op {self.func_name}: input {name} must be a traced array, got "
                                 f"{type(arg).__name__}", where, hint="compute it inside the traced function")
            if arg.shape != shape or arg.dtype != dtype:
                raise ShapeError(f"custom op {self.func_name}: input {name} must be {_spec(shape, dtype)}, got "
                                 f"{_spec(arg.shape, arg.dtype)}", where)
        return self._emit(list(args))

    def _reference(self, *args: Any) -> Any:
        if self.reference_fn is None:
            raise UnsupportedError(f"custom op {self.func_name} has no reference_fn, so it cannot run on "
                                   "NumPy arrays", user_source_loc(self.func_name),
                                   hint="pass reference_fn=... (a NumPy implementation) to CustomOp")
        return self.reference_fn(*args)

    def _emit(self, args: list[TracedArray]) -> Any:
        b = builder_mod.current()
        b.custom_ops[self.symbol] = self
        here = b.loc(self.func_name)
        types = [tensor_type(s, d) for s, d in zip(self.output_shapes, self.output_dtypes)]
        call = func.CallOp(types, ir.FlatSymbolRefAttr.get(self.symbol), [a.value for a in args], loc=here)
        outs = [TracedArray(r, s, d) for r, s, d in zip(call.results, self.output_shapes, self.output_dtypes)]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def declare(self, module: ir.Module, loc: ir.Location) -> None:
        """The private declaration of this op in `module` (once per module)."""
        ins = [tensor_type(s, d) for s, d in zip(self.input_shapes, self.input_dtypes)]
        outs = [tensor_type(s, d) for s, d in zip(self.output_shapes, self.output_dtypes)]
        with ir.InsertionPoint.at_block_begin(module.body), loc:
            decl = func.FuncOp(self.symbol, ir.FunctionType.get(ins, outs), visibility="private")
        decl.attributes[MARKER_ATTR] = ir.UnitAttr.get()
        # The kernel only reads its inputs: without this, one-shot-bufferize copies every
        # operand defensively before the call (an external callee may write it).
        read = ir.DictAttr.get({"bufferization.access": ir.StringAttr.get("read")})
        decl.attributes["arg_attrs"] = ir.ArrayAttr.get([read] * len(ins))


def attach_bodies(module: ir.Module, ops: Sequence[CustomOp], loc: ir.Location) -> None:
    """Declarations and the `nkipy.custom_op_bodies` attribute for the ops a trace called."""
    if not ops:
        return
    for op in ops:
        op.declare(module, loc)
    with loc:
        module.operation.attributes[BODIES_ATTR] = ir.DictAttr.get(
            {op.func_name: ir.StringAttr.get(op.nisa_mlir) for op in ops})


def _spec(shape: Sequence[int], dtype: np.dtype) -> str:
    return "x".join(map(str, shape)) + ":" + dtypes.short_name(dtype)


def _check_body(op: CustomOp, where: SourceLoc | None) -> bool:
    """Parse the NISA text, find the function and check its signature; True for
    return-value style, False for output-as-argument style."""
    with make_context():
        try:
            module = ir.Module.parse(op.nisa_mlir)
        except MLIRError as exc:
            raise TraceError(f"CustomOp {op.func_name}: the NISA text does not parse: {exc}", where) from None
        funcs = {ir.StringAttr(f.attributes["sym_name"]).value: f for f in
                 (o.operation for o in module.body.operations) if f.name == "func.func"}
        if op.func_name not in funcs:
            raise TraceError(f"CustomOp {op.func_name}: the NISA text defines no func.func @{op.func_name} "
                             f"(it has {', '.join('@' + n for n in funcs) or 'none'})", where)
        fn_type = ir.FunctionType(ir.TypeAttr(funcs[op.func_name].attributes["function_type"]).value)
        args, results = list(fn_type.inputs), list(fn_type.results)
        specs = list(zip(op.input_shapes, op.input_dtypes)) + list(zip(op.output_shapes, op.output_dtypes))
        n_in = len(op.input_names)
        if len(args) == n_in and len(results) == len(op.output_names):
            got, style = args + results, True
        elif len(args) == len(specs) and not results:
            got, style = args, False
        else:
            raise TraceError(f"CustomOp {op.func_name}: @{op.func_name} takes {len(args)} arguments and returns "
                             f"{len(results)} values; expected {n_in} inputs and {len(op.output_names)} outputs, "
                             "returned or as trailing arguments", where)
        for t, (shape, dtype) in zip(got, specs):
            ok = isinstance(t, ir.MemRefType) and list(ir.MemRefType(t).shape) == list(shape) \
                and ir.MemRefType(t).element_type == dtypes.mlir_type(dtype)
            if not ok:
                raise ShapeError(f"CustomOp {op.func_name}: @{op.func_name} has {t} where the spec says "
                                 f"{_spec(shape, dtype)}", where)
    return style
