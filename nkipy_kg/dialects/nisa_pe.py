"""`nisa` PE-array (Tensor engine) instructions: matmul and transpose.

The PE array is 128 x 128; it reads SBUF and writes PSUM only, accumulating in
fp32 (neuroncore-model.md §1.2, §1.3, §2.1 nc_matmul / nc_transpose).
"""

# No `from __future__ import annotations` (ext reads annotations as types).
from nkipy_kg._mlir import ext, ir
from nkipy_kg.dialects.nisa_base import PSUM_ONLY, SBUF_ONLY, Nisa, check_operand, fail, memref_type, target_of


# TensorE input dtypes (neuroncore-model.md §1.4: fp8_e4m3, fp8_e5m2, bf16, fp16, tf32,
# fp32; MLIR has no tf32 element type).
PE_INPUT_TYPES = frozenset({"f8E4M3FN", "f8E4M3", "f8E5M2", "bf16", "f16", "f32"})


class MatmulOp(Nisa.Operation, name="matmul"):
    """`dst = stationary.T @ moving` on the PE array; `accumulate` adds into dst.

    stationary `[K, M]` and moving `[K, N]` in SBUF, dst `[M, N]` fp32 in PSUM;
    K <= 128 partitions, M <= 128 (stationary free max), N <= 512 (moving free
    max, one PSUM bank). Inputs fp8/bf16/fp16 (f32 only paired with f32, 1/4
    rate); products accumulate in fp32. Attribute
    `accumulate: bool` (default false: overwrite).

        "nisa.matmul"(%acc, %aT, %b) {accumulate = true} : (memref<128x512xf32, 2 : i32>,
            memref<128x128xbf16, 3 : i32>, memref<128x512xbf16, 3 : i32>) -> ()
    """

    ENGINE = "Tensor"
    dst: ext.Operand[ir.MemRefType]
    stationary: ext.Operand[ir.MemRefType]
    moving: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        dst, stat, mov = self.operands
        if not (check_operand(self, "stationary", stat, SBUF_ONLY)
                and check_operand(self, "moving", mov, SBUF_ONLY)):
            return False
        td, ts, tm = memref_type(dst), memref_type(stat), memref_type(mov)
        if td is None or td.rank != 2 or ts.rank != 2 or tm.rank != 2:
            return fail(self, "operands must be 2-D memrefs")
        if ts.shape[0] != tm.shape[0]:
            return fail(self, f"contraction dims differ: stationary K={ts.shape[0]}, moving K={tm.shape[0]}")
        for role, t in (("stationary", ts), ("moving", tm)):
            if str(t.element_type) not in PE_INPUT_TYPES:
                return fail(self, f"{role} element type {t.element_type} is not a PE-array input type "
                                  f"({', '.join(sorted(PE_INPUT_TYPES))})")
        kinds = {str(ts.element_type) == "f32", str(tm.element_type) == "f32"}
        if len(kinds) == 2:
            return fail(self, "an f32 operand must pair with an f32 operand (fp32 pairs only with fp32 on the PE array)")
        target = target_of(self)
        if ts.shape[1] > target.gemm_stationary_fmax:
            return fail(self, f"stationary free size {ts.shape[1]} exceeds {target.gemm_stationary_fmax}")
        if tm.shape[1] > target.gemm_moving_fmax:
            return fail(self, f"moving free size {tm.shape[1]} exceeds {target.gemm_moving_fmax}")
        if list(td.shape) != [ts.shape[1], tm.shape[1]]:
            return fail(self, f"dst shape {list(td.shape)} must be [{ts.shape[1]}, {tm.shape[1]}]")
        if str(td.element_type) != "f32":
            return fail(self, f"dst must be f32 (PSUM accumulates in fp32), got {td.element_type}")
        return check_operand(self, "dst", dst, PSUM_ONLY)


class TransposeOp(Nisa.Operation, name="transpose"):
    """`dst = src.T` on the PE array (a matmul against identity; bit-exact on NC-v3).

    src `[P, F]` in SBUF with P, F <= 128; dst `[F, P]` in PSUM, same dtype.

        "nisa.transpose"(%t, %x) : (memref<64x128xf32, 2 : i32>, memref<128x64xf32, 3 : i32>) -> ()
    """

    ENGINE = "Tensor"
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        dst, src = self.operands
        if not (check_operand(self, "dst", dst, PSUM_ONLY) and check_operand(self, "src", src, SBUF_ONLY)):
            return False
        td, ts = memref_type(dst), memref_type(src)
        if ts.rank != 2 or list(td.shape) != [ts.shape[1], ts.shape[0]]:
            return fail(self, f"dst shape {list(td.shape)} must be the 2-D transpose of {list(ts.shape)}")
        if ts.shape[1] > target_of(self).partitions:
            return fail(self, f"src free size {ts.shape[1]} exceeds {target_of(self).partitions}")
        if td.element_type != ts.element_type:
            return fail(self, "dst and src element types differ")
        return True


PE_OPS = (MatmulOp, TransposeOp)
