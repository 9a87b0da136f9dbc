"""Pass `infer-layout`: give every elementwise, reduction and matmul op a layout and a loop tile.

Later passes need, on every annotatable linalg op (see `common.is_annotatable`;
transposes, fills and tensor ops are not annotatable), a `nkipy.layout`
(value-shape `tile_size`, `mem_space`, `partition_dim`) and a `nkipy.tile_op`
(`loop_tile_size`, one size per iterator: elementwise = output rank, reduction =
input rank, matmul = [M, N, K]). Users annotate a few values; this pass fills in
the rest. The IR is only read until the last phase:

1. Seeds from the user: a tile_op's loop tile (preferred) or a layout's tile_size
   (a value tile, lifted to the op's loops). Then BFS.
2. Matmul seeds: an unannotated matmul gets [min(M,128), min(N,512), min(K,128)],
   Sbuf, partition_dim 0. Then BFS.
3. Fallback seeds, one op at a time in program order: elementwise value tile
   [min(d0,128), 1, ..., 1, d_last] (a sequence-leading rank >= 3 value keeps its
   middle dims while its fp32 rows stay <= 16 KiB: rope's [128, heads, d]),
   reductions the same over their output with the reduction loops at full extent; partition tile clamped to the smallest same-rank
   input's d0. Then BFS.
4. Any annotatable op still without a tile is an error. Memory spaces
   (`layout_spaces`): returned values (also through tensor reshapes, which
   bufferize to views) get SharedHbm; others without a mem_space get SharedHbm
   when they trace to a function argument (through extract_slice), else Sbuf, as
   far as the SBUF budget allows (`sbuf_budget`), else Hbm. Rank > 3
   `linalg.transpose` results (head shuffles, DMAs between HBM buffers) get an Hbm
   layout without a tile, so their buffer is never left without a memory space.
5. Materialise: fill only the missing fields of a user's layout (its mem_space is
   kept unless the value alone exceeds the SBUF), add a missing tile_op; inferred
   values get layout + tile_op right after the defining op, with its location.

Before phase 1, reductions over every axis (`np.sum(x)`) are split into a row
reduction and a partition reduction of the resulting column, and rank-0
elementwise ops are lifted to one-element vectors (`full_reductions`): a rank-0
value has no partition dim, and NISA reduces free axes and partitions with
different instructions. The reference failed on such layouts. A `nkipy.gather` by
computed indices (an embedding lookup by a kernel input) becomes the elementwise
generic of `lower-nkipy-gather` (rows read with `tensor.extract`), so it is tiled
and placed like any op and `linalg-to-nisa` emits `nisa.dma_copy_indirect` per tile
(the reference tiled the gather op through its C++ TilingInterface).
Last before phase 1, every unannotated elementwise intermediate with a single reader
is fused into that reader (`elementwise_fusion`; option `fuse-elementwise=false`
turns it off): `exp(x - m)` is one generic, and a bf16 -> f32 widening is part of
the sum that reads it, so neither intermediate needs a layout, SBUF, or an HBM
round trip when the SBUF budget cannot hold it.

BFS moves tiles through indexing maps (see `layout_propagation`): backward from an
op to the producers of its inputs, forward to elementwise/reduction users (never
into a matmul). Backward from a matmul its operands get the matmul's operand
preference: A [min(M,128), min(K,128)] partition_dim 1, B [min(K,128), min(N,512)]
partition_dim 0. Two entries from different seeds meeting on one value must agree
(same partition_dim, tiles dividing each other) or the pass fails at that op.
Limits (128 partitions, 512 PSUM free size) come from the target.

    %e = tensor.empty() : tensor<256x512xf32>
    %c = linalg.matmul ins(%a, %b : tensor<256x128xf32>, tensor<128x512xf32>) outs(%e : ...) -> tensor<256x512xf32>
    return %c : tensor<256x512xf32>

becomes

    %c = linalg.matmul ins(%a, %b : ...) outs(%e : ...) -> tensor<256x512xf32>
    "nkipy.layout"(%c) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 512>} : ...
    "nkipy.tile_op"(%c) {loop_tile_size = array<i64: 128, 512, 128>} : (tensor<256x512xf32>) -> ()
    return %c : tensor<256x512xf32>

Where this does better than the reference:
- Tiles move through indexing maps, not value shapes: rank-dropping reductions and
  rank-1 broadcast operands (`x * w[N]`) propagate; a broadcast operand's size-1 dim
  does not shrink its consumer's tile (the reference gives `x / sqrt(mean)` [128, 1]);
  a reduction's input gets the reduction's loop tile; reductions over a leading axis
  work. The partition dim follows its loop through permuting maps.
- The matmul operand preference (and what spreads from it) never conflicts and only
  lands on operands made by an elementwise/reduction op that nothing else annotated,
  lifted into that op's loops. The reference errors on a knob-free
  `silu(x @ wg) * (x @ wu) @ wd` (the product already has partition_dim 0 from
  `x @ wu`), puts partition_dim 1 on slices/reshapes/transposes that
  canonicalize-partition-dim rejects, and writes the 2-entry operand tile as the
  tile_op of a matmul or reduction producer. knob-driven-tiling places the others.
- A layout's tile_size without a tile_op is lifted to the op's loops (the reference
  uses it as the loop tile: wrong for matmul and reduction); a user layout without a
  tile keeps its partition_dim and gets its fields filled (no second layout);
  partition_dim is always written; propagated tiles respect the partition count and
  the matmul M/N/K caps.
- Fallback seeds are seeded and propagated one at a time: a knob-free chain takes one
  tile instead of one seed per op.
- Batch-leading values (rank >= 3, partition_dim 0: `[heads, seq, d]`, read one
  `[1, seq, d]` head at a time by decompose-batch-matmul's loops) get the fallback
  tile `[1, ..., 1, min(d_{R-2}, P), d_last]`: batch dims tiled 1, the partition tile
  on dim R-2 (`layout_defaults.tiled_partition_axis`). The reference's
  `[min(d0, P), 1, ..., d_last]` puts the heads on the partitions, which no per-head
  consumer can read (its Qwen3 test annotated such buffers SharedHbm by hand);
  these stay in SBUF, stored `[t_{R-2}, nb..., t_last]` by legalize-layout.
- Hardware caps that do not divide a dim take its largest divisor under the cap
  (`layout_defaults.capped`: N = 768 against a 512-wide PSUM bank -> 384, 300
  rows -> 100); the reference's min(d, cap) leaves a partial tile that
  canonicalize-loop-step rejects (knob-free qkv_projection).
- Placements respect the target's SBUF (`sbuf_budget`): an inferred intermediate
  needing more than half the SBUF per partition goes to Hbm, not Sbuf, and so do
  inferred ones (staying live longest first) wherever the Sbuf values live at once
  would take more than half; a user's Sbuf moves only when the value alone exceeds
  the whole SBUF. The reference keeps a knob-free 2048^3 matmul's 16 MiB product
  (and rope's eight [2048, 32, 64] intermediates) in SBUF and fails in
  insert-spill-reload.
Left as specified (a question for the pipeline): A's partition_dim 1 spreads through
its producer chain, so canonicalize-partition-dim transposes that chain (in the
knob-free transformer layer, the first rmsnorm with its row reduction) although
knob-driven-tiling transposes A blocks itself; `matmul_operand_tile` decides it.
"""

from __future__ import annotations

import dataclasses
from collections import deque

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace, mem_space_attr, partition_dim_attr
from nkipy_kg.passes.common import collect, is_annotatable, is_inside_nkipy_region, is_matmul, pass_error
from nkipy_kg.passes.elementwise_fusion import fuse_elementwise as fuse_producers
from nkipy_kg.passes.full_reductions import split_full_reductions
from nkipy_kg.passes.lower_nkipy_gather import lower_computed_gathers
from nkipy_kg.passes.layout_defaults import matmul_operand_tile, matmul_seed_tile
from nkipy_kg.passes.layout_loops import (Entry, Limits, Tile, inputs, is_annotatable_producer, num_loops,
                                          operand_tile, producer, value_tile)
from nkipy_kg.passes.layout_propagation import loop_tile_from, operand_pdim, translate_pdim
from nkipy_kg.passes.layout_propagation import conflict as describe_conflict
from nkipy_kg.passes.layout_spaces import is_high_rank_transpose, value_spaces
from nkipy_kg.passes.registry import python_pass
from nkipy_kg.targets import DEFAULT_TARGET, get_target

PASS_NAME = "infer-layout"


@python_pass(PASS_NAME, "fuse single-use elementwise intermediates; infer nkipy.layout / nkipy.tile_op "
                        "for every annotatable linalg op",
             target=DEFAULT_TARGET, fuse_elementwise="true")
def infer_layout(module_op: ir.Operation, target: str = DEFAULT_TARGET, fuse_elementwise: str = "true") -> None:
    """Run the inference on every function (see the module docstring);
    `fuse-elementwise=false` keeps every elementwise intermediate (for comparison)."""
    if fuse_elementwise not in ("true", "false"):
        raise ValueError(f"{PASS_NAME}: fuse-elementwise must be true or false, got {fuse_elementwise!r}")
    hw = get_target(target)
    limits = Limits(partitions=hw.partitions, matmul_free=hw.matmul_free_max)
    for func in collect(module_op, lambda op: op.name == "func.func"):
        split_full_reductions(func)  # rank-0 values have no partition dim
        lower_computed_gathers(func)  # a gather by computed indices: an elementwise generic
        if fuse_elementwise == "true":
            fuse_producers(func)  # single-use unannotated intermediates need no layout at all
        _Inference(func, limits, hw.sbuf_bytes_per_partition).run()


def _i64s(op: ir.Operation, name: str) -> list[int] | None:
    return list(ir.DenseI64ArrayAttr(op.attributes[name])) if name in op.attributes else None


def _int_attr(op: ir.Operation, name: str) -> int | None:
    return ir.IntegerAttr(op.attributes[name]).value if name in op.attributes else None


class _Inference:
    """One function's inference: an entry per value, decided before any IR changes."""

    def __init__(self, func: ir.Operation, limits: Limits, sbuf_bytes: int) -> None:
        self.func = func
        self.limits = limits
        self.sbuf_bytes = sbuf_bytes  # usable SBUF bytes per partition
        self.entries: dict[ir.Value, Entry] = {}
        self.queue: deque[ir.Value] = deque()
        self.seeds = 0
        self.ops = collect(func, lambda op: is_annotatable(op) and len(op.results) > 0
                           and not is_inside_nkipy_region(op))
        # Ops tiles can flow through (static shapes, one result); nothing is mutated until the end.
        self.targets = {op for op in self.ops if is_annotatable_producer(op)}
        self.user_pdim: dict[ir.Value, int] = {}  # partition_dim of a user layout
        # The user's annotation ops by annotated value (one walk: `value.uses` is slow here).
        self.annotations: dict[ir.Value, list[ir.Operation]] = {}
        for ann in collect(func, lambda op: op.name in ("nkipy.layout", "nkipy.tile_op")
                           and not is_inside_nkipy_region(op)):
            self.annotations.setdefault(ann.operands[0], []).append(ann)

    def _user(self, value: ir.Value, name: str) -> list[ir.Operation]:
        return [op for op in self.annotations.get(value, []) if op.name == name]

    def run(self) -> None:
        for op in self.ops:  # what split_full_reductions could not rewrite
            if isinstance(op.results[0].type, ir.RankedTensorType) and ir.RankedTensorType(op.results[0].type).rank == 0:
                raise pass_error(PASS_NAME, op, f"infer-layout: a rank-0 result of {op.name} has no partition dim "
                                 "to lay out", "reductions to a scalar are supported with add, mul, max, min, "
                                 "and, or and xor combiners")
        self._seed_from_user()
        self._propagate_all()
        for op in self.ops:
            if is_matmul(op) and op.results[0] not in self.entries and op in self.targets:
                self._seed(op.results[0], tuple(matmul_seed_tile(op, self.limits)), MemSpace.Sbuf, 0)
        self._propagate_all()
        for op in self.ops:
            if op.results[0] not in self.entries and op in self.targets:
                pdim = self.user_pdim.get(op.results[0], 0)
                tile = loop_tile_from(op, lambda v: None, op.results[0], self.limits, pdim)
                self._seed(op.results[0], tile, MemSpace.Sbuf, pdim)
                self._propagate_all()
        for op in self.ops:
            if op.results[0] not in self.entries:
                raise pass_error(PASS_NAME, op, "infer-layout: unable to determine layout for op",
                                 "only static-shaped tensor ops can be tiled")
        self._materialise()

    # -- seeding -------------------------------------------------------------------------

    def _seed(self, value: ir.Value, tile: Tile, space: MemSpace | None, pdim: int | None) -> None:
        self.entries[value] = Entry(tile, self.seeds, space, pdim)
        self.seeds += 1
        self.queue.append(value)

    def _seed_from_user(self) -> None:
        for value in self.annotations:
            if not isinstance(value.type, ir.RankedTensorType):
                continue
            layouts = self._user(value, "nkipy.layout")
            tiles = self._user(value, "nkipy.tile_op")
            layout = layouts[0] if layouts else None
            space = _int_attr(layout, "mem_space") if layout is not None else None
            pdim = _int_attr(layout, "partition_dim") if layout is not None else None
            if pdim is not None:
                self.user_pdim[value] = pdim
            tile = self._user_tile(value, tiles[0] if tiles else None, layout, pdim)
            if tile is not None:
                self._seed(value, tile, MemSpace(space) if space is not None else None, pdim)

    def _user_tile(self, value: ir.Value, tile_op: ir.Operation | None, layout: ir.Operation | None,
                   pdim: int | None) -> Tile | None:
        """The loop tile a user asked for: the tile_op's, else the layout's value tile lifted."""
        op = producer(value)
        linalg = op is not None and op in self.targets
        if tile_op is not None:
            tile = tuple(_i64s(tile_op, "loop_tile_size"))
            if linalg and len(tile) != num_loops(op):
                raise pass_error(PASS_NAME, tile_op, f"infer-layout: tile_op has {len(tile)} sizes but "
                                 f"{op.name} has {num_loops(op)} loops")
            return tile
        vt = _i64s(layout, "tile_size") if layout is not None else None
        if vt is None:
            return None  # a layout without a tile is not a seed
        if not linalg:
            return tuple(vt)
        return loop_tile_from(op, lambda v: tuple(vt) if v == value else None, value, self.limits, pdim or 0)

    # -- propagation ------------------------------------------------------------------------

    def _propagate_all(self) -> None:
        """BFS, then matmul operand preferences for operands still without a tile, until stable."""
        while True:
            self._bfs()
            if not self._matmul_operand_preferences():
                return

    def _bfs(self) -> None:
        while self.queue:
            value = self.queue.popleft()
            entry = self.entries[value]
            op = producer(value)
            if op is not None and op in self.targets and not is_matmul(op):
                for index, operand in enumerate(inputs(op)):
                    source = producer(operand)
                    if source is not None and self._is_target(source):
                        self._propagate(source, operand, operand_tile(op, entry.tile, index), entry,
                                        operand_pdim(op, index, entry.partition_dim))
            vt = value_tile(value, entry)
            for use in value.uses:
                user = use.owner.operation
                if self._is_target(user) and not is_matmul(user) and use.operand_number < len(inputs(user)):
                    self._propagate(user, value, vt, entry, entry.partition_dim)

    def _is_target(self, op: ir.Operation) -> bool:
        return op in self.targets

    def _propagate(self, target: ir.Operation, first: ir.Value, first_tile: Tile, source: Entry,
                   first_pdim: int | None) -> None:
        """Give `target` the loop tile implied by `first` (an input or its result) having `first_tile`."""
        result = target.results[0]
        moved = translate_pdim(target, first, first_pdim)
        pdim = self.user_pdim.get(result, moved)

        def known(v: ir.Value) -> Tile | None:
            if v == first:
                return first_tile
            return value_tile(v, self.entries[v]) if v in self.entries else None

        tile = loop_tile_from(target, known, first, self.limits, pdim or 0)
        self._insert(result, Entry(tile, source.seed, MemSpace.Sbuf, moved, source.requirement))

    def _insert(self, value: ir.Value, entry: Entry) -> bool:
        existing = self.entries.get(value)
        if existing is None:
            if value in self.user_pdim:  # a user layout without a tile still fixes its partition_dim
                entry = dataclasses.replace(entry, partition_dim=self.user_pdim[value])
            self.entries[value] = entry
            self.queue.append(value)
            return True
        if existing.seed != entry.seed and (why := describe_conflict(existing, entry)):
            raise pass_error(PASS_NAME, value.owner.operation, f"infer-layout: {why}",
                             "annotate the values between the two seeds with compatible knobs")
        return False

    def _matmul_operand_preferences(self) -> bool:
        """Matmul A/B preferences on elementwise/reduction operands nothing has annotated yet."""
        added = False
        for op in self.ops:
            entry = self.entries.get(op.results[0])
            if not is_matmul(op) or entry is None:
                continue
            for index, operand in enumerate(inputs(op)[:2]):
                source = producer(operand)
                if source is None or operand in self.entries or not self._is_target(source) or is_matmul(source):
                    continue
                tile, pdim = matmul_operand_tile(op, index, self.limits)
                pdim = self.user_pdim.get(operand, pdim)
                loop = loop_tile_from(source, lambda v, t=tile, o=operand: t if v == o else None, operand,
                                      self.limits, pdim)
                added |= self._insert(operand, Entry(loop, entry.seed, MemSpace.Sbuf, pdim, requirement=True))
        return added

    # -- materialisation -----------------------------------------------------------------------

    def _materialise(self) -> None:
        spaces = value_spaces(self.func, {v: e.mem_space for v, e in self.entries.items()}, self._user_space,
                              self.limits.partitions, self.sbuf_bytes)
        for value, entry in list(self.entries.items()):
            self._annotate(value, entry, spaces[value])
        for op in collect(self.func, is_high_rank_transpose):
            value = op.results[0]
            if value not in self.entries and not self._user(value, "nkipy.layout"):
                with ir.InsertionPoint.after(op):
                    ir.Operation.create("nkipy.layout", operands=[value], loc=op.location, attributes={
                        "mem_space": mem_space_attr(MemSpace.Hbm), "partition_dim": partition_dim_attr(0)})

    def _user_space(self, value: ir.Value) -> bool:
        """Whether the user chose `value`'s memory space (a layout knob with mem_space)."""
        return any("mem_space" in op.attributes for op in self._user(value, "nkipy.layout"))

    def _annotate(self, value: ir.Value, entry: Entry, space: MemSpace) -> None:
        rank = ir.RankedTensorType(value.type).rank
        fields = {"mem_space": mem_space_attr(space), "partition_dim": partition_dim_attr(entry.partition_dim or 0)}
        if rank:
            fields["tile_size"] = ir.DenseI64ArrayAttr.get(list(value_tile(value, entry)))
        layouts = self._user(value, "nkipy.layout")
        owner = value.owner
        point = ir.InsertionPoint.at_block_begin(owner) if isinstance(owner, ir.Block) \
            else ir.InsertionPoint.after(owner.operation)
        loc = owner.owner.location if isinstance(owner, ir.Block) else owner.operation.location
        created: list[ir.Operation] = []
        with point:
            if layouts:
                for name, attr in fields.items():
                    if name not in layouts[0].attributes:
                        layouts[0].attributes[name] = attr  # a user's choice is kept, except:
                if space == MemSpace.Hbm and "mem_space" in layouts[0].attributes:
                    layouts[0].attributes["mem_space"] = fields["mem_space"]  # an Sbuf that cannot fit
            else:
                created.append(ir.Operation.create("nkipy.layout", operands=[value], attributes=fields, loc=loc))
            if entry.tile and not self._user(value, "nkipy.tile_op"):
                tile_attr = ir.DenseI64ArrayAttr.get(list(entry.tile))
                created.append(ir.Operation.create("nkipy.tile_op", operands=[value],
                                                   attributes={"loop_tile_size": tile_attr}, loc=loc))
        for op in created:
            op.verify()
