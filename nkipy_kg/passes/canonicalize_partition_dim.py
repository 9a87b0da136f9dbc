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

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace, partition_dim_attr
from nkipy_kg.passes.common import (collect, is_elementwise, is_inside_nkipy_region, is_matmul, is_reduction,
                                    iterator_types, pass_error)
from nkipy_kg.passes.partition_dim_rewrite import PASS_NAME, ComponentRewrite, contains, i64s, pdim, rank_of
from nkipy_kg.passes.registry import python_pass
from nkipy_kg.targets import DEFAULT_TARGET, get_target

# Ops that only move data (np.concatenate's insert_slice chain, slices, reshapes).
DATA_MOVEMENT = frozenset({"tensor.insert_slice", "tensor.extract_slice", "tensor.expand_shape",
                           "tensor.collapse_shape", "tensor.concat"})
HBM_SPACES = frozenset({int(MemSpace.Hbm), int(MemSpace.SharedHbm)})


@python_pass(PASS_NAME, "transpose ops whose layout has partition_dim != 0 so it becomes 0", target=DEFAULT_TARGET)
def canonicalize_partition_dim(module_op: ir.Operation, target: str = DEFAULT_TARGET) -> None:
    """Rewrite every component annotated with partition_dim != 0 (see the module docstring)."""
    limit = get_target(target).partitions
    seeds = collect(module_op, lambda op: op.name == "nkipy.layout" and pdim(op) and not is_inside_nkipy_region(op))
    for seed in seeds:
        if pdim(seed):  # 0 once an earlier seed's component covered it
            _canonicalize(seed, limit)


def _space(layout: ir.Operation) -> int | None:
    return ir.IntegerAttr(layout.attributes["mem_space"]).value if "mem_space" in layout.attributes else None


def _canonicalize(layout: ir.Operation, limit: int) -> None:
    value = layout.operands[0]
    p = pdim(layout)
    if not isinstance(value.type, ir.RankedTensorType):
        raise pass_error(PASS_NAME, layout, f"partition_dim on a non-tensor value of type {value.type}")
    shape = list(ir.RankedTensorType(value.type).shape)
    rank = len(shape)
    if p >= rank:
        raise pass_error(PASS_NAME, layout, f"partition_dim {p} >= tensor rank {rank}")
    tile = i64s(layout, "tile_size")
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
    ComponentRewrite(members, perm, seed_tile, limit).run()


def _component_tile(producer: ir.Operation, value: ir.Value, layout_tile: list[int] | None) -> list[int]:
    """The seed's tile over its loops (original orientation), shared by the whole component.

    The seed op's tile_op is exactly that. Otherwise the layout's value-shape tile,
    where a dim the value has reduced (extent 1) takes the extent of the op's
    first input; otherwise the full shape.
    """
    rank = _loop_rank(producer)
    for use in value.uses:
        owner = use.owner.operation
        if owner.name == "nkipy.tile_op" and len(i64s(owner, "loop_tile_size")) == rank:
            return i64s(owner, "loop_tile_size")
    loops = list(ir.RankedTensorType(producer.operands[0].type).shape) \
        if rank_of(producer.operands[0]) == rank else list(ir.RankedTensorType(value.type).shape)
    if layout_tile is None:
        return loops
    shape = ir.RankedTensorType(value.type).shape
    return [loops[d] if shape[d] == 1 and loops[d] != 1 else t for d, t in enumerate(layout_tile)]


def _loop_rank(op: ir.Operation) -> int:
    return len(iterator_types(op))


def _is_member(op: ir.Operation, rank: int) -> bool:
    return ((is_elementwise(op) or is_reduction(op)) and _loop_rank(op) == rank and not is_inside_nkipy_region(op)
            and all(isinstance(r.type, ir.RankedTensorType) for r in op.results))


def _component(seed: ir.Operation, rank: int) -> list[ir.Operation]:
    """Members connected to `seed` through rank-`rank` tensors, in program order."""
    found = [seed]
    queue = [seed]
    while queue:
        op = queue.pop()
        neighbours = [v.owner.operation for v in _inputs(op)
                      if rank_of(v) == rank and not isinstance(v.owner, ir.Block)]
        neighbours += [use.owner.operation for r in op.results if rank_of(r) == rank for use in r.uses]
        for n in neighbours:
            if n.name.startswith("linalg.") and not contains(found, n) and _is_member(n, rank):
                found.append(n)
                queue.append(n)
    func_op = seed.parent
    while func_op.name != "func.func":
        func_op = func_op.parent
    return collect(func_op, lambda op: contains(found, op))


def _inputs(op: ir.Operation) -> list[ir.Value]:
    return list(op.operands)[: len(op.operands) - len(op.results)]
