"""The component rewrite of `canonicalize-partition-dim` (registers no pass): the
transposes at the boundary, permuted types and maps, rebuilt inits and annotations,
as that pass's docstring describes. Every decision is made on the unmodified IR first.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, linalg, tensor
from nkipy_kg.dialects.nkipy import MemSpace, mem_space_attr, partition_dim_attr
from nkipy_kg.passes.common import pass_error

PASS_NAME = "canonicalize-partition-dim"
ANNOTATIONS = frozenset({"nkipy.layout", "nkipy.tile_op", "nkipy.fuse_op"})


def pdim(layout: ir.Operation) -> int:
    attr = layout.attributes["partition_dim"] if "partition_dim" in layout.attributes else None
    return ir.IntegerAttr(attr).value if attr is not None else 0


def i64s(op: ir.Operation, name: str) -> list[int] | None:
    return list(ir.DenseI64ArrayAttr(op.attributes[name])) if name in op.attributes else None


def _clamp(tile: list[int], value: ir.Value) -> list[int]:
    return [min(t, s) for t, s in zip(tile, ir.RankedTensorType(value.type).shape)]


def rank_of(value: ir.Value) -> int:
    return ir.RankedTensorType(value.type).rank if isinstance(value.type, ir.RankedTensorType) else -1


def contains(ops: list[ir.Operation], op: ir.Operation) -> bool:
    # Not a set: an Operation's hash changes when the op is mutated; == compares identity.
    return any(op == o for o in ops)


class ComponentRewrite:
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
                outside = [(o, i) for o, i in users if rank_of(r) == self.rank and self._is_outside(o)]
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
        return user.name not in ANNOTATIONS and not contains(self.members, user)

    # -- operands ---------------------------------------------------------------

    def _remap_operands(self, op: ir.Operation) -> None:
        num_inputs = len(op.operands) - len(op.results)
        for index, value in enumerate(list(op.operands)):
            if rank_of(value) != self.rank:
                continue  # scalars and reduced-rank (broadcast) operands are not transposed
            owner = None if isinstance(value.owner, ir.Block) else value.owner.operation
            if owner is not None and contains(self.members, owner):
                continue  # its type is permuted in place
            rebuilt = self._rebuild_init(owner, op) if index >= num_inputs else None
            op.operands[index] = rebuilt or self._boundary_transpose(value)
            if rebuilt is not None and not contains(self.replaced_inits, owner):
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
            if rank_of(r) == self.rank:
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
        tile = (i64s(layouts[0], "tile_size") if layouts else None) or _clamp(self.seed_tile, back)
        self._annotate(back, space, tile)

    def _check_partition_dims(self, annotations: list[ir.Operation]) -> None:
        """Two different non-zero partition dims in one component cannot both hold."""
        p = self.perm[0]
        for ann in annotations:
            if ann.name == "nkipy.layout" and rank_of(ann.operands[0]) == self.rank and pdim(ann) not in (0, p):
                raise pass_error(PASS_NAME, ann, f"conflicting partition_dim {pdim(ann)}: this value is computed "
                                 f"together with a value annotated partition_dim {p}")

    def _update_annotation(self, ann: ir.Operation) -> None:
        value = ann.operands[0]
        if ann.name == "nkipy.layout" and rank_of(value) == self.rank:
            ann.attributes["partition_dim"] = partition_dim_attr(0)
            if "tile_size" in ann.attributes:
                ann.attributes["tile_size"] = ir.DenseI64ArrayAttr.get(self.permute(i64s(ann, "tile_size")))
        if ann.name == "nkipy.tile_op" and len(i64s(ann, "loop_tile_size")) == self.rank:
            ann.attributes["loop_tile_size"] = ir.DenseI64ArrayAttr.get(self.permute(i64s(ann, "loop_tile_size")))


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
