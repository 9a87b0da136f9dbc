"""Compiler passes. Importing this package registers every Python pass in `REGISTRY`."""

from __future__ import annotations

import importlib
import pkgutil

from nkipy_kg.passes.registry import REGISTRY, PassSpec, get, python_pass, run_passes

__all__ = ["REGISTRY", "PassSpec", "get", "python_pass", "run_passes"]

# One pass per module: import them all so their @python_pass decorators run.
for _info in pkgutil.iter_modules(__path__):
    if _info.name != "registry":
        importlib.import_module(f"{__name__}.{_info.name}")
