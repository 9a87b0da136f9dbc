"""Entry points: parse a NISA module and simulate it with the modeled cost."""

from __future__ import annotations

from typing import Any

from nkipy_kg._mlir import MLIRError, ir, make_context
from nkipy_kg.dialects import nisa
from nkipy_kg.errors import SimError, source_loc_from_mlir
from nkipy_kg.sim.cost_model import CostModel
from nkipy_kg.sim.interpreter import NisaInterpreter, SimResult
from nkipy_kg.sim.costs import COST_TABLES, CostTable
from nkipy_kg.targets import DEFAULT_TARGET, Target

_CONTEXT: ir.Context | None = None


def nisa_context() -> ir.Context:
    """A shared context with nkipy and nisa loaded (dialects load once per context)."""
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = make_context()
        with _CONTEXT:
            try:
                nisa.load()
            except Exception as exc:  # noqa: BLE001 - load_all may already load nisa
                if "already" not in str(exc).lower() and type(exc).__name__ != "DialectAlreadyLoadedError":
                    raise
    return _CONTEXT


def load_nisa(text: str, filename: str = "<nisa>") -> ir.Module:
    """Parse and verify NISA MLIR text; a verifier failure is a located SimError."""
    with nisa_context():
        try:
            return ir.Module.parse(text)
        except MLIRError as exc:
            diags = getattr(exc, "error_diagnostics", [])
            loc = source_loc_from_mlir(str(diags[0].location)) if diags else None
            message = diags[0].message if diags else str(exc)
            raise SimError(f"invalid NISA module: {message}", loc) from None


def decode(module: ir.Module | str, target: str | Target | None = None, func_name: str | None = None,
           execute: bool = True) -> NisaInterpreter:
    """Decode a NISA function once for any number of `simulate` runs."""
    if isinstance(module, str):
        module = load_nisa(module)
    return NisaInterpreter(module, target=target, func_name=func_name, execute=execute)


def simulate(module: ir.Module | str | NisaInterpreter, *arrays: Any, target: str | Target | None = None,
             func_name: str | None = None, cost: bool = True, rates: CostTable | None = None,
             execute: bool = True) -> SimResult:
    """Run a NISA function on NumPy inputs; returns outputs, final args and the modeled
    profile (`rates` overrides the target's cost table, e.g. for calibration).
    `execute=False` only models time: instruction semantics are skipped (outputs are
    meaningless), which makes production-size kernels cheap to cost. `module` may be
    an interpreter from `decode` (then its target, function and `execute` apply)."""
    interp = module if isinstance(module, NisaInterpreter) else decode(module, target, func_name, execute)
    # A custom Target without its own rate table is costed with the default target's rates.
    table = rates or COST_TABLES.get(interp.target.name, COST_TABLES[DEFAULT_TARGET])
    model = CostModel(table=table) if cost else None
    result = interp.run(*arrays, listeners=[model] if model is not None else [])
    result.profile = model.profile if model is not None else None
    return result
