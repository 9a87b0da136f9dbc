"""The nisa dialect: documentation, engines, Python builders, target attribute, verifiers."""

from __future__ import annotations

import numpy as np
import pytest

from nkipy_kg._mlir import arith, func, ir
from nkipy_kg.dialects import nisa
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.errors import SimError
from nkipy_kg.sim import load_nisa, simulate
from nkipy_kg.sim.api import nisa_context

EXPECTED = {
    "nisa.alloc", "nisa.release", "nisa.dma_copy", "nisa.dma_transpose", "nisa.dma_copy_indirect",
    "nisa.matmul", "nisa.transpose", "nisa.tensor_tensor_arith", "nisa.tensor_scalar_arith", "nisa.tensor_scalar_reduce",
    "nisa.activation", "nisa.activation_reduce", "nisa.reciprocal", "nisa.tensor_reduce_arith", "nisa.cross_partition_reduce",
    "nisa.tensor_copy", "nisa.memset", "nisa.iota", "nisa.select",
}


def test_instruction_set() -> None:
    assert set(nisa.OPS_BY_NAME) == EXPECTED


@pytest.mark.parametrize("cls", nisa.ALL_OPS, ids=lambda c: c.OPERATION_NAME)
def test_each_instruction_is_documented_with_engine_and_example(cls: type) -> None:
    doc = cls.__doc__ or ""
    assert f'"{cls.OPERATION_NAME}"' in doc, "docstring needs an IR example"
    assert cls.ENGINE in nisa.ENGINE_NAMES
    for engine in getattr(cls, "ENGINES", ()):
        assert engine in nisa.ENGINE_NAMES


def test_build_a_kernel_with_the_python_classes_and_run_it() -> None:
    """How a backend pass builds NISA: classes + set_attrs + a location per op."""
    with nisa_context(), ir.Location.file("backend_kernel.py", 7, 1):
        f32 = ir.F32Type.get()
        module = ir.Module.create()
        nisa.set_target(module, "trn2")
        hbm = nisa.memref_type([128, 64], f32, MemSpace.Hbm)
        out = nisa.memref_type([128, 64], f32, MemSpace.SharedHbm)
        sb = nisa.memref_type([128, 64], f32, MemSpace.Sbuf)
        with ir.InsertionPoint(module.body):
            fn = func.FuncOp("k", ir.FunctionType.get([hbm, out], []))
        block = fn.add_entry_block()
        with ir.InsertionPoint(block):
            x = nisa.AllocOp(sb).result
            nisa.DmaCopyOp(x, block.arguments[0])
            three = arith.ConstantOp(f32, 3.0).result
            nisa.set_attrs(nisa.TensorScalarArithOp(x, x, three), op0="add")
            nisa.set_attrs(nisa.ActivationOp(x, x), op="square")
            nisa.DmaCopyOp(block.arguments[1], x)
            nisa.ReleaseOp(x)
            func.ReturnOp([])
        assert module.operation.verify()
        assert nisa.module_target(module).name == "trn2"
    a = np.arange(128 * 64, dtype=np.float32).reshape(128, 64)
    result = simulate(module, a, np.zeros_like(a))
    np.testing.assert_array_equal(result.args[1], (a + 3) ** 2)


def test_engine_attribute_overrides_the_class_engine() -> None:
    text = """module {
  func.func @k() {
    %t = "nisa.alloc"() : () -> memref<128x8xf32, 3 : i32>
    "nisa.memset"(%t) {value = 1.0 : f32, engine = "GpSimd"} : (memref<128x8xf32, 3 : i32>) -> ()
    "nisa.tensor_copy"(%t, %t) {engine = "Scalar"} : (memref<128x8xf32, 3 : i32>, memref<128x8xf32, 3 : i32>) -> ()
    return
  }
}"""
    engines = [e.engine for e in simulate(text).profile.events]
    assert engines == ["GpSimd", "Scalar"]


def test_verifier_failure_is_a_located_error() -> None:
    text = """module attributes {nisa.target = "trn1"} {
  func.func @k() {
    %t = "nisa.alloc"() : () -> memref<129x8xf32, 3 : i32> loc("kern.py":3:9)
    return
  }
}"""
    with pytest.raises(SimError, match="partition dim 129 exceeds the 128 partitions of trn1") as info:
        load_nisa(text)
    assert info.value.loc.file == "kern.py" and info.value.loc.line == 3


def test_unknown_target_is_rejected() -> None:
    with nisa_context(), ir.Location.unknown():
        module = ir.Module.create()
        with pytest.raises(ValueError, match="unknown target 'trn9'"):
            nisa.set_target(module, "trn9")
