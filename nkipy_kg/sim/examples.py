"""Hand-written NISA kernels (MLIR text) used by tests, benchmarks and docs.

They show the shape of code the `linalg-to-nisa` backend is expected to emit:
HBM arguments, `scf.for` tile loops, `memref.subview` tiles with dynamic
offsets, `nisa.alloc`/`nisa.release` per tile, DMA in and out.
"""

from __future__ import annotations

_HBM, _PSUM, _SBUF, _OUT = 1, 2, 3, 4


def mref(shape: tuple[int, ...] | list[int], dtype: str, space: int, strided: list[int] | None = None) -> str:
    dims = "x".join(str(d) for d in shape)
    layout = f", strided<[{', '.join(map(str, strided))}], offset: ?>" if strided else ""
    return f"memref<{dims}x{dtype}{layout}, {space} : i32>"


def tiled_binary(m: int, n: int, op: str = "add", dtype: str = "f32", tile_p: int = 128,
                 tile_f: int = 512, target: str = "trn2") -> str:
    """`out = a <op> b` for [m, n] HBM tensors, tiled [tile_p, tile_f] through SBUF."""
    full, out = mref((m, n), dtype, _HBM), mref((m, n), dtype, _OUT)
    tile_in, tile_out = mref((tile_p, tile_f), dtype, _HBM, [n, 1]), mref((tile_p, tile_f), dtype, _OUT, [n, 1])
    sb = mref((tile_p, tile_f), dtype, _SBUF)
    return f"""
module attributes {{nisa.target = "{target}"}} {{
  func.func @kernel(%a: {full}, %b: {full}, %out: {out}) {{
    %c0 = arith.constant 0 : index
    %cp = arith.constant {tile_p} : index
    %cf = arith.constant {tile_f} : index
    %cm = arith.constant {m} : index
    %cn = arith.constant {n} : index
    scf.for %i = %c0 to %cm step %cp {{
      scf.for %j = %c0 to %cn step %cf {{
        %sa = memref.subview %a[%i, %j] [{tile_p}, {tile_f}] [1, 1] : {full} to {tile_in}
        %sb = memref.subview %b[%i, %j] [{tile_p}, {tile_f}] [1, 1] : {full} to {tile_in}
        %so = memref.subview %out[%i, %j] [{tile_p}, {tile_f}] [1, 1] : {out} to {tile_out}
        %ta = "nisa.alloc"() : () -> {sb}
        %tb = "nisa.alloc"() : () -> {sb}
        "nisa.dma_copy"(%ta, %sa) : ({sb}, {tile_in}) -> ()
        "nisa.dma_copy"(%tb, %sb) : ({sb}, {tile_in}) -> ()
        "nisa.tensor_tensor_arith"(%ta, %ta, %tb) {{op = "{op}"}} : ({sb}, {sb}, {sb}) -> ()
        "nisa.dma_copy"(%so, %ta) : ({tile_out}, {sb}) -> ()
        "nisa.release"(%tb) : ({sb}) -> ()
        "nisa.release"(%ta) : ({sb}) -> ()
      }}
    }}
    return
  }}
}}
"""


def matmul(m: int, n: int, k: int, dtype: str = "f32", out_dtype: str = "f32", tile_n: int = 512,
           target: str = "trn2") -> str:
    """`out = a @ b` with a [m, k], b [k, n]: per [128, tile_n] output tile, K is
    accumulated in one PSUM bank (first K tile overwrites, the rest accumulate);
    a's tiles are transposed by `dma_transpose` into the stationary [K, M] layout."""
    ta, tb, to = mref((m, k), dtype, _HBM), mref((k, n), dtype, _HBM), mref((m, n), out_dtype, _OUT)
    a_tile = mref((128, 128), dtype, _HBM, [k, 1])
    b_tile = mref((128, tile_n), dtype, _HBM, [n, 1])
    o_tile = mref((128, tile_n), out_dtype, _OUT, [n, 1])
    st, mv = mref((128, 128), dtype, _SBUF), mref((128, tile_n), dtype, _SBUF)
    ps, res = mref((128, tile_n), "f32", _PSUM), mref((128, tile_n), out_dtype, _SBUF)

    def k_step(kv: str, acc: str) -> str:
        return f"""
        %sa{acc} = memref.subview %a[%i, {kv}] [128, 128] [1, 1] : {ta} to {a_tile}
        %sb{acc} = memref.subview %b[{kv}, %j] [128, {tile_n}] [1, 1] : {tb} to {b_tile}
        %st{acc} = "nisa.alloc"() : () -> {st}
        %mv{acc} = "nisa.alloc"() : () -> {mv}
        "nisa.dma_transpose"(%st{acc}, %sa{acc}) {{permutation = array<i64: 1, 0>}} : ({st}, {a_tile}) -> ()
        "nisa.dma_copy"(%mv{acc}, %sb{acc}) : ({mv}, {b_tile}) -> ()
        "nisa.matmul"(%acc, %st{acc}, %mv{acc}) {{accumulate = {'true' if acc == 'k' else 'false'}}} : ({ps}, {st}, {mv}) -> ()
        "nisa.release"(%mv{acc}) : ({mv}) -> ()
        "nisa.release"(%st{acc}) : ({st}) -> ()"""

    first = k_step("%c0", "0")
    rest = k_step("%kk", "k")
    return f"""
module attributes {{nisa.target = "{target}"}} {{
  func.func @kernel(%a: {ta}, %b: {tb}, %out: {to}) {{
    %c0 = arith.constant 0 : index
    %c128 = arith.constant 128 : index
    %cn_t = arith.constant {tile_n} : index
    %cm = arith.constant {m} : index
    %cn = arith.constant {n} : index
    %ck = arith.constant {k} : index
    scf.for %i = %c0 to %cm step %c128 {{
      scf.for %j = %c0 to %cn step %cn_t {{
        %acc = "nisa.alloc"() : () -> {ps}{first}
        scf.for %kk = %c128 to %ck step %c128 {{{rest}
        }}
        %r = "nisa.alloc"() : () -> {res}
        "nisa.tensor_copy"(%r, %acc) : ({res}, {ps}) -> ()
        %so = memref.subview %out[%i, %j] [128, {tile_n}] [1, 1] : {to} to {o_tile}
        "nisa.dma_copy"(%so, %r) : ({o_tile}, {res}) -> ()
        "nisa.release"(%r) : ({res}) -> ()
        "nisa.release"(%acc) : ({ps}) -> ()
      }}
    }}
    return
  }}
}}
"""


def single_dma(p: int, f: int, dtype: str = "bf16", target: str = "trn2") -> str:
    """One HBM -> SBUF dma_copy of a [p, f] tensor (the DMA calibration kernel)."""
    hbm, sb = mref((p, f), dtype, _HBM), mref((p, f), dtype, _SBUF)
    return f"""
module attributes {{nisa.target = "{target}"}} {{
  func.func @kernel(%a: {hbm}) {{
    %t = "nisa.alloc"() : () -> {sb}
    "nisa.dma_copy"(%t, %a) : ({sb}, {hbm}) -> ()
    "nisa.release"(%t) : ({sb}) -> ()
    return
  }}
}}
"""
