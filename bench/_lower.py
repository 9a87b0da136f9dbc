"""Shared by the simulator benchmarks: trace + compile a NumPy kernel down to NISA text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import nkipy_kg
from nkipy_kg.passes import run_passes


def lower_to_nisa(fn: Callable[..., Any], inputs: list[np.ndarray], target: str, knobs: bool = True) -> str:
    """NISA MLIR text for `fn` on `inputs` (raises the compiler's NkipyError on failure);
    `knobs=False` strips the kernel's knobs first (infer-layout chooses everything)."""
    module = nkipy_kg.trace(fn).to_mlir(*inputs)
    traced = module if knobs else run_passes(module.operation.get_asm(enable_debug_info=True),
                                             "strip-nkipy-annotations")
    comp = nkipy_kg.compile(traced, target=target)
    if comp.error is not None:
        raise comp.error
    nisa_text = getattr(comp, "nisa_ir_with_locations", None)
    if nisa_text:  # the pipeline ends in linalg-to-nisa (stage 26)
        return nisa_text
    return run_passes(comp.snapshots[-1].ir_with_locations, "linalg-to-nisa",
                      options={"linalg-to-nisa": f"target={target}"})


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
