"""Pass `linalg-to-nisa` (stage 26): lower the final memref/linalg IR to `nisa` instructions.

The input is what the pipeline leaves after bufferization and layout legalization:
`memref.alloc` buffers in HBM/SBUF/PSUM (integer memory spaces), `memref.copy`
between them, `linalg.fill`, named and generic linalg ops on SBUF/PSUM tiles
(views through subview/collapse_shape/expand_shape/reinterpret_cast), the
transposed-A `linalg.matmul` and `linalg.transpose`, all inside `scf.for` tile
loops. Loops, index arithmetic and views are kept; every other op is replaced:

| input                                         | nisa                                                |
|-----------------------------------------------|-----------------------------------------------------|
| `memref.alloc` (Hbm/SharedHbm/Sbuf/Psum)      | `nisa.alloc` (same type, alignment kept)            |
| `memref.dealloc`                              | `nisa.release`                                      |
| `memref.copy` HBM<->SBUF, HBM<->HBM           | `nisa.dma_copy`                                     |
| `memref.copy` PSUM<->HBM                      | SBUF hop: alloc, tensor_copy + dma_copy, release    |
| `memref.copy` SBUF/PSUM<->SBUF/PSUM           | `nisa.tensor_copy`                                  |
| `linalg.fill` on SBUF/PSUM                    | `nisa.memset`                                       |
| `linalg.add/sub/mul/div/max/min/powf`         | `nisa.tensor_tensor_arith`                          |
| `linalg.exp/log/tanh/sqrt/rsqrt/abs/erf/square`| `nisa.activation`                                  |
| `linalg.reciprocal` / `linalg.negf`           | `nisa.reciprocal` / `tensor_scalar_arith` (x * -1)  |
| parallel `linalg.generic`                     | one instruction per body op: tile (+) tile ->       |
|                                               | tensor_tensor_arith; tile (+) scalar constant or    |
|                                               | [P,1] broadcast -> tensor_scalar_arith (reverse0    |
|                                               | when the scalar is the lhs of a non-commutative op);|
|                                               | math.* -> activation; `divf(1.0, x)` -> reciprocal; |
|                                               | cmpf -> ALU compare; select -> select (a constant   |
|                                               | or [P,1] branch memset/broadcast into a tile first),|
|                                               | select of two constants -> tensor_scalar p*(a-b)+b; |
|                                               | extf and a final truncf -> nothing (read in fp32 /  |
|                                               | rounded on write), other casts -> tensor_copy;      |
|                                               | intermediates in SBUF temporaries released after    |
|                                               | their last use ([P,1] ones for ops on [P,1] inputs) |
|                                               | spelled-out sigmoid / SiLU chains -> one activation |
|                                               | sigmoid / silu (`nisa_lowering_idioms.py`); f(x+b), |
|                                               | f(x-b) of a [P,1] b -> one activation with bias     |
| reduction `linalg.generic` (trailing axes)    | tensor_reduce_arith into a temp + tensor_tensor     |
|                                               | combine into the init (accumulates across tiles)    |
|                                               | fp32 row sum of an activation's tile -> one         |
|                                               | activation_reduce (`nisa_lowering_activation_reduce`)|
| reduction over the partition axis alone       | cross_partition_reduce + combine                    |
| generic over [1, P, F] tiles (unit iter dims) | the same rows on collapse_shape views without them  |
| [P, 1, F] operand of a [P, H, F] generic      | tensor_tensor_arith reading it with a zero stride   |
|                                               | along H (a broadcast access pattern)                |
| 1-D operand of a 2-D generic ([n] SBUF = n    | [P] read per row: [P, 1] tensor_scalar broadcast;   |
| partitions x 1)                               | [F] read along the free axis: PE transpose to a     |
|                                               | [1, F] row, then the row broadcast above            |
| transposed-A `linalg.matmul` SBUF x SBUF->PSUM| `nisa.matmul`; accumulate = false on the first K    |
|                                               | tile when PSUM is not initialised otherwise (the K  |
|                                               | loop is peeled: a one-trip clone + the rest)        |
| `memref.copy` S -> PSUM accumulator where S is| `nisa.memset 0` (dropped for the accumulate flag    |
| only written by storing that accumulator back | when the K loop follows): never read unwritten SBUF |
| `linalg.transpose` HBM -> SBUF (SBUF -> SBUF  | `nisa.dma_transpose`                                |
| beyond 128 x 128)                             |                                                     |
| `linalg.transpose` SBUF -> SBUF <= 128 x 128  | `nisa.transpose` into PSUM + `tensor_copy` back     |
| `linalg.transpose` SBUF -> PSUM (2-D)         | `nisa.transpose` (PE array)                         |
| `func.call` of a `CustomOp` declaration       | its NISA body, inlined (`nisa_lowering_custom.py`)  |
| gather generic (`memref.load` of an HBM table | `nisa.dma_copy_indirect` (`nisa_lowering_gather.py`)|
| row by an SBUF [P, 1] index column)           |                                                     |

Then peepholes on the lowered instructions (hand-written bodies are left as written):
copy elision, loop-invariant loads, constant-scale and row-sum folds, row max/min
taken by the copies that fill the row (`nisa_lowering_copy_reduce.py`), engine
balancing, software pipelining (`nisa_lowering_pipeline.py`) and lagged fusion of a
block-reading consumer loop into its producer (`nisa_lowering_lag_fusion.py`).

The module gets `nisa.target = "<target>"`. Every created instruction is verified
against the target's hardware rules when created; a failure, and any op the pass
has no row for, is a PassError located at the user's source line. The reference
backend leaves ops it cannot lower in place and lets the NKI emitter fail later;
here nothing is left behind silently.

    %t = memref.alloc() : memref<128x256xf32, 3 : i32>
    memref.copy %sv, %t : memref<128x256xf32, strided<[?, ?], offset: ?>, 4 : i32> to memref<128x256xf32, 3 : i32>
    %o = memref.alloc() : memref<128x256xf32, 3 : i32>
    linalg.exp ins(%t : memref<128x256xf32, 3 : i32>) outs(%o : memref<128x256xf32, 3 : i32>)
    memref.dealloc %t : memref<128x256xf32, 3 : i32>

becomes

    %t = "nisa.alloc"() : () -> memref<128x256xf32, 3 : i32>
    "nisa.dma_copy"(%t, %sv) : (memref<128x256xf32, 3 : i32>, memref<128x256xf32, strided<...>, 4 : i32>) -> ()
    %o = "nisa.alloc"() : () -> memref<128x256xf32, 3 : i32>
    "nisa.activation"(%o, %t) {op = "exp", operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (...) -> ()
    "nisa.release"(%t) : (memref<128x256xf32, 3 : i32>) -> ()
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.nisa_lowering_accumulate import first_k_tile_overwrites
from nkipy_kg.passes.nisa_lowering_activation_reduce import fold_reductions_into_activations
from nkipy_kg.passes.nisa_lowering_copy_elision import elide_copies
from nkipy_kg.passes.nisa_lowering_copy_reduce import take_reductions_from_copies
from nkipy_kg.passes.nisa_lowering_engines import balance_engines
from nkipy_kg.passes.nisa_lowering_lag_fusion import fuse_lagged_consumers
from nkipy_kg.passes.nisa_lowering_pipeline import pipeline_loops
from nkipy_kg.passes.nisa_lowering_licm import hoist_invariant_loads
from nkipy_kg.passes.nisa_lowering_scale_fold import fold_scales_into_readers
from nkipy_kg.passes.nisa_lowering_common import PASS_NAME, VIEW_OPS, error
from nkipy_kg.passes.nisa_lowering_custom import inline_custom_ops
from nkipy_kg.passes.nisa_lowering_gather import is_gather, lower_gather_generic
from nkipy_kg.passes.nisa_lowering_compute import lower_matmul, lower_named, lower_reduction
from nkipy_kg.passes.nisa_lowering_elementwise import lower_elementwise_generic
from nkipy_kg.passes.nisa_lowering_reduce_prefix import split_prefix
from nkipy_kg.passes.nisa_lowering_memory import (
    lower_alloc, lower_copy, lower_dealloc, lower_fill, lower_transpose,
)
from nkipy_kg.passes.common import NAMED_BINARY, NAMED_UNARY, iterator_types
from nkipy_kg.passes.nisa_lowering_uninit import drop_copies_of_unwritten
from nkipy_kg.passes.nisa_lowering_unitdims import drop_unit_iteration_dims, expand_vector_operands, lift_rank1
from nkipy_kg.passes.registry import python_pass
from nkipy_kg.targets import DEFAULT_TARGET, get_target

# Ops that stay: control flow, index/scalar arithmetic, views, functions.
KEEP_DIALECTS = ("scf.", "arith.", "func.", "builtin.", "nisa.", "math.")
KEEP_OPS = VIEW_OPS | {"memref.dim", "linalg.yield"}


@python_pass(PASS_NAME, "lower memref/linalg tiles to nisa instructions", target=DEFAULT_TARGET)
def linalg_to_nisa(module_op: ir.Operation, target: str = DEFAULT_TARGET) -> None:
    with module_op.context, module_op.location:
        _run(module_op, target)


def _run(module_op: ir.Operation, target: str) -> None:
    get_target(target)  # unknown target names fail before any rewrite
    module_op.attributes["nisa.target"] = ir.StringAttr.get(target)
    # Allocations first, so every instruction created later sees nisa.alloc roots.
    for op in collect(module_op, lambda o: o.name == "memref.alloc"):
        lower_alloc(op)
    inline_custom_ops(module_op)  # hand-written NISA bodies: nothing in them is lowered again
    handwritten = collect(module_op, lambda o: o.name.startswith("nisa.") and o.name != "nisa.alloc")
    zero_fills = drop_copies_of_unwritten(module_op)  # before the copies are lowered
    matmuls: list[ir.Operation] = []
    for op in collect(module_op, _is_compute):
        if op.name == "linalg.matmul":
            matmuls.append(lower_matmul(op))
        else:
            _lower_one(op)
    for op in collect(module_op, lambda o: o.name == "memref.dealloc"):
        lower_dealloc(op)
    first_k_tile_overwrites(matmuls, zero_fills)
    # Peepholes on the lowered instructions only: a hand-written body runs as written.
    elide_copies(module_op, skip=handwritten)
    hoist_invariant_loads(module_op, skip=handwritten)
    fold_scales_into_readers(module_op, skip=handwritten)
    fold_reductions_into_activations(module_op, skip=handwritten)
    take_reductions_from_copies(module_op, skip=handwritten)
    balance_engines(module_op, get_target(target), skip=handwritten)
    pipeline_loops(module_op, get_target(target), skip=handwritten)
    fuse_lagged_consumers(module_op, get_target(target), skip=handwritten)
    drop_empty_loops(module_op)
    for op in collect(module_op, _left_over):
        raise error(op, f"no nisa lowering for '{op.name}'")


def drop_empty_loops(module_op: ir.Operation) -> None:
    """Erase `scf.for`s left with views and index arithmetic only (a copy elision or a
    hoisted load can take a loop's last instruction): they compute nothing."""
    for loop in reversed(collect(module_op, lambda o: o.name == "scf.for" and len(o.operands) == 3)):
        if not collect(loop, lambda o: o.name.startswith("nisa.") or o.name.startswith("func.")):
            loop.erase()


def _is_compute(op: ir.Operation) -> bool:
    return op.name.startswith("linalg.") and op.name != "linalg.yield" and not _inside_linalg(op) \
        or op.name == "memref.copy"


def _inside_linalg(op: ir.Operation) -> bool:
    parent = op.parent
    return parent is not None and parent.name.startswith("linalg.")


def _lower_generic(op: ir.Operation) -> None:
    drop_unit_iteration_dims(op)  # [1, P, F] tiles of batch-leading buffers -> [P, F]
    expand_vector_operands(op)    # 1-D [F] / [P] operands -> [1, F] / [P, 1] views
    lift_rank1(op)                # generics over one dim -> [n, 1]
    if is_gather(op):             # rows of an HBM table by an index column
        lower_gather_generic(op)
    elif any(t == "reduction" for t in iterator_types(op)):
        split = split_prefix(op)  # sum(f(x)): f into an SBUF tile, then the reduction
        if split is None:
            lower_reduction(op)
        else:
            lower_elementwise_generic(split[0])
            lower_reduction(split[1])
    else:
        lower_elementwise_generic(op)


# The rewrite table: op name -> lowering (allocs and deallocs run in their own sweeps).
RULES = {
    "memref.copy": lower_copy,            # DMA / tensor_copy / PSUM<->HBM through SBUF
    "linalg.fill": lower_fill,            # SBUF/PSUM -> memset
    "linalg.transpose": lower_transpose,  # HBM/SBUF -> dma_transpose; SBUF -> PSUM on the PE
    "linalg.generic": _lower_generic,     # one instruction per body op / reduce + combine
    **{name: lower_named for name in NAMED_UNARY | NAMED_BINARY},  # named elementwise ops
}


def _lower_one(op: ir.Operation) -> None:
    rule = RULES.get(op.name)
    if rule is None:
        raise error(op, f"no nisa lowering for '{op.name}'")
    rule(op)


def _left_over(op: ir.Operation) -> bool:
    name = op.name
    if name in KEEP_OPS or name.startswith(KEEP_DIALECTS):
        return False
    return not _inside_linalg(op)
