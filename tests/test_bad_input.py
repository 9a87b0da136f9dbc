"""Bad kernels: each must fail with the right error class, located at the offending line.

Every kernel marks its offending statement with `# <- error`; the error's `loc` must
name this file and that line, its text must show the line with a caret under the
error's column, and its message must say what is wrong and (where it helps) what
is supported. No bad input may escape as a raw TypeError/ValueError/AttributeError.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from nkipy_kg import (
    ControlFlowError, KnobError, NkipyError, ShapeError, TraceError, UnsupportedError, fori_loop, knob, trace,
)

from frontend_helpers import ERROR_MARKER, marker_line

X = ((8, 16), "f32")
I32 = ((8, 16), "i32")


def assert_located(err: NkipyError, obj: Any, at: str = "") -> None:
    """`err` points at the `# <- error` line of `obj` (in this file) and renders it with a caret."""
    assert err.loc is not None, f"{type(err).__name__} without a location: {err}"
    assert err.loc.file == __file__
    line = marker_line(obj)
    assert err.loc.line == line, f"error at line {err.loc.line}, the marked line is {line}:\n{err}"
    with open(__file__, encoding="utf-8") as f:
        source = f.read().splitlines()[line - 1]
    rendered = str(err)
    assert rendered == err.render()
    assert f"{__file__}:{line}:{err.loc.col + 1}" in rendered
    assert f"    {source.rstrip()}\n    {' ' * err.loc.col}^" in rendered, rendered
    if at:
        assert source[err.loc.col:].startswith(at), f"caret at {source[err.loc.col:]!r}, expected {at!r}"


def raised_by(call: Callable[[], Any]) -> NkipyError:
    """The error `call` raises; it must be an NkipyError, never a raw Python exception."""
    try:
        call()
    except BaseException as err:  # noqa: BLE001 - the point is to see what escapes
        assert isinstance(err, NkipyError), f"raw {type(err).__name__} escaped: {err}"
        assert not isinstance(err, (TypeError, ValueError, AttributeError, IndexError, KeyError))
        return err
    raise AssertionError("no error was raised")


# -- the bad kernels -----------------------------------------------------------------------

def fft(x):
    return np.fft.fft(x)  # <- error


def cumsum(x):
    y = np.exp(x)
    return np.cumsum(y, axis=1)  # <- error


def argmax(x):
    return np.argmax(x, axis=0)  # <- error


def accumulate(x):
    return np.add.accumulate(x)  # <- error


def ufunc_out(x):
    y = np.empty_like(x)
    np.add(x, 1.0, out=y)  # <- error
    return y


def sum_out(x):
    y = np.zeros((16,), np.float32)
    return np.sum(x, axis=0, out=y)  # <- error


def data_dependent_if(x):
    if x.sum() > 0:  # <- error
        return x
    return -x


def float_of_array(x):
    scale = float(x[0, 0])  # <- error
    return x * scale


def data_dependent_while(x):
    while np.max(x) > 1.0:  # <- error
        x = x / 2
    return x


def incompatible_broadcast(x, y):
    return x + y  # <- error


def matmul_k_mismatch(x, w):
    return x @ w  # <- error


def reshape_size_mismatch(x):
    return x.reshape(3, 5)  # <- error


def too_many_indices(x):
    return x[1, 2, 3]  # <- error


def index_out_of_bounds(x):
    return x[:, 16]  # <- error


def loop_index_out_of_bounds(x):
    def body(i, acc):
        return acc + x[i * 4:(i + 1) * 4]  # <- error
    return fori_loop(0, 3, body, np.zeros((4, 16), np.float32))


def boolean_mask(x):
    return x[x > 0]  # <- error


def negative_step(x):
    return x[::-1]  # <- error


def setitem_into_view(x):
    y = x.copy()
    top = y[:4]
    top[0] = 1.0  # <- error
    return y


def scatter_setitem(x):
    y = x.copy()
    y[[0, 2]] = 0.0  # <- error
    return y


def tile_wrong_rank(x):
    y = np.exp(x)
    knob.knob(y).tile_op(tile_size=[4])  # <- error
    return y


def tile_non_positive(x):
    y = np.exp(x)
    knob.knob(y).tile_op(tile_size=[4, 0])  # <- error
    return y


def tile_larger_than_dim(x):
    y = np.exp(x)
    knob.knob(y).tile_op(tile_size=[4, 32])  # <- error
    return y


def matmul_tile_wrong_rank(x):
    y = x @ x.T
    knob.knob(y).tile_op(tile_size=[4, 4])  # <- error
    return y


def unknown_mem_space(x):
    y = np.exp(x)
    knob.knob(y).layout(mem_space="L3")  # <- error
    return y


def partition_dim_too_large(x):
    y = np.exp(x)
    knob.knob(y).layout(mem_space="Sbuf", partition_dim=2)  # <- error
    return y


def fuse_one_tensor(x):
    y = np.exp(x)
    knob.fuse(y)  # <- error
    return y


def fuse_function_argument(x):
    y = np.exp(x)
    knob.fuse(x, y)  # <- error
    return y


def returns_non_array(x):  # <- error
    y = x + 1
    return {"y": y}


def fori_float_bounds(x):
    return fori_loop(0, 2.5, lambda i, acc: acc + 1.0, x)  # <- error


def fori_wrong_shape(x):
    return fori_loop(0, 2, lambda i, acc: acc.sum(axis=0), x)  # <- error


def fori_wrong_arity(x):
    return fori_loop(0, 2, lambda i, acc: (acc, acc), x)  # <- error


def concatenate_mismatch(x, y):
    return np.concatenate([x, y], axis=1)  # <- error


def squeeze_non_unit_axis(x):
    return np.squeeze(x, axis=0)  # <- error


def int_of_array(x):
    return x[: int(x.sum())]  # <- error


def loop_index_as_bool(x):
    return fori_loop(0, 2, lambda i, acc: acc + (x[0] if i else x[1]), np.zeros((16,), np.float32))  # <- error


def loop_index_times_float(x):
    return fori_loop(0, 2, lambda i, acc: acc + x[i * 1.5], np.zeros((16,), np.float32))  # <- error


def dynamic_slice_with_step(x):
    return fori_loop(0, 2, lambda i, acc: acc + x[i:i + 4:2], np.zeros((2, 16), np.float32))  # <- error


def two_array_indices(x):
    return x[[0, 1], [0, 1]]  # <- error


def where_one_argument(x):
    return np.where(x > 0)  # <- error


def axis_out_of_bounds(x):
    return np.mean(x, axis=2)  # <- error


def matmul_with_scalar(x):
    return np.matmul(x, 2.0)  # <- error


def len_of_scalar(x):
    total = x.sum()
    return x * len(total)  # <- error


def reciprocal_of_ints(x):
    return np.reciprocal(x)  # <- error


def dot_rank_3(x):
    return np.dot(x.reshape(2, 4, 16), x.T)  # <- error


def reshape_fortran_order(x):
    return np.reshape(x, (16, 8), order="F")  # <- error


def take_clip_mode(x):
    return np.take(x, [0, 9], axis=0, mode="clip")  # <- error


def zeros_of_complex(x):
    return x + np.zeros((8, 16), dtype=np.complex64)  # <- error


def ones_with_negative_dim(x):
    return np.ones((8, -16), np.float32) + x  # <- error


def index_with_float(x):
    return x[1.5]  # <- error


def astype_complex(x):
    return x.astype(np.complex64)  # <- error


def layout_tile_wrong_rank(x):
    y = np.exp(x)
    knob.knob(y).layout(tile_size=[4])  # <- error
    return y


@dataclass(frozen=True)
class Bad:
    """A bad kernel, its input specs, the exact error class, a message pattern, and where the caret is."""

    kernel: Callable[..., Any]
    specs: tuple
    error: type
    message: str
    at: str = ""
    hint: str = ""


CASES = [
    Bad(fft, (X,), UnsupportedError, r"np\.fft is not supported in traced kernels", "np.fft.fft",
        r"supported functions: .*np\.sum"),
    Bad(cumsum, (X,), UnsupportedError, r"np\.cumsum is not supported", "np.cumsum", r"np\.concatenate"),
    Bad(argmax, (X,), UnsupportedError, r"np\.argmax is not supported", "np.argmax", r"np\.max"),
    Bad(accumulate, (X,), UnsupportedError, r"np\.add\.accumulate is not supported", "np.add.accumulate",
        r"reduce is supported for add, multiply, maximum, minimum"),
    Bad(ufunc_out, (X,), UnsupportedError, r"np\.add: out=, where= and casting= are not supported", "np.add"),
    Bad(sum_out, (X,), UnsupportedError, r"np\.sum: the argument out= is not supported", "np.sum"),
    Bad(data_dependent_if, (X,), ControlFlowError,
        r"Python control flow \(if/while/and/or/not\) needs the run-time value", "x.sum() > 0",
        r"np\.where\(cond, a, b\)"),
    Bad(float_of_array, (X,), ControlFlowError, r"float\(\) needs the run-time value of a traced array \(\) float32",
        "float("),
    Bad(data_dependent_while, (X,), ControlFlowError, r"needs the run-time value", "np.max(x) > 1.0", r"fori_loop"),
    Bad(incompatible_broadcast, (X, ((8,), "f32")), ShapeError,
        r"np\.add: shapes \(8, 16\), \(8,\) cannot be broadcast", "x + y"),
    Bad(matmul_k_mismatch, (X, ((8, 4), "f32")), ShapeError,
        r"contraction dims differ: \(8, 16\) @ \(8, 4\) \(K=16 vs 8\)", "x @ w"),
    Bad(reshape_size_mismatch, (X,), ShapeError, r"cannot reshape array of size 128 into shape \(3, 5\)", "x.reshape"),
    Bad(too_many_indices, (X,), ShapeError, r"too many indices \(3\) for an array of rank 2", "x[1, 2, 3]"),
    Bad(index_out_of_bounds, (X,), ShapeError, r"index 16 is out of bounds for axis 1 with size 16", "x[:, 16]"),
    Bad(loop_index_out_of_bounds, (X,), ShapeError, r"loop index reaches \[0, 12\) but the dimension has size 8",
        "x[i * 4"),
    Bad(boolean_mask, (X,), UnsupportedError, r"boolean mask indexing has a data-dependent shape", "x[x > 0]",
        r"np\.where\(mask, x, 0\)"),
    Bad(negative_step, (X,), UnsupportedError, r"slice step must be a positive int, got -1", "x[::-1]"),
    Bad(setitem_into_view, (X,), UnsupportedError, r"assigning into a view", "top[0]", r"assign into the original"),
    Bad(scatter_setitem, (X,), UnsupportedError, r"integer-array index \(scatter\) is not supported", "y[[0, 2]]"),
    Bad(tile_wrong_rank, (X,), KnobError, r"elementwise op has 2 iterators \(one per output dim\), got 1 tile sizes",
        "knob.knob(y).tile_op"),
    Bad(tile_non_positive, (X,), KnobError, r"tile sizes must be positive, got \[4, 0\]", "knob.knob(y).tile_op"),
    Bad(tile_larger_than_dim, (X,), KnobError, r"tile size 32 for iterator 1 is larger than its extent 16",
        "knob.knob(y).tile_op"),
    Bad(matmul_tile_wrong_rank, (X,), KnobError, r"matmul op has 3 iterators \(\[M, N, K\]\), got 2", "knob.knob(y)"),
    Bad(unknown_mem_space, (X,), KnobError, r"unknown mem_space 'L3'; use one of Hbm, Psum, Sbuf, SharedHbm",
        "knob.knob(y).layout"),
    Bad(partition_dim_too_large, (X,), KnobError, r"partition_dim 2 is out of range for a tensor of rank 2",
        "knob.knob(y).layout"),
    Bad(fuse_one_tensor, (X,), KnobError, r"knob\.fuse: needs at least 2 tensors, got 1", "knob.fuse"),
    Bad(fuse_function_argument, (X,), KnobError, r"function arguments cannot be fused", "knob.fuse"),
    # The function has returned by then: the error points at its `def` line.
    Bad(returns_non_array, (X,), TraceError, r"must return arrays \(or a tuple of arrays\), got dict", "def"),
    Bad(fori_float_bounds, (X,), UnsupportedError, r"fori_loop bounds must be Python ints", "fori_loop"),
    Bad(fori_wrong_shape, (X,), ShapeError, r"fori_loop body returned shape \(16,\) for a carry of shape \(8, 16\)",
        "fori_loop"),
    Bad(fori_wrong_arity, (X,), TraceError, r"fori_loop body must return 1 value\(s\) shaped like init, got tuple",
        "fori_loop"),
    Bad(concatenate_mismatch, (X, ((4, 2), "f32")), ShapeError,
        r"shapes \[\(8, 16\), \(4, 2\)\] do not match outside axis 1", "np.concatenate"),
    Bad(squeeze_non_unit_axis, (X,), ShapeError,
        r"cannot select an axis to squeeze out which has size not equal to one", "np.squeeze"),
    Bad(int_of_array, (X,), ControlFlowError, r"int\(\) needs the run-time value", "int("),
    Bad(loop_index_as_bool, (X,), ControlFlowError, r"Python control flow on a loop index is data-dependent",
        "x[0] if i else x[1]"),
    Bad(loop_index_times_float, (X,), UnsupportedError,
        r"a loop index combines only with ints and loop indices, not float", "i * 1.5"),
    Bad(dynamic_slice_with_step, (X,), UnsupportedError, r"a dynamic slice needs loop-index start and stop",
        "x[i:i + 4:2]"),
    Bad(two_array_indices, (X,), UnsupportedError, r"only one integer-array index per subscript is supported",
        "x[[0, 1], [0, 1]]"),
    Bad(where_one_argument, (X,), UnsupportedError,
        r"np\.where\(condition\) without x and y has a data-dependent shape", "np.where",
        r"np\.where\(condition, x, y\)"),
    Bad(axis_out_of_bounds, (X,), ShapeError, r"np\.mean: axis 2 is out of bounds for an array of rank 2", "np.mean"),
    Bad(matmul_with_scalar, (X,), ShapeError, r"operands must have at least one dimension", "np.matmul",
        r"use \* for scalars"),
    Bad(len_of_scalar, (X,), ShapeError, r"len\(\) of a 0-d array", "len(total)"),
    Bad(reciprocal_of_ints, (I32,), UnsupportedError, r"np\.reciprocal on int32 arrays is not supported",
        "np.reciprocal", r"cast to a float dtype"),
    Bad(dot_rank_3, (X,), UnsupportedError, r"np\.dot on arrays of rank > 2 is not supported", "np.dot",
        r"use np\.matmul"),
    Bad(reshape_fortran_order, (X,), UnsupportedError, r"only order='C' is supported", "np.reshape"),
    Bad(take_clip_mode, (X,), UnsupportedError, r"only mode='raise' is supported, got mode='clip'", "np.take"),
    Bad(zeros_of_complex, (X,), UnsupportedError, r"np\.zeros: dtype complex64 is not supported; use one of float32",
        "np.zeros"),
    Bad(ones_with_negative_dim, (X,), ShapeError, r"np\.ones: negative dimensions are not allowed", "np.ones"),
    Bad(index_with_float, (X,), UnsupportedError, r"index of type float is not supported", "x[1.5]",
        r"use ints, slices, None, \.\.\., a loop index or one integer array"),
    Bad(astype_complex, (X,), UnsupportedError, r"astype: dtype complex64 is not supported", "x.astype"),
    Bad(layout_tile_wrong_rank, (X,), KnobError, r"tile_size \[4\] has 1 entries for a tensor of rank 2",
        "knob.knob(y).layout"),
]


def test_there_are_enough_distinct_cases():
    assert len(CASES) >= 25
    assert len({c.kernel for c in CASES}) == len(CASES)
    assert {c.error for c in CASES} == {UnsupportedError, ShapeError, ControlFlowError, KnobError, TraceError}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kernel.__name__)
def test_bad_kernel(case: Bad):
    err = raised_by(lambda: trace(case.kernel).to_mlir(specs=list(case.specs)))
    assert type(err) is case.error, f"expected {case.error.__name__}, got {type(err).__name__}: {err}"
    assert re.search(case.message, err.message), err.message
    assert_located(err, case.kernel, case.at)
    if case.hint:
        assert re.search(case.hint, err.hint), err.hint
    # The rendered text carries the kind, the message and the hint.
    assert f"{err.kind}: {err.message}" in str(err)
    if err.hint:
        assert f"hint: {err.hint}" in str(err)


@pytest.mark.parametrize("case", CASES[:6], ids=lambda c: c.kernel.__name__)
def test_bad_kernels_still_fail_the_same_way_when_traced_twice(case: Bad):
    """Errors leave no trace state behind: a second trace (and a good one after it) behave the same."""
    first = raised_by(lambda: trace(case.kernel).to_mlir(specs=list(case.specs)))
    second = raised_by(lambda: trace(case.kernel).to_mlir(specs=list(case.specs)))
    assert str(first) == str(second)
    assert "linalg.exp" in str(trace(np.exp).to_mlir(specs=[X]))
    assert np.zeros(3).dtype == np.float64  # the patched constructors were restored


def test_missing_input_specs():
    kernel = trace(lambda x: x + 1)
    err = raised_by(lambda: kernel.to_mlir())  # <- error
    assert type(err) is TraceError
    assert re.search(r"input shapes are unknown; pass example arrays \(\.to_mlir\(x, y\)\) or specs", err.message)
    assert_located(err, test_missing_input_specs, "kernel.to_mlir()")


def test_unsupported_dtype_in_declared_input_specs():
    def declare():
        @trace(input_specs=[((4,), "f32"), ((4,), "complex64")])  # <- error
        def kernel(x, y):
            return x + y
        return kernel

    err = raised_by(declare)
    assert type(err) is UnsupportedError
    assert re.search(r"input spec: unknown dtype 'complex64'; use one of .*bf16.*f32", err.message)
    assert_located(err, declare)


def test_unsupported_dtype_in_specs_given_later():
    kernel = trace(lambda x: x)
    err = raised_by(lambda: kernel.to_mlir(specs=[((4,), np.complex64)]))  # <- error
    assert type(err) is UnsupportedError
    assert re.search(r"dtype complex64 is not supported; use one of float32, float16, bfloat16", err.message)
    assert_located(err, test_unsupported_dtype_in_specs_given_later)


def test_unsupported_dtype_of_example_array():
    kernel = trace(lambda x: x)
    err = raised_by(lambda: kernel.to_mlir(np.ones(4, np.uint16)))  # <- error
    assert type(err) is UnsupportedError and "uint16" in err.message
    assert_located(err, test_unsupported_dtype_of_example_array)


def test_malformed_input_spec():
    kernel = trace(lambda x: x)
    err = raised_by(lambda: kernel.to_mlir(specs=[(4, "f32")]))  # <- error
    assert type(err) is TraceError
    assert re.search(r"an input spec is \(shape, dtype\), e\.g\. \(\(128, 256\), 'f32'\); got \(4, 'f32'\)",
                     err.message)
    assert_located(err, test_malformed_input_spec)


def test_knob_on_a_function_argument_warns_at_the_users_line():
    def kernel(x):
        knob.knob(x).tile_op(tile_size=[4, 4])  # <- error
        return x

    with pytest.warns(UserWarning, match=r"knobs on a function argument have no effect") as record:
        trace(kernel).to_mlir(specs=[X])
    assert f"{__file__}:{marker_line(kernel)}:" in str(record[0].message)


ODD_INPUTS = [
    lambda x: np.reshape(x, "a"),
    lambda x: x.astype("not-a-dtype"),
    lambda x: np.split(x, 0),
    lambda x: np.transpose(x, (0,)),
    lambda x: np.expand_dims(x, 5),
    lambda x: np.take(x, [0], axis=3),
    lambda x: np.sum(x, axis=(0, 0)),
    lambda x: np.sum(x, axis=1.0),
    lambda x: np.broadcast_to(x, (3,)),
    lambda x: np.tile(x, "a"),
    lambda x: np.full((2, "a"), 1.0),
    lambda x: np.clip(x, "a", 1),
    lambda x: x + np.array(["a"]),
    lambda x: np.take(x, np.array([0.5])),
    lambda x: np.take(x, np.array([9]), axis=0),
    lambda x: x.reshape(-1, -1),
    lambda x: x[..., ...],
    lambda x: x["a"],
    lambda x: knob.knob(np.exp(x)).tile_op(tile_size="abc"),
    lambda x: knob.knob(np.exp(x)).layout(partition_dim=-1),
    lambda x: fori_loop(0, 2, lambda i, acc: None, x),
    lambda x: x.copy().__setitem__(slice(0, 2), np.ones((3, 16), np.float32)),
    lambda x: np.stack([x, x.T]),
    lambda x: np.repeat(x, [1, 2], axis=0),
    lambda x: (x > 0) @ (x > 0).T,
    lambda x: np.bitwise_and(x, x),
]


@pytest.mark.parametrize("kernel", ODD_INPUTS, ids=lambda f: str(ODD_INPUTS.index(f)))
def test_odd_arguments_give_located_trace_errors(kernel: Callable[..., Any]):
    err = raised_by(lambda: trace(kernel).to_mlir(specs=[X]))
    assert isinstance(err, (TraceError, KnobError))
    assert err.loc is not None and err.loc.file == __file__
    assert err.loc.line == kernel.__code__.co_firstlineno
    assert "^" in str(err)


def test_every_bad_kernel_marks_exactly_one_line():
    for case in CASES:
        assert marker_line(case.kernel) > 0, ERROR_MARKER
