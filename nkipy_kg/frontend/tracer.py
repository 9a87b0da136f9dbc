"""`@trace`: run a NumPy function on symbolic arrays and record linalg-on-tensors IR.

    @trace(input_specs=[((128, 256), "f32")])
    def kernel(x):
        return np.exp(x) * 2.0

    kernel(np.ones((128, 256), np.float32))   # still plain NumPy
    module = kernel.to_mlir()                  # func.func @kernel(tensor<128x256xf32>) -> ...

Specs may also come later: `kernel.to_mlir(x_example)` or `kernel.to_mlir(specs=[...])`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import ir
from nkipy_kg.errors import MLIRVerifyError, NkipyError, SourceLoc, TraceError, UnsupportedError
from nkipy_kg.frontend.builder import TraceBuilder
from nkipy_kg.frontend.custom_op import attach_bodies
from nkipy_kg.frontend.locations import user_source_loc

Spec = tuple[tuple[int, ...], np.dtype]


@dataclass(frozen=True)
class InputSpec:
    """Shape and dtype of one kernel argument."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @staticmethod
    def of(spec: Any) -> InputSpec:
        if isinstance(spec, InputSpec):
            return spec
        if isinstance(spec, np.ndarray):
            return InputSpec(tuple(spec.shape), _spec_dtype(spec.dtype))
        try:
            shape, dtype = spec
            dims = tuple(int(d) for d in shape)
        except (TypeError, ValueError):
            raise TraceError(f"an input spec is (shape, dtype), e.g. ((128, 256), 'f32'); got {spec!r}",
                             user_source_loc()) from None
        return InputSpec(dims, _spec_dtype(dtype))

    def __str__(self) -> str:
        return "x".join(map(str, self.shape)) + ":" + dtypes.short_name(self.dtype) if self.shape \
            else dtypes.short_name(self.dtype)


def _spec_dtype(dtype: Any) -> np.dtype:
    """`dtypes.to_dtype`, with a located error: specs are user input (`@trace` or `.to_mlir`)."""
    try:
        return dtypes.to_dtype(dtype)
    except (TypeError, ValueError) as err:
        raise UnsupportedError(f"input spec: {err}", user_source_loc()) from None


def _source_loc(fn: Callable[..., Any]) -> SourceLoc:
    try:
        file = inspect.getsourcefile(fn) or "<unknown>"
        line = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        file, line = getattr(fn, "__code__", None) and fn.__code__.co_filename or "<unknown>", 1
    return SourceLoc(file=file, line=line, col=0, what=fn.__name__)


def trace_to_module(fn: Callable[..., Any], specs: Sequence[InputSpec], name: str) -> ir.Module:
    """Trace `fn` on symbolic arguments of `specs`; returns a verified module."""
    from nkipy_kg.frontend.rules.common import lift
    from nkipy_kg.frontend.rules.creation import patched_constructors
    from nkipy_kg.frontend.traced_array import TracedArray

    source = _source_loc(fn)
    params = list(inspect.signature(fn).parameters)
    arg_names = [params[i] if i < len(params) else f"arg{i}" for i in range(len(specs))]
    b = TraceBuilder(name, source)
    with b.activate():
        args = b.begin_function([(s.shape, s.dtype) for s in specs], arg_names)
        traced = [TracedArray(v, s.shape, s.dtype) for v, s in zip(args, specs)]
        with patched_constructors():
            result = fn(*traced)
        results = list(result) if isinstance(result, (tuple, list)) else [result]
        if not results or not all(isinstance(r, (TracedArray, np.ndarray, int, float, np.generic)) for r in results):
            raise TraceError(f"a traced function must return arrays (or a tuple of arrays), got "
                             f"{type(result).__name__}", source)
        values = [lift(np.asarray(r) if not isinstance(r, TracedArray) else r, "return").value
                  for r in results]
        b.finish_function(values, b.default_loc)
        attach_bodies(b.module, list(b.custom_ops.values()), b.default_loc)
        try:
            b.module.operation.verify()
        except ir.MLIRError as err:  # a frontend bug: report it with the diagnostics
            raise MLIRVerifyError(f"the traced IR of {name} does not verify: {err}", source) from None
        return b.module


class TracedFunction:
    """A NumPy function that can also be traced to MLIR (calling it still runs NumPy)."""

    def __init__(self, fn: Callable[..., Any], input_specs: Sequence[Any] | None = None,
                 name: str | None = None) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = name or fn.__name__
        self.input_specs = [InputSpec.of(s) for s in input_specs] if input_specs is not None else None
        self.__traced__ = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def specs_for(self, arrays: Sequence[Any] = (), specs: Sequence[Any] | None = None) -> list[InputSpec]:
        if specs is not None:
            return [InputSpec.of(s) for s in specs]
        if arrays:
            return [InputSpec.of(np.asarray(a)) for a in arrays]
        if self.input_specs is not None:
            return list(self.input_specs)
        raise TraceError(f"{self.name}: input shapes are unknown; pass example arrays "
                         f"(.to_mlir(x, y)) or specs (.to_mlir(specs=[((128, 256), 'f32')]))",
                         user_source_loc())

    def to_mlir(self, *arrays: Any, specs: Sequence[Any] | None = None) -> ir.Module:
        """The linalg-on-tensors module of this kernel for the given (or declared) inputs."""
        try:
            return trace_to_module(self.fn, self.specs_for(arrays, specs), self.name)
        except NkipyError as err:
            raise err.with_traceback(None) from None

    def compile(self, *arrays: Any, target: str = "trn2", stop_after: str | int | None = None,
                dump_dir: Any = None, specs: Sequence[Any] | None = None,
                pass_options: dict[str, str] | None = None) -> Any:
        """Trace (specs from `arrays`, `specs` or the declared ones) and run the pipeline."""
        from nkipy_kg.driver import compile as compile_

        module = self.to_mlir(*arrays, specs=specs)
        return compile_(module, target=target, stop_after=stop_after, dump_dir=dump_dir, kernel_name=self.name,
                        pass_options=pass_options)

    def run(self, *arrays: Any, device: Any = None, target: str | None = None) -> Any:
        """Trace with specs from `arrays`, compile (cached) and run on `device` (default: the
        simulator of `target`, "trn2"); returns a `nkipy_kg.devices.RunResult`."""
        from nkipy_kg.devices import run as run_

        return run_(self, *arrays, device=device, target=target)

    def __repr__(self) -> str:
        specs = ", ".join(map(str, self.input_specs or [])) or "specs given later"
        return f"<traced kernel {self.name}({specs})>"


def trace(fn: Callable[..., Any] | None = None, *, input_specs: Sequence[Any] | None = None,
          name: str | None = None) -> Any:
    """Decorator: `@trace`, `@trace(input_specs=[((M, N), "f32"), ...])` or `trace(fn)`."""
    if fn is None:
        return lambda f: TracedFunction(f, input_specs, name)
    return TracedFunction(fn, input_specs, name)
