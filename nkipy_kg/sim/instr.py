"""A decoded NISA instruction: what impls and listeners see (no MLIR handles)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nkipy_kg.errors import SourceLoc


@dataclass(eq=False)
class Instr:
    """One static instruction of the kernel, decoded once before execution.

    `attrs` holds the op's attributes as Python values (strings, bools, ints,
    floats, lists); `reads`/`writes` are operand positions read and written
    (tiles only), which the cost model uses for dependencies.
    """

    name: str                      # e.g. "nisa.matmul"
    cls: type                      # the dialect class
    engine: str                    # "Tensor", "Vector", "Scalar", "GpSimd", "DMA", "Sync"
    loc: SourceLoc | None
    attrs: dict[str, Any] = field(default_factory=dict)
    reads: tuple[int, ...] = ()
    writes: tuple[int, ...] = ()
    index: int = 0                 # position in program order (static)

    @property
    def short(self) -> str:
        return self.name.removeprefix("nisa.")

    def where(self) -> str:
        return str(self.loc) if self.loc else "<unknown>"
