"""The main job: compile a sample kernel, run it on the default device, check it
against NumPy and write the explorer report (with its Run tab).

    python -m nkipy_kg [--kernel NAME] [--target trn2|trn1] [--device sim|neuron] [--out DIR]

The default device is the simulator (`SimulatedNeuronCore`), whose time is modeled by
the cost model, not measured; the report says so too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nkipy_kg import trace
from nkipy_kg.errors import NkipyError
from nkipy_kg.explore import Exploration, explore
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.targets import TARGETS


def _run_lines(ex: Exploration) -> list[str]:
    """What the terminal shows of the run: device, time, utilisation, the NumPy check."""
    run = ex.run
    if run is None:
        return []
    if run.error:
        return [f"run on {run.device} failed:", run.error]
    lines = [f"ran on {run.device}: {run.time_us:.3f} us ({run.timing_kind}), {run.events_total} instructions"]
    lines += [f"  {engine:8s} utilisation {100 * u:5.1f}%" for engine, u in run.utilisation.items()]
    for out in run.outputs:
        verdict = "pass" if out.passed else "FAIL"
        lines.append(f"NumPy check {out.name} {'x'.join(map(str, out.shape))}:{out.dtype}: max abs error "
                     f"{out.max_abs:.3g}, max rel error {out.max_rel:.3g} (rtol {out.rtol:g}, atol {out.atol:g}): {verdict}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nkipy_kg", description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", default="rmsnorm", choices=sorted(CATALOGUE))
    parser.add_argument("--target", default="trn2", choices=sorted(TARGETS))
    parser.add_argument("--device", default="sim", choices=["sim", "neuron"],
                        help="sim: the simulator (modeled time, the default); neuron: real hardware")
    parser.add_argument("--out", default="out", help="directory for the written artifacts")
    args = parser.parse_args(argv)

    case = CATALOGUE[args.kernel]
    kernel = trace(case.fn)
    inputs = case.inputs()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        module = kernel.to_mlir(*inputs)
        exploration = explore(kernel, *inputs, target=args.target, run=True, device=args.device)
    except NkipyError as err:
        print(err.render(), file=sys.stderr)
        return 1
    (out / f"{case.name}.mlir").write_text(module.operation.get_asm(enable_debug_info=True))
    report_path = out / f"{case.name}.html"
    exploration.save_html(report_path)

    shapes = ", ".join(f"{'x'.join(map(str, a.shape))}:{a.dtype}" for a in inputs)
    print(f"compiled {case.name} ({shapes}) for {args.target}: {exploration}")
    if exploration.error is not None:
        print(f"pipeline stopped:\n{exploration.error.rendered}", file=sys.stderr)
    print("\n".join(_run_lines(exploration)))
    print(f"wrote the traced IR {out / (case.name + '.mlir')}")
    print(f"wrote the explorer report {report_path.resolve()}")
    run = exploration.run
    ok = exploration.error is None and run is not None and not run.error and run.passed is True
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
