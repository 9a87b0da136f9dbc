"""`nisa` buffer management and DMA instructions: alloc, release, dma_copy,
dma_transpose, dma_copy_indirect.

Only DMA instructions touch HBM (neuroncore-model.md §1.3 engine/memory table);
DMA never touches PSUM (a PSUM <-> HBM move goes through SBUF, §1.3 and
nkigen-digest.md §4.5).
"""

# No `from __future__ import annotations` (ext reads annotations as types).
from nkipy_kg._mlir import ext, ir
from nkipy_kg.dialects.nisa_base import (
    HBM_SPACES, ON_CHIP, SBUF_ONLY, Nisa, bool_attr, check_operand, fail, free_bytes,
    mem_space, memref_type, target_of,
)
from nkipy_kg.dialects.nkipy import MemSpace

_DMA_SPACES = HBM_SPACES | SBUF_ONLY


class AllocOp(Nisa.Operation, name="alloc"):
    """Allocate an uninitialised buffer; the result type names its memory.

    SBUF/PSUM buffers take `shape[0]` partitions and `prod(shape[1:]) * elem`
    bytes in each; reading an element before it is written is an error in the
    simulator. Optional `alignment: i64` (bytes). HBM buffers (Hbm, SharedHbm)
    are kernel-private or output tensors.

        %t = "nisa.alloc"() {alignment = 64 : i64} : () -> memref<128x512xf32, 3 : i32>
    """

    ENGINE = "Sync"
    result: ext.Result[ir.MemRefType]

    def verify_invariants(self) -> bool:
        t = ir.MemRefType(self.results[0].type)
        space = mem_space(t)
        if space is None or space == MemSpace.Constant:
            return fail(self, f"result memory space must be Hbm=1, Psum=2, Sbuf=3 or SharedHbm=4, "
                              f"got {t.memory_space}")
        if not t.has_static_shape:
            return fail(self, "result must have a static shape")
        if space not in ON_CHIP:
            return True
        target = target_of(self)
        if t.rank < 1 or t.shape[0] > target.partitions:
            return fail(self, f"partition dim {t.shape[0] if t.rank else 'none'} exceeds the "
                              f"{target.partitions} partitions of {target.name}")
        limit = (target.sbuf_bytes_per_partition if space == MemSpace.Sbuf
                 else target.psum_bytes_per_partition)
        if free_bytes(t) > limit:
            return fail(self, f"needs {free_bytes(t)} B per partition, {space.name} has {limit}")
        return True


class ReleaseOp(Nisa.Operation, name="release"):
    """Free an `nisa.alloc` buffer; later uses of it (or its views) are errors. The
    buffer may reach the release through `scf.for` iter_args and results (a
    software-pipelined loop carries each iteration's tiles to the next one).

        "nisa.release"(%t) : (memref<128x512xf32, 3 : i32>) -> ()
    """

    ENGINE = "Sync"
    buffer: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        if not _is_allocated(self.operands[0]):
            return fail(self, "operand must be an nisa.alloc result (or one carried by scf.for)")
        return True


def _is_allocated(value: ir.Value, depth: int = 8) -> bool:
    """An nisa.alloc result, or an scf.for iter_arg / result whose init and yielded
    values are."""
    if depth == 0:
        return False
    if isinstance(value, ir.OpResult):
        owner = value.owner.operation
        if owner.name == "nisa.alloc":
            return True
        if owner.name != "scf.for":
            return False
        n = value.result_number
        body = owner.regions[0].blocks[0]
        yielded = list(body.operations)[-1].operands[n]
        return _is_allocated(owner.operands[3 + n], depth - 1) and _is_allocated(yielded, depth - 1)
    owner = value.owner.owner  # a block argument: of an scf.for body?
    owner = owner.operation if hasattr(owner, "operation") else owner
    if owner is None or owner.name != "scf.for" or value.arg_number == 0:
        return False
    return _is_allocated(owner.operands[3 + value.arg_number - 1], depth - 1)


class DmaCopyOp(Nisa.Operation, name="dma_copy"):
    """`dst[...] = src[...]` through the DMA engines; casts go via fp32.

    HBM <-> SBUF, HBM <-> HBM and SBUF <-> SBUF; never PSUM. The element counts
    must match (shapes may differ: the data is copied in row-major order).

        "nisa.dma_copy"(%sb, %hbm_tile) : (memref<128x512xf32, 3 : i32>,
            memref<128x512xf32, strided<[2048, 1], offset: ?>, 1 : i32>) -> ()
    """

    ENGINE = "DMA"
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        dst, src = self.operands
        if not (check_operand(self, "dst", dst, _DMA_SPACES)
                and check_operand(self, "src", src, _DMA_SPACES)):
            return False
        nd, ns = ir.ShapedType(dst.type), ir.ShapedType(src.type)
        if _count(nd) != _count(ns):
            return fail(self, f"dst has {_count(nd)} elements, src has {_count(ns)}")
        return True


class DmaTransposeOp(Nisa.Operation, name="dma_transpose"):
    """`dst = np.transpose(src, permutation)` done by the DMA engines (NC-v3+).

    `src` in HBM or SBUF, `dst` in SBUF, same dtype (§2.1 dma_transpose).
    Attribute `permutation: array<i64>` (default reversed axes).

        "nisa.dma_transpose"(%sbT, %hbm) {permutation = array<i64: 1, 0>}
            : (memref<64x128xbf16, 3 : i32>, memref<128x64xbf16, 1 : i32>) -> ()
    """

    ENGINE = "DMA"
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]

    def permutation(self) -> list[int]:
        rank = ir.ShapedType(self.operands[1].type).rank
        if "permutation" not in self.attributes:
            return list(reversed(range(rank)))
        return list(ir.DenseI64ArrayAttr(self.attributes["permutation"]))

    def verify_invariants(self) -> bool:
        dst, src = self.operands
        if not (check_operand(self, "dst", dst, SBUF_ONLY)
                and check_operand(self, "src", src, _DMA_SPACES)):
            return False
        td, ts = memref_type(dst), memref_type(src)
        if td.element_type != ts.element_type:
            return fail(self, "dst and src element types differ")
        perm = self.permutation()
        if sorted(perm) != list(range(ts.rank)):
            return fail(self, f"permutation {perm} is not a permutation of {ts.rank} axes")
        want = [ts.shape[p] for p in perm]
        if list(td.shape) != want:
            return fail(self, f"dst shape {list(td.shape)} must be {want}")
        return True


class DmaCopyIndirectOp(Nisa.Operation, name="dma_copy_indirect"):
    """Gather rows: `dst[i, ...] = src[index[i, 0], ...]` (software DGE).

    `src` in HBM, `index` an SBUF `[N, 1]` integer tile, `dst` an SBUF `[N, ...]`
    tile with `dst.shape[1:] == src.shape[1:]`. An index outside `src` is an
    error (`oob_is_err`, default true) or skips the row.

        "nisa.dma_copy_indirect"(%rows, %table, %idx)
            : (memref<8x64xf32, 3 : i32>, memref<512x64xf32, 1 : i32>, memref<8x1xi32, 3 : i32>) -> ()
    """

    ENGINE = "DMA"
    dst: ext.Operand[ir.MemRefType]
    src: ext.Operand[ir.MemRefType]
    index: ext.Operand[ir.MemRefType]

    def verify_invariants(self) -> bool:
        dst, src, index = self.operands
        if not (check_operand(self, "dst", dst, SBUF_ONLY)
                and check_operand(self, "src", src, HBM_SPACES)
                and check_operand(self, "index", index, SBUF_ONLY)):
            return False
        td, ts, ti = memref_type(dst), memref_type(src), memref_type(index)
        if not isinstance(ti.element_type, ir.IntegerType) or list(ti.shape) != [td.shape[0], 1]:
            return fail(self, f"index must be an integer [{td.shape[0]}, 1] tile, got {ti}")
        if list(td.shape)[1:] != list(ts.shape)[1:]:
            return fail(self, f"dst row shape {list(td.shape)[1:]} differs from src {list(ts.shape)[1:]}")
        return True

    def oob_is_err(self) -> bool:
        return bool_attr(self, "oob_is_err", default=True)


def _count(t: ir.ShapedType) -> int:
    n = 1
    for d in t.shape:
        n *= d
    return n


MEMORY_OPS = (AllocOp, ReleaseOp, DmaCopyOp, DmaTransposeOp, DmaCopyIndirectOp)
