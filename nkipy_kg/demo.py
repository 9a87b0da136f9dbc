"""The main job: trace a sample kernel, check it against NumPy, compile it through the
pipeline and write the explorer report.

    python -m nkipy_kg [--kernel NAME] [--target trn2|trn1] [--out DIR]

It always does the most complete thing nkipy-kg can do today; the NISA backend and
the device run join here as they land.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nkipy_kg import trace, verify_against_numpy
from nkipy_kg.errors import NkipyError
from nkipy_kg.explore import explore
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.targets import TARGETS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nkipy_kg", description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", default="rmsnorm", choices=sorted(CATALOGUE))
    parser.add_argument("--target", default="trn2", choices=sorted(TARGETS))
    parser.add_argument("--out", default="out", help="directory for the written artifacts")
    args = parser.parse_args(argv)

    case = CATALOGUE[args.kernel]
    kernel = trace(case.fn)
    inputs = case.inputs()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        module = kernel.to_mlir(*inputs)
        report = verify_against_numpy(kernel, *inputs)
        exploration = explore(kernel, *inputs, target=args.target)
    except NkipyError as err:
        print(err.render(), file=sys.stderr)
        return 1
    (out / f"{case.name}.mlir").write_text(module.operation.get_asm(enable_debug_info=True))
    report_path = out / f"{case.name}.html"
    exploration.save_html(report_path)

    print(f"// Traced IR of {case.name} ({', '.join(f'{a.shape}:{a.dtype}' for a in inputs)})")
    print(module)
    print(report)
    print(exploration)
    if exploration.error is not None:
        print(f"pipeline stopped: {exploration.error}", file=sys.stderr)
    print(f"wrote {out / (case.name + '.mlir')}")
    print(f"wrote the explorer report {report_path.resolve()}")
    return 0 if report.passed and exploration.error is None else 1


if __name__ == "__main__":
    raise SystemExit(main())
