"""Buffer and data-movement rows of `linalg-to-nisa`: alloc, dealloc, copy, fill,
transpose (see `linalg_to_nisa.py` for the table)."""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.nisa_lowering_common import (
    HBM, ON_CHIP, alloc, constant_value, elem, emit, error, memref_of, release, shape, space,
)
from nkipy_kg.passes.nisa_lowering_transpose import is_batched_transpose, transpose_hbm_blocks


def lower_alloc(op: ir.Operation) -> None:
    t = ir.MemRefType(op.results[0].type)
    s = space(op.results[0])
    if s is None or s == MemSpace.Constant:
        raise error(op, f"buffer has no nisa memory space (got {t.memory_space}); "
                        "annotate-memory-space/legalize-layout should have placed it")
    if not t.has_static_shape or len(op.operands):
        raise error(op, "nisa.alloc needs a static shape")
    if "strided" in str(t) or "affine_map" in str(t):  # the type prints no layout iff identity
        raise error(op, f"nisa.alloc needs an identity layout, got {t.layout}")
    align = op.attributes["alignment"] if "alignment" in op.attributes else None
    new = emit(op, "alloc", [], [t], alignment=align)
    op.results[0].replace_all_uses_with(new.results[0])
    op.erase()


def lower_dealloc(op: ir.Operation) -> None:
    value = op.operands[0]
    if not isinstance(value, ir.OpResult) or value.owner.operation.name != "nisa.alloc":
        raise error(op, "dealloc of a buffer that is not an allocation (a view or an argument)")
    release(op, value)
    op.erase()


def copy(origin: ir.Operation, src: ir.Value, dst: ir.Value) -> None:
    """dst = src between any two memories (PSUM <-> HBM through an SBUF tile)."""
    ss, ds = space(src), space(dst)
    if ss is None or ds is None:
        raise error(origin, "copy operand without a memory space")
    if ss in HBM and ds in HBM or (ss in HBM and ds == MemSpace.Sbuf) or (ss == MemSpace.Sbuf and ds in HBM):
        emit(origin, "dma_copy", [dst, src])
    elif ss in ON_CHIP and ds in ON_CHIP:
        if shape(src) != shape(dst):
            raise error(origin, f"on-chip copy between shapes {shape(src)} and {shape(dst)}")
        emit(origin, "tensor_copy", [dst, src])
    elif ss == MemSpace.Psum and ds in HBM:
        hop = alloc(origin, memref_of(shape(src), elem(dst), MemSpace.Sbuf))
        emit(origin, "tensor_copy", [hop, src])
        emit(origin, "dma_copy", [dst, hop])
        release(origin, hop)
    elif ss in HBM and ds == MemSpace.Psum:
        hop = alloc(origin, memref_of(shape(dst), elem(src), MemSpace.Sbuf))
        emit(origin, "dma_copy", [hop, src])
        emit(origin, "tensor_copy", [dst, hop])
        release(origin, hop)
    else:
        raise error(origin, f"no nisa copy from {ss.name} to {ds.name}")


def lower_copy(op: ir.Operation) -> None:
    copy(op, op.operands[0], op.operands[1])
    op.erase()


def lower_fill(op: ir.Operation) -> None:
    value, dst = op.operands[0], op.operands[1]
    c = constant_value(value)
    if c is None:
        raise error(op, "linalg.fill of a non-constant value")
    et = elem(dst)
    # i1 fills as 1.0 / 0.0 (an i1 attribute prints as a BoolAttr, not an integer value)
    wide_int = isinstance(et, ir.IntegerType) and ir.IntegerType(et).width > 1
    attr = ir.IntegerAttr.get(et, int(c)) if wide_int else ir.FloatAttr.get(ir.F32Type.get(), c)
    if space(dst) in ON_CHIP:
        emit(op, "memset", [dst], value=attr)
    elif space(dst) in HBM:
        _fill_hbm(op, dst, et, attr)
    else:
        raise error(op, f"linalg.fill of {space(dst).name if space(dst) else 'unplaced'} memory")
    op.erase()


FILL_STAGE_BYTES = 32 * 1024  # per partition: a staging tile well inside SBUF (trn2: 192 KiB)


def _fill_hbm(op: ir.Operation, dst: ir.Value, et: ir.Type, attr: ir.Attribute) -> None:
    """HBM has no memset: memset an SBUF staging tile [p, n/p] (p the largest divisor of
    the n elements up to 128 partitions) and DMA it out (dma_copy copies row-major
    between any shapes of equal element count)."""
    n = 1
    for d in shape(dst):
        n *= d
    p = max(d for d in range(1, min(n, 128) + 1) if n % d == 0)
    tile_t = memref_of([p, n // p], et, MemSpace.Sbuf)
    bits = ir.FloatType(et).width if isinstance(et, ir.FloatType) else ir.IntegerType(et).width
    nbytes = (n // p) * max(bits // 8, 1)
    if nbytes > FILL_STAGE_BYTES:
        raise error(op, f"linalg.fill of an HBM buffer needs a {nbytes}-byte per partition SBUF "
                        f"staging tile (limit {FILL_STAGE_BYTES}); tile the fill first")
    tile = alloc(op, tile_t)
    emit(op, "memset", [tile], value=attr)
    emit(op, "dma_copy", [dst, tile])
    release(op, tile)


def lower_transpose(op: ir.Operation) -> None:
    """HBM/SBUF source -> dma_transpose into SBUF; 2-D SBUF -> PE transpose into PSUM."""
    src, dst = op.operands[0], op.operands[1]
    perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
    ss, ds = space(src), space(dst)
    if ds == MemSpace.Psum and ss == MemSpace.Sbuf and perm == [1, 0]:
        emit(op, "transpose", [dst, src])
    elif ds == MemSpace.Sbuf and ss == MemSpace.Sbuf and perm == [1, 0] and max(shape(src)) <= 128:
        _pe_transpose(op, src, dst)
    elif ds == MemSpace.Sbuf and (ss in HBM or ss == MemSpace.Sbuf):
        emit(op, "dma_transpose", [dst, src], permutation=perm)
    elif ds in HBM and ss in HBM and is_batched_transpose(perm):
        transpose_hbm_blocks(op, src, dst)  # one SBUF hop per (batch, 128-row block)
    elif ds in HBM and ss in HBM | {MemSpace.Sbuf}:
        hop = alloc(op, memref_of(shape(dst), elem(dst), MemSpace.Sbuf))
        emit(op, "dma_transpose", [hop, src], permutation=perm)
        emit(op, "dma_copy", [dst, hop])
        release(op, hop)
    else:
        raise error(op, f"no nisa transpose from {ss} to {ds}")
    op.erase()


def _pe_transpose(op: ir.Operation, src: ir.Value, dst: ir.Value) -> None:
    """A <= 128 x 128 SBUF tile transposed on the PE array through PSUM and copied back:
    a fraction of a microsecond, where an SBUF -> SBUF DMA transpose runs at half the
    DMA rate after its fixed latency (neuroncore-model.md §3.4) and holds a DMA queue."""
    psum = alloc(op, memref_of(shape(dst), elem(dst), MemSpace.Psum))
    emit(op, "transpose", [psum, src])
    emit(op, "tensor_copy", [dst, psum])
    release(op, psum)
