"""The executable definition of the NISA instructions: one `@impl(OpClass)` each.

An impl gets the decoded instruction (`Instr`: attributes, location) and its
operands resolved to `Tile`s (NumPy views into SBUF/PSUM/HBM) or Python floats
(f32 scalars), in IR operand order. It reads with `read` (`tile_io.py`; it rejects
uninitialised memory) and writes with `write` (which rounds to the destination
dtype, e.g. fp32 -> bf16 round-to-nearest-even, and marks the memory written).
Float math is fp32 (neuroncore-model.md §1.4); matmul accumulates in fp32.

Hardware rules checked here (as located `SimError`s): compute engines reach an
n-partition operand only from partition 0 (n > 64), 0/64 (n > 32) or a multiple of
32; a matmul may not accumulate onto PSUM that a non-matmul instruction wrote last.
The partition check applies to partition-major views (dim-0 stride = the buffer's
partition stride); a `reinterpret_cast` whose dim 0 walks the free bytes is not a
hardware access pattern, and the simulator runs it as flat memory without a check.
Activations with a limited valid input range (sin, arctan, log) give NaN outside
it instead of NumPy's exact value (`activation_funcs.py`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nkipy_kg.dialects import nisa
from nkipy_kg.dialects.nisa_base import BITVEC_OPS
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.errors import SimError
from nkipy_kg.sim.activation_funcs import activate
from nkipy_kg.sim.instr import Instr
from nkipy_kg.sim.memory import Tile
from nkipy_kg.sim.tile_io import F32, ON_CHIP, check_partitions, f32, matmul_written, read, scalar, write

IMPLS: dict[type, Callable[[Instr, list], None]] = {}


def impl(op_class: type) -> Callable:
    def register(fn: Callable[[Instr, list], None]) -> Callable[[Instr, list], None]:
        def checked(ins: Instr, ops: list) -> None:
            if ins.engine != "DMA":
                for t in ops:
                    if t.__class__ is Tile and t.buf.space in ON_CHIP:
                        check_partitions(ins, t)
            fn(ins, ops)
        IMPLS[op_class] = checked
        return fn
    return register


def _shift_right(a, b):
    if a.dtype.kind == "i":  # logical shift: there is no arithmetic right shift (§2.2)
        u = a.view(a.dtype.str.replace("i", "u"))
        return np.right_shift(u, b.astype(u.dtype)).view(a.dtype)
    return np.right_shift(a, b)


ALU: dict[str, Callable] = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "max": np.maximum, "min": np.minimum, "power": np.power, "mod": np.mod,
    "abs_max": lambda a, b: np.maximum(np.abs(a), np.abs(b)),
    "abs_min": lambda a, b: np.minimum(np.abs(a), np.abs(b)),
    "is_equal": lambda a, b: (a == b).astype(F32), "not_equal": lambda a, b: (a != b).astype(F32),
    "is_gt": lambda a, b: (a > b).astype(F32), "is_ge": lambda a, b: (a >= b).astype(F32),
    "is_lt": lambda a, b: (a < b).astype(F32), "is_le": lambda a, b: (a <= b).astype(F32),
    "logical_and": lambda a, b: ((a != 0) & (b != 0)).astype(F32),
    "logical_or": lambda a, b: ((a != 0) | (b != 0)).astype(F32),
    "logical_xor": lambda a, b: ((a != 0) ^ (b != 0)).astype(F32),
    "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
    "left_shift": np.left_shift, "right_shift": _shift_right,
}


def alu(op: str, a, b):
    """Float ops in fp32; bitvec ops on the raw integers (§2.2)."""
    if op in BITVEC_OPS:
        return ALU[op](np.asarray(a), np.asarray(b))
    a = f32(a) if isinstance(a, np.ndarray) else np.float32(a)
    b = f32(b) if isinstance(b, np.ndarray) else np.float32(b)
    return ALU[op](a, b)  # FP warnings are off for the run (interpreter.py)


def _reduce_subtract(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """x0 - x1 - x2 - ... over the trailing `axis` (flattened in row-major order)."""
    flat = x.reshape(*x.shape[: x.ndim - len(axis)], -1)
    return flat[..., 0] - flat[..., 1:].sum(axis=-1)


REDUCERS: dict[str, Callable] = {
    "add": np.add.reduce, "multiply": np.multiply.reduce, "max": np.maximum.reduce,
    "min": np.minimum.reduce, "bitwise_and": np.bitwise_and.reduce, "bitwise_or": np.bitwise_or.reduce,
    "bitwise_xor": np.bitwise_xor.reduce,
    "subtract": lambda x, axis: _reduce_subtract(x, axis),
    "logical_and": lambda x, axis: np.logical_and.reduce(x != 0, axis=axis).astype(F32),
    "logical_or": lambda x, axis: np.logical_or.reduce(x != 0, axis=axis).astype(F32),
    "logical_xor": lambda x, axis: np.logical_xor.reduce(x != 0, axis=axis).astype(F32),
}


@impl(nisa.DmaCopyOp)
def _dma_copy(ins: Instr, ops: list) -> None:
    dst, src = ops
    data = read(ins, src, "src")
    if data.dtype != dst.arr.dtype:
        data = f32(data)  # a casting DMA goes src -> fp32 -> dst (§1.4)
    write(dst, data.reshape(dst.arr.shape))


@impl(nisa.DmaTransposeOp)
def _dma_transpose(ins: Instr, ops: list) -> None:
    dst, src = ops
    write(dst, np.transpose(read(ins, src, "src"), ins.attrs["permutation"]))


@impl(nisa.DmaCopyIndirectOp)
def _dma_copy_indirect(ins: Instr, ops: list) -> None:
    dst, src, index = ops
    idx = read(ins, index, "index")[:, 0].astype(np.int64)
    rows = src.arr.shape[0]
    bad = (idx < 0) | (idx >= rows)
    if bad.any() and ins.attrs.get("oob_is_err", True):
        raise SimError(f"{ins.name}: index {int(idx[bad][0])} is outside src rows [0, {rows})", ins.loc)
    keep = ~bad
    gathered = read(ins, src, "src")[idx[keep]]
    if keep.all():
        write(dst, gathered)
        return
    dst.arr[keep] = gathered
    if dst.mask is not None:
        dst.mask[keep] = True


@impl(nisa.MatmulOp)
def _matmul(ins: Instr, ops: list) -> None:
    dst, stat, mov = ops
    product = f32(read(ins, stat, "stationary")).T @ f32(read(ins, mov, "moving"))
    if ins.attrs.get("accumulate", False):
        acc = read(ins, dst, "dst (accumulate)")
        if not matmul_written(dst).all():
            raise SimError(f"{ins.name} accumulates onto PSUM of {dst.buf.name} that a non-matmul instruction "
                           "wrote last; that is undefined on NC-v2/v3", ins.loc,
                           hint="start the accumulation group with accumulate = false instead of a memset")
        product = acc + product
    write(dst, product, by_matmul=True)
    if dst.buf.space is not MemSpace.Psum:  # write() only flags PSUM; keep the flags of any dst
        matmul_written(dst)[...] = 1


@impl(nisa.TransposeOp)
def _transpose(ins: Instr, ops: list) -> None:
    dst, src = ops
    write(dst, read(ins, src, "src").T)


@impl(nisa.TensorTensorArithOp)
def _tensor_tensor(ins: Instr, ops: list) -> None:
    dst, lhs, rhs = ops
    write(dst, alu(ins.attrs["op"], read(ins, lhs, "lhs"), read(ins, rhs, "rhs")))


def _first_op(ins: Instr, src, operand0) -> tuple[np.ndarray, np.ndarray]:
    """(src data, `src <op0> operand0` in fp32), reversed with `reverse0`."""
    data = read(ins, src, "src")
    s0 = scalar(ins, operand0, data.ndim, "operand0")
    return data, alu(ins.attrs["op0"], s0, data) if ins.attrs.get("reverse0") else alu(ins.attrs["op0"], data, s0)


@impl(nisa.TensorScalarArithOp)
def _tensor_scalar(ins: Instr, ops: list) -> None:
    dst, src, operand0, operand1 = ops
    data, out = _first_op(ins, src, operand0)
    if ins.attrs.get("op1") is not None:
        s1 = scalar(ins, operand1, data.ndim, "operand1")
        out = alu(ins.attrs["op1"], s1, out) if ins.attrs.get("reverse1") else alu(ins.attrs["op1"], out, s1)
    write(dst, out)


@impl(nisa.TensorScalarReduceOp)
def _tensor_scalar_reduce(ins: Instr, ops: list) -> None:
    dst, src, operand0, reduce_res = ops
    write(dst, _first_op(ins, src, operand0)[1])
    values = f32(dst.arr).reshape(dst.arr.shape[0], -1)  # the values written (NCM §2.1: reduce_op(dst))
    write(reduce_res, REDUCERS[ins.attrs["reduce_op"]](values, axis=(1,)).reshape(-1, 1))


@impl(nisa.ActivationOp)
def _activation(ins: Instr, ops: list) -> None:
    dst, src, bias, scale = ops
    write(dst, _activated(ins, src, bias, scale))


def _activated(ins: Instr, src, bias, scale) -> np.ndarray:
    """op(src * scale + bias) in fp32."""
    x = f32(read(ins, src, "src"))
    scale_v = scalar(ins, scale, x.ndim, "scale")
    bias_v = scalar(ins, bias, x.ndim, "bias")
    if scale_v is not None:
        x = x * np.float32(scale_v) if isinstance(scale_v, float) else x * scale_v
    if bias_v is not None:
        x = x + np.float32(bias_v) if isinstance(bias_v, float) else x + bias_v
    return activate(ins.attrs["op"], x)


@impl(nisa.ActivationReduceOp)
def _activation_reduce(ins: Instr, ops: list) -> None:
    dst, src, reduce_res, bias, scale = ops
    y = _activated(ins, src, bias, scale)
    write(dst, y)
    write(reduce_res, np.sum(y.reshape(y.shape[0], -1), axis=1, keepdims=True))  # the fp32 values


@impl(nisa.ReciprocalOp)
def _reciprocal(ins: Instr, ops: list) -> None:
    dst, src = ops
    write(dst, np.float32(1.0) / f32(read(ins, src, "src")))


@impl(nisa.TensorReduceArithOp)
def _tensor_reduce(ins: Instr, ops: list) -> None:
    dst, src = ops
    data = read(ins, src, "src")
    if ins.attrs["op"] not in BITVEC_OPS:
        data = f32(data)
    r = ins.attrs.get("num_r_dim", 1)
    out = REDUCERS[ins.attrs["op"]](data, axis=tuple(range(data.ndim - r, data.ndim)))
    if ins.attrs.get("negate"):
        out = -out
    write(dst, np.reshape(out, dst.arr.shape))


@impl(nisa.CrossPartitionReduceOp)
def _cross_partition_reduce(ins: Instr, ops: list) -> None:
    dst, src = ops
    data = read(ins, src, "src")
    op = ins.attrs["op"]
    if op == "average":
        write(dst, np.mean(f32(data), axis=0, keepdims=True))
        return
    data = data if op.startswith("bitwise") else f32(data)
    write(dst, REDUCERS[op](data, axis=0, keepdims=True))


@impl(nisa.TensorCopyOp)
def _tensor_copy(ins: Instr, ops: list) -> None:
    dst, src = ops
    data = read(ins, src, "src")
    write(dst, data if data.dtype == dst.arr.dtype else f32(data))  # bit-exact if same dtype


@impl(nisa.MemsetOp)
def _memset(ins: Instr, ops: list) -> None:
    write(ops[0], ins.attrs["value"])


@impl(nisa.IotaOp)
def _iota(ins: Instr, ops: list) -> None:
    dst = ops[0]
    shape = dst.arr.shape
    grids = np.indices(shape, dtype=np.int32)
    value = np.int32(ins.attrs.get("offset", 0)) + grids[0] * np.int32(ins.attrs.get("channel_multiplier", 0))
    for axis, step in enumerate(ins.attrs["steps"], start=1):
        value = value + grids[axis] * np.int32(step)
    write(dst, value)


@impl(nisa.SelectOp)
def _select(ins: Instr, ops: list) -> None:
    dst, pred, on_true, on_false = ops
    cond = read(ins, pred, "pred") != 0
    write(dst, np.where(cond, f32(read(ins, on_true, "on_true")), f32(read(ins, on_false, "on_false"))))


def missing_impls() -> list[str]:
    """Names of nisa ops without an impl (alloc/release are handled by the interpreter)."""
    handled = set(IMPLS) | {nisa.AllocOp, nisa.ReleaseOp}
    return [cls.OPERATION_NAME for cls in nisa.ALL_OPS if cls not in handled]
