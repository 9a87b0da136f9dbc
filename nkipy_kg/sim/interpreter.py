"""The NISA interpreter: runs a `func.func` of nisa instructions, `scf.for`,
`arith` index math and memref views on a simulated NeuronCore.

The function is decoded once into Python closures over a flat value array
(`vals[slot]`), so executing an instruction inside a loop costs one closure call
plus its NumPy work; loops run iteration by iteration. Listeners (the cost
model) get `on_instruction(instr, operands)` after every instruction. A decoded
interpreter runs any number of times (each run starts from empty SBUF/PSUM), so a
device decodes a kernel once, like loading it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg._mlir import ir
from nkipy_kg.dialects import nisa
from nkipy_kg.dialects.nisa_base import mem_space
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.errors import SimError, source_loc_from_mlir
from nkipy_kg.sim.impls import IMPLS
from nkipy_kg.sim.instr import Instr
from nkipy_kg.sim.memory import OnChipMemory, Tile, hand_over, hbm_buffer
from nkipy_kg.sim.scalar_ops import SCALAR_OPS
from nkipy_kg.sim.sim_args import ArgSpec, bind_arg
from nkipy_kg.sim.views import VIEW_OPS
from nkipy_kg.targets import Target, get_target

Step = Callable[[list], None]
_SKIP_ATTRS = {"operandSegmentSizes", "engine"}


class Listener(Protocol):
    def on_instruction(self, instr: Instr, operands: Sequence[Any]) -> None: ...


@dataclass
class SimResult:
    """Outputs (the function's return values), the argument arrays after the run
    (destination-passing outputs live there) and the listeners' results."""

    outputs: list[np.ndarray]
    args: list[np.ndarray]
    instructions: int = 0
    profile: Any = None
    sbuf_high_water: int = 0   # highest byte address used in a partition (SBUF)
    psum_high_water: int = 0   # highest byte address used in a partition (PSUM)


def _attr_value(attr: ir.Attribute) -> Any:
    for kind, get in ((ir.BoolAttr, lambda a: ir.BoolAttr(a).value),
                      (ir.StringAttr, lambda a: ir.StringAttr(a).value),
                      (ir.IntegerAttr, lambda a: ir.IntegerAttr(a).value),
                      (ir.FloatAttr, lambda a: ir.FloatAttr(a).value),
                      (ir.DenseI64ArrayAttr, lambda a: list(ir.DenseI64ArrayAttr(a)))):
        if isinstance(attr, kind):
            return get(attr)
    if isinstance(attr, ir.UnitAttr):
        return True
    return str(attr)


def _operand_fields(cls: type) -> list[str]:
    return [name for name, hint in cls.__annotations__.items() if "Result" not in str(hint)]


def _roles(cls: type, attrs: dict) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(read positions, written positions) among the operand fields."""
    n = len(_operand_fields(cls))
    if cls is nisa.ReleaseOp:
        return (), ()
    if cls is nisa.ActivationReduceOp:  # dst, src, reduce_res, bias, scale
        return (1, 3, 4), (0, 2)
    if cls is nisa.TensorScalarReduceOp:  # dst, src, operand0, reduce_res
        return (1, 2), (0, 3)
    reads = tuple(range(1, n))
    if cls is nisa.MatmulOp and attrs.get("accumulate"):
        reads = (0, *reads)
    return reads, (0,)


class NisaInterpreter:
    """Executes one function of a NISA module on SBUF/PSUM/HBM of `target`."""

    def __init__(self, module: ir.Module, target: str | Target | None = None,
                 listeners: Sequence[Listener] = (), func_name: str | None = None,
                 execute: bool = True) -> None:
        self.module = module
        # execute=False: timing only. Loops, index math, views, allocation and the
        # listeners run as usual, but instruction semantics (the NumPy work) are
        # skipped, so a 550 GFLOP matmul can be costed in seconds; outputs are garbage.
        self.execute = execute
        try:
            self.target = get_target(target) if target is not None else nisa.module_target(module)
        except ValueError as exc:
            raise SimError(str(exc)) from None
        self.listeners = list(listeners)
        self.func = self._find_func(func_name)
        self.slots: dict[ir.Value, int] = {}
        self.instr_count = 0
        self.program: list[Instr] = []
        self.view_root: dict[int, int] = {}   # view slot -> the slot it (transitively) views
        self.written_roots: set[int] = set()  # root slots some instruction writes through
        with module.context:
            # One AsmState names every value like the printed module does; a bare
            # Value.get_name() builds a new one per call (milliseconds on big kernels).
            self._names = ir.AsmState(module.operation)
            self.arg_slots = [self._slot(a) for a in self.func.regions[0].blocks[0].arguments]
            self.arg_types = [a.type for a in self.func.regions[0].blocks[0].arguments]
            # (shape, dtype, memory space) of memref arguments, decoded once.
            self.arg_memrefs = {i: ArgSpec.of(ir.MemRefType(t))
                                for i, t in enumerate(self.arg_types) if isinstance(t, ir.MemRefType)}
            self.return_slots: list[int] = []
            self.body = self._block(self.func.regions[0].blocks[0])

    # -- decoding ---------------------------------------------------------------
    def _find_func(self, name: str | None) -> ir.Operation:
        for op in self.module.body.operations:
            if op.operation.name != "func.func":
                continue
            if name is None or ir.StringAttr(op.attributes["sym_name"]).value == name:
                return op.operation
        raise SimError(f"no function {'@' + name if name else ''} to simulate in the module")

    def _slot(self, value: ir.Value) -> int:
        if value not in self.slots:
            self.slots[value] = len(self.slots)
        return self.slots[value]

    def _block(self, block: ir.Block) -> list[Step]:
        return [step for op in block.operations if (step := self._decode(op.operation)) is not None]

    def _decode(self, op: ir.Operation) -> Step | None:
        name = op.name
        loc = source_loc_from_mlir(str(op.location))
        if name in nisa.OPS_BY_NAME:
            return self._instruction(op, nisa.OPS_BY_NAME[name], loc)
        if name == "scf.for":
            return self._for(op)
        if name in ("scf.yield", "func.return"):
            if name == "func.return":
                self.return_slots = [self._slot(v) for v in op.operands]
            return None
        if name in SCALAR_OPS:
            return SCALAR_OPS[name](op, self._slot, loc)
        if name in VIEW_OPS:
            # A view aliases its source: remember the root so writes through views count.
            src, out = self._slot(op.operands[0]), self._slot(op.results[0])
            self.view_root[out] = self.view_root.get(src, src)
            return VIEW_OPS[name](op, self._slot, loc)
        raise SimError(f"the simulator does not support '{name}'", loc,
                       hint="NISA functions may contain nisa ops, scf.for, arith and memref view ops")

    def _for(self, op: ir.Operation) -> Step:
        lb, ub, st = (self._slot(v) for v in list(op.operands)[:3])
        inits = [self._slot(v) for v in list(op.operands)[3:]]
        body_block = op.regions[0].blocks[0]
        iv = self._slot(body_block.arguments[0])
        carried = [self._slot(a) for a in list(body_block.arguments)[1:]]
        results = [self._slot(r) for r in op.results]
        for init, *aliases in zip(inits, carried, results):  # loop-carried memrefs alias their init
            for alias in aliases:
                self.view_root[alias] = self.view_root.get(init, init)
        body = self._block(body_block)
        yields = [self._slot(v) for v in body_block.operations[len(body_block.operations) - 1].operands]

        def run(vals: list) -> None:
            state = [vals[s] for s in inits]
            for i in range(vals[lb], vals[ub], vals[st]):
                vals[iv] = i
                for s, v in zip(carried, state):
                    vals[s] = v
                for f in body:
                    f(vals)
                state = [vals[s] for s in yields]
            for s, v in zip(results, state):
                vals[s] = v
        return run

    def _instruction(self, op: ir.Operation, cls: type, loc) -> Step:
        view = op.opview
        attrs = {n: _attr_value(op.attributes[n]) for n in op.attributes if n not in _SKIP_ATTRS}
        if cls is nisa.DmaTransposeOp:
            attrs["permutation"] = view.permutation()
        if cls is nisa.IotaOp:
            attrs["steps"] = view.steps()
        reads, writes = _roles(cls, attrs)
        ins = Instr(name=op.name, cls=cls, engine=nisa.engine_of(view), loc=loc, attrs=attrs,
                    reads=reads, writes=writes, index=len(self.program))
        self.program.append(ins)
        if cls is nisa.AllocOp:
            return self._alloc(op, ins)
        if cls is nisa.ReleaseOp:
            return self._release(op, ins)
        slots = [None if (v := getattr(view, f)) is None else self._slot(v) for f in _operand_fields(cls)]
        self.written_roots.update(self.view_root.get(slots[w], slots[w]) for w in writes if slots[w] is not None)
        fn = IMPLS[cls] if self.execute else None
        listeners = self.listeners

        dense = None not in slots  # the usual case: every operand is present

        def run(vals: list) -> None:
            ops = [vals[s] for s in slots] if dense else [None if s is None else vals[s] for s in slots]
            for t in ops:
                if t.__class__ is not Tile:
                    continue
                if t.buf.released:
                    raise SimError(f"{ins.name} uses buffer {t.buf.name} after its nisa.release", ins.loc)
                if t.buf.space is MemSpace.Psum:
                    self._check_bank(ins, t)
            if fn is not None:
                fn(ins, ops)
            self.instr_count += 1
            for listener in listeners:
                listener.on_instruction(ins, ops)
        return run

    def _check_bank(self, ins: Instr, t: Tile) -> None:
        """A PSUM operand may not cross a 2 KiB bank (neuroncore-model.md §1.3)."""
        bank = self.target.psum_bank_bytes
        _, _, _, c0, c1 = t.box()
        if c0 // bank != c1 // bank:
            raise SimError(f"{ins.name}: PSUM tile of {t.buf.name} spans bytes [{c0}, {c1}] of each "
                           f"partition, crossing a {bank} B bank boundary", ins.loc)

    def _alloc(self, op: ir.Operation, ins: Instr) -> Step:
        t = ir.MemRefType(op.results[0].type)
        space, shape = mem_space(t), tuple(t.shape)
        dtype = dtypes.from_mlir_type(t.element_type)
        out = self._slot(op.results[0])
        name = op.results[0].get_name(self._names)

        def run(vals: list) -> None:
            memory = self._memory(space)
            if memory is None:
                buf = hbm_buffer(np.zeros(shape, dtype), name, space, ins.loc, initialised=False)
            else:
                buf = memory.alloc(shape, dtype, name, ins.loc)
            vals[out] = Tile(buf, buf.data, buf.mask, 0)
        return run

    def _release(self, op: ir.Operation, ins: Instr) -> Step:
        src = self._slot(op.operands[0])

        def run(vals: list) -> None:
            tile = vals[src]
            if tile.buf.released:
                raise SimError(f"buffer {tile.buf.name} is released twice", ins.loc)
            memory = self._memory(tile.buf.space)
            if memory is not None:
                memory.release(tile.buf)
            tile.buf.released = True
        return run

    def _memory(self, space: MemSpace) -> OnChipMemory | None:
        return self.sbuf if space == MemSpace.Sbuf else self.psum if space == MemSpace.Psum else None

    # -- execution --------------------------------------------------------------
    def run(self, *arrays: Any, listeners: Sequence[Listener] | None = None) -> SimResult:
        """Run the function on copies of `arrays`; returns outputs and final args.
        `listeners` replaces the listeners for this run and the later ones."""
        if listeners is not None:
            self.listeners[:] = listeners  # in place: the decoded steps hold this list
        if len(arrays) != len(self.arg_slots):
            raise SimError(f"the function takes {len(self.arg_slots)} arguments, got {len(arrays)}")
        self.sbuf = OnChipMemory(MemSpace.Sbuf, self.target)
        self.psum = OnChipMemory(MemSpace.Psum, self.target)
        self.instr_count = 0
        vals: list = [None] * len(self.slots)
        args = []
        for i, (slot, t, value) in enumerate(zip(self.arg_slots, self.arg_types, arrays)):
            vals[slot] = bind_arg(i, self.arg_memrefs.get(i), value, copy=slot in self.written_roots)
            args.append(vals[slot].arr if isinstance(vals[slot], Tile) else value)
        # The run allocates many small acyclic objects (tiles, regions, events); the cyclic
        # GC would rescan every live object of the process (MLIR bindings included) each
        # time, up to half the run time, for no garbage. It is restored right after.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            # The engines raise no floating-point exceptions: overflow to inf and 0/0 = NaN
            # are results, so NumPy's warnings are off for the whole run (one context, not
            # one per instruction).
            with np.errstate(all="ignore"):
                for step in self.body:
                    step(vals)
        finally:
            if gc_was_on:
                gc.enable()
        outputs = [hand_over(vals[s], args) for s in self.return_slots]
        return SimResult(outputs, args, self.instr_count, sbuf_high_water=self.sbuf.high_water,
                         psum_high_water=self.psum.high_water)
