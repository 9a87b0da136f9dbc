"""`nkipy-kg-opt`, run as a subprocess the way lit and users run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nkipy_kg.cli_pipeline import Element, PipelineError, parse_pipeline, plan_steps

TOOL = str(Path(sys.executable).parent / "nkipy-kg-opt")

ANNOTATED = """\
func.func @f(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  "nkipy.layout"(%a) {mem_space = 3 : i32} : (tensor<4x8xf32>) -> ()
  %c = arith.constant 1.0 : f32
  %d = arith.addf %c, %c : f32
  %e = tensor.empty() : tensor<4xf32>
  return %a : tensor<4x8xf32>
}
"""

GATHER = """\
func.func @g(%t: tensor<16x4xf32>, %i: tensor<8xi32>, %o: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %g = "nkipy.gather"(%t, %i, %o) : (tensor<16x4xf32>, tensor<8xi32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %g : tensor<8x4xf32>
}
"""


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOOL, *args], input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture
def annotated(tmp_path: Path) -> Path:
    path = tmp_path / "annotated.mlir"
    path.write_text(ANNOTATED)
    return path


def test_no_passes_round_trips(annotated: Path) -> None:
    res = run(str(annotated))
    assert res.returncode == 0, res.stderr
    assert '"nkipy.layout"(%arg0) {mem_space = 3 : i32}' in res.stdout
    assert "arith.addf" in res.stdout


def test_per_pass_flags_run_in_order(annotated: Path) -> None:
    res = run(str(annotated), "--strip-nkipy-annotations", "--canonicalize")
    assert res.returncode == 0, res.stderr
    assert "nkipy" not in res.stdout
    assert "arith.addf" not in res.stdout and "tensor.empty" not in res.stdout  # folded / dead
    assert "return %arg0 : tensor<4x8xf32>" in res.stdout


def test_pass_flag_with_options_and_single_dash(annotated: Path) -> None:
    res = run(str(annotated), "-strip-nkipy-annotations", "--canonicalize=max-iterations=1 top-down=false")
    assert res.returncode == 0, res.stderr
    assert "nkipy" not in res.stdout


def test_pass_pipeline_mixes_python_and_nested_upstream(annotated: Path) -> None:
    res = run(str(annotated), "--pass-pipeline=builtin.module(strip-nkipy-annotations, "
              "func.func(canonicalize{max-iterations=3}, cse))")
    assert res.returncode == 0, res.stderr
    assert "nkipy" not in res.stdout and "arith.addf" not in res.stdout


def test_print_ir_after_all_dumps_each_pass_to_stderr(annotated: Path) -> None:
    res = run(str(annotated), "--pass-pipeline=builtin.module(strip-nkipy-annotations, func.func(canonicalize, cse))",
              "--mlir-print-ir-after-all")
    assert res.returncode == 0, res.stderr
    headers = [line for line in res.stderr.splitlines() if line.startswith("// -----// IR Dump After")]
    assert headers == [
        "// -----// IR Dump After strip-nkipy-annotations //----- //",
        "// -----// IR Dump After canonicalize //----- //",
        "// -----// IR Dump After cse //----- //",
    ]
    after_strip = res.stderr.split(headers[1])[0]
    assert "nkipy.layout" not in after_strip and "arith.addf" in after_strip  # not canonicalized yet
    assert "arith.addf" not in res.stderr.split(headers[1])[1]
    assert "IR Dump" not in res.stdout


def test_debuginfo_prints_locations(annotated: Path) -> None:
    res = run(str(annotated), "--mlir-print-debuginfo")
    assert res.returncode == 0, res.stderr
    assert 'loc("-":2:3)' in res.stdout  # the nkipy.layout op


def test_stdin_default_and_dash_and_output_file(tmp_path: Path) -> None:
    for args in [(), ("-",)]:
        res = run(*args, "--lower-nkipy-gather", stdin=GATHER)
        assert res.returncode == 0, res.stderr
        assert "linalg.generic" in res.stdout and "nkipy.gather" not in res.stdout
    out = tmp_path / "out.mlir"
    res = run("-", "--lower-nkipy-gather", "-o", str(out), stdin=GATHER)
    assert res.returncode == 0 and res.stdout == ""
    assert "tensor.extract %arg0" in out.read_text()


def test_split_input_file_joins_outputs(tmp_path: Path) -> None:
    path = tmp_path / "two.mlir"
    path.write_text(GATHER + "\n// -----\n\n" + ANNOTATED)
    res = run(str(path), "--split-input-file", "--lower-nkipy-gather", "--strip-nkipy-annotations")
    assert res.returncode == 0, res.stderr
    first, second = res.stdout.split("// -----\n")
    assert "func.func @g" in first and "linalg.generic" in first
    assert "func.func @f" in second and "nkipy" not in second


def test_invalid_ir_is_a_located_error_with_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.mlir"
    path.write_text(ANNOTATED.replace("mem_space = 3", "mem_space = 7"))
    res = run(str(path), "--strip-nkipy-annotations")
    assert res.returncode == 1
    assert f"{path}:2:3: error: 'nkipy.layout' op mem_space 7 is not one of" in res.stderr
    assert '  "nkipy.layout"(%a)' in res.stderr  # the source line, then a caret
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_split_input_file_reports_lines_of_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "split.mlir"
    path.write_text(ANNOTATED + "// -----\n" + "func.func @h() {\n  return %x : f32\n}\n")
    res = run(str(path), "--split-input-file")
    assert res.returncode == 1
    assert f"{path}:10:10: error: use of undeclared SSA value name" in res.stderr
    assert "func.func @f" in res.stdout  # the valid chunk is still printed


def test_python_pass_error_prints_render_with_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "gather_ui.mlir"
    path.write_text(GATHER.replace("tensor<8xi32>", "tensor<8xui32>"))
    res = run(str(path), "--lower-nkipy-gather")
    assert res.returncode == 1
    assert f"[lower-nkipy-gather] {path}:2:8: pass error: nkipy.gather indices must be signless" in res.stderr
    assert "offending IR:" in res.stderr
    assert "Traceback" not in res.stderr


def test_failing_upstream_pass_is_located_with_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "loop.mlir"
    path.write_text(
        "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
        "  %c0 = arith.constant 0 : index\n  %c1 = arith.constant 1 : index\n  %c4 = arith.constant 4 : index\n"
        "  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %a) -> (tensor<4xf32>) {\n"
        "    %e = tensor.empty() : tensor<4xf32>\n"
        "    %n = linalg.add ins(%acc, %a : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>\n"
        "    scf.yield %n : tensor<4xf32>\n  }\n  return %r : tensor<4xf32>\n}\n"
    )
    # Without allow-return-allocs-from-loops, one-shot-bufferize rejects the loop.
    res = run(str(path), "--pass-pipeline=builtin.module(one-shot-bufferize{bufferize-function-boundaries})")
    assert res.returncode == 1
    assert f"{path}:8:5: error: Yield operand #0 is not equivalent to the corresponding iter bbArg" in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_main_returns_exit_codes_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    from nkipy_kg.cli import main

    assert main(["--list-passes"]) == 0
    assert "strip-nkipy-annotations" in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert main(["--no-such-flag"]) == 2


def test_unknown_pass_exits_2_with_the_list(annotated: Path) -> None:
    res = run(str(annotated), "--pass-pipeline=builtin.module(func.func(no-such-pass))")
    assert res.returncode == 2
    assert "unknown pass 'no-such-pass'" in res.stderr
    assert "strip-nkipy-annotations" in res.stderr and "zero-init-empty-tensors" in res.stderr


@pytest.mark.parametrize("args, message", [
    (("--pass-pipeline=builtin.module(cse", ), "unbalanced"),
    (("--pass-pipeline=cse", "--canonicalize"), "cannot be combined"),
    (("--strip-nkipy-annotations=bogus=1",), "has no option(s) bogus"),
    (("--pass-pipeline=builtin.module(canonicalize{no-such-option=1})",), "invalid pass pipeline element"),
])
def test_bad_pipelines_exit_2(annotated: Path, args: tuple[str, ...], message: str) -> None:
    res = run(str(annotated), *args)
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_input_file_exits_1(tmp_path: Path) -> None:
    res = run(str(tmp_path / "nope.mlir"))
    assert res.returncode == 1
    assert "could not open input file" in res.stderr


def test_list_passes() -> None:
    res = run("--list-passes")
    assert res.returncode == 0
    lines = res.stdout.splitlines()
    assert any(line.split()[:2] == ["lower-nkipy-gather", "[python]"] for line in lines)
    assert any(line.split()[0] == "canonicalize" for line in lines if line.strip())


def test_verify_diagnostics_matches_expected_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.mlir"
    good.write_text(
        "func.func @f(%a: tensor<4x8xf32>) {\n"
        "  // expected-error @+1 {{partition_dim 5 is out of range for rank 2}}\n"
        '  "nkipy.layout"(%a) {partition_dim = 5 : ui32} : (tensor<4x8xf32>) -> ()\n'
        "  return\n}\n"
        "// -----\n"
        "func.func @g(%t: tensor<4x2xf32>, %i: tensor<3xui32>, %o: tensor<3x2xf32>) -> tensor<3x2xf32> {\n"
        '  %g = "nkipy.gather"(%t, %i, %o) : (tensor<4x2xf32>, tensor<3xui32>, tensor<3x2xf32>) -> tensor<3x2xf32> '
        "// expected-error {{indices must be signless integers}}\n"
        "  return %g : tensor<3x2xf32>\n}\n"
    )
    res = run(str(good), "--split-input-file", "--verify-diagnostics", "--lower-nkipy-gather")
    assert res.returncode == 0, res.stderr


def test_verify_diagnostics_reports_mismatches(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mlir"
    bad.write_text(
        "func.func @f(%a: tensor<4x8xf32>) {\n"
        "  // expected-error @+1 {{partition_dim 9}}\n"
        '  "nkipy.layout"(%a) {partition_dim = 5 : ui32} : (tensor<4x8xf32>) -> ()\n'
        "  return\n}\n"
    )
    res = run(str(bad), "--verify-diagnostics")
    assert res.returncode == 1
    assert f"{bad}:3:3: error: unexpected error: 'nkipy.layout' op partition_dim 5" in res.stderr
    assert f'{bad}:3: error: expected error "partition_dim 9" was not produced' in res.stderr
    # Valid IR with an expectation that never fires also fails.
    res = run("--verify-diagnostics", stdin="// expected-error @below {{nope}}\nfunc.func @f() {\n  return\n}\n")
    assert res.returncode == 1 and 'expected error "nope" was not produced' in res.stderr


def test_parse_pipeline_structure() -> None:
    elements = parse_pipeline("builtin.module(a, b{x=1 y={2}}, func.func(c, d{z=3}))")
    assert elements == [
        Element("a"),
        Element("b", "x=1 y={2}"),
        Element("func.func", "", (Element("c"), Element("d", "z=3"))),
    ]
    assert parse_pipeline("cse,canonicalize") == [Element("cse"), Element("canonicalize")]
    assert parse_pipeline("builtin.module()") == []
    with pytest.raises(PipelineError):
        parse_pipeline("a))")


def test_plan_keeps_upstream_groups_and_hoists_python_passes() -> None:
    elements = parse_pipeline("func.func(cse, canonicalize), func.func(cse, strip-nkipy-annotations), one-shot-bufferize")
    steps = plan_steps(elements, split_all=False)
    assert [(s.text, s.python) for s in steps] == [
        ("func.func(cse,canonicalize)", False),
        ("func.func(cse)", False),
        ("strip-nkipy-annotations", True),  # Python passes run on the module
        ("one-shot-bufferize{bufferize-function-boundaries allow-unknown-ops}", False),  # registry text
    ]
    split = plan_steps(parse_pipeline("func.func(cse, canonicalize)"), split_all=True)
    assert [s.text for s in split] == ["func.func(cse)", "func.func(canonicalize)"]


def _softmax(x):
    import numpy as np

    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


@pytest.mark.parametrize("stop", [None, "25", "legalize-layout"])
def test_nkipy_pipeline_reproduces_compile(tmp_path: Path, stop: str | None) -> None:
    """`--nkipy-pipeline` runs the same stage list as `nkipy_kg.compile`, to the same IR."""
    import numpy as np

    import nkipy_kg

    x = np.zeros((256, 256), np.float32)
    comp = nkipy_kg.trace(_softmax).compile(x, target="trn1", stop_after=int(stop) if stop == "25" else stop)
    source = tmp_path / "in.mlir"
    source.write_text(comp.snapshots[0].ir_with_locations)
    res = run(str(source), "--nkipy-pipeline=trn1", *([f"--stop-after={stop}"] if stop else []))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == comp.final_ir.strip()
    assert ("nisa.target" in res.stdout) == (stop is None)


def test_list_passes_shows_the_compiler_pipeline() -> None:
    from nkipy_kg.pipeline import PIPELINE

    lines = run("--list-passes").stdout.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("the compiler pipeline")))
    stages = [line.split() for line in lines[at + 1:] if line.strip()]
    assert [int(s[0]) for s in stages] == list(range(1, len(PIPELINE) + 1))
    assert stages[-1] == ["26", "backend", "linalg-to-nisa{target=trn2}"]


@pytest.mark.parametrize("args, message", [
    (("--stop-after=3",), "--stop-after needs --nkipy-pipeline"),
    (("--nkipy-pipeline=trn9",), "unknown target 'trn9'"),
    (("--nkipy-pipeline", "--stop-after=no-such-pass"), "--stop-after: unknown stop_after 'no-such-pass'"),
    (("--nkipy-pipeline", "--canonicalize"), "cannot be combined"),
])
def test_nkipy_pipeline_usage_errors_exit_2(annotated: Path, args: tuple[str, ...], message: str) -> None:
    res = run(str(annotated), *args)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
