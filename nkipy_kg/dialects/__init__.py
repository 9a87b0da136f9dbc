"""Python-defined dialects: `nkipy` (annotations) and `nisa` (NeuronCore instructions)."""

from __future__ import annotations


def load_all(nisa: bool = True) -> None:
    """Load nkipy-kg's dialects into the current context (once per context).

    Tracing passes `nisa=False`: the frontend emits no NISA, and emitting the nisa
    dialect's IRDL definitions costs ~10 ms per context.
    """
    from nkipy_kg._mlir import alias_dialect_module
    from nkipy_kg.dialects import nkipy

    nkipy.Nkipy.load()
    alias_dialect_module("nkipy", nkipy)
    if nisa:
        from nkipy_kg.dialects import nisa as nisa_dialect

        nisa_dialect.load()
        alias_dialect_module("nisa", nisa_dialect)
