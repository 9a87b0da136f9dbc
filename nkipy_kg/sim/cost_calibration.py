"""Calibration kernels: the NKI matmul tutorial's kernels written as NISA (MLIR text).

neuroncore-model.md §4 anchor A1 publishes device times for the tutorial kernels
of aws-neuron/nki-samples `matrix_multiplication_nki_kernels.py` (@5480d25) on
one trn1 NeuronCore, `lhsT [K, M] x rhs [K, N]`, M=4096, K=8192, N=8192 bf16:
`nki_matmul_tiled_` 51.80 ms and `nki_matmul_fully_optimized_` 6.97 ms. These
generators emit the same instruction streams (same loops, tiles, DMA sizes and
accumulation scheme) so the cost model can be checked against both numbers
(`bench/simulate_calibration.py`, `tests/test_sim_cost.py`).
"""

from __future__ import annotations

_HBM, _PSUM, _SBUF, _OUT = 1, 2, 3, 4


def _m(shape: tuple[int, ...], dtype: str, space: int, strides: list[int] | None = None) -> str:
    layout = f", strided<[{', '.join(map(str, strides))}], offset: ?>" if strides else ""
    return f"memref<{'x'.join(map(str, shape))}x{dtype}{layout}, {space} : i32>"


def _header(m: int, n: int, k: int, target: str) -> tuple[str, str, str, str]:
    lhs_t, rhs, out = _m((k, m), "bf16", _HBM), _m((k, n), "bf16", _HBM), _m((m, n), "bf16", _OUT)
    head = f"""module attributes {{nisa.target = "{target}"}} {{
  func.func @kernel(%lhsT: {lhs_t}, %rhs: {rhs}, %out: {out}) {{"""
    return head, lhs_t, rhs, out


def tiled(m: int, n: int, k: int, target: str = "trn1") -> str:
    """`nki_matmul_tiled_`: per [128, 512] output tile, K/128 pairs of loads
    ([128, 128] lhsT tile, [128, 512] rhs tile) and matmuls into one PSUM bank,
    then PSUM -> SBUF copy (cast to bf16) and a store."""
    head, lhs_t, rhs, out = _header(m, n, k, target)
    st, mv = _m((128, 128), "bf16", _SBUF), _m((128, 512), "bf16", _SBUF)
    st_h, mv_h = _m((128, 128), "bf16", _HBM, [m, 1]), _m((128, 512), "bf16", _HBM, [n, 1])
    ps, res, res_h = _m((128, 512), "f32", _PSUM), _m((128, 512), "bf16", _SBUF), _m((128, 512), "bf16", _OUT, [n, 1])

    def step(kv: str, tag: str, acc: str) -> str:
        return f"""
        %a{tag} = memref.subview %lhsT[{kv}, %i] [128, 128] [1, 1] : {lhs_t} to {st_h}
        %b{tag} = memref.subview %rhs[{kv}, %j] [128, 512] [1, 1] : {rhs} to {mv_h}
        %st{tag} = "nisa.alloc"() : () -> {st}
        %mv{tag} = "nisa.alloc"() : () -> {mv}
        "nisa.dma_copy"(%st{tag}, %a{tag}) : ({st}, {st_h}) -> ()
        "nisa.dma_copy"(%mv{tag}, %b{tag}) : ({mv}, {mv_h}) -> ()
        "nisa.matmul"(%ps, %st{tag}, %mv{tag}) {{accumulate = {acc}}} : ({ps}, {st}, {mv}) -> ()
        "nisa.release"(%mv{tag}) : ({mv}) -> ()
        "nisa.release"(%st{tag}) : ({st}) -> ()"""

    return f"""{head}
    %c0 = arith.constant 0 : index
    %c128 = arith.constant 128 : index
    %c512 = arith.constant 512 : index
    %cm = arith.constant {m} : index
    %cn = arith.constant {n} : index
    %ck = arith.constant {k} : index
    scf.for %i = %c0 to %cm step %c128 {{
      scf.for %j = %c0 to %cn step %c512 {{
        %ps = "nisa.alloc"() : () -> {ps}{step("%c0", "0", "false")}
        scf.for %kk = %c128 to %ck step %c128 {{{step("%kk", "k", "true")}
        }}
        %r = "nisa.alloc"() : () -> {res}
        "nisa.tensor_copy"(%r, %ps) : ({res}, {ps}) -> ()
        %o = memref.subview %out[%i, %j] [128, 512] [1, 1] : {out} to {res_h}
        "nisa.dma_copy"(%o, %r) : ({res_h}, {res}) -> ()
        "nisa.release"(%r) : ({res}) -> ()
        "nisa.release"(%ps) : ({ps}) -> ()
      }}
    }}
    return
  }}
}}
"""


def fully_optimized(m: int, n: int, k: int, tiles_m: int = 16, tiles_n: int = 2, tiles_k: int = 8,
                    target: str = "trn1") -> str:
    """`nki_matmul_fully_optimized_` (TILES_IN_BLOCK_M=16, N=2, K=8): per N block a
    bf16 SBUF result block (zeroed); per K block the rhs block ([128, BLOCK_N] loads)
    and per M block the lhsT block ([128, BLOCK_M] loads); each [128, 512] PSUM tile
    accumulates TILES_IN_BLOCK_K matmuls and is added onto the SBUF result; finally
    the result rows are packed to [128, BLOCK_N] and stored."""
    bm_, bn_, bk_ = 128 * tiles_m, 512 * tiles_n, 128 * tiles_k
    nbm, nbn, nbk = m // bm_, n // bn_, k // bk_
    assert nbm * bm_ == m and nbn * bn_ == n and nbk * bk_ == k, "sizes must be multiples of the blocks"
    head, lhs_t, rhs, out = _header(m, n, k, target)
    nres = nbm * tiles_m * tiles_n
    res_blk = _m((128, nres, 512), "bf16", _SBUF)
    res_t = _m((128, 512), "bf16", _SBUF, [nres * 512, 1])
    rhs_blk, lhs_blk = _m((128, tiles_k, bn_), "bf16", _SBUF), _m((128, tiles_k, bm_), "bf16", _SBUF)
    rhs_row, lhs_row = _m((128, bn_), "bf16", _SBUF, [tiles_k * bn_, 1]), _m((128, bm_), "bf16", _SBUF, [tiles_k * bm_, 1])
    rhs_h, lhs_h = _m((128, bn_), "bf16", _HBM, [n, 1]), _m((128, bm_), "bf16", _HBM, [m, 1])
    st, mv = _m((128, 128), "bf16", _SBUF, [tiles_k * bm_, 1]), _m((128, 512), "bf16", _SBUF, [tiles_k * bn_, 1])
    ps = _m((128, 512), "f32", _PSUM)
    packed, packed_t = _m((128, bn_), "bf16", _SBUF), _m((128, 512), "bf16", _SBUF, [bn_, 1])
    out_h = _m((128, bn_), "bf16", _OUT, [n, 1])

    def mm(kv: str, tag: str, acc: str) -> str:
        return f"""
                %st{tag} = memref.subview %lhs[0, {kv}, %mo] [128, 1, 128] [1, 1, 1] : {lhs_blk} to {st}
                %mv{tag} = memref.subview %rb[0, {kv}, %no] [128, 1, 512] [1, 1, 1] : {rhs_blk} to {mv}
                "nisa.matmul"(%ps, %st{tag}, %mv{tag}) {{accumulate = {acc}}} : ({ps}, {st}, {mv}) -> ()"""

    return f"""{head}
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    %c512 = arith.constant 512 : index
    %ctm = arith.constant {tiles_m} : index
    %ctn = arith.constant {tiles_n} : index
    %ctk = arith.constant {tiles_k} : index
    %cnbm = arith.constant {nbm} : index
    %cnbn = arith.constant {nbn} : index
    %cnbk = arith.constant {nbk} : index
    %cbm = arith.constant {bm_} : index
    %cbn = arith.constant {bn_} : index
    scf.for %n = %c0 to %cnbn step %c1 {{
      %res = "nisa.alloc"() : () -> {res_blk}
      "nisa.memset"(%res) {{value = 0.0 : f32}} : ({res_blk}) -> ()
      %n0 = arith.muli %n, %cbn : index
      scf.for %kb = %c0 to %cnbk step %c1 {{
        %rb = "nisa.alloc"() : () -> {rhs_blk}
        scf.for %r = %c0 to %ctk step %c1 {{
          %kt = arith.muli %kb, %ctk : index
          %kr = arith.addi %kt, %r : index
          %k0 = arith.muli %kr, %c128 : index
          %src = memref.subview %rhs[%k0, %n0] [128, {bn_}] [1, 1] : {rhs} to {rhs_h}
          %dst = memref.subview %rb[0, %r, 0] [128, 1, {bn_}] [1, 1, 1] : {rhs_blk} to {rhs_row}
          "nisa.dma_copy"(%dst, %src) : ({rhs_row}, {rhs_h}) -> ()
        }}
        scf.for %mb = %c0 to %cnbm step %c1 {{
          %lhs = "nisa.alloc"() : () -> {lhs_blk}
          %m0 = arith.muli %mb, %cbm : index
          scf.for %l = %c0 to %ctk step %c1 {{
            %kt = arith.muli %kb, %ctk : index
            %kl = arith.addi %kt, %l : index
            %k0 = arith.muli %kl, %c128 : index
            %src = memref.subview %lhsT[%k0, %m0] [128, {bm_}] [1, 1] : {lhs_t} to {lhs_h}
            %dst = memref.subview %lhs[0, %l, 0] [128, 1, {bm_}] [1, 1, 1] : {lhs_blk} to {lhs_row}
            "nisa.dma_copy"(%dst, %src) : ({lhs_row}, {lhs_h}) -> ()
          }}
          scf.for %bn = %c0 to %ctn step %c1 {{
            %no = arith.muli %bn, %c512 : index
            scf.for %bm = %c0 to %ctm step %c1 {{
              %mo = arith.muli %bm, %c128 : index
              %ps = "nisa.alloc"() : () -> {ps}{mm("0", "0", "false")}
              scf.for %bk = %c1 to %ctk step %c1 {{{mm("%bk", "k", "true")}
              }}
              %mt = arith.muli %mb, %ctm : index
              %mi = arith.addi %mt, %bm : index
              %mn = arith.muli %mi, %ctn : index
              %idx = arith.addi %mn, %bn : index
              %acc = memref.subview %res[0, %idx, 0] [128, 1, 512] [1, 1, 1] : {res_blk} to {res_t}
              "nisa.tensor_tensor_arith"(%acc, %acc, %ps) {{op = "add"}} : ({res_t}, {res_t}, {ps}) -> ()
              "nisa.release"(%ps) : ({ps}) -> ()
            }}
          }}
          "nisa.release"(%lhs) : ({lhs_blk}) -> ()
        }}
        "nisa.release"(%rb) : ({rhs_blk}) -> ()
      }}
      scf.for %mi = %c0 to %cnbm step %c1 {{
        scf.for %bm = %c0 to %ctm step %c1 {{
          %pk = "nisa.alloc"() : () -> {packed}
          scf.for %bn = %c0 to %ctn step %c1 {{
            %mt = arith.muli %mi, %ctm : index
            %mr = arith.addi %mt, %bm : index
            %mn = arith.muli %mr, %ctn : index
            %idx = arith.addi %mn, %bn : index
            %src = memref.subview %res[0, %idx, 0] [128, 1, 512] [1, 1, 1] : {res_blk} to {res_t}
            %no = arith.muli %bn, %c512 : index
            %dst = memref.subview %pk[0, %no] [128, 512] [1, 1] : {packed} to {packed_t}
            "nisa.tensor_copy"(%dst, %src) : ({packed_t}, {res_t}) -> ()
          }}
          %mt = arith.muli %mi, %ctm : index
          %mr = arith.addi %mt, %bm : index
          %r0 = arith.muli %mr, %c128 : index
          %o = memref.subview %out[%r0, %n0] [128, {bn_}] [1, 1] : {out} to {out_h}
          "nisa.dma_copy"(%o, %pk) : ({out_h}, {packed}) -> ()
          "nisa.release"(%pk) : ({packed}) -> ()
        }}
      }}
      "nisa.release"(%res) : ({res_blk}) -> ()
    }}
    return
  }}
}}
"""


def blocked_free(m: int, n: int, k: int, tiles_m: int = 2, tiles_n: int = 2, target: str = "trn1") -> str:
    """`nki_matmul_block_free_dimension_` (TILES_IN_BLOCK_M = N = 2); with
    tiles_m = tiles_n = 1 it is `nki_matmul_hoist_load_`. Per M block all of its lhsT
    column ([128, 128] loads), per N block all of its rhs column ([128, 512] loads),
    then every [128, 512] output tile accumulates K/128 matmuls in PSUM."""
    kt = k // 128
    head, lhs_t, rhs, out = _header(m, n, k, target)
    lhs_blk, rhs_blk = _m((128, tiles_m * kt, 128), "bf16", _SBUF), _m((128, tiles_n * kt, 512), "bf16", _SBUF)
    lhs_row, rhs_row = _m((128, 128), "bf16", _SBUF, [tiles_m * kt * 128, 1]), _m((128, 512), "bf16", _SBUF, [tiles_n * kt * 512, 1])
    lhs_h, rhs_h = _m((128, 128), "bf16", _HBM, [m, 1]), _m((128, 512), "bf16", _HBM, [n, 1])
    ps, res, res_h = _m((128, 512), "f32", _PSUM), _m((128, 512), "bf16", _SBUF), _m((128, 512), "bf16", _OUT, [n, 1])

    def mm(kv: str, tag: str, acc: str) -> str:
        return f"""
              %li{tag} = arith.addi %lb, {kv} : index
              %ri{tag} = arith.addi %rbase, {kv} : index
              %st{tag} = memref.subview %lhs[0, %li{tag}, 0] [128, 1, 128] [1, 1, 1] : {lhs_blk} to {lhs_row}
              %mv{tag} = memref.subview %rb[0, %ri{tag}, 0] [128, 1, 512] [1, 1, 1] : {rhs_blk} to {rhs_row}
              "nisa.matmul"(%ps, %st{tag}, %mv{tag}) {{accumulate = {acc}}} : ({ps}, {lhs_row}, {rhs_row}) -> ()"""

    def load(buf: str, blk: str, row: str, src: str, src_t: str, tiles: int, col_tile: int, blk_idx: str) -> str:
        return f"""
        scf.for %t = %c0 to %c{tiles} step %c1 {{
          scf.for %kk = %c0 to %ckt step %c1 {{
            %bt = arith.muli {blk_idx}, %c{tiles} : index
            %ct = arith.addi %bt, %t : index
            %col = arith.muli %ct, %c{col_tile} : index
            %k0 = arith.muli %kk, %c128 : index
            %s = memref.subview {src}[%k0, %col] [128, {col_tile}] [1, 1] : {src_t} to {_m((128, col_tile), "bf16", _HBM, [m if col_tile == 128 else n, 1])}
            %tk = arith.muli %t, %ckt : index
            %slot = arith.addi %tk, %kk : index
            %d = memref.subview {buf}[0, %slot, 0] [128, 1, {col_tile}] [1, 1, 1] : {blk} to {row}
            "nisa.dma_copy"(%d, %s) : ({row}, {_m((128, col_tile), "bf16", _HBM, [m if col_tile == 128 else n, 1])}) -> ()
          }}
        }}"""

    consts = "\n".join(f"    %c{v} = arith.constant {v} : index" for v in sorted({0, 1, 128, 512, tiles_m, tiles_n}))
    return f"""{head}
{consts}
    %ckt = arith.constant {kt} : index
    %cnbm = arith.constant {m // (128 * tiles_m)} : index
    %cnbn = arith.constant {n // (512 * tiles_n)} : index
    scf.for %mb = %c0 to %cnbm step %c1 {{
      %lhs = "nisa.alloc"() : () -> {lhs_blk}{load("%lhs", lhs_blk, lhs_row, "%lhsT", lhs_t, tiles_m, 128, "%mb")}
      scf.for %nb = %c0 to %cnbn step %c1 {{
        %rb = "nisa.alloc"() : () -> {rhs_blk}{load("%rb", rhs_blk, rhs_row, "%rhs", rhs, tiles_n, 512, "%nb")}
        scf.for %bm = %c0 to %c{tiles_m} step %c1 {{
          scf.for %bn = %c0 to %c{tiles_n} step %c1 {{
            %lb = arith.muli %bm, %ckt : index
            %rbase = arith.muli %bn, %ckt : index
            %ps = "nisa.alloc"() : () -> {ps}{mm("%c0", "0", "false")}
            scf.for %kk = %c1 to %ckt step %c1 {{{mm("%kk", "k", "true")}
            }}
            %r = "nisa.alloc"() : () -> {res}
            "nisa.tensor_copy"(%r, %ps) : ({res}, {ps}) -> ()
            %mt = arith.muli %mb, %c{tiles_m} : index
            %mi = arith.addi %mt, %bm : index
            %row = arith.muli %mi, %c128 : index
            %nt = arith.muli %nb, %c{tiles_n} : index
            %ni = arith.addi %nt, %bn : index
            %col = arith.muli %ni, %c512 : index
            %o = memref.subview %out[%row, %col] [128, 512] [1, 1] : {out} to {res_h}
            "nisa.dma_copy"(%o, %r) : ({res_h}, {res}) -> ()
            "nisa.release"(%r) : ({res}) -> ()
            "nisa.release"(%ps) : ({ps}) -> ()
          }}
        }}
        "nisa.release"(%rb) : ({rhs_blk}) -> ()
      }}
      "nisa.release"(%lhs) : ({lhs_blk}) -> ()
    }}
    return
  }}
}}
"""
