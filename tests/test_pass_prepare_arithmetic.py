"""prepare-arithmetic: no floating-point divide survives, values unchanged up to rounding."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nkipy_kg.passes import run_passes
import nkipy_kg
from nkipy_kg import dtypes, knob
from nkipy_kg._mlir import PassManager, ir, make_context
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.errors import PassError
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.passes import get
from nkipy_kg.pipeline import MEMREF_STAGE
from nkipy_kg.sim.api import simulate

PASS = "prepare-arithmetic"
ONE = re.compile(r"(%\S+) = arith.constant 1.000000e\+00 : [bf]")
DIVF = re.compile(r"arith\.divf (%[^,]+),")


def divides_left(text: str) -> list[str]:
    """linalg.div ops and divf ops that are not a body reciprocal `divf(1.0, v)`."""
    ones = set(ONE.findall(text))
    return re.findall(r"linalg\.div ", text) + [n for n in DIVF.findall(text) if n not in ones]




def check(fn, *arrays: np.ndarray) -> tuple[str, str]:
    """(IR before, IR after); asserts no float divide is left and the values match."""
    before = str(nkipy_kg.trace(fn).to_mlir(*arrays))
    after = run_passes(before, PASS)
    assert divides_left(after) == [], after
    for want, got in zip(compile_cpu(before)(*arrays), compile_cpu(after)(*arrays), strict=True):
        # x * (1/y) may differ from x / y by an ulp or two.
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-30)
    return before, after


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_kernels(name: str) -> None:
    case = CATALOGUE[name]
    arrays = case.inputs()
    before = str(nkipy_kg.trace(case.fn).to_mlir(*arrays))
    after = run_passes(before, PASS)
    assert divides_left(after) == []
    for want, got in zip(compile_cpu(before)(*arrays), compile_cpu(after)(*arrays), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.max(np.abs(want))))


def positive(*shape: int) -> np.ndarray:
    return (np.random.default_rng(1).random(shape) + 0.5).astype(np.float32)


def test_tensor_divided_by_tensor():
    _, after = check(lambda a, b: a / b, positive(8, 16), positive(8, 16))
    assert "linalg.reciprocal" in after and "linalg.mul" in after


def test_tensor_divided_by_scalar_multiplies_by_the_inverse():
    _, after = check(lambda x: x / 4.0, positive(8, 16))
    assert "arith.constant 2.500000e-01 : f32" in after and "linalg.reciprocal" not in after


def test_one_over_tensor_is_a_reciprocal():
    _, after = check(lambda x: 1.0 / x, positive(8, 16))
    assert after.count("linalg.reciprocal") == 1 and "linalg.generic" not in after


def test_scalar_over_tensor_is_fill_times_reciprocal():
    _, after = check(lambda x: 5.0 / x, positive(8, 16))
    assert "linalg.fill" in after and "linalg.reciprocal" in after and "linalg.mul" in after


@pytest.mark.parametrize("shape", [(8, 1), (16,), (1, 16)])
def test_broadcast_divide(shape):
    _, after = check(lambda a, b: a / b, positive(8, 16), positive(*shape))
    assert re.search(rf"linalg.reciprocal ins\(%arg1 : tensor<{'x'.join(map(str, shape))}xf32>\)", after)


def test_divide_by_zero_constant_matches_ieee():
    x = np.array([[1.0, -2.0, 0.0, np.inf]], np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        check(lambda v: v / 0.0, x)


def test_annotations_are_cloned_onto_the_reciprocal():
    def f(a, b):
        r = a / b
        knob.knob(r).tile_op(tile_size=[4, 16]).layout(mem_space="SharedHbm", tile_size=[4, 16])
        return r

    _, after = check(f, positive(8, 16), positive(8, 16))
    recip = re.search(r"(%\d+) = linalg.reciprocal", after).group(1)
    assert f'"nkipy.tile_op"({recip}) {{loop_tile_size = array<i64: 4, 16>}}' in after
    assert f'"nkipy.layout"({recip}) {{tile_size = array<i64: 4, 16>}}' in after  # not HBM: an intermediate


def test_integer_division_is_untouched():
    text = """
    func.func @f(%a: tensor<4xi32>) -> tensor<4xi32> {
      %e = tensor.empty() : tensor<4xi32>
      %d = linalg.div ins(%a, %a : tensor<4xi32>, tensor<4xi32>) outs(%e : tensor<4xi32>) -> tensor<4xi32>
      return %d : tensor<4xi32>
    }"""
    assert run_passes(text, PASS) == run_passes(text)


def test_scalar_divisor_is_a_located_error():
    text = """
    func.func @f(%a: tensor<4xf32>, %s: f32) -> tensor<4xf32> {
      %e = tensor.empty() : tensor<4xf32>
      %g = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>],
                           iterator_types = ["parallel"]} ins(%a, %s : tensor<4xf32>, f32) outs(%e : tensor<4xf32>) {
      ^bb0(%x: f32, %y: f32, %o: f32):
        %r = arith.divf %x, %y : f32
        linalg.yield %r : f32
      } -> tensor<4xf32>
      return %g : tensor<4xf32>
    }"""
    with pytest.raises(PassError, match="division by a scalar operand of type f32") as info:
        run_passes(text, PASS)
    assert info.value.pass_name == PASS and info.value.loc is not None and info.value.loc.line == 4


def test_divisor_used_twice_becomes_a_body_reciprocal():
    """NumPy's floor_divide reads its divisor in the remainder too: x * (1 / y) in the body."""
    x = np.random.default_rng(2).uniform(-3, 3, (8, 16)).astype(np.float32)
    _, after = check(lambda a, b: a // b, x, positive(8, 16))
    assert re.search(r"(%\S+) = arith.divf %cst\S*, %in_0 : f32\n\s*%\S+ = arith.mulf %\S+, \1 : f32", after), after


# --- math decompositions ----------------------------------------------------------------

# ufunc -> input domain for the CPU JIT check of the decomposed IR (wider than the
# activations' valid ranges where the decomposition reduces the argument).
UNARY_DOMAINS = {
    "exp2": (-60.0, 60.0), "expm1": (-20.0, 20.0), "log2": (1e-6, 1e6), "log10": (1e-6, 1e6),
    "log1p": (-0.999, 1e6), "cbrt": (-1e6, 1e6), "sin": (-1e4, 1e4), "cos": (-1e4, 1e4),
    "tan": (-1.5, 1.5), "arcsin": (-1.0, 1.0), "arccos": (-1.0, 1.0), "arctan": (-1e4, 1e4),
    "sinh": (-80.0, 80.0), "cosh": (-80.0, 80.0), "arcsinh": (-1e6, 1e6), "arccosh": (1.0, 1e6),
    "arctanh": (-0.9999, 0.9999), "floor": (-1e7, 1e7), "ceil": (-1e7, 1e7), "trunc": (-1e7, 1e7),
    "rint": (-1e7, 1e7), "sign": (-3.0, 3.0), "isnan": (-3.0, 3.0),
}
BINARY_NAMES = ("arctan2", "copysign", "remainder", "floor_divide")
EXACT = {"floor", "ceil", "trunc", "rint", "sign", "isnan", "copysign", "floor_divide"}
# Values the rounding and sign rules must get exactly right (halves round to even).
EDGES = np.array([0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 4194304.5, -4194304.5, 8388607.5,
                  8388609.0, 3e9, -3e9, np.inf, -np.inf, np.nan], np.float32)
DECOMPOSED = re.compile(r"math\.(exp2|expm1|log2|log10|log1p|cbrt|cos|tan|asin|acos|atan2|sinh|cosh|asinh|"
                        r"acosh|atanh|floor|ceil|trunc|roundeven|copysign)\b|arith\.remf|linalg\.(floor|ceil)|"
                        r"cmpf (one|ord|ueq|ugt|uge|ult|ule|uno)")


def sample(low: float, high: float, shape: tuple[int, ...] = (16, 64), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if low > 0 and high / low > 1e3:  # log-uniform over wide positive ranges
        return np.exp(rng.uniform(np.log(low), np.log(high), shape)).astype(np.float32)
    return rng.uniform(low, high, shape).astype(np.float32)


def decomposed(fn, *arrays: np.ndarray) -> tuple[str, tuple]:
    """IR after the pass (no op of the table left) and its CPU JIT results."""
    after = run_passes(str(nkipy_kg.trace(fn).to_mlir(*arrays)), PASS)
    assert not DECOMPOSED.search(after), DECOMPOSED.search(after).group(0)
    assert re.findall(r"math\.(?:sin|atan) %[^{:]*:", after) == []  # every sin / arctan is reduced
    return after, compile_cpu(after)(*arrays)


@pytest.mark.parametrize("name", sorted(UNARY_DOMAINS))
def test_unary_decomposition_matches_numpy(name: str) -> None:
    ufunc = getattr(np, name)
    x = sample(*UNARY_DOMAINS[name])
    if name in EXACT:
        x[0, : EDGES.size] = EDGES
    _, (got,) = decomposed(lambda a: ufunc(a), x)
    with np.errstate(all="ignore"):
        want = ufunc(x.astype(np.float64))
    if name in EXACT:  # integers (or signs, flags): no tolerance
        np.testing.assert_array_equal(got, want.astype(got.dtype))
    else:
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5, equal_nan=True)


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_binary_decomposition_matches_numpy(name: str) -> None:
    ufunc = getattr(np, name)
    x, y = sample(-100.0, 100.0), sample(-10.0, 10.0, seed=1)
    y = np.where(np.abs(y) < 0.1, 0.1, y).astype(np.float32)
    y[0, :4] = [7.0, -7.0, 7.0, -7.0]   # exact multiples: fmod 0, signs of the divisor
    x[0, :4] = [21.0, 21.0, -21.0, -21.0]
    _, (got,) = decomposed(lambda a, b: ufunc(a, b), x, y)
    want = ufunc(x.astype(np.float64), y.astype(np.float64))
    if name in EXACT:
        np.testing.assert_array_equal(got, want.astype(got.dtype))
    else:
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["expm1", "log1p", "sinh", "arcsinh", "arctanh", "sin", "tan", "arcsin",
                                  "arctan", "cbrt"])
def test_no_cancellation_near_zero(name: str) -> None:
    """Relative accuracy for tiny |x| (where e^x - 1 or ln(1 + x) would cancel)."""
    ufunc = getattr(np, name)
    rng = np.random.default_rng(3)
    x = (rng.choice([-1.0, 1.0], (8, 64)) * 10.0 ** rng.uniform(-8, -2, (8, 64))).astype(np.float32)
    _, (got,) = decomposed(lambda a: ufunc(a), x)
    np.testing.assert_allclose(got, ufunc(x.astype(np.float64)), rtol=1e-6, atol=0)


def test_bf16_computes_in_f32_and_rounds_once():
    x = sample(-3.0, 3.0).astype(dtypes.bfloat16)
    after, (got,) = decomposed(lambda a: np.cos(a), x)
    assert "arith.extf %in : bf16 to f32" in after and after.count("arith.truncf") == 1
    want = np.cos(x.astype(np.float32)).astype(dtypes.bfloat16)  # one rounding of the fp32 result
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=8e-3, atol=8e-3)


PREDICATES = {"one": lambda x, y: (x < y) | (x > y), "ord": lambda x, y: ~(np.isnan(x) | np.isnan(y)),
              "ueq": lambda x, y: ~((x < y) | (x > y)), "ugt": lambda x, y: ~(x <= y),
              "uge": lambda x, y: ~(x < y), "ult": lambda x, y: ~(x >= y), "ule": lambda x, y: ~(x > y),
              "uno": lambda x, y: np.isnan(x) | np.isnan(y)}


@pytest.mark.parametrize("pred", sorted(PREDICATES))
def test_cmpf_predicates_the_alu_lacks(pred: str) -> None:
    text = f"""
    #id = affine_map<(d0) -> (d0)>
    func.func @f(%a: tensor<9xf32>, %b: tensor<9xf32>) -> tensor<9xi1> {{
      %e = tensor.empty() : tensor<9xi1>
      %g = linalg.generic {{indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}}
          ins(%a, %b : tensor<9xf32>, tensor<9xf32>) outs(%e : tensor<9xi1>) {{
      ^bb0(%x: f32, %y: f32, %o: i1):
        %r = arith.cmpf {pred}, %x, %y : f32
        linalg.yield %r : i1
      }} -> tensor<9xi1>
      return %g : tensor<9xi1>
    }}"""
    after = run_passes(text, PASS)
    assert f"cmpf {pred}" not in after
    x = np.array([1, 2, 3, np.nan, 1, np.nan, -0.0, np.inf, 5], np.float32)
    y = np.array([2, 2, 1, 1, np.nan, np.nan, 0.0, np.inf, -np.inf], np.float32)
    (got,) = compile_cpu(after)(x, y)
    np.testing.assert_array_equal(got, PREDICATES[pred](x, y))


def test_second_run_changes_nothing():
    x, y = sample(-3.0, 3.0), sample(0.5, 3.0, seed=1)
    once = run_passes(str(nkipy_kg.trace(
        lambda a, b: np.sin(a) + np.arctan(a) * np.floor(a) + np.remainder(a, b) + np.log1p(b)).to_mlir(x, y)), PASS)
    assert run_passes(once, PASS) == once


# --- through the pipeline on the simulator ---------------------------------------------


def simulated(fn, *arrays: np.ndarray) -> np.ndarray:
    comp = nkipy_kg.compile(nkipy_kg.trace(fn).to_mlir(*arrays))
    return np.asarray(simulate(comp.nisa_ir_with_locations, *arrays, target="trn2").outputs[0], np.float64)


@pytest.mark.parametrize("name,low,high", [
    ("sin", -1e4, 1e4), ("cos", -1e4, 1e4), ("tan", -100.0, 100.0), ("arctan", -1e4, 1e4),
    ("arcsin", -1.0, 1.0), ("arccos", -1.0, 1.0),
])
def test_activations_get_arguments_in_their_valid_range(name: str, low: float, high: float) -> None:
    """The simulator gives NaN for sin / arctan outside [-pi, pi] / [-pi/2, pi/2]: the
    lowering must reduce the argument for these inputs to come out right."""
    ufunc = getattr(np, name)
    x = sample(low, high, (128, 256))
    got = simulated(lambda a: ufunc(a), x)
    want = ufunc(x.astype(np.float64))
    if name == "tan":  # near its poles tan amplifies the fp32 rounding of the reduced argument
        keep = np.abs(np.cos(x.astype(np.float64))) > 1e-2
        got, want = got[keep], want[keep]
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(128, 1), (256,)])
def test_floor_divide_and_arctan2_by_broadcast_operands(shape: tuple[int, ...]) -> None:
    """[P, 1] divisors are computed on [P, 1] temporaries; a [F] row is broadcast first."""
    x = sample(-3.0, 3.0, (128, 256))
    y = sample(0.5, 3.0, shape, seed=1) * np.where(sample(-1.0, 1.0, shape, seed=2) < 0, -1, 1).astype(np.float32)
    for fn in (lambda a, b: a // b, lambda a, b: np.arctan2(b, a)):
        want = fn(x.astype(np.float64), y.astype(np.float64))
        np.testing.assert_allclose(simulated(fn, x, y), want, rtol=2e-5, atol=1e-5)


def test_every_later_stage_computes_the_decompositions():
    """Tiling, bufferization and canonicalization keep the decomposed bodies' values
    (no folding of the magic-number adds): every changed stage's IR on the CPU JIT."""
    def kernel(a, b):
        return np.cos(a) + np.floor_divide(a, b) * np.arctan2(a, b) + np.expm1(np.rint(a * 3.0))

    x, y = sample(-3.0, 3.0, (256, 512)), sample(0.5, 3.0, (256, 512), seed=1)
    comp = nkipy_kg.driver.compile(nkipy_kg.trace(kernel), specs=[((256, 512), "f32")] * 2,
                                   stop_after=MEMREF_STAGE)
    want = kernel(x.astype(np.float64), y.astype(np.float64))
    for snap in comp.snapshots:
        if snap.index < 2 or not snap.changed:
            continue
        (got,) = compile_cpu(snap.ir, opt_level=0)(x, y)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5, err_msg=f"after stage {snap.index} {snap.name}")
