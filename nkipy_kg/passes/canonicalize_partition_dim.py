"""Pass `canonicalize-partition-dim`: make every layout's partition dim 0 by transposing.

NISA always treats dim 0 of an SBUF tile as the partition dim. A user who asks
for `partition_dim = p != 0` gets the annotated op, and every elementwise or
reduction op connected to it, computed on transposed tensors instead:

* perm = [p, 0, 1, ..., p-1, p+1, ...] moves dim p to the front;
* the *component* is the set of elementwise / reduction linalg ops with the
  same loop rank connected through full-rank tensors (producers and users);
* boundary inputs (rank-matching operands made outside the component) get a
  `linalg.transpose(perm)`, shared by all users; `tensor.empty` and
  `linalg.fill(tensor.empty)` inits are rebuilt with the permuted shape;
* result types are permuted in place; a `linalg.generic` gets its iteration
  space permuted: full-rank map results are permuted, every map is re-expressed
  in the new loop dims (old d_j = new d_inv[j]), and iterator types follow;
* results used outside the component get a `linalg.transpose(inv)` back;
* inside the component, layouts get partition_dim 0 and permuted tiles, tile_ops
  permuted loop tiles. New transposes get a layout (partition_dim 0) and a
  tile_op. Boundary inputs (Sbuf): the seed op's loop tile (its tile_op, else its
  layout tile with reduced dims widened to the input's extent), clamped to the
  tensor and permuted. Outputs: the value's original mem_space and tile (else the
  clamped seed tile). tile[0] is clamped to the target's partition count.

    %e = tensor.empty() : tensor<64x128xf32>
    %x = linalg.exp ins(%a : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
    "nkipy.layout"(%x) {mem_space = 4 : i32, partition_dim = 1 : ui32, tile_size = array<i64: 64, 128>} : ...
    return %x : tensor<64x128xf32>

becomes

    %t = linalg.transpose ins(%a : tensor<64x128xf32>) outs(%0 : tensor<128x64xf32>) permutation = [1, 0]
    (layout {mem_space = 3, partition_dim = 0, tile_size = [128, 64]} + tile_op [128, 64] on %t)
    %e = tensor.empty() : tensor<128x64xf32>
    %x = linalg.exp ins(%t : tensor<128x64xf32>) outs(%e : tensor<128x64xf32>) -> tensor<128x64xf32>
    %b = linalg.transpose ins(%x : tensor<128x64xf32>) outs(%1 : tensor<64x128xf32>) permutation = [1, 0]
    "nkipy.layout"(%x) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 64>} : ...
    (layout {mem_space = 4, partition_dim = 0, tile_size = [64, 128]} + tile_op [64, 128] on %b)
    return %b : tensor<64x128xf32>

Errors (PassError at the layout's source line): non-tensor value, p >= rank,
tile_size[p] above the target's partition count, a matmul / batch_matmul
producer, any other producer that is not an elementwise or reduction linalg op,
a different non-zero partition_dim inside the same component. (Layouts with
partition_dim 0 inside the component, e.g. infer-layout defaults, are
canonicalized like the reference does.) `linalg.index` in a generic body is
renumbered with the loops.
The reference silently skips values not produced by a linalg op; that leaves a
partition_dim the backend cannot honour, so it is an error here, with one
exception: a value in HBM (Hbm / SharedHbm) made by an op that only moves data
(`tensor.insert_slice` of np.concatenate, slices, reshapes) gets partition_dim 0,
since HBM has no partitions and the ops writing it are DMAs; its producers keep
their own layouts (rope_3d_compound_pdim1's concatenated SharedHbm result).
Iterator types are permuted along with the maps (the reference text does not
say so, but a reduction's iterators must follow its loop dims).
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, linalg, tensor
from nkipy_kg.dialects.nkipy import MemSpace, mem_space_attr, partition_dim_attr
from nkipy_kg.passes.common import (collect, is_elementwise, is_inside_nkipy_region, is_matmul, is_reduction,
                                    iterator_types, pass_error)
from nkipy_kg.passes.registry import python_pass
from nkipy_kg.targets import DEFAULT_TARGET, get_target

PASS_NAME = "canonicalize-partition-dim"
ANNOTATIONS = frozenset({"nkipy.layout", "nkipy.tile_op", "nkipy.fuse_op"})
# Ops that only move data (np.concatenate's insert_slice chain, slices, reshapes).
DATA_MOVEMENT = frozenset({"tensor.insert_slice", "tensor.extract_slice", "tensor.expand_shape",
                           "tensor.collapse_shape", "tensor.concat"})
HBM_SPACES = frozenset({int(MemSpace.Hbm), int(MemSpace.SharedHbm)})


@python_pass(PASS_NAME, "transpose ops whose layout has partition_dim != 0 so it becomes 0", target=DEFAULT_TARGET)
def canonicalize_partition_dim(module_op: ir.Operation, target: str = DEFAULT_TARGET) -> None:
    """Rewrite every component annotated with partition_dim != 0 (see the module docstring)."""
    limit = get_target(target).partitions
    seeds = collect(module_op, lambda op: op.name == "nkipy.layout" and _pdim(op) and not is_inside_nkipy_region(op))
    for seed in seeds:
        if _pdim(seed):  # 0 once an earlier seed's component covered it
            _canonicalize(seed, limit)


def _pdim(layout: ir.Operation) -> int:
    attr = layout.attributes["partition_dim"] if "partition_dim" in layout.attributes else None
    return ir.IntegerAttr(attr).value if attr is not None else 0


def _space(layout: ir.Operation) -> int | None:
    return ir.IntegerAttr(layout.attributes["mem_space"]).value if "mem_space" in layout.attributes else None


def _i64s(op: ir.Operation, name: str) -> list[int] | None:
    return list(ir.DenseI64ArrayAttr(op.attributes[name])) if name in op.attributes else None


def _canonicalize(layout: ir.Operation, limit: int) -> None:
    value = layout.operands[0]
    p = _pdim(layout)
    if not isinstance(value.type, ir.RankedTensorType):
        raise pass_error(PASS_NAME, layout, f"partition_dim on a non-tensor value of type {value.type}")
    shape = list(ir.RankedTensorType(value.type).shape)
    rank = len(shape)
    if p >= rank:
        raise pass_error(PASS_NAME, layout, f"partition_dim {p} >= tensor rank {rank}")
    tile = _i64s(layout, "tile_size")
    if tile is not None and tile[p] > limit:
        raise pass_error(PASS_NAME, layout, f"tile_size[{p}] = {tile[p]} exceeds hardware partition limit {limit}")
    producer = None if isinstance(value.owner, ir.Block) else value.owner.operation
    if producer is not None and is_matmul(producer):
        raise pass_error(PASS_NAME, layout, "partition_dim != 0 on matmul/bmm is not supported. "
                         "Please annotate downstream elementwise ops instead.")
    if producer is not None and producer.name in DATA_MOVEMENT and _space(layout) in HBM_SPACES:
        layout.attributes["partition_dim"] = partition_dim_attr(0)  # HBM has no partitions: a hint only
        return
    if producer is None or not _is_member(producer, rank):
        what = "a function argument" if producer is None else producer.name
        raise pass_error(PASS_NAME, layout, f"partition_dim != 0 on a value produced by {what} is not supported. "
                         "Supported: elementwise and reduction ops.")
    perm = [p] + [i for i in range(rank) if i != p]
    seed_tile = _component_tile(producer, value, tile)
    seed_tile[p] = min(seed_tile[p], limit)
    members = _component(producer, rank)
    _Rewrite(members, perm, seed_tile, limit).run()


def _component_tile(producer: ir.Operation, value: ir.Value, layout_tile: list[int] | None) -> list[int]:
    """The seed's tile over its loops (original orientation), shared by the whole component.

    The seed op's tile_op is exactly that. Otherwise the layout's value-shape tile,
    where a dim the value has reduced (extent 1) takes the extent of the op's
    first input; otherwise the full shape.
    """
    rank = _loop_rank(producer)
    for use in value.uses:
        owner = use.owner.operation
        if owner.name == "nkipy.tile_op" and len(_i64s(owner, "loop_tile_size")) == rank:
            return _i64s(owner, "loop_tile_size")
    loops = list(ir.RankedTensorType(producer.operands[0].type).shape) \
        if _rank_of(producer.operands[0]) == rank else list(ir.RankedTensorType(value.type).shape)
    if layout_tile is None:
        return loops
    shape = ir.RankedTensorType(value.type).shape
    return [loops[d] if shape[d] == 1 and loops[d] != 1 else t for d, t in enumerate(layout_tile)]


def _clamp(tile: list[int], value: ir.Value) -> list[int]:
    return [min(t, s) for t, s in zip(tile, ir.RankedTensorType(value.type).shape)]


def _loop_rank(op: ir.Operation) -> int:
    return len(iterator_types(op))


def _is_member(op: ir.Operation, rank: int) -> bool:
    return ((is_elementwise(op) or is_reduction(op)) and _loop_rank(op) == rank and not is_inside_nkipy_region(op)
            and all(isinstance(r.type, ir.RankedTensorType) for r in op.results))


def _rank_of(value: ir.Value) -> int:
    return ir.RankedTensorType(value.type).rank if isinstance(value.type, ir.RankedTensorType) else -1


def _contains(ops: list[ir.Operation], op: ir.Operation) -> bool:
    # Not a set: an Operation's hash changes when the op is mutated; == compares identity.
    return any(op == o for o in ops)


def _component(seed: ir.Operation, rank: int) -> list[ir.Operation]:
    """Members connected to `seed` through rank-`rank` tensors, in program order."""
    found = [seed]
    queue = [seed]
    while queue:
        op = queue.pop()
        neighbours = [v.owner.operation for v in _inputs(op)
                      if _rank_of(v) == rank and not isinstance(v.owner, ir.Block)]
        neighbours += [use.owner.operation for r in op.results if _rank_of(r) == rank for use in r.uses]
        for n in neighbours:
            if n.name.startswith("linalg.") and not _contains(found, n) and _is_member(n, rank):
                found.append(n)
                queue.append(n)
    func_op = seed.parent
    while func_op.name != "func.func":
        func_op = func_op.parent
    return collect(func_op, lambda op: _contains(found, op))


def _inputs(op: ir.Operation) -> list[ir.Value]:
    return list(op.operands)[: len(op.operands) - len(op.results)]


class _Rewrite:
    """One component's rewrite; all decisions are made on the unmodified IR first."""

    def __init__(self, members: list[ir.Operation], perm: list[int], seed_tile: list[int], limit: int) -> None:
        self.members = members
        self.perm = perm
        self.inv = [perm.index(i) for i in range(len(perm))]
        self.rank = len(perm)
        self.seed_tile = seed_tile
        self.limit = limit
        self.transposed: list[tuple[ir.Value, ir.Value]] = []  # (boundary value, its transpose)
        self.arg_transposes: list[tuple[ir.Block, ir.Operation]] = []  # (block, last op inserted for its args)
        self.replaced_inits: list[ir.Operation] = []  # tensor.empty / linalg.fill now rebuilt

    def permute(self, xs: list) -> list:
        return [xs[i] for i in self.perm]

    def run(self) -> None:
        # Decide on the unmodified IR: outside uses and original annotations.
        # (Lists, not dicts: Value/Operation hashes are not stable under mutation.)
        results = []  # (result, outside uses, annotation ops) per member result
        for op in self.members:
            for r in op.results:
                users = [(u.owner.operation, u.operand_number) for u in r.uses]
                outside = [(o, i) for o, i in users if _rank_of(r) == self.rank and self._is_outside(o)]
                results.append((r, outside, [o for o, _ in users if o.name in ANNOTATIONS]))
        self._check_partition_dims([ann for _, _, anns in results for ann in anns])
        for op in self.members:
            self._remap_operands(op)
        for op in self.members:
            self._permute_op(op)
        for result, outside, anns in results:
            if outside:
                self._transpose_back(result, outside, anns)
        for _, _, anns in results:
            for ann in anns:
                self._update_annotation(ann)
        for init in self.replaced_inits:
            _erase_if_dead(init)

    def _is_outside(self, user: ir.Operation) -> bool:
        return user.name not in ANNOTATIONS and not _contains(self.members, user)

    # -- operands ---------------------------------------------------------------

    def _remap_operands(self, op: ir.Operation) -> None:
        num_inputs = len(op.operands) - len(op.results)
        for index, value in enumerate(list(op.operands)):
            if _rank_of(value) != self.rank:
                continue  # scalars and reduced-rank (broadcast) operands are not transposed
            owner = None if isinstance(value.owner, ir.Block) else value.owner.operation
            if owner is not None and _contains(self.members, owner):
                continue  # its type is permuted in place
            rebuilt = self._rebuild_init(owner, op) if index >= num_inputs else None
            op.operands[index] = rebuilt or self._boundary_transpose(value)
            if rebuilt is not None and not _contains(self.replaced_inits, owner):
                self.replaced_inits.append(owner)

    def _rebuild_init(self, owner: ir.Operation | None, user: ir.Operation) -> ir.Value | None:
        """A fresh permuted `tensor.empty` (or fill of one) in front of `user`, or None."""
        if owner is None or owner.name not in ("tensor.empty", "linalg.fill"):
            return None
        if owner.name == "linalg.fill":
            empty = owner.operands[1].owner
            if isinstance(empty, ir.Block) or empty.operation.name != "tensor.empty":
                return None
        with owner.location, ir.InsertionPoint(user):
            new_empty = self._empty(owner.results[0].type, owner.location)
            if owner.name == "tensor.empty":
                return new_empty
            fill = linalg.FillOp([new_empty.type], [owner.operands[0]], [new_empty], loc=owner.location)
            linalg.fill_builtin_region(fill.operation)
            return fill.results[0]

    def _empty(self, old_type: ir.Type, loc: ir.Location) -> ir.Value:
        t = ir.RankedTensorType(old_type)
        return tensor.EmptyOp(self.permute(list(t.shape)), t.element_type, loc=loc).result

    def _boundary_transpose(self, value: ir.Value) -> ir.Value:
        for old, new in self.transposed:
            if old == value:
                return new
        if isinstance(value.owner, ir.Block):
            # Block arguments: at the block start, after earlier ones (argument order).
            last = next((op for block, op in reversed(self.arg_transposes) if block == value.owner), None)
            point = ir.InsertionPoint.at_block_begin(value.owner) if last is None else ir.InsertionPoint.after(last)
            loc = value.owner.owner.location
        else:
            point, loc = ir.InsertionPoint.after(value.owner.operation), value.owner.operation.location
        with loc, point:
            new = self._transpose(value, self.perm, loc)
        tile = _equalize_swapped(self.permute(_clamp(self.seed_tile, value)), self.perm)
        self._annotate(new, MemSpace.Sbuf, tile)
        self.transposed.append((value, new))
        if isinstance(value.owner, ir.Block):
            self.arg_transposes.append((value.owner, _last_annotation(new)))
        return new

    def _transpose(self, value: ir.Value, perm: list[int], loc: ir.Location) -> ir.Value:
        t = ir.RankedTensorType(value.type)
        shape = [t.shape[i] for i in perm]
        init = tensor.EmptyOp(shape, t.element_type, loc=loc).result
        op = linalg.TransposeOp([init.type], value, init, perm, loc=loc)
        linalg.fill_builtin_region(op.operation)
        return op.results[0]

    def _annotate(self, value: ir.Value, space: int | None, tile: list[int]) -> None:
        """layout {mem_space, partition_dim = 0, tile_size} + tile_op right after `value`'s op."""
        tile = [min(tile[0], self.limit), *tile[1:]]
        owner = value.owner.operation
        i64s = ir.DenseI64ArrayAttr.get(tile)
        attrs = {"partition_dim": partition_dim_attr(0), "tile_size": i64s}
        if space is not None:
            attrs["mem_space"] = mem_space_attr(MemSpace(space))
        with owner.location, ir.InsertionPoint.after(owner):
            ir.Operation.create("nkipy.tile_op", operands=[value], attributes={"loop_tile_size": i64s})
            ir.Operation.create("nkipy.layout", operands=[value], attributes=attrs)

    # -- the ops themselves -----------------------------------------------------

    def _permute_op(self, op: ir.Operation) -> None:
        for r in op.results:
            if _rank_of(r) == self.rank:
                t = ir.RankedTensorType(r.type)
                shape = self.permute(list(t.shape))
                r.set_type(ir.RankedTensorType.get(shape, t.element_type, t.encoding, loc=op.location))
        if op.name != "linalg.generic":
            return  # named elementwise ops: identity maps over identically shaped operands
        rename = ir.AffineMap.get(self.rank, 0, [ir.AffineDimExpr.get(self.inv[j]) for j in range(self.rank)])
        maps = []
        for attr in ir.ArrayAttr(op.attributes["indexing_maps"]):
            mp = ir.AffineMapAttr(attr).value
            exprs = list(mp.results)
            if len(exprs) == self.rank:
                exprs = self.permute(exprs)
            maps.append(ir.AffineMapAttr.get(ir.AffineMap.get(self.rank, 0, [e.compose(rename) for e in exprs])))
        op.attributes["indexing_maps"] = ir.ArrayAttr.get(maps)
        for inner in op.regions[0].blocks[0].operations:
            if inner.name == "linalg.index":  # loop j is now loop inv[j]
                dim = ir.IntegerAttr(inner.attributes["dim"])
                inner.attributes["dim"] = ir.IntegerAttr.get(dim.type, self.inv[dim.value])
        iterators = list(ir.ArrayAttr(op.attributes["iterator_types"]))
        op.attributes["iterator_types"] = ir.ArrayAttr.get(self.permute(iterators))

    def _transpose_back(self, result: ir.Value, uses: list[tuple[ir.Operation, int]],
                        anns: list[ir.Operation]) -> None:
        layouts = [a for a in anns if a.name == "nkipy.layout"]
        space = ir.IntegerAttr(layouts[0].attributes["mem_space"]).value \
            if layouts and "mem_space" in layouts[0].attributes else None
        owner = result.owner.operation
        with owner.location, ir.InsertionPoint.after(owner):
            back = self._transpose(result, self.inv, owner.location)
        for user, index in uses:
            user.operands[index] = back
        tile = (_i64s(layouts[0], "tile_size") if layouts else None) or _clamp(self.seed_tile, back)
        self._annotate(back, space, tile)

    def _check_partition_dims(self, annotations: list[ir.Operation]) -> None:
        """Two different non-zero partition dims in one component cannot both hold."""
        p = self.perm[0]
        for ann in annotations:
            if ann.name == "nkipy.layout" and _rank_of(ann.operands[0]) == self.rank and _pdim(ann) not in (0, p):
                raise pass_error(PASS_NAME, ann, f"conflicting partition_dim {_pdim(ann)}: this value is computed "
                                 f"together with a value annotated partition_dim {p}")

    def _update_annotation(self, ann: ir.Operation) -> None:
        value = ann.operands[0]
        if ann.name == "nkipy.layout" and _rank_of(value) == self.rank:
            ann.attributes["partition_dim"] = partition_dim_attr(0)
            if "tile_size" in ann.attributes:
                ann.attributes["tile_size"] = ir.DenseI64ArrayAttr.get(self.permute(_i64s(ann, "tile_size")))
        if ann.name == "nkipy.tile_op" and len(_i64s(ann, "loop_tile_size")) == self.rank:
            ann.attributes["loop_tile_size"] = ir.DenseI64ArrayAttr.get(self.permute(_i64s(ann, "loop_tile_size")))


def _last_annotation(value: ir.Value) -> ir.Operation:
    """The last of the ops `_annotate` put after `value`'s defining op."""
    op = value.owner.operation
    anns = [u.owner.operation for u in value.uses if u.owner.operation.name in ANNOTATIONS]
    for ann in anns:
        if op.is_before_in_block(ann):
            op = ann
    return op


def _erase_if_dead(op: ir.Operation) -> None:
    """Erase an init we replaced (and a fill's tensor.empty) once nothing uses it."""
    if any(True for _ in op.results[0].uses):
        return
    empty = op.operands[1].owner.operation if op.name == "linalg.fill" else None
    op.erase()
    if empty is not None and not any(True for _ in empty.results[0].uses):
        empty.erase()


def _equalize_swapped(tile: list[int], perm: list[int]) -> list[int]:
    """For rank > 2, give both dims of each swapped pair the smaller tile (unless one is 1),
    so a tile of the transpose moves at most two non-unit dims."""
    if len(tile) <= 2:
        return tile
    out = list(tile)
    for i, j in enumerate(perm):
        if i < j and perm[j] == i and out[i] != 1 and out[j] != 1:
            out[i] = out[j] = min(out[i], out[j])
    return out
