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
|                                               | math.* -> activation; casts -> tensor_copy;         |
|                                               | intermediates in SBUF temporaries                   |
| reduction `linalg.generic` (trailing axes)    | tensor_reduce_arith into a temp + tensor_tensor     |
|                                               | combine into the init (accumulates across tiles)    |
| reduction over the partition axis alone       | cross_partition_reduce + combine                    |
| transposed-A `linalg.matmul` SBUF x SBUF->PSUM| `nisa.matmul`; accumulate = false on the first K    |
|                                               | tile when PSUM is not initialised otherwise (the K  |
|                                               | loop is peeled: a one-trip clone + the rest)        |
| `linalg.transpose` HBM/SBUF -> SBUF           | `nisa.dma_transpose`                                |
| `linalg.transpose` SBUF -> PSUM (2-D)         | `nisa.transpose` (PE array)                         |
| `nkipy.gather` (memref, HBM src, SBUF [N,1])  | `nisa.dma_copy_indirect`                            |

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
from nkipy_kg.passes.nisa_lowering_common import PASS_NAME, VIEW_OPS, error, root
from nkipy_kg.passes.nisa_lowering_compute import (
    lower_elementwise_generic, lower_matmul, lower_named, lower_reduction,
)
from nkipy_kg.passes.nisa_lowering_memory import (
    lower_alloc, lower_copy, lower_dealloc, lower_fill, lower_gather, lower_transpose,
)
from nkipy_kg.passes.common import NAMED_BINARY, NAMED_UNARY, iterator_types
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
    matmuls: list[ir.Operation] = []
    for op in collect(module_op, _is_compute):
        if op.name == "linalg.matmul":
            matmuls.append(lower_matmul(op))
        else:
            _lower_one(op)
    for op in collect(module_op, lambda o: o.name == "memref.dealloc"):
        lower_dealloc(op)
    _first_k_tile_overwrites(matmuls)
    for op in collect(module_op, _left_over):
        raise error(op, f"no nisa lowering for '{op.name}'")


def _is_compute(op: ir.Operation) -> bool:
    return op.name.startswith("linalg.") and op.name != "linalg.yield" and not _inside_linalg(op) \
        or op.name in ("memref.copy", "nkipy.gather")


def _inside_linalg(op: ir.Operation) -> bool:
    parent = op.parent
    return parent is not None and parent.name.startswith("linalg.")


def _lower_generic(op: ir.Operation) -> None:
    if any(t == "reduction" for t in iterator_types(op)):
        lower_reduction(op)
    else:
        lower_elementwise_generic(op)


# The rewrite table: op name -> lowering (allocs and deallocs run in their own sweeps).
RULES = {
    "memref.copy": lower_copy,            # DMA / tensor_copy / PSUM<->HBM through SBUF
    "linalg.fill": lower_fill,            # SBUF/PSUM -> memset
    "linalg.transpose": lower_transpose,  # HBM/SBUF -> dma_transpose; SBUF -> PSUM on the PE
    "nkipy.gather": lower_gather,         # HBM rows by an SBUF index tile -> dma_copy_indirect
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


# --- matmul accumulation -------------------------------------------------------

def _writers(buffer: ir.Value) -> list[ir.Operation]:
    """nisa instructions writing (operand 0) into `buffer` or a view of it."""
    found, stack = [], [buffer]
    while stack:
        value = stack.pop()
        for use in value.uses:
            owner = use.owner
            owner = owner.operation if hasattr(owner, "operation") else owner
            if owner.name in VIEW_OPS and use.operand_number == 0:
                stack.append(owner.results[0])
            elif owner.name.startswith("nisa.") and owner.name != "nisa.release" and use.operand_number == 0:
                found.append(owner)
    return found


def _first_k_tile_overwrites(matmuls: list[ir.Operation]) -> None:
    """linalg.matmul accumulates into C; when nothing but matmuls writes C's PSUM
    buffer (the zero fill was removed upstream), the first K tile must overwrite."""
    by_root: dict = {}
    for mm in matmuls:
        by_root.setdefault(root(mm.operands[0]), []).append(mm)
    for buffer, mms in by_root.items():
        writers = _writers(buffer)
        if any(w.name != "nisa.matmul" for w in writers):
            continue  # initialised by a copy/memset: every tile accumulates
        if len(writers) != 1:
            raise error(writers[0], "several matmuls accumulate into one uninitialised PSUM buffer; "
                                    "cannot choose the first K tile")
        mm = writers[0]
        loops = _loops_between(mm, buffer)
        if not loops:
            mm.attributes["accumulate"] = ir.BoolAttr.get(False)
        elif len(loops) == 1:
            _peel_first_iteration(loops[0], mm, buffer)
        else:
            raise error(mm, f"matmul accumulates across {len(loops)} loops into an uninitialised "
                            "PSUM buffer; expected one K loop")


def _loops_between(op: ir.Operation, buffer: ir.Value) -> list[ir.Operation]:
    owner_block = buffer.owner if isinstance(buffer, ir.BlockArgument) else buffer.owner.operation.block
    loops, parent = [], op.parent
    while parent is not None and parent.name != "func.func":
        if parent.name == "scf.for":
            loops.append(parent)
        if owner_block is not None and _block_contains(owner_block, parent):
            break
        parent = parent.parent
    return loops


def _block_contains(block: ir.Block, op: ir.Operation) -> bool:
    return op.block == block if op.block is not None else False


def _peel_first_iteration(loop: ir.Operation, mm: ir.Operation, buffer: ir.Value) -> None:
    """for k in [lb, ub): body  ->  for k in [lb, lb+step): body' ; for k in [lb+step, ub): body
    where body' is the clone whose matmul overwrites."""
    if len(loop.results):
        raise error(mm, "the K loop carries values; cannot peel its first iteration")
    lb, step = loop.operands[0], loop.operands[2]
    with ir.InsertionPoint(loop), loop.location:
        nxt = ir.Operation.create("arith.addi", results=[lb.type], operands=[lb, step]).results[0]
        first = loop.clone(ir.InsertionPoint(loop))
    first.operands[1] = nxt
    loop.operands[0] = nxt
    for clone_mm in collect(first, lambda o: o.name == "nisa.matmul"):
        if root(clone_mm.operands[0]) == buffer:
            clone_mm.attributes["accumulate"] = ir.BoolAttr.get(False)
