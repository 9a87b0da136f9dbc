"""The `%%nkigen` cell magic: run the cell, trace its kernel, show the explorer.

Nothing the user can get wrong raises out of the magic: trace, knob, pass and usage
errors become one readable message pointing at the cell line, and the kernel lives on.
"""

from __future__ import annotations

import dataclasses
import html
import re
import traceback
import types
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from explorer_ext.inputs import InputsError, arrays_for, arrays_named_like_params, specs_for
from nkipy_kg.errors import NkipyError


class CellError(Exception):
    """A message for the user, already phrased; shown instead of a traceback."""


class NkigenMessage:
    """A readable error as cell output (text/plain for nbval and terminals, styled HTML)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return ('<pre class="nkigen-error" style="margin:0;padding:8px 12px;white-space:pre-wrap;'
                'font:12px/1.5 ui-monospace,Menlo,Consolas,monospace;color:#82071e;background:#fff5f5;'
                f'border:1px solid #ffcecb;border-left:3px solid #cf222e;border-radius:6px">{html.escape(self.text)}</pre>')


def _cellify(text: str, filename: str) -> str:
    """`/tmp/ipykernel_1/123.py:5:9: ...` -> `cell line 5:9: ...`."""
    return re.sub(re.escape(filename) + r":(\d+)(?::(\d+))?", lambda m: f"cell line {m.group(1)}"
                  + (f":{m.group(2)}" if m.group(2) else ""), text)


def _exception_in_cell(err: BaseException, filename: str, cell: str) -> str:
    """`cell line N: NameError: ...` plus the line, for an exception raised by the cell's own code."""
    if isinstance(err, SyntaxError) and err.lineno:
        line = cell.splitlines()[err.lineno - 1] if err.lineno <= len(cell.splitlines()) else ""
        caret = " " * max((err.offset or 1) - 1, 0) + "^"
        return f"cell line {err.lineno}: SyntaxError: {err.msg}\n    {line}\n    {caret}"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == filename]
    where = f"cell line {frames[-1].lineno}: " if frames else ""
    text = f"{where}{type(err).__name__}: {err}"
    if frames and frames[-1].line:
        text += f"\n    {frames[-1].line}"
    return text


def _kernels_in_cell(namespace: dict[str, Any], filename: str) -> dict[str, Any]:
    """Functions (plain or @trace-decorated) the cell defined, in source order."""
    found = []
    for name, value in namespace.items():
        fn = getattr(value, "fn", value)
        if isinstance(fn, types.FunctionType) and fn.__code__.co_filename == filename:
            found.append((fn.__code__.co_firstlineno, name, value))
    return {name: value for _, name, value in sorted(found, key=lambda t: t[0])}


@magics_class
class NkigenMagics(Magics):

    @magic_arguments()
    @argument("kernel", nargs="?", default=None,
              help="the function to explore, when the cell defines several")
    @argument("--inputs", default=None,
              help='input shapes and dtypes, e.g. "x=128x256:f32, w=256:bf16"')
    @argument("--args", default=None,
              help="comma-separated names of arrays in the notebook to trace with, e.g. a,b")
    @argument("--target", default="trn2", choices=["trn2", "trn1"], help="the NeuronCore target (default trn2)")
    @argument("--stop-after", default=None,
              help="stop after this pass (a pass name, name:N for its N-th run, a phase, or a 1-based index)")
    @argument("--run", action="store_true",
              help="also run the fully compiled kernel on the device (the simulator by default) with the "
                   "--args arrays, or seeded random inputs from the shapes; fills the Run tab")
    @argument("--compare-numpy", action="store_true",
              help="check the run's outputs against the NumPy function (max abs/rel error per output, "
                   "pass/fail at the per-dtype tolerance); implies --run")
    @argument("--device", default=None, choices=["sim", "neuron"],
              help="the device to run on: sim (SimulatedNeuronCore, modeled time) or neuron (real hardware, "
                   "measured time; needs the Neuron toolchain); implies --run")
    @argument("--seed", type=int, default=0, help="seed of the random inputs of --run (default 0)")
    @argument("--compare", default=None, metavar="OTHER_FN",
              help="explore OTHER_FN (e.g. another knob variant, in the cell or the notebook) with the same "
                   "inputs and show stage N of both side by side, with both pass lists' op-count deltas")
    @line_cell_magic
    def nkigen(self, line: str, cell: str | None = None) -> None:
        """Trace the kernel this cell defines and explore it pass by pass.

        The cell is ordinary Python that defines a NumPy kernel (knobs allowed). The
        kernel is bound in the notebook as a traced function; the output is the
        explorer: the pass list (grouped by phase, changed/unchanged, op-count deltas,
        time), before|after IR with line diffs, the repro command of each stage and
        the Python source linked to the IR lines.

        Shapes come from --inputs, from --args (arrays in the notebook), from
        @trace(input_specs=...) in the cell or, with none of these, from arrays in the
        notebook named like the kernel's parameters (def k(x, w): uses x and w).

        --run runs the compiled kernel (Run tab: device, modeled/measured time,
        engine utilisation, engine timeline, downloads of any stage's IR and the
        Perfetto trace); --compare-numpy adds the NumPy check. --compare OTHER_FN
        shows two knob variants of one kernel stage by stage.

        Examples::

            %%nkigen --inputs "x=256x256:f32, w=256:f32"
            def rmsnorm(x, w): ...

            %%nkigen attention --args q,k,v --stop-after prepare-arithmetic

            %%nkigen --inputs "x=256x256:f32" --run --compare-numpy
            def softmax(x): ...

            %%nkigen softmax_a --compare softmax_b --inputs "x=256x256:f32" --run
        """
        if cell is None:
            display(NkigenMessage("%nkigen is a cell magic: start a cell with %%nkigen (see %nkigen? for options)"))
            return
        try:
            self._run(line, cell)
        except CellError as err:
            display(NkigenMessage(str(err)))
        except Exception as err:  # noqa: BLE001 - the kernel must survive anything
            display(NkigenMessage(f"%%nkigen internal error: {type(err).__name__}: {err}"))

    def _run(self, line: str, cell: str) -> None:
        from nkipy_kg.explore import explore
        from nkipy_kg.explore_compare import Comparison

        try:
            args = parse_argstring(self.nkigen, line)
        except Exception as err:  # noqa: BLE001 - UsageError and argparse errors
            raise CellError(f"%%nkigen {line.strip()}: {err}") from None
        ns = self.shell.user_ns
        filename = self._exec_cell(cell)
        kernels = _kernels_in_cell(ns, filename)
        other = None
        if args.compare is not None:      # the other variant first: it is not a candidate for the kernel
            _, other = _pick_kernel(kernels, args.compare, ns)
            kernels.pop(args.compare, None)
            ns[args.compare] = other
        name, kernel = _pick_kernel(kernels, args.kernel, ns)
        ns[name] = kernel
        arrays, specs = _kernel_inputs(kernel, args, ns)
        stop = args.stop_after
        stop = int(stop) if stop is not None and stop.isdigit() else stop
        run = args.run or args.compare_numpy or args.device is not None
        options = dict(specs=specs, target=args.target, stop_after=stop, run=run, device=args.device,
                       compare_numpy=args.compare_numpy, seed=args.seed)
        try:
            explorations = [explore(fn, *arrays, **options) for fn in ([kernel, other] if other else [kernel])]
        except NkipyError as err:
            raise CellError(_cellify(err.render(), filename)) from None
        except ValueError as err:  # an unknown --stop-after
            raise CellError(f"%%nkigen --stop-after: {err}") from None
        for ex in explorations:
            if ex.source is not None and ex.source.file == filename:
                ex.source = dataclasses.replace(ex.source, label="this cell")
            if ex.error is not None:
                # The explorer lists the failed pass with this text; the message says it first.
                ex.error = dataclasses.replace(ex.error, rendered=_cellify(ex.error.rendered, filename))
                display(NkigenMessage(f"%%nkigen {ex.kernel}: pass {ex.error.stage} {ex.error.pass_name} failed; "
                                      f"the explorer below keeps the stages before it.\n{ex.error.rendered}"))
            if ex.run is not None and ex.run.error:
                display(NkigenMessage(f"%%nkigen --run {ex.kernel}: {_cellify(ex.run.error, filename)}"))
        _show(explorations[0] if other is None else Comparison(*explorations))

    def _exec_cell(self, cell: str) -> str:
        """Run the cell in the user namespace; returns its (linecache-registered) file name."""
        shell = self.shell
        # A leading newline for the `%%nkigen` line: cell line numbers then match the editor's.
        body = "\n" + cell
        filename = shell.compile.cache(body, shell.execution_count or 0)
        try:
            exec(compile("\n" + shell.transform_cell(cell), filename, "exec"), shell.user_ns)  # noqa: S102
        except NkipyError as err:
            raise CellError(_cellify(err.render(), filename)) from None
        except Exception as err:  # noqa: BLE001 - the user's own code failed
            raise CellError(_exception_in_cell(err, filename, body)) from None
        return filename


def _pick_kernel(kernels: dict[str, Any], name: str | None, namespace: dict[str, Any]) -> tuple[str, Any]:
    """The kernel to explore: the named one, the only one, or the only @trace-decorated one."""
    from nkipy_kg.frontend.tracer import TracedFunction, trace

    if name is None:
        if not kernels:
            raise CellError("%%nkigen: the cell defines no function; define the kernel with def")
        traced = [n for n, v in kernels.items() if isinstance(v, TracedFunction)]
        if len(kernels) > 1 and len(traced) != 1:
            raise CellError(f"%%nkigen: the cell defines {', '.join(kernels)}; name the kernel: "
                            f"%%nkigen {list(kernels)[-1]}")
        name = traced[0] if len(kernels) > 1 else next(iter(kernels))
    fn = kernels.get(name, namespace.get(name))
    if fn is None or not callable(fn):
        raise CellError(f"%%nkigen: no function {name!r} in the cell (it defines {', '.join(kernels) or 'none'})")
    return name, fn if isinstance(fn, TracedFunction) else trace(fn)


def _kernel_inputs(kernel: Any, args: Any, namespace: dict[str, Any]) -> tuple[list[Any], list[Any] | None]:
    """(example arrays, specs) from --inputs, --args, the kernel's own input_specs or the
    notebook's arrays named like its parameters, in that order."""
    try:
        if args.inputs is not None and args.args is not None:
            raise InputsError("give either --inputs or --args, not both")
        if args.inputs is not None:
            return [], specs_for(kernel, args.inputs.strip("\"'"))
        if args.args is not None:
            return arrays_for(args.args.strip("\"'"), namespace), None
        if kernel.input_specs is not None:
            return [], None
        by_name = arrays_named_like_params(kernel, namespace)
        if by_name is None:
            raise InputsError(f"{kernel.name}: input shapes are unknown; add --inputs \"x=128x256:f32, ...\", "
                              "--args a,b (arrays in the notebook), or define arrays named like its parameters")
        return by_name, None
    except InputsError as err:
        raise CellError(f"%%nkigen: {err}") from None


def _show(ex: Any) -> None:
    from explorer_ext.widget import ExplorerWidget, StaticExplorer

    display(StaticExplorer(ex))
    display(ExplorerWidget(ex))
