"""`nkipy-kg-opt`: an mlir-opt for nkipy-kg's passes (ours in Python, upstream in C++).

    nkipy-kg-opt in.mlir --pass-pipeline='builtin.module(lower-nkipy-gather, func.func(cse))'
    nkipy-kg-opt in.mlir --strip-nkipy-annotations --canonicalize=max-iterations=3 -o out.mlir
    nkipy-kg-opt bad.mlir --verify-diagnostics --split-input-file

Every pipeline element runs in one PassManager: registered Python passes through
`PassSpec.add_to`, anything else as upstream pipeline text. IR dumps
(`--mlir-print-ir-after-all`) are written by a Python pass between the steps.
Exit codes: 0 ok, 1 invalid IR / failing pass / unmatched diagnostics, 2 usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from nkipy_kg._mlir import MLIRError, PassManager, ir, make_context
from nkipy_kg.cli_pipeline import (
    Element, PipelineError, Step, compiler_pipeline, parse_pipeline, pipeline_listing, plan_steps, validate,
)
from nkipy_kg.errors import NkipyError
from nkipy_kg.passes import REGISTRY

_SPLIT = re.compile(r"^// -----[ \t]*$", re.M)  # not \s: it would eat newlines and shift lines
_EXPECTED = re.compile(
    r"//\s*expected-(?P<sev>error|warning|note|remark)\s*(?:@(?P<at>[+-]\d+|above|below|unknown))?"
    r"\s*\{\{(?P<msg>.*?)\}\}"
)
_OFFSETS = {"above": -1, "below": 1}


@dataclasses.dataclass(frozen=True)
class Diag:
    """A diagnostic reduced to what `--verify-diagnostics` compares; line 0 = unknown."""

    severity: str
    line: int
    col: int
    message: str


@dataclasses.dataclass(frozen=True)
class Options:
    display: str  # the input's name in messages ("<stdin>" for -)
    steps: tuple[Step, ...]
    print_after_all: bool
    debuginfo: bool
    verify: bool


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args, pass_flags = _parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse exits on --help and usage errors; main() returns codes
        return exc.code if isinstance(exc.code, int) else 2
    if args.list_passes:
        print(_pass_listing())
        print("\nthe compiler pipeline (--nkipy-pipeline[=TARGET] [--stop-after=N], what nkipy_kg.compile runs):")
        print(pipeline_listing())
        return 0
    try:
        elements = _pipeline(args, pass_flags)
        steps = plan_steps(elements, split_all=args.mlir_print_ir_after_all)
        validate(steps)
    except PipelineError as exc:
        print(f"nkipy-kg-opt: error: {exc}", file=sys.stderr)
        if exc.unknown:
            print(_pass_listing(), file=sys.stderr)
        return 2
    try:
        text = sys.stdin.read() if args.input == "-" else Path(args.input).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"nkipy-kg-opt: error: could not open input file '{args.input}': {exc.strerror}", file=sys.stderr)
        return 1
    opts = Options("<stdin>" if args.input == "-" else args.input, tuple(steps),
                   args.mlir_print_ir_after_all, args.mlir_print_debuginfo, args.verify_diagnostics)
    chunks = _split(text) if args.split_input_file else [text]
    results = [_run_chunk(chunk, opts) for chunk in chunks]
    ok = all(r[0] for r in results)
    outputs = [r[1] for r in results if r[1] is not None]
    try:
        if outputs:
            _write(args.output, "// -----\n".join(outputs))
    except OSError as exc:
        print(f"nkipy-kg-opt: error: could not write '{args.output}': {exc.strerror}", file=sys.stderr)
        return 1
    return 0 if ok else 1


def _parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[Element]]:
    """argparse for the fixed flags; `--<pass>[=opts]` flags are taken out first, in order."""
    pass_flags: list[Element] = []
    rest: list[str] = []
    for token in argv:
        # mlir-opt style: `--name`, `-name`, `--name=opts`, `--name='{opts}'`.
        name, _, options = token.lstrip("-").partition("=")
        if token.startswith("-") and name in REGISTRY:
            pass_flags.append(Element(name, options.strip("{}")))
        else:
            rest.append(token)
    parser = argparse.ArgumentParser(prog="nkipy-kg-opt", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="passes (--<name> or --<name>='opt=value ...'):\n" + _pass_listing())
    parser.add_argument("input", nargs="?", default="-", help="input .mlir file, or - for stdin")
    parser.add_argument("-o", dest="output", default="-", metavar="FILE", help="output file (default stdout)")
    parser.add_argument("--pass-pipeline", default=None, help="e.g. 'builtin.module(a, b{opt=1}, func.func(c))'")
    parser.add_argument("--mlir-print-ir-after-all", action="store_true", help="dump the IR to stderr after each pass")
    parser.add_argument("--mlir-print-debuginfo", action="store_true", help="print locations")
    parser.add_argument("--verify-diagnostics", action="store_true", help="check `// expected-error` annotations")
    parser.add_argument("--split-input-file", action="store_true", help="process `// -----` chunks separately")
    parser.add_argument("--list-passes", action="store_true", help="list registered passes and exit")
    parser.add_argument("--nkipy-pipeline", nargs="?", const="trn2", default=None, metavar="TARGET",
                        help="run nkipy-kg's compiler pipeline (nkipy_kg.pipeline.PIPELINE) for TARGET (trn2)")
    parser.add_argument("--stop-after", default=None, metavar="STAGE",
                        help="with --nkipy-pipeline: a pass name, 1-based index, name:N or group")
    return parser.parse_args(rest), pass_flags


def _pipeline(args: argparse.Namespace, pass_flags: list[Element]) -> list[Element]:
    if args.pass_pipeline is not None and pass_flags:
        raise PipelineError("--pass-pipeline cannot be combined with individual pass flags")
    if args.nkipy_pipeline is not None:
        if args.pass_pipeline is not None or pass_flags:
            raise PipelineError("--nkipy-pipeline cannot be combined with --pass-pipeline or pass flags")
        return compiler_pipeline(args.nkipy_pipeline, args.stop_after)
    if args.stop_after is not None:
        raise PipelineError("--stop-after needs --nkipy-pipeline")
    return parse_pipeline(args.pass_pipeline) if args.pass_pipeline is not None else pass_flags


def _pass_listing() -> str:
    rows = [f"  {name:<28} {'[python] ' if spec.is_python else ''}{spec.summary}"
            for name, spec in sorted(REGISTRY.items())]
    return "\n".join(rows) + "\n  (any other upstream MLIR pass name is accepted in --pass-pipeline)"


def _split(text: str) -> list[str]:
    """Split on `// -----` lines; each chunk is padded with newlines so that line
    numbers in diagnostics are those of the whole file."""
    chunks, line = [], 0
    for piece in _SPLIT.split(text):
        chunks.append("\n" * line + piece)
        line += piece.count("\n")
    return chunks


def _run_chunk(chunk: str, opts: Options) -> tuple[bool, str | None]:
    """(success, output IR or None) for one chunk; prints or verifies diagnostics."""
    diags: list[Diag] = []
    context = make_context()

    def collect(diag: ir.Diagnostic) -> bool:  # warnings/remarks; errors arrive via MLIRError
        diags.extend(_diags(diag))
        return True

    context.attach_diagnostic_handler(collect)
    output, failed, report = None, True, ""
    with context, ir.Location.unknown():
        try:
            module = ir.Module.parse(chunk)
            _build(opts).run(module.operation)
            output, failed = module.operation.get_asm(enable_debug_info=opts.debuginfo), False
        except MLIRError as exc:
            located = [d for diag in exc.error_diagnostics for d in _diags(diag)]
            diags += located or [Diag("error", 0, 0, exc.message)]  # a pass may fail silently
        except NkipyError as exc:  # our passes raise located errors that render themselves
            diags.append(_nkipy_diag(exc, opts.display))
            report = exc.render()
        except Exception as exc:  # noqa: BLE001 - a bug in a Python pass: report, never a traceback
            diags.append(Diag("error", 0, 0, f"internal error in a Python pass: {type(exc).__name__}: {exc}"))
    if opts.verify:
        return _verify(chunk, diags, opts.display), output
    # An NkipyError (the last Diag) is printed as its render(): pass name, IR, repro.
    for diag in diags[:-1] if report else diags:
        print(_render(diag, chunk, opts.display), file=sys.stderr)
    if report:
        print(report, file=sys.stderr)
    return not failed, output


def _nkipy_diag(exc: NkipyError, display: str) -> Diag:
    """The error as a Diag; its SourceLoc is renamed from the parser's "-" to the input name."""
    if exc.loc is None:
        return Diag("error", 0, 0, exc.message)
    if exc.loc.file in ("-", ""):
        exc.loc = dataclasses.replace(exc.loc, file=display)
    return Diag("error", exc.loc.line, exc.loc.col + 1, exc.message)


def _build(opts: Options) -> PassManager:
    pm = PassManager()
    for step in opts.steps:
        step.add_to(pm)
        if opts.print_after_all:
            pm.add(_dumper(step.label, opts.debuginfo), f"print-ir-after:{step.label}")
    return pm


def _dumper(label: str, debuginfo: bool) -> Callable[[ir.Operation, object], None]:
    """A Python pass that prints the IR; MLIR's own printer would write from C++."""

    def dump(op: ir.Operation, pass_: object) -> None:
        asm = op.get_asm(enable_debug_info=debuginfo)
        sys.stderr.write(f"// -----// IR Dump After {label} //----- //\n{asm}\n")
        sys.stderr.flush()

    return dump


def _diags(diag: ir.DiagnosticInfo | ir.Diagnostic) -> list[Diag]:
    """The diagnostic and its notes, located by line/column of the input."""
    out = []
    for d, severity in [(diag, _severity(diag))] + [(n, "note") for n in diag.notes]:
        m = re.search(r'"[^"]*":(\d+):(\d+)', str(d.location))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        out.append(Diag(severity, line, col, d.message))
    return out


def _severity(diag: ir.DiagnosticInfo | ir.Diagnostic) -> str:
    return str(diag.severity).rsplit(".", 1)[-1].lower()


def _render(diag: Diag, chunk: str, display: str) -> str:
    """`file:line:col: error: msg` plus the source line and a caret, like mlir-opt."""
    if diag.line == 0:
        return f"{display}: {diag.severity}: {diag.message}"
    head = f"{display}:{diag.line}:{diag.col}: {diag.severity}: {diag.message}"
    lines = chunk.splitlines()
    if diag.severity == "note" or diag.line > len(lines):
        return head  # notes ("see current operation") already carry their own IR
    return f"{head}\n{lines[diag.line - 1]}\n{' ' * max(diag.col - 1, 0)}^"


def _verify(chunk: str, diags: list[Diag], display: str) -> bool:
    """Match diagnostics against `// expected-<severity> [@+N] {{message}}` annotations.

    A diagnostic matches an expectation with the same severity and line whose text is
    a substring of its message. Notes must match only if some expected-note exists
    (the bindings attach 'see current operation' notes we cannot turn off).
    """
    expected = _expectations(chunk)
    check_notes = any(e[0] == "note" for e in expected)
    ok = True
    for d in diags:
        if d.severity == "note" and not check_notes:
            continue
        hit = next((e for e in expected if e[:2] == (d.severity, d.line) and e[2] in d.message), None)
        if hit is None:
            print(f"{display}:{d.line}:{d.col}: error: unexpected {d.severity}: {d.message}", file=sys.stderr)
            ok = False
            continue
        expected.remove(hit)
    for severity, line, message in expected:
        print(f'{display}:{line}: error: expected {severity} "{message}" was not produced', file=sys.stderr)
        ok = False
    return ok


def _expectations(chunk: str) -> list[tuple[str, int, str]]:
    """(severity, line, message) per annotation; `@unknown` is line 0, like an unknown loc."""
    out = []
    for number, text in enumerate(chunk.splitlines(), start=1):
        for m in _EXPECTED.finditer(text):
            at = m.group("at")
            if at == "unknown":
                line = 0
            elif at in _OFFSETS:
                line = number + _OFFSETS[at]
            else:
                line = number + (int(at) if at else 0)
            out.append((m.group("sev"), line, m.group("msg")))
    return out


def _write(path: str, text: str) -> None:
    text = text if text.endswith("\n") else text + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    Path(path).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
