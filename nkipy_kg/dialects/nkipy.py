"""The `nkipy` dialect: side annotations that carry the user's knobs through the pipeline.

None of these ops computes anything except `nkipy.gather`; the others take the
annotated SSA value as an operand and have no results, so they never change a
kernel's meaning. They print in generic form (Python-defined ops have no custom
syntax):

    "nkipy.tile_op"(%3) {loop_tile_size = array<i64: 128, 128, 128>} : (tensor<256x512xf32>) -> ()
    "nkipy.layout"(%3) {mem_space = 3 : i32, partition_dim = 0 : ui32,
                        tile_size = array<i64: 128, 128>} : (tensor<256x512xf32>) -> ()
    "nkipy.fuse_op"(%4, %5) : (tensor<256x256xf32>, tensor<256x256xf32>) -> ()
    %r = "nkipy.gather"(%table, %idx, %init) : (tensor<512x64xf32>, tensor<8xi32>,
                                                 tensor<8x64xf32>) -> tensor<8x64xf32>

Optional attributes are checked by the Python verifiers below (the bindings'
IRDL declarations cannot express optional attributes).
"""

# No `from __future__ import annotations`: the ext dialect machinery reads field
# annotations as real types.
import enum
from collections.abc import Sequence

from nkipy_kg._mlir import ext, ir


class MemSpace(enum.IntEnum):
    """Memory spaces. 0 is unused on purpose: MLIR drops a zero memref memory space."""

    Hbm = 1
    Psum = 2
    Sbuf = 3
    SharedHbm = 4
    Constant = 5


class Nkipy(ext.Dialect, name="nkipy"):
    pass


def _i64_array(op: ir.OpView, name: str) -> list[int] | None:
    if name not in op.attributes:
        return None
    attr = op.attributes[name]
    if not isinstance(attr, ir.DenseI64ArrayAttr):
        return None
    return list(attr)


def _fail(op: ir.OpView, message: str) -> bool:
    op.location.emit_error(f"'{op.OPERATION_NAME}' op {message}")
    return False


def _rank(value: ir.Value) -> int:
    return ir.ShapedType(value.type).rank


class TileOp(Nkipy.Operation, name="tile_op"):
    """Loop tile sizes for the linalg op producing `target`, one per iterator in order.

    Elementwise: one per output dim; reduction: one per input dim; matmul: [M, N, K].
    Attribute: `loop_tile_size: array<i64>` (every entry > 0).
    """

    target: ext.Operand[ir.RankedTensorType | ir.MemRefType]

    def verify_invariants(self) -> bool:
        sizes = _i64_array(self, "loop_tile_size")
        if sizes is None:
            return _fail(self, "requires a 'loop_tile_size' array<i64> attribute")
        if not sizes or any(s <= 0 for s in sizes):
            return _fail(self, f"loop_tile_size entries must be positive, got {sizes}")
        return True


class LayoutOp(Nkipy.Operation, name="layout"):
    """Placement of `target`: memory space, partition dim and value-shape tile.

    Optional attributes: `mem_space: i32` (a MemSpace), `partition_dim: ui32`
    (< rank), `tile_size: array<i64>` (rank entries, each > 0).
    """

    target: ext.Operand[ir.RankedTensorType | ir.MemRefType]

    def verify_invariants(self) -> bool:
        attrs = self.attributes
        rank = _rank(self.operands[0])
        if "mem_space" in attrs:
            space = ir.IntegerAttr(attrs["mem_space"]).value
            if space not in {m.value for m in MemSpace}:
                names = ", ".join(f"{m.name}={m.value}" for m in MemSpace)
                return _fail(self, f"mem_space {space} is not one of {names}")
        if "partition_dim" in attrs:
            pdim = ir.IntegerAttr(attrs["partition_dim"]).value
            if not 0 <= pdim < rank:
                return _fail(self, f"partition_dim {pdim} is out of range for rank {rank}")
        sizes = _i64_array(self, "tile_size")
        if "tile_size" in attrs and sizes is None:
            return _fail(self, "tile_size must be an array<i64>")
        if sizes is not None and len(sizes) != rank:
            return _fail(self, f"tile_size has {len(sizes)} entries, the value has rank {rank}")
        if sizes is not None and any(s <= 0 for s in sizes):
            return _fail(self, f"tile_size entries must be positive, got {sizes}")
        return True


class FuseOp(Nkipy.Operation, name="fuse_op"):
    """Fuse the (tiled) loops producing `targets` into one loop nest.

    IRDL binds one type for all operands of a variadic, so `knob.fuse` of tensors
    of different types emits one fuse_op per type, all with the same optional
    `group: i64`; knob-driven-fusion fuses a group's targets together:

        "nkipy.fuse_op"(%s, %e) {group = 0 : i64} : (tensor<2x256x256xf32>, tensor<2x256x256xf32>) -> ()
        "nkipy.fuse_op"(%m) {group = 0 : i64} : (tensor<2x256x1xf32>) -> ()
    """

    targets: Sequence[ext.Operand[ir.RankedTensorType | ir.MemRefType]]

    def verify_invariants(self) -> bool:
        if "group" in self.attributes and not isinstance(self.attributes["group"], ir.IntegerAttr):
            return _fail(self, "group must be an integer attribute")
        if len(self.operands) < (1 if "group" in self.attributes else 2):
            return _fail(self, "requires at least 2 target tensors to fuse")
        return True


class GatherOp(Nkipy.Operation, name="gather"):
    """`result[i, ...] = source[indices[i], ...]` along axis 0 (destination-passing).

    `indices` is a rank-1 integer tensor, `output` the init with shape
    [len(indices)] + source.shape[1:].
    """

    source: ext.Operand[ir.RankedTensorType | ir.MemRefType]
    indices: ext.Operand[ir.RankedTensorType | ir.MemRefType]
    output: ext.Operand[ir.RankedTensorType | ir.MemRefType]
    result: ext.Result[ir.RankedTensorType]

    def verify_invariants(self) -> bool:
        src, idx, out = (ir.ShapedType(v.type) for v in self.operands)
        if idx.rank != 1 or not isinstance(idx.element_type, ir.IntegerType):
            return _fail(self, "indices must be a rank-1 integer tensor")
        expected = [idx.shape[0], *src.shape[1:]]
        if list(out.shape) != expected:
            return _fail(self, f"output shape {list(out.shape)} must be {expected}")
        if out.element_type != src.element_type:
            return _fail(self, "output and source element types differ")
        return True


def mem_space_attr(space: MemSpace) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(32), int(space))


def partition_dim_attr(pdim: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_unsigned(32), pdim)
