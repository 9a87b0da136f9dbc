"""The IR under construction while a function is traced.

One `TraceBuilder` per trace owns the context, the module and the function; it is
reachable from anywhere in the frontend through `current()` while the user's
function runs. Every op is created with the location of the user line that caused
it (`builder.loc("np.add")`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import func, ir, make_context
from nkipy_kg.errors import SourceLoc, TraceError
from nkipy_kg.frontend.locations import to_mlir_location, user_source_loc

_CURRENT: contextvars.ContextVar[TraceBuilder | None] = contextvars.ContextVar("nkipy_kg_trace", default=None)


def current() -> TraceBuilder:
    builder = _CURRENT.get()
    if builder is None:
        raise TraceError("this operation is only available while a function is being traced",
                         user_source_loc())
    return builder


def active() -> TraceBuilder | None:
    return _CURRENT.get()


class TraceBuilder:
    """Context + module + one `func.func` being filled by tracing."""

    def __init__(self, name: str, source: SourceLoc) -> None:
        self.name = name
        self.source = source
        self.ctx = make_context(nisa=False)  # the frontend emits no NISA
        self.ctx.__enter__()
        self.default_loc = ir.Location.file(source.file, source.line, 1)
        self.default_loc.__enter__()  # types are built with a location for their diagnostics
        self.module = ir.Module.create(loc=self.default_loc)
        self.func_op: func.FuncOp | None = None
        self._ips: list[ir.InsertionPoint] = []
        self.custom_ops: dict[str, object] = {}  # symbol -> CustomOp called by this trace
        self._fuse_groups = 0

    def next_fuse_group(self) -> int:
        """A fresh `nkipy.fuse_op` group id (numbered per trace, so the IR is reproducible)."""
        self._fuse_groups += 1
        return self._fuse_groups - 1

    # -- lifetime ---------------------------------------------------------------------
    @contextmanager
    def activate(self) -> Iterator[TraceBuilder]:
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)
            self.close()

    def close(self) -> None:
        while self._ips:
            self._ips.pop().__exit__(None, None, None)
        if self.ctx is not None:
            self.default_loc.__exit__(None, None, None)
            self.ctx.__exit__(None, None, None)
            self.ctx = None

    @contextmanager
    def insertion_point(self, block: ir.Block) -> Iterator[None]:
        ip = ir.InsertionPoint(block)
        ip.__enter__()
        self._ips.append(ip)
        try:
            yield
        finally:
            self._ips.pop()
            ip.__exit__(None, None, None)

    # -- locations --------------------------------------------------------------------
    def loc(self, what: str = "") -> ir.Location:
        """The MLIR location of the user line executing now, named after the NumPy op."""
        return to_mlir_location(user_source_loc(what), self.default_loc)

    # -- the function -----------------------------------------------------------------
    def begin_function(self, arg_types: Sequence[tuple[tuple[int, ...], np.dtype]],
                       arg_names: Sequence[str]) -> list[ir.Value]:
        types = [tensor_type(shape, dtype) for shape, dtype in arg_types]
        with ir.InsertionPoint(self.module.body), self.default_loc:
            self.func_op = func.FuncOp(self.name, ir.FunctionType.get(types, []))
        arg_locs = [ir.Location.name(n, childLoc=self.default_loc) for n in arg_names]
        block = self.func_op.body.blocks.append(*types, arg_locs=arg_locs)
        ip = ir.InsertionPoint(block)
        ip.__enter__()
        self._ips.append(ip)
        return list(block.arguments)

    def finish_function(self, results: Sequence[ir.Value], loc: ir.Location) -> None:
        assert self.func_op is not None
        func.ReturnOp(list(results), loc=loc)
        arg_types = [a.type for a in self.func_op.body.blocks[0].arguments]
        self.func_op.attributes["function_type"] = ir.TypeAttr.get(
            ir.FunctionType.get(arg_types, [r.type for r in results]))


def tensor_type(shape: Sequence[int], dtype: np.dtype) -> ir.RankedTensorType:
    return ir.RankedTensorType.get(list(shape), dtypes.mlir_type(dtype))
