"""`nisa` reductions, copies and fills: tensor_reduce_arith, cross_partition_reduce,
tensor_copy, memset, iota (Vector and GpSimd; neuroncore-model.md §2.1)."""

# No `from __future__ import annotations` (ext reads annotations as types).
from nkipy_kg._mlir import ext, ir
from nkipy_kg.dialects.nisa_base import (
    REDUCE_OPS, SBUF_ONLY, SBUF_OR_PSUM, Nisa, check_engine, check_op_attr, check_operand, check_unary,
    fail, int_attr, memref_type, prod, str_attr,
)

PARTITION_REDUCE_OPS = frozenset({"add", "average", "max", "bitwise_or", "bitwise_and"})


class TensorReduceArithOp(Nisa.Operation, name="tensor_reduce_arith"):
    """Reduce the trailing `num_r_dim` free axes of `src` with `op` (add, max, ...).

    dst has src's partitions and `prod(src.shape[:-r])` elements, e.g.
    `src.shape[:-r]` or that followed by r ones (keepdims). The
    partition axis is never reduced. `negate = true` multiplies by -1.

        "nisa.tensor_reduce_arith"(%s, %x) {op = "add", num_r_dim = 1 : i64}
            : (memref<128x1xf32, 3 : i32>, memref<128x512xf32, 3 : i32>) -> ()
    """

    ENGINE = "Vector"
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]

    def num_r_dim(self) -> int:
        return int_attr(self, "num_r_dim", 1)

    def verify_invariants(self) -> bool:
        dst, src = self.operands
        if not (check_op_attr(self, "op", REDUCE_OPS) and check_operand(self, "dst", dst, SBUF_OR_PSUM)
                and check_operand(self, "src", src, SBUF_OR_PSUM)):
            return False
        ts, td = memref_type(src), memref_type(dst)
        r = self.num_r_dim()
        if not 1 <= r < ts.rank:
            return fail(self, f"num_r_dim {r} must be in [1, {ts.rank - 1}] (the partition axis is not reducible)")
        kept = list(ts.shape)[: ts.rank - r]
        if td.shape[0] != ts.shape[0] or prod(td.shape) != prod(kept):
            return fail(self, f"dst shape {list(td.shape)} must hold the kept dims {kept} "
                              f"(e.g. {kept} or {kept + [1] * r})")
        return True


class CrossPartitionReduceOp(Nisa.Operation, name="cross_partition_reduce"):
    """Reduce over the partition axis: `dst[0, ...] = op(src[:, ...])` (GpSimd).

    `op` in add, average, max, bitwise_or, bitwise_and (§2.1 tensor_partition_reduce).

        "nisa.cross_partition_reduce"(%s, %x) {op = "add"}
            : (memref<1x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>) -> ()
    """

    ENGINE = "GpSimd"
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        dst, src = self.operands
        if not (check_op_attr(self, "op", PARTITION_REDUCE_OPS) and check_operand(self, "dst", dst, SBUF_ONLY)
                and check_operand(self, "src", src, SBUF_ONLY)):
            return False
        ts, td = memref_type(src), memref_type(dst)
        if list(td.shape) != [1, *list(ts.shape)[1:]]:
            return fail(self, f"dst shape {list(td.shape)} must be {[1, *list(ts.shape)[1:]]}")
        return True


class TensorCopyOp(Nisa.Operation, name="tensor_copy"):
    """`dst = src` between on-chip tiles; a dtype change casts via fp32.

    Engine Vector (Scalar, GpSimd allowed; GpSimd cannot reach PSUM).

        "nisa.tensor_copy"(%sb, %ps) : (memref<128x512xbf16, 3 : i32>, memref<128x512xf32, 2 : i32>) -> ()
    """

    ENGINE = "Vector"
    ENGINES = ("Vector", "Scalar", "GpSimd")
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        spaces = SBUF_ONLY if str_attr(self, "engine") == "GpSimd" else SBUF_OR_PSUM
        return check_engine(self, self.ENGINES) and check_unary(self, spaces, spaces)


class MemsetOp(Nisa.Operation, name="memset"):
    """Fill `dst` with the constant attribute `value` (float or integer).

        "nisa.memset"(%t) {value = 0.0 : f32} : (memref<128x512xf32, 3 : i32>) -> ()
    """

    ENGINE = "Vector"
    ENGINES = ("Vector", "GpSimd")
    dst: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        value = self.attributes["value"] if "value" in self.attributes else None
        if not isinstance(value, (ir.FloatAttr, ir.IntegerAttr)):
            return fail(self, "requires a float or integer 'value' attribute")
        return check_engine(self, self.ENGINES) and check_operand(self, "dst", self.operands[0], SBUF_OR_PSUM)


class IotaOp(Nisa.Operation, name="iota"):
    """`dst[c, i1, i2, ...] = offset + c * channel_multiplier + sum(i_k * step_k)`,
    computed in int32 and cast to dst's dtype (GpSimd, SBUF).

    `pattern = array<i64: step1, num1, step2, num2, ...>` covers the free dims
    (`num_k == dst.shape[k]`); `offset`, `channel_multiplier`: i64 (default 0).

        "nisa.iota"(%i) {pattern = array<i64: 1, 512>, channel_multiplier = 512 : i64}
            : (memref<128x512xi32, 3 : i32>) -> ()
    """

    ENGINE = "GpSimd"
    dst: ext.Operand[ir.MemRefType]

    def steps(self) -> list[int]:
        return list(ir.DenseI64ArrayAttr(self.attributes["pattern"]))[0::2]

    def verify_invariants(self) -> bool:
        if not check_operand(self, "dst", self.operands[0], SBUF_ONLY):
            return False
        if "pattern" not in self.attributes or not isinstance(self.attributes["pattern"], ir.DenseI64ArrayAttr):
            return fail(self, "requires a 'pattern' array<i64> of [step, num] pairs")
        pattern = list(ir.DenseI64ArrayAttr(self.attributes["pattern"]))
        free = list(memref_type(self.operands[0]).shape)[1:]
        if len(pattern) % 2 or pattern[1::2] != free:
            return fail(self, f"pattern nums {pattern[1::2]} must equal the free shape {free}")
        return True


DATA_OPS = (TensorReduceArithOp, CrossPartitionReduceOp, TensorCopyOp, MemsetOp, IotaOp)
