"""`nisa` elementwise instructions (Vector, Scalar, GpSimd): tensor_tensor_arith,
tensor_scalar_arith, activation, reciprocal, select. The PE-array instructions are
in `nisa_pe.py`, reductions/copies/fills in `nisa_data.py`.

Semantics follow `nki.isa` (neuroncore-model.md §2.1); the executable definition
is the simulator's `@impl` of each class (`nkipy_kg/sim/impls.py`). Compute
engines read and write SBUF or PSUM, never HBM (§1.3); Vector and Scalar may
read PSUM (the reference backend only emits PSUM for matmul outputs,
reciprocal, reductions and tensor_copy, a subset of this). GpSimd has no PSUM
port. Float math is fp32 with one rounding on write to `dst` (§1.4).
"""

# No `from __future__ import annotations` (ext reads annotations as types).
from typing import Optional

from nkipy_kg._mlir import ext, ir
from nkipy_kg.dialects.nisa_base import (
    ARITH_OPS, BITVEC_OPS, SBUF_ONLY, SBUF_OR_PSUM, Nisa, broadcasts_to, check_engine, check_op_attr, check_operand, check_scalar,
    check_unary, fail, memref_type, mem_space, not_both_psum, same_shape, str_attr,
)
from nkipy_kg.dialects.nkipy import MemSpace

ACTIVATION_FUNCS = frozenset({
    "copy", "exp", "log", "tanh", "sigmoid", "sqrt", "rsqrt", "relu", "gelu",
    "gelu_apprx_tanh", "gelu_apprx_sigmoid", "silu", "square", "sin", "arctan", "abs", "sign",
    "reciprocal", "erf", "softplus", "mish",
})


SCALAR_ENGINE_PAIRS = frozenset({("multiply", "add"), ("multiply", None), ("add", None)})
SCALAR_REDUCE_OPS = frozenset({"add", "multiply", "max", "min"})  # tensor_scalar_reduce (NCM §2.1)


class TensorTensorArithOp(Nisa.Operation, name="tensor_tensor_arith"):
    """`dst = lhs <op> rhs` elementwise; `op` is an ALU op (add, subtract,
    multiply, divide, max, min, power, is_equal/is_gt/..., logical_*, bitwise_*).

    Same shapes, except that an input may have size 1 in a free dim where dst does not:
    it is read through a zero-stride access pattern (a broadcast view, free on the
    hardware: neuroncore-model.md §2.3 Views). Not both inputs in PSUM. Comparisons
    give 1.0 / 0.0. Engine Vector (GpSimd allowed, SBUF only).

        "nisa.tensor_tensor_arith"(%c, %a, %b) {op = "add"} : (memref<128x512xf32, 3 : i32>,
            memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>) -> ()
    """

    ENGINE = "Vector"
    ENGINES = ("Vector", "GpSimd")
    dst: ext.Operand[ir.MemRefType]
    lhs: ext.Operand[ir.MemRefType]
    rhs: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        dst, lhs, rhs = self.operands
        spaces = SBUF_ONLY if str_attr(self, "engine") == "GpSimd" else SBUF_OR_PSUM
        return (check_op_attr(self, "op", ARITH_OPS) and check_engine(self, self.ENGINES)
                and check_operand(self, "dst", dst, spaces) and check_operand(self, "lhs", lhs, spaces)
                and check_operand(self, "rhs", rhs, spaces) and not_both_psum(self, lhs, rhs)
                and broadcasts_to(self, lhs, dst, "lhs") and broadcasts_to(self, rhs, dst, "rhs"))


class TensorScalarArithOp(Nisa.Operation, name="tensor_scalar_arith"):
    """`t = src <op0> operand0` (or `operand0 <op0> src` with `reverse0`), then
    optionally `dst = t <op1> operand1` (`reverse1` likewise).

    Each operand is an f32 SSA scalar or a `[P, 1]` tile broadcast along the free
    dims. Attributes: `op0` (required), `op1`, `reverse0`, `reverse1` (bool).
    Engine Vector (Scalar, GpSimd allowed). op0/op1 are both arithmetic or both
    bitvec (bitvec: Vector only); Scalar runs (multiply, add), multiply or add.

        %two = arith.constant 2.0 : f32
        "nisa.tensor_scalar_arith"(%y, %x, %two) {op0 = "multiply",
            operandSegmentSizes = array<i32: 1, 1, 1, 0>}
            : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>, f32) -> ()
    """

    ENGINE = "Vector"
    ENGINES = ("Vector", "Scalar", "GpSimd")
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]
    operand0: ext.Operand[ir.MemRefType | ir.F32Type]
    operand1: Optional[ext.Operand[ir.MemRefType | ir.F32Type]] = None

    def verify_invariants(self) -> bool:
        dst, src = self.operands[0], self.operands[1]
        if not (check_op_attr(self, "op0", ARITH_OPS) and check_engine(self, self.ENGINES)
                and check_unary(self, SBUF_OR_PSUM, SBUF_OR_PSUM)):
            return False
        parts = memref_type(src).shape[0]
        if (self.operand1 is None) != (str_attr(self, "op1") is None):
            return fail(self, "op1 and operand1 must be given together")
        if not (check_scalar(self, "operand0", self.operand0, parts)
                and check_scalar(self, "operand1", self.operand1, parts)
                and check_op_attr(self, "op1", ARITH_OPS, required=False)):
            return False
        return self._check_op_pair(str_attr(self, "op0"), str_attr(self, "op1"))

    def _check_op_pair(self, op0: str, op1: Optional[str]) -> bool:
        """Both ops arithmetic or both bitvec; bitvec on Vector only; the Scalar engine
        runs (multiply, add), (multiply, -) and (add, -) only (neuroncore-model.md §2.1)."""
        engine = str_attr(self, "engine") or self.ENGINE
        if op1 is not None and (op0 in BITVEC_OPS) != (op1 in BITVEC_OPS):
            return fail(self, f"op0 '{op0}' and op1 '{op1}' must both be arithmetic or both bitvec")
        if op0 in BITVEC_OPS and engine != "Vector":
            return fail(self, f"bitvec op '{op0}' runs on the Vector engine only, not {engine}")
        if engine == "Scalar" and (op0, op1) not in SCALAR_ENGINE_PAIRS:
            return fail(self, f"the Scalar engine runs (multiply, add), (multiply) or (add) only, "
                              f"not ({op0}{', ' + op1 if op1 else ''})")
        return True


class TensorScalarReduceOp(Nisa.Operation, name="tensor_scalar_reduce"):
    """`dst = src <op0> operand0` as `tensor_scalar_arith` (one op, arithmetic), and
    `reduce_res[p, 0] = reduce_op` over the free axes of partition p's `dst` values
    (NCM §2.1 `tensor_scalar_reduce`: `reduce_op` add, multiply, max or min). VectorE
    only; costs one tensor_scalar plus MIN_II (NCM §3.1). `reduce_res` is an fp32
    `[P, 1]` tile. A PSUM -> SBUF copy that also takes its row max:

        %one = arith.constant 1.0 : f32
        "nisa.tensor_scalar_reduce"(%s, %psum, %one, %rowmax) {op0 = "multiply", reduce_op = "max"}
            : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 2 : i32>, f32,
               memref<128x1xf32, 3 : i32>) -> ()
    """

    ENGINE = "Vector"
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]
    operand0: ext.Operand[ir.MemRefType | ir.F32Type]
    reduce_res: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        if not (check_op_attr(self, "op0", ARITH_OPS) and check_op_attr(self, "reduce_op", SCALAR_REDUCE_OPS)
                and check_engine(self, (self.ENGINE,)) and check_unary(self, SBUF_OR_PSUM, SBUF_OR_PSUM)
                and check_operand(self, "reduce_res", self.reduce_res, SBUF_OR_PSUM)):
            return False
        parts = memref_type(self.operands[1]).shape[0]
        if not check_scalar(self, "operand0", self.operand0, parts):
            return False
        res = memref_type(self.reduce_res)
        if list(res.shape) != [parts, 1] or str(res.element_type) != "f32":
            return fail(self, f"reduce_res must be an f32 [{parts}, 1] tile, got {self.reduce_res.type}")
        return True


class ActivationOp(Nisa.Operation, name="activation"):
    """`dst = op(src * scale + bias)` on the Scalar engine (fp32 math).

    `op` in exp, log, tanh, sigmoid, sqrt, rsqrt, relu, gelu, gelu_apprx_tanh,
    gelu_apprx_sigmoid, silu, copy, square, sin, arctan, abs, sign, reciprocal, erf,
    softplus, mish (neuroncore-model.md §2.2; on hardware log, sin, arctan, sqrt,
    rsqrt and reciprocal are valid on a limited input range only, and the simulator
    gives NaN outside the ranges of sin, arctan and log). `bias` and
    `scale` are optional f32 scalars or `[P, 1]` tiles (defaults 0 and 1); a
    `scale` tile must be fp32.

        "nisa.activation"(%e, %x, %negmax) {op = "exp",
            operandSegmentSizes = array<i32: 1, 1, 1, 0>}
            : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) -> ()
    """

    ENGINE = "Scalar"
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]
    bias: Optional[ext.Operand[ir.MemRefType | ir.F32Type]] = None
    scale: Optional[ext.Operand[ir.MemRefType | ir.F32Type]] = None

    def verify_invariants(self) -> bool:
        if not (check_op_attr(self, "op", ACTIVATION_FUNCS) and check_unary(self, SBUF_OR_PSUM, SBUF_OR_PSUM)):
            return False
        return _check_bias_scale(self)


def _check_bias_scale(op: ir.OpView) -> bool:
    """`bias` and `scale`: f32 scalars or [P, 1] tiles of src's partitions; a scale tile is fp32."""
    parts = memref_type(op.src).shape[0]
    if not (check_scalar(op, "bias", op.bias, parts) and check_scalar(op, "scale", op.scale, parts)):
        return False
    scale_t = memref_type(op.scale) if op.scale is not None else None
    if scale_t is not None and str(scale_t.element_type) != "f32":
        return fail(op, f"scale must be fp32, got a {scale_t.element_type} tile")
    return True


class ActivationReduceOp(Nisa.Operation, name="activation_reduce"):
    """`dst = op(src * scale + bias)` as `activation`, and `reduce_res[p, 0]` = the sum
    over the free axes of partition p's fp32 results, before their rounding to dst's
    dtype (the accumulate taps ScalarE's fp32 datapath; NCM §2.1 `activation_reduce`,
    `reduce_op` add, the only one on NC-v2). Costs one activation plus MIN_II (the
    accumulator read-back, NCM §3.1). `reduce_res` is an fp32 `[P, 1]` SBUF tile.

        "nisa.activation_reduce"(%e, %x, %rowsum, %negmax) {op = "exp",
            operandSegmentSizes = array<i32: 1, 1, 1, 1, 0>}
            : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>,
               memref<128x1xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) -> ()
    """

    ENGINE = "Scalar"
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]
    reduce_res: ext.Operand[ir.MemRefType]
    bias: Optional[ext.Operand[ir.MemRefType | ir.F32Type]] = None
    scale: Optional[ext.Operand[ir.MemRefType | ir.F32Type]] = None

    def verify_invariants(self) -> bool:
        if not (check_op_attr(self, "op", ACTIVATION_FUNCS) and check_unary(self, SBUF_OR_PSUM, SBUF_OR_PSUM)
                and check_operand(self, "reduce_res", self.reduce_res, SBUF_ONLY)):
            return False
        parts = memref_type(self.operands[1]).shape[0]
        res = memref_type(self.reduce_res)
        if list(res.shape) != [parts, 1] or str(res.element_type) != "f32":
            return fail(self, f"reduce_res must be an f32 [{parts}, 1] tile, got {self.reduce_res.type}")
        return _check_bias_scale(self)


class ReciprocalOp(Nisa.Operation, name="reciprocal"):
    """`dst = 1 / src` on the Vector engine (more precise, ~8x slower than activation).

        "nisa.reciprocal"(%r, %x) : (memref<128x1xf32, 3 : i32>, memref<128x1xf32, 2 : i32>) -> ()
    """

    ENGINE = "Vector"
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        return check_unary(self, SBUF_OR_PSUM, SBUF_OR_PSUM)


class SelectOp(Nisa.Operation, name="select"):
    """`dst = where(pred != 0, on_true, on_false)` elementwise (Vector).

    All four operands have the same shape; `pred` is an integer or float tile.

        "nisa.select"(%y, %mask, %a, %b) : (memref<128x512xf32, 3 : i32>, memref<128x512xi8, 3 : i32>,
            memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>) -> ()
    """

    ENGINE = "Vector"
    dst: ext.Operand[ir.MemRefType]
    pred: ext.Operand[ir.MemRefType]
    on_true: ext.Operand[ir.MemRefType]
    on_false: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        dst = self.operands[0]
        for role, value in zip(("dst", "pred", "on_true", "on_false"), self.operands):
            if not check_operand(self, role, value, SBUF_OR_PSUM):
                return False
            if not same_shape(self, dst, value, f"dst and {role}"):
                return False
        psum_inputs = sum(mem_space(memref_type(v)) == MemSpace.Psum for v in self.operands[1:])
        if psum_inputs > 1:
            return fail(self, "may read at most one input from PSUM")
        return True


ELEMENTWISE_OPS = (TensorTensorArithOp, TensorScalarArithOp, TensorScalarReduceOp, ActivationOp,
                   ActivationReduceOp, ReciprocalOp, SelectOp)
