"""Shared pieces of the memref-level pass tests (stages 11-21).

Memref IR runs on the CPU through `compile_cpu`, which strips the nkipy memory
spaces and annotations and zero-fills allocations (see nkipy_kg/cpu/memref_prep.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.passes import run_passes  # noqa: F401 - re-exported for the pass tests


def run_memref(text: str, *arrays: np.ndarray, func_name: str | None = None) -> tuple[np.ndarray, ...]:
    """Compile the memref-level module `text` and call its function on `arrays`."""
    return compile_cpu(text, func_name, opt_level=0)(*arrays)


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
