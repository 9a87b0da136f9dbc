"""Reading through an insert: `extract_slice(insert_slice(src into dst))` of a region
inside the inserted one is a slice of `src` (`knob-driven-fusion`).

A per-head nest (the shape decompose-batch-matmul gives batched ops) computes a 2-D
`[S, S]` block and inserts it into the 3-D result at head `h`; a fused reader takes
its rows from that result:

    %u = tensor.insert_slice %blk into %acc[%h, 0, 0] [1, 256, 256] [1, 1, 1]
    %x = tensor.extract_slice %u[%h, %r, 0] [1, 128, 256] [1, 1, 1] : ... to tensor<128x256xf32>
      ->
    %x = tensor.extract_slice %blk[%r, 0] [128, 256] [1, 1]

so the reading row loop reads the block's row loop result directly and the two fuse.
A read that keeps the unit head dim (`tensor<1x128x256xf32>`, the softmax of a fused
attention reading its per-head `q @ k^T` block) reads an `expand_shape` of that slice;
legalize-layout re-types it over the physical tile. The region must
be provably inside the insert: per dim the same offset value, a whole-dim insert at
0, or constants; unit dims the insert drops must be read at their only index.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, tensor
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.fusion_deps import slice_dims
from nkipy_kg.passes.layout_views import add_index

_DYNAMIC = ir.ShapedType.get_dynamic_stride_or_offset()


def read_through_inserts(root: ir.Operation) -> bool:
    """Rewrite every such extract under `root`; True if any was."""
    changed = False
    again = True
    while again:  # a composed read may meet the next insert out: collect again
        again = False
        for extract in _extracts(root):
            if _compose(extract):  # replaces `extract` only: the others stay valid
                changed = again = True
    return changed


def _extracts(root: ir.Operation) -> list[ir.Operation]:
    """The extract_slices under `root` whose source is an insert_slice."""
    return collect(root, lambda op: op.name == "tensor.extract_slice" and isinstance(op.operands[0], ir.OpResult)
                   and op.operands[0].owner.operation.name == "tensor.insert_slice")


def _compose(extract: ir.Operation) -> bool:
    insert = extract.operands[0].owner.operation
    src, dst = insert.operands[0], insert.operands[1]
    ins, ext = slice_dims(insert), slice_dims(extract)
    if ins is None or ext is None or any(d[2] != 1 for d in (*ins, *ext)):
        return False
    dst_shape = list(ir.RankedTensorType(dst.type).shape)
    src_shape = list(ir.RankedTensorType(src.type).shape)
    kept = _kept_dims([d[1] for d in ins], src_shape)
    if kept is None:
        return False
    offsets: list[object] = []
    sizes: list[int] = []
    for d, ((o, s, _), (p, q, _)) in enumerate(zip(ins, ext)):
        rel = _relative(o, s, p, q, dst_shape[d])
        if rel is None:
            return False
        if d in kept:
            offsets.append(rel)
            sizes.append(q)
        elif q != 1:
            return False
    result_t = ir.RankedTensorType(extract.results[0].type)
    expand = None
    if list(result_t.shape) != sizes:
        if len(result_t.shape) <= len(sizes) or [n for n in result_t.shape if n != 1] != \
                [n for n in sizes if n != 1]:
            return False  # not the slice with unit dims added (a rank-reduced read, say)
        # The read keeps unit dims the insert dropped: the slice of the source is expanded
        # back (legalize-layout re-types the expand_shape over its physical tile).
        expand = result_t
        result_t = ir.RankedTensorType.get(sizes, result_t.element_type, loc=extract.location)
    with extract.location, ir.InsertionPoint(extract):
        dynamic = [o for o in offsets if isinstance(o, ir.Value)]
        static = [_DYNAMIC if isinstance(o, ir.Value) else o for o in offsets]
        whole = static == [0] * len(sizes) and sizes == src_shape
        value = src if whole else tensor.ExtractSliceOp(result_t, src, dynamic, [], [], static, sizes,
                                                         [1] * len(sizes)).result
        if expand is not None:
            value = tensor.ExpandShapeOp(expand, value, _unit_groups(list(expand.shape), sizes), [],
                                         list(expand.shape)).result
    extract.results[0].replace_all_uses_with(value)
    extract.erase()
    return True


def _unit_groups(full: list[int], sizes: list[int]) -> ir.ArrayAttr:
    """The reassociation of `sizes -> full` (`full` is `sizes` with unit dims added): each
    unit dim joins the group of the next kept dim, trailing ones the last group."""
    groups: list[list[int]] = []
    pending: list[int] = []
    j = 0
    for d, n in enumerate(full):
        if j < len(sizes) and n == sizes[j] and (n != 1 or len(full) - d == len(sizes) - j):
            groups.append(pending + [d])
            pending, j = [], j + 1
        else:
            pending.append(d)
    groups[-1] += pending
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in g]) for g in groups])


def _kept_dims(insert_sizes: list[int], src_shape: list[int]) -> set[int] | None:
    """The dst dims the source keeps (a rank-reducing insert drops unit dims)."""
    kept, j = set(), 0
    for d, size in enumerate(insert_sizes):
        if j < len(src_shape) and size == src_shape[j] and (size != 1 or len(insert_sizes) - d == len(src_shape) - j):
            kept.add(d)
            j += 1
        elif size != 1:
            return None
    return kept if j == len(src_shape) else None


def _relative(o: object, s: int, p: object, q: int, full: int) -> object | None:
    """Offset of [p, p + q) inside the inserted [o, o + s), or None if not provably inside."""
    if o == 0 and s == full:
        return p
    if isinstance(o, ir.Value) and isinstance(p, ir.Value) and o == p:
        return 0 if q <= s else None
    if isinstance(o, int) and isinstance(p, int) and o <= p and p + q <= o + s:
        return p - o
    return None



def compose_extracts(root: ir.Operation, limit: int) -> bool:
    """`extract_slice(extract_slice(x))` -> one `extract_slice` of `x` (unit strides) where
    the inner slice needs more than `limit` bytes per partition: a loop reading rows of
    such a whole-block slice of another loop's result (`p @ v` reading the head's `p`)
    then reads the producer's result itself, in its own iteration's stripe, and fuses
    with it, so the block is never whole in SBUF. A block that fits keeps its block-level
    reader: TensorE then runs the block's matmuls back to back, which modeled 1.5x faster
    on attention at seq 2048 than interleaving them with each row block's softmax."""
    changed = False
    for outer in collect(root, lambda op: op.name == "tensor.extract_slice" and isinstance(op.operands[0], ir.OpResult)
                         and op.operands[0].owner.operation.name == "tensor.extract_slice"):
        if _partition_bytes(outer.operands[0]) > limit and _merge(outer):
            changed = True
    return changed


def _merge(outer: ir.Operation) -> bool:
    inner = outer.operands[0].owner.operation
    a, b = slice_dims(inner), slice_dims(outer)
    if a is None or b is None or any(d[2] != 1 for d in (*a, *b)):
        return False
    kept = _kept_dims([d[1] for d in a], list(ir.RankedTensorType(inner.results[0].type).shape))
    if kept is None:
        return False
    offsets: list[object] = []
    sizes: list[int] = []
    j = 0
    with outer.location, ir.InsertionPoint(outer):
        for d, (o, s, _) in enumerate(a):
            if d not in kept:
                offsets.append(o)
                sizes.append(1)
                continue
            p, q, _ = b[j]
            j += 1
            offsets.append(add_index(o, p))
            sizes.append(q)
        dynamic = [o for o in offsets if isinstance(o, ir.Value)]
        static = [_DYNAMIC if isinstance(o, ir.Value) else o for o in offsets]
        result_t = ir.RankedTensorType(outer.results[0].type)
        if [n for n in sizes if n != 1] != [n for n in result_t.shape if n != 1]:
            return False
        value = tensor.ExtractSliceOp(result_t, inner.operands[0], dynamic, [], [], static, sizes,
                                      [1] * len(sizes)).result
    outer.results[0].replace_all_uses_with(value)
    outer.erase()
    return True


def _partition_bytes(value: ir.Value) -> int:
    """Bytes per partition of `value` spread over 128 partitions (an estimate: the layout
    is not chosen yet at this level; a bf16 [S, S] block is S * S / 64 bytes)."""
    t = ir.RankedTensorType(value.type)
    elements = 1
    for n in t.shape:
        elements *= n
    return elements * max(1, t.element_type.width // 8) // 128
