"""The one module that imports the MLIR Python bindings.

Every other module of nkipy-kg takes `ir`, the dialects, the pass manager, the
rewrite driver and the JIT from here, so the provider (today the upstream bindings
shipped in the `torch-mlir` wheel; none of its torch parts are used) can be swapped
by editing this file alone.
"""

from __future__ import annotations

import sys

from nkipy_kg.errors import EnvironmentError_

try:
    from torch_mlir import ir, passmanager, rewrite
    from torch_mlir.dialects import (
        arith,
        bufferization,
        builtin,
        ext,
        func,
        linalg,
        math,
        memref,
        scf,
        tensor,
        transform,
    )
    from torch_mlir.dialects.transform import structured as transform_structured
    from torch_mlir.dialects.transform import interpreter as transform_interpreter
    from torch_mlir.execution_engine import ExecutionEngine
    from torch_mlir import runtime as memref_runtime
except ImportError as exc:  # pragma: no cover - exercised only on broken installs
    raise EnvironmentError_(
        "nkipy-kg needs the MLIR Python bindings from the `torch-mlir==20261001` wheel "
        f"(pip install 'torch-mlir==20261001'); importing them failed: {exc}"
    ) from exc

PassManager = passmanager.PassManager
MLIRError = ir.MLIRError

__all__ = [
    "ExecutionEngine",
    "MLIRError",
    "PassManager",
    "arith",
    "bufferization",
    "builtin",
    "ext",
    "func",
    "ir",
    "linalg",
    "make_context",
    "math",
    "memref",
    "memref_runtime",
    "passmanager",
    "rewrite",
    "scf",
    "tensor",
    "transform",
    "transform_interpreter",
    "transform_structured",
]


def _check_features() -> None:
    """Fail early, with a clear message, if the bindings lack what we build on."""
    missing = []
    if not hasattr(ext, "Dialect"):
        missing.append("Python-defined dialects (dialects.ext.Dialect)")
    if not hasattr(rewrite, "apply_patterns_and_fold_greedily"):
        missing.append("Python rewrite patterns (rewrite.apply_patterns_and_fold_greedily)")
    if "add" not in dir(PassManager):
        missing.append("PassManager.add")
    if missing:
        raise EnvironmentError_(
            "the installed MLIR Python bindings are missing: " + ", ".join(missing)
            + ". nkipy-kg needs torch-mlir==20261001."
        )
    with ir.Context():
        pm = PassManager()
        try:
            pm.add(lambda op, pass_: None, "nkipy-kg-feature-probe")
        except TypeError as exc:  # older bindings: add() takes only pipeline text
            raise EnvironmentError_(
                "the installed MLIR Python bindings cannot run Python passes "
                f"(PassManager.add(callable) failed: {exc}); nkipy-kg needs torch-mlir==20261001."
            ) from exc


_check_features()


def alias_dialect_module(namespace: str, module: object) -> None:
    """Make the bindings find our Python dialect module under their package.

    On every verification the bindings look up `torch_mlir.dialects.<namespace>` for
    op classes; a failed import is not cached and costs ~0.15 ms per op per pass.
    """
    sys.modules.setdefault(f"torch_mlir.dialects.{namespace}", module)


def make_context(nisa: bool = True) -> ir.Context:
    """A fresh context with every dialect nkipy-kg emits or consumes loaded.

    Upstream dialects are registered by the bindings already; our Python-defined
    dialects are loaded here, once per context (`nisa=False` skips the NISA dialect).
    """
    from nkipy_kg.dialects import load_all

    ctx = ir.Context()
    with ctx:
        load_all(nisa=nisa)
    return ctx
