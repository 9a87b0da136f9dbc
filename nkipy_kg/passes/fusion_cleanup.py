"""Clean-ups after producer-consumer loop fusion (`knob-driven-fusion`).

After a consumer reads the value the producer yields in the same iteration:

    %u = tensor.insert_slice %tile into %x[%i, 0] [128, 512] [1, 1]
    %s = tensor.extract_slice %u[%i, 0] [128, 512] [1, 1]      // -> %tile

`fold_slices_of_inserts` replaces such reads by the tile, `reuse_loaded_tiles` lets
the consumer use the producer's copy of an input tile (softmax's max and `x - max`
read the same rows of x: one DMA, not two), and `drop_dead_chains`
removes a carried full tensor that nobody reads any more: its inserts go, the
iter_arg then passes its block argument through unchanged and is dropped from
every loop that carries it (upstream's `ForOpIterArgsFolder`, done here because
bufferization runs before the next canonicalize and would allocate the tensor).
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, scf, tensor
from nkipy_kg.passes.common import collect_named
from nkipy_kg.passes.fusion_deps import constant_index, slice_dims


def fold_slices_of_inserts(root: ir.Operation) -> None:
    """extract_slice(insert_slice(t)) of the very same slice -> t."""
    for extract in collect_named(root, "tensor.extract_slice"):
        source = extract.operands[0]
        if not isinstance(source, ir.OpResult) or source.owner.operation.name != "tensor.insert_slice":
            continue
        insert = source.owner.operation
        same = slice_dims(extract) is not None and slice_dims(extract) == slice_dims(insert)
        if same and extract.results[0].type == insert.operands[0].type:
            extract.results[0].replace_all_uses_with(insert.operands[0])
            extract.erase()


def drop_dead_chains(root: ir.Operation) -> None:
    """Drop carried tensors of `root`'s loop nest that are only written, never read."""
    for extract in collect_named(root, "tensor.extract_slice"):
        if not has_uses(extract.results[0]):  # e.g. a tile's old `outs` slice
            extract.erase()
    for loop in collect_named(root, "scf.for"):
        for k, result in enumerate(loop.results):
            if not has_uses(result) and _drop_writes(loop, k):
                for ann in [u.owner.operation for u in result.uses]:
                    ann.erase()  # knobs of a tensor that no longer exists
    changed = True
    while changed:
        changed = False
        for loop in collect_named(root, "scf.for"):
            if _drop_pass_through(loop):
                changed = True
                break  # the loop was rebuilt: walk again


_ANNOTATIONS = frozenset({"nkipy.layout", "nkipy.tile_op"})


def has_uses(value: ir.Value) -> bool:
    """Uses other than knob annotations (which only describe the value)."""
    return any(use.owner.operation.name not in _ANNOTATIONS for use in value.uses)


def _drop_writes(loop: ir.Operation, k: int) -> bool:
    """If iter_arg k only flows through inserts and inner loops to the yield, erase its inserts."""
    body = loop.regions[0].blocks[0]
    inserts: list[ir.Operation] = []
    if not _chain_only(body.arguments[1 + k], list(body.operations)[-1], k, inserts):
        return False
    for insert in inserts:
        insert.results[0].replace_all_uses_with(insert.operands[1])
        insert.erase()
    return True


def _chain_only(value: ir.Value, terminator: ir.Operation, k: int, inserts: list[ir.Operation]) -> bool:
    for use in value.uses:
        owner = use.owner.operation
        n = use.operand_number
        if owner == terminator and n == k:
            continue
        if owner.name == "tensor.insert_slice" and n == 1:
            inserts.append(owner)
            if not _chain_only(owner.results[0], terminator, k, inserts):
                return False
            continue
        if owner.name == "scf.for" and n >= 3:
            inner = owner.regions[0].blocks[0]
            i = n - 3
            if not _chain_only(inner.arguments[1 + i], list(inner.operations)[-1], i, inserts):
                return False
            if not _chain_only(owner.results[i], terminator, k, inserts):
                return False
            continue
        return False
    return True


def _drop_pass_through(loop: ir.Operation) -> bool:
    """Drop the first iter_arg whose yield is its own block argument; True if one was."""
    body = loop.regions[0].blocks[0]
    terminator = list(body.operations)[-1]
    for k, value in enumerate(terminator.operands):
        if value == body.arguments[1 + k]:
            drop_iter_arg(loop, k)
            return True
    return False


def drop_iter_arg(loop: ir.Operation, k: int) -> None:
    init = loop.operands[3 + k]
    old = loop.regions[0].blocks[0]
    terminator = list(old.operations)[-1]
    keep = [i for i in range(len(loop.results)) if i != k]
    with loop.location, ir.InsertionPoint(loop):
        new = scf.ForOp(loop.operands[0], loop.operands[1], loop.operands[2],
                        [loop.operands[3 + i] for i in keep])
    with loop.location, ir.InsertionPoint(new.body):
        yield_op = scf.YieldOp([terminator.operands[i] for i in keep])
    old.arguments[0].replace_all_uses_with(new.induction_variable)
    old.arguments[1 + k].replace_all_uses_with(init)
    for j, i in enumerate(keep):
        old.arguments[1 + i].replace_all_uses_with(new.body.arguments[1 + j])
    for op in list(old.operations)[:-1]:
        op.operation.move_before(yield_op.operation)
    loop.results[k].replace_all_uses_with(init)
    for j, i in enumerate(keep):
        loop.results[i].replace_all_uses_with(new.results[j])
    loop.erase()


def inline_single_trip(loop: ir.Operation) -> bool:
    """Replace an `scf.for` that runs exactly once by its body; True if it did."""
    lb, ub, step = (constant_index(v) for v in loop.operands[:3])
    if lb is None or ub is None or step is None or not lb < ub <= lb + step:
        return False
    body = loop.regions[0].blocks[0]
    terminator = list(body.operations)[-1]
    body.arguments[0].replace_all_uses_with(loop.operands[0])
    for arg, init in zip(list(body.arguments)[1:], list(loop.operands)[3:]):
        arg.replace_all_uses_with(init)
    for op in list(body.operations)[:-1]:
        op.operation.move_before(loop)
    for result, value in zip(loop.results, terminator.operands):
        result.replace_all_uses_with(value)
    loop.erase()
    return True


def reuse_loaded_tiles(root: ir.Operation) -> None:
    """A second `materialize_in_destination` of the same slice into the same kind of
    fresh tile, in the same block, is the same tensor value: use the first."""
    seen: dict[tuple, ir.Value] = {}
    for op in collect_named(root, "bufferization.materialize_in_destination"):
        source, dest = op.operands[0], op.operands[1]
        if not (isinstance(source, ir.OpResult) and source.owner.operation.name == "tensor.extract_slice"
                and isinstance(dest, ir.OpResult) and dest.owner.operation.name == "bufferization.alloc_tensor"):
            continue
        extract, alloc = source.owner.operation, dest.owner.operation
        dims = slice_dims(extract)
        if dims is None:
            continue
        key = (op.parent, extract.operands[0], tuple(dims), str(alloc.results[0].type), str(alloc.attributes))
        first = seen.setdefault(key, op.results[0])
        if first == op.results[0]:
            continue
        op.results[0].replace_all_uses_with(first)
        op.erase()
        for dead in (extract, alloc):
            if not any(True for _ in dead.results[0].uses):
                dead.erase()


_PURE = frozenset({"tensor.insert_slice", "tensor.extract_slice", "tensor.expand_shape", "tensor.collapse_shape",
                   "tensor.empty", "bufferization.alloc_tensor"})


def erase_dead_tensor_ops(root: ir.Operation) -> None:
    """Erase side-effect-free tensor ops whose results only knobs describe (and those
    knobs): once a consumer reads a tile directly, the slices that assembled the old
    full result are dead, and bufferization would otherwise still copy into it."""
    changed = True
    while changed:  # users come after producers: one reverse sweep frees most chains
        changed = False
        for op in reversed(collect_named(root, *_PURE)):
            if any(has_uses(r) for r in op.results):
                continue
            for ann in [u.owner.operation for r in op.results for u in r.uses]:
                ann.erase()
            op.erase()
            changed = True


def split_sliced_empties(root: ir.Operation) -> None:
    """`extract_slice(tensor.empty)` -> a `tensor.empty` of the slice, when the big empty is
    only ever sliced (nothing is inserted into it any more): a fused matmul's per-row-block
    accumulator then bufferizes to its own tile, not to a slice of a whole-result buffer
    (which, too big for SBUF, would make every tile an HBM round trip)."""
    changed = True
    while changed:
        changed = False
        for extract in collect_named(root, "tensor.extract_slice"):
            source = extract.operands[0]
            if not isinstance(source, ir.OpResult) or source.owner.operation.name != "tensor.empty":
                continue
            if any(u.owner.operation.name != "tensor.extract_slice" for u in source.uses):
                continue
            result_t = ir.RankedTensorType(extract.results[0].type)
            if not result_t.has_static_shape:
                continue
            with extract.location, ir.InsertionPoint(extract):
                fresh = tensor.EmptyOp(list(result_t.shape), result_t.element_type).result
            extract.results[0].replace_all_uses_with(fresh)
            empty = source.owner.operation
            extract.erase()
            if not has_uses(empty.results[0]):
                empty.erase()
            changed = True
            break  # the collected list may hold erased ops: collect again


def compute_into_destinations(root: ir.Operation) -> None:
    """`materialize_in_destination(expand_shape?(%r), %d)` where loop `%r` starts from a fresh
    `tensor.empty`: the loop computes into `%d` itself (its init becomes `%d`, seen through a
    `collapse_shape` if the read expanded it). A fused matmul's scores tile is then written
    straight into the SBUF tile its reader asked for, not into a buffer of its own (HBM)
    and copied."""
    for mat in collect_named(root, "bufferization.materialize_in_destination"):
        src, dest = mat.operands[0], mat.operands[1]
        if not isinstance(dest, ir.OpResult) or dest.owner.operation.name != "bufferization.alloc_tensor":
            continue
        expand = src.owner.operation if isinstance(src, ir.OpResult) and src.owner.operation.name == "tensor.expand_shape" else None
        value = expand.operands[0] if expand is not None else src
        if not isinstance(value, ir.OpResult) or value.owner.operation.name != "scf.for":
            continue
        loop = value.owner.operation
        init = loop.operands[3 + value.result_number]
        if not isinstance(init, ir.OpResult) or init.owner.operation.name != "tensor.empty" or \
                sum(1 for _ in init.uses) != 1 or sum(1 for _ in src.uses) != 1:
            continue
        with mat.location, ir.InsertionPoint(loop):
            alloc = dest.owner.operation
            alloc.move_before(loop)
            into = dest if expand is None else tensor.CollapseShapeOp(
                value.type, dest, expand.attributes["reassociation"]).result
        empty = init.owner.operation
        loop.operands[3 + value.result_number] = into
        empty.erase()
        mat.results[0].replace_all_uses_with(src)
        mat.erase()
