"""The NumPy surface nkipy-kg traces: one rule table, one module per op family.

`FUNCTIONS` maps a NumPy function object (np.sum, np.reshape, ...) to its rule; a
rule has NumPy's own signature, so positional and keyword arguments bind as they
do in NumPy. Ufuncs are handled by `elementwise.apply_ufunc`, except the few that
are not elementwise (np.matmul).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from nkipy_kg.errors import NkipyError, TraceError, UnsupportedError
from nkipy_kg.frontend.locations import user_source_loc

Rule = Callable[..., Any]
FUNCTIONS: dict[Any, Rule] = {}
UFUNC_METHODS: dict[tuple[str, str], Rule] = {}  # ("add", "reduce") -> rule


def rule(*np_functions: Any) -> Callable[[Rule], Rule]:
    """Register `fn` as the traced implementation of each NumPy function given."""

    def register(fn: Rule) -> Rule:
        for f in np_functions:
            FUNCTIONS[f] = fn
        return fn

    return register


def _name(fn: Any) -> str:
    return f"np.{getattr(fn, '__name__', repr(fn))}"


def guarded(what: str, call: Callable[[], Any]) -> Any:
    """Run a rule; any non-nkipy exception is a bug or an odd argument: report it located."""
    try:
        return call()
    except NkipyError as err:
        raise err.with_traceback(None) from None
    except (TypeError, ValueError, IndexError, NotImplementedError, OverflowError) as err:
        raise TraceError(f"{what}: {err}", user_source_loc(what)) from None


def dispatch_function(func: Any, args: tuple, kwargs: dict) -> Any:
    fn = FUNCTIONS.get(func)
    if fn is None:
        supported = ", ".join(sorted({_name(f) for f in FUNCTIONS}))
        raise UnsupportedError(
            f"{_name(func)} is not supported in traced kernels",
            user_source_loc(_name(func)),
            hint=f"supported functions: {supported}",
        ).with_traceback(None)
    return guarded(_name(func), functools.partial(fn, *args, **kwargs))


def dispatch_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    from nkipy_kg.frontend.rules import elementwise

    what = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    if method == "__call__" and ufunc.__name__ in ("matmul", "vecdot", "matvec", "vecmat"):
        return dispatch_function(ufunc, inputs, kwargs)
    if method != "__call__":
        fn = UFUNC_METHODS.get((ufunc.__name__, method))
        if fn is None:
            raise UnsupportedError(f"{what} is not supported in traced kernels",
                                   user_source_loc(what),
                                   hint="reduce is supported for add, multiply, maximum, minimum, "
                                        "logical_and, logical_or; use np.sum/np.max/... instead")
        return guarded(what, functools.partial(fn, *inputs, **kwargs))
    return guarded(what, lambda: elementwise.apply_ufunc(ufunc, inputs, **kwargs))


# Import the families so their @rule decorators fill the tables.
from nkipy_kg.frontend.rules import (  # noqa: E402,F401
    creation,
    elementwise,
    indexing,
    matmul,
    reduction,
    shape,
)
