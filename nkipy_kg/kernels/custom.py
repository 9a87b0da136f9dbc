"""Sample custom ops: hand-written NISA kernels as `CustomOp`s (reference #12-#14).

`silu_op(rows, cols)` is the reference's custom SiLU: 128-row tiles of the [rows, cols]
HBM input are DMA'd into SBUF, go through ScalarE's `activation(silu)` and are DMA'd
back. `style="outputs"` writes the same kernel in output-as-argument style.
"""

from __future__ import annotations

import numpy as np

from nkipy_kg.frontend.custom_op import CustomOp

_SB, _HBM = 3, 4


def _ty(shape: tuple[int, ...], dtype: str, space: int, strided: int | None = None) -> str:
    layout = f", strided<[{strided}, 1], offset: ?>" if strided else ""
    return f"memref<{'x'.join(map(str, shape))}x{dtype}{layout}, {space} : i32>"


def silu_nisa(rows: int, cols: int, dtype: str = "f32", name: str = "silu", style: str = "return") -> str:
    """The NISA text of `silu(x) = x * sigmoid(x)` over a [rows, cols] HBM tensor."""
    if rows % 128:
        raise ValueError(f"silu_nisa: rows ({rows}) must be a multiple of 128")
    full, tile = _ty((rows, cols), dtype, _HBM), _ty((128, cols), dtype, _HBM, cols)
    sbuf = _ty((128, cols), dtype, _SB)
    signature = f"%x: {full}) -> {full}" if style == "return" else f"%x: {full}, %out: {full})"
    out = f'%out = "nisa.alloc"() : () -> {full}' if style == "return" else ""
    ret = f"return %out : {full}" if style == "return" else "return"
    return f"""module {{
  func.func @{name}({signature} {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    %n = arith.constant {rows // 128} : index
    {out}
    scf.for %i = %c0 to %n step %c1 {{
      %r = arith.muli %i, %c128 : index
      %src = memref.subview %x[%r, 0] [128, {cols}] [1, 1] : {full} to {tile}
      %dst = memref.subview %out[%r, 0] [128, {cols}] [1, 1] : {full} to {tile}
      %t = "nisa.alloc"() : () -> {sbuf}
      "nisa.dma_copy"(%t, %src) : ({sbuf}, {tile}) -> ()
      "nisa.activation"(%t, %t) {{op = "silu", operandSegmentSizes = array<i32: 1, 1, 0, 0>}} : ({sbuf}, {sbuf}) -> ()
      "nisa.dma_copy"(%dst, %t) : ({tile}, {sbuf}) -> ()
      "nisa.release"(%t) : ({sbuf}) -> ()
    }}
    {ret}
  }}
}}
"""


def silu_reference(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def silu_op(rows: int = 256, cols: int = 256, dtype: str = "f32", style: str = "return") -> CustomOp:
    """The custom SiLU for [rows, cols] arrays, named like the reference's
    (`silu_<in shape>_<out shape>`)."""
    name = f"silu_{rows}x{cols}_{rows}x{cols}" + ("" if style == "return" else "_out")
    return CustomOp(silu_nisa(rows, cols, dtype, name, style), name, ["x"], ["out"], [(rows, cols)],
                    [(rows, cols)], [dtype], [dtype], reference_fn=silu_reference)
