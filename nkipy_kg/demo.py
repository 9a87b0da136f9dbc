"""The main job: trace a sample kernel, print its IR and check it against NumPy.

    python -m nkipy_kg [--kernel NAME] [--out DIR]

It always does the most complete thing nkipy-kg can do today; later stages
(compilation, simulation, the explorer report) join here as they land.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nkipy_kg import trace, verify_against_numpy
from nkipy_kg.errors import NkipyError
from nkipy_kg.kernels import CATALOGUE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nkipy_kg", description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", default="rmsnorm", choices=sorted(CATALOGUE))
    parser.add_argument("--out", default="out", help="directory for the written artifacts")
    args = parser.parse_args(argv)

    case = CATALOGUE[args.kernel]
    kernel = trace(case.fn)
    inputs = case.inputs()
    try:
        module = kernel.to_mlir(*inputs)
        report = verify_against_numpy(kernel, *inputs)
    except NkipyError as err:
        print(err.render(), file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ir_path = out / f"{case.name}.mlir"
    ir_path.write_text(module.operation.get_asm(enable_debug_info=True))
    print(f"// Traced IR of {case.name} ({', '.join(f'{a.shape}:{a.dtype}' for a in inputs)})")
    print(module)
    print(report)
    print(f"wrote {ir_path}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
