"""The `nisa` dialect: NeuronCore ISA instructions on memrefs (NKI's `nki.isa`).

One class per instruction, each with its semantics, an IR example, its engine
(`ENGINE`, overridable by an `engine` string attribute where `ENGINES` allows)
and a verifier for the hardware rules (memory per operand, partition dim <=
target partitions, matmul free sizes, PSUM bank size). See `nisa_base.py` for the
operand/addressing model, `nisa_memory.py` and `nisa_compute.py` for the
instructions (`nisa_memory.py`, `nisa_pe.py`, `nisa_compute.py`,
`nisa_data.py`), and `nkipy_kg/sim/` for their executable NumPy definition.

    module attributes {nisa.target = "trn2"} {
      func.func @add(%a: memref<128x512xf32, 1 : i32>, %b: memref<128x512xf32, 1 : i32>,
                     %out: memref<128x512xf32, 4 : i32>) {
        %ta = "nisa.alloc"() : () -> memref<128x512xf32, 3 : i32>
        %tb = "nisa.alloc"() : () -> memref<128x512xf32, 3 : i32>
        "nisa.dma_copy"(%ta, %a) : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 1 : i32>) -> ()
        "nisa.dma_copy"(%tb, %b) : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 1 : i32>) -> ()
        "nisa.tensor_tensor_arith"(%ta, %ta, %tb) {op = "add"} : (...) -> ()
        "nisa.dma_copy"(%out, %ta) : (memref<128x512xf32, 4 : i32>, memref<128x512xf32, 3 : i32>) -> ()
        "nisa.release"(%tb) : (memref<128x512xf32, 3 : i32>) -> ()
        "nisa.release"(%ta) : (memref<128x512xf32, 3 : i32>) -> ()
        return
      }
    }
"""

# No `from __future__ import annotations` (ext reads annotations as types).
from collections.abc import Sequence
from typing import Any

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nisa_base import (  # noqa: F401  (re-exported API)
    ENGINE_NAMES, TARGET_ATTR, Nisa, engine_of, module_target, set_target,
)
from nkipy_kg.dialects.nisa_compute import (  # noqa: F401
    ELEMENTWISE_OPS, ActivationOp, ActivationReduceOp, ReciprocalOp, SelectOp, TensorScalarArithOp,
    TensorScalarReduceOp, TensorTensorArithOp,
)
from nkipy_kg.dialects.nisa_data import (  # noqa: F401
    DATA_OPS, CrossPartitionReduceOp, IotaOp, MemsetOp, TensorCopyOp, TensorReduceArithOp,
)
from nkipy_kg.dialects.nisa_memory import (  # noqa: F401
    MEMORY_OPS, AllocOp, DmaCopyIndirectOp, DmaCopyOp, DmaTransposeOp, ReleaseOp,
)
from nkipy_kg.dialects.nisa_pe import PE_OPS, MatmulOp, TransposeOp  # noqa: F401
from nkipy_kg.dialects.nkipy import MemSpace  # noqa: F401

ALL_OPS = MEMORY_OPS + PE_OPS + ELEMENTWISE_OPS + DATA_OPS
OPS_BY_NAME = {cls.OPERATION_NAME: cls for cls in ALL_OPS}


def load() -> None:
    """Load the nisa dialect into the current context (once per context)."""
    Nisa.load()


def memref_type(shape: Sequence[int], element_type: ir.Type, space: MemSpace,
                layout: ir.Attribute | None = None) -> ir.MemRefType:
    """`memref<shape x elem, space : i32>` (needs an active context)."""
    space_attr = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), int(space))
    return ir.MemRefType.get(list(shape), element_type, layout=layout, memory_space=space_attr)


def set_attrs(instruction: ir.OpView, /, **attrs: Any) -> ir.OpView:
    """Set an instruction's attributes from Python values and return it:
    str -> StringAttr, bool -> BoolAttr, int -> i64, float -> f32, list[int] -> array<i64>.

        set_attrs(TensorTensorArithOp(dst, lhs, rhs, loc=op.location), op="add")
    """
    for name, value in attrs.items():
        if isinstance(value, bool):
            attr = ir.BoolAttr.get(value)
        elif isinstance(value, str):
            attr = ir.StringAttr.get(value)
        elif isinstance(value, int):
            attr = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)
        elif isinstance(value, float):
            attr = ir.FloatAttr.get(ir.F32Type.get(), value)
        elif isinstance(value, (list, tuple)):
            attr = ir.DenseI64ArrayAttr.get([int(v) for v in value])
        else:
            attr = value
        instruction.operation.attributes[name] = attr
    return instruction
