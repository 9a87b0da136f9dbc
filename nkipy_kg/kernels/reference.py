"""The reference compiler's e2e kernel catalogue (nkigen `tests/e2e/`), as plain NumPy kernels.

Every kernel keeps the reference's shapes and knobs (digest section 5.2, numbered #1-#38
below). Notation in the comments: `k(x): T, mem` is
`knob.knob(x).tile_op(tile_size=T).layout(mem_space=mem)`.

Custom ops #12-#14 use a hand-written NISA SiLU (`kernels/custom.py`); #15 builds its
body with NKI's `kernel_builder`, which needs the Neuron toolchain (not applicable here:
`CustomOp.from_kernel_builder` says so).
"""

from __future__ import annotations

import numpy as np

import functools

from nkipy_kg import fori_loop, knob
from nkipy_kg.kernels.custom import silu_op

T2 = [128, 128]
T3 = [128, 128, 128]
B3 = [1, 128, 128]
B4 = [1, 128, 128, 128]


def _k(x, tile, mem, pd=None):
    """Tile and place `x` (the reference's `tile_op(...).layout(...)` chain)."""
    knob.knob(x).tile_op(tile_size=tile).layout(mem_space=mem, partition_dim=pd)
    return x


# --- #1, #2: 3-D elementwise ------------------------------------------------------------------
def add3d_chain(a, b, c):
    """#1: 3-D -> 5-D physical [128,2,2,2,128] for the SBUF intermediate."""
    t = _k(a + b, [128, 1, 128], "Sbuf")
    return _k(t + c, [128, 1, 128], "SharedHbm")


def add3d_hbm_only(a, b, c):
    """#2: both SharedHbm (no SBUF legalization)."""
    t = _k(a + b, [128, 1, 128], "SharedHbm")
    return _k(t + c, [128, 1, 128], "SharedHbm")


# --- #3, #5, #6: softmax and attention scores ------------------------------------------------
def _softmax_2d(x, out_mem="SharedHbm"):
    xf = x.astype(np.float32)
    m = _k(np.max(xf, axis=-1, keepdims=True), T2, "Sbuf")
    s = _k(xf - m, T2, "Sbuf")
    e = _k(np.exp(s), T2, "Sbuf")
    z = _k(np.sum(e, axis=-1, keepdims=True), T2, "Sbuf")
    return _k(e / z, T2, out_mem)


def softmax(x):
    """#3 (M, N) in {(128,128), (128,256), (256,256)}."""
    return _softmax_2d(x)


def qkv_projection(x, w):
    """#4: one projection, split into three outputs."""
    qkv = _k(x @ w, T3, "Sbuf")
    q, k, v = np.split(qkv, 3, axis=-1)
    return q, k, v


def attention_scores_loop(q, kt):
    """#5: a `fori_loop` over 8 heads writing each softmax into a preallocated result."""
    acc = np.empty((8, 256, 256), dtype=np.float32)

    def body(i, acc):
        s = _k((q[i] @ kt[i]) * np.float32(1.0 / 16.0), T2, "Sbuf")
        acc[i] = _softmax_2d(s)
        return acc

    return fori_loop(0, 8, body, acc)


def attention_scores_sbuf_bmm(q, kt):
    """#6: batch matmul into SBUF, then a softmax with partition_dim=1."""
    b = _k(q @ kt, B4, "Sbuf")
    s = _k(b * np.float32(1.0 / 16.0), B3, "Sbuf", pd=1)
    m = _k(np.max(s, axis=-1, keepdims=True), B3, "Sbuf", pd=1)
    shifted = _k(s - m, B3, "Sbuf", pd=1)
    e = _k(np.exp(shifted), B3, "Sbuf", pd=1)
    z = _k(np.sum(e, axis=-1, keepdims=True), B3, "Sbuf", pd=1)
    return _k(e / z, B3, "SharedHbm", pd=1)


# --- #7-#11: no annotations (fully automatic layout) -------------------------------------------
def exp_auto(x):
    """#7."""
    return np.exp(x)


def elementwise_chain_auto(x):
    """#8."""
    return np.square(np.exp(x)) + 1.0


def sigmoid_auto(x):
    """#9."""
    return 1.0 / (1.0 + np.exp(-x))


def matmul_auto(a, b):
    """#10."""
    return a @ b


def matmul_add_auto(a, b, c):
    """#11."""
    return a @ b + c


# --- #16-#18: feed-forward and head de-concatenation -------------------------------------------
def feedforward_sbuf(x, w_gu, w_d):
    """#16: SiLU-gated feed-forward, every step annotated."""
    g = _k(x @ w_gu, T3, "Sbuf")
    gate, up = np.split(g, 2, axis=-1)
    n = _k(-gate, T2, "Sbuf")
    e = _k(np.exp(n), T2, "Sbuf")
    o = _k(e + 1.0, T2, "Sbuf")
    sg = _k(1.0 / o, T2, "Sbuf")
    sw = _k(gate * sg, T2, "Sbuf")
    h = _k(sw * up, T2, "Sbuf")
    return _k(h @ w_d, T3, "SharedHbm")


def feedforward_compact_silu(x, w_gu, w_d):
    """#17: one knob (on h); infer-layout fills in the rest."""
    g = x @ w_gu
    gate, up = np.split(g, 2, axis=-1)
    h = _k(gate / (1.0 + np.exp(-gate)) * up, T2, "Sbuf")
    return h @ w_d


def head_deconcat(x, w):
    """#18: [heads, seq, d] -> [seq, heads*d] by reshape/transpose/reshape, then a matmul."""
    x = np.reshape(x, (2, 2, 128, 128))
    x = np.transpose(x, (0, 2, 1, 3))
    x = _k(np.reshape(x, (256, 256)), T2, "SharedHbm")
    return _k(x @ w, T3, "SharedHbm")


# --- #19, #20: matmul + bias ---------------------------------------------------------------------
_custom_silu = functools.cache(silu_op)


def custom_silu(x):
    """#12/#14: a custom-op call on its own (#14: called on NumPy arrays, runs the reference)."""
    return _custom_silu(*x.shape)(x)


def matmul_custom_activation(x, w):
    """#13: mm = x @ w [128, 128, 128] SharedHbm, then the custom SiLU."""
    mm = _k(x @ w, T3, "SharedHbm")
    return _custom_silu(*mm.shape)(mm)


MATMUL_ADD_SIZES = ((128, 128, 128), (256, 256, 256), (1024, 1024, 1024), (2048, 2048, 2048),
                    (4096, 1024, 1024), (1024, 4096, 1024), (2048, 1024, 2048), (1024, 2048, 2048),
                    (2048, 2048, 1024))  # (M, N, K)


def matmul_sbuf_add_hbm(a, b, bias):
    """#19."""
    c = _k(a @ b, T3, "Sbuf")
    return _k(c + bias, T2, "SharedHbm")


def matmul_hbm_add_hbm(a, b, bias):
    """#20."""
    c = _k(a @ b, T3, "SharedHbm")
    return _k(c + bias, T2, "SharedHbm")


# --- #21-#23: multiple outputs ------------------------------------------------------------------
def add_and_sub(a, b):
    """#21."""
    return a + b, a - b


def add_and_mul(a, b):
    """#22."""
    return a + b, a * b


def three_outputs(a, b):
    """#23."""
    return a + b, a - b, a * b


# --- #24, #25: partition_dim = 1 ----------------------------------------------------------------
def exp_partition_dim_1(x):
    """#24: (64, 128) with the partition on dim 1 (physically transposed to (128, 64))."""
    return _k(np.exp(x), [64, 128], "SharedHbm", pd=1)


def sigmoid_partition_dim_1(x):
    """#25."""
    n = _k(-x, [64, 128], "Sbuf", pd=1)
    e = _k(np.exp(n), [64, 128], "Sbuf", pd=1)
    o = _k(1.0 + e, [64, 128], "Sbuf", pd=1)
    return _k(1.0 / o, [64, 128], "SharedHbm", pd=1)


# --- #26: the Qwen3 decoder layer ---------------------------------------------------------------
def _rmsnorm(x, w, eps=1e-6):
    """#30's dataflow and knobs."""
    sq = _k(np.square(x), T2, "Sbuf")
    ss = _k(np.sum(sq, axis=-1, keepdims=True), T2, "Sbuf")
    ms = _k(ss * np.float32(1.0 / x.shape[-1]), [128, 1], "Sbuf")
    nx = _k(x / np.sqrt(ms + eps), T2, "Sbuf")
    return _k(nx * w, T2, "SharedHbm")


def _rope_3d_hbm(t, cos, sin):
    """#32's dataflow: every product [1,128,64] and the concat [1,128,128] in SharedHbm."""
    t0, t1 = t[:, :, :64], t[:, :, 64:]
    r0 = _k(_k(t0 * cos, [1, 128, 64], "SharedHbm") - _k(t1 * sin, [1, 128, 64], "SharedHbm"),
            [1, 128, 64], "SharedHbm")
    r1 = _k(_k(t0 * sin, [1, 128, 64], "SharedHbm") + _k(t1 * cos, [1, 128, 64], "SharedHbm"),
            [1, 128, 64], "SharedHbm")
    return _k(np.concatenate([r0, r1], axis=-1), B3, "SharedHbm")


def _split_heads(t):
    """(256, 256) -> (4, 128, 128): batch 2, seq 128, heads 2, head_dim 128."""
    return np.reshape(np.transpose(np.reshape(t, (2, 128, 2, 128)), (0, 2, 1, 3)), (4, 128, 128))


def qwen3_layer(hidden, ln1_w, ln2_w, wq, wk, wv, wo, cos, sin, w_gate, w_up, w_down):
    """#26: batch 2, seq 128, hidden 256, heads 2, head_dim 128, intermediate 256."""
    normed = _rmsnorm(hidden, ln1_w)
    q = _k(normed @ wq, T3, "SharedHbm")
    k = _k(normed @ wk, T3, "SharedHbm")
    v = _k(normed @ wv, T3, "SharedHbm")
    q, k = _split_heads(q), _split_heads(k)
    v = _k(_split_heads(v), B3, "SharedHbm")
    q = _rope_3d_hbm(q, cos, sin)
    k = _rope_3d_hbm(k, cos, sin)
    k_t = _k(np.transpose(k, (0, 2, 1)), B3, "SharedHbm")
    scores = _k(q @ k_t, B4, "Sbuf")
    scores = _k(scores * np.float32(1.0 / np.sqrt(128.0)), B3, "Sbuf", pd=1)
    m = _k(np.max(scores, axis=-1, keepdims=True), B3, "SharedHbm", pd=1)
    shifted = _k(scores - m, B3, "Sbuf", pd=1)
    e = _k(np.exp(shifted), B3, "Sbuf", pd=1)
    z = _k(np.sum(e, axis=-1, keepdims=True), B3, "SharedHbm", pd=1)
    attn = _k(e / z, B3, "SharedHbm")
    ctx = _k(attn @ v, B4, "SharedHbm")
    ctx = np.reshape(np.transpose(np.reshape(ctx, (2, 2, 128, 128)), (0, 2, 1, 3)), (256, 256))
    ctx = _k(ctx, T2, "SharedHbm")
    attn_out = _k(ctx @ wo, T3, "Sbuf")
    h = _k(hidden + attn_out, T2, "Sbuf")
    normed2 = _rmsnorm(h, ln2_w)
    gate = _k(normed2 @ w_gate, T3, "Sbuf")
    up = _k(normed2 @ w_up, T3, "Sbuf")
    n = _k(-gate, T2, "Sbuf")
    e2 = _k(np.exp(n), T2, "Sbuf")
    o = _k(e2 + 1.0, T2, "Sbuf")
    sg = _k(1.0 / o, T2, "Sbuf")
    sw = _k(gate * sg, T2, "Sbuf")
    mlp = _k(sw * up, T2, "Sbuf")
    down = _k(mlp @ w_down, T3, "Sbuf")
    return _k(h + down, T2, "SharedHbm")


# --- #27-#30: reductions and rmsnorm ------------------------------------------------------------
def reduce_square_sum(x):
    """#27[sum]. The reference's r tile [128,1,128] has 3 entries for a 2-iterator reduction
    (never validated there: the test only traces); our knob rejects it, so [128,128] here."""
    sq = _k(np.square(x.astype(np.float32)), T2, "Sbuf")
    return _k(np.sum(sq, axis=-1, keepdims=True), T2, "SharedHbm")


def reduce_square_mean(x):
    """#27[mean]. Our mean is a sum then a scale, so the knob lands on the (256, 1) scale: [128, 1]."""
    sq = _k(np.square(x.astype(np.float32)), T2, "Sbuf")
    return _k(np.mean(sq, axis=-1, keepdims=True), [128, 1], "SharedHbm")


def reduce_sum(x):
    """#28."""
    sq = _k(np.square(x), T2, "Sbuf")
    return _k(np.sum(sq, axis=-1, keepdims=True), T2, "SharedHbm")


def reduce_mean(x):
    """#29."""
    sq = _k(np.square(x), T2, "Sbuf")
    sm = _k(np.sum(sq, axis=-1, keepdims=True), T2, "SharedHbm")
    return _k(sm * np.float32(1.0 / 256.0), [128, 1], "SharedHbm")


def rmsnorm(x, w):
    """#30: w is (256, 1), so it broadcasts per row."""
    return _rmsnorm(x, w)


# --- #31-#33: RoPE ------------------------------------------------------------------------------
def rope(x, fc, fs):
    """#31: x (256, 4, 128), fc/fs (256, 64)."""
    cos = np.expand_dims(fc, 1)
    sin = np.expand_dims(fs, 1)
    x0, x1 = x[:, :, :64], x[:, :, 64:]
    o0 = _k(x0 * cos - x1 * sin, [128, 1, 64], "Sbuf")
    o1 = _k(x0 * sin + x1 * cos, [128, 1, 64], "Sbuf")
    return _k(np.concatenate([o0, o1], axis=-1), [128, 1, 64], "SharedHbm")


def rope_3d_multi_partition(q0, q1, c, s):
    """#32: every intermediate [1,128,64] SharedHbm; the concat [1,128,128] SharedHbm."""
    t0 = _k(q0 * c, [1, 128, 64], "SharedHbm")
    t1 = _k(q1 * s, [1, 128, 64], "SharedHbm")
    r0 = _k(t0 - t1, [1, 128, 64], "SharedHbm")
    t2 = _k(q0 * s, [1, 128, 64], "SharedHbm")
    t3 = _k(q1 * c, [1, 128, 64], "SharedHbm")
    r1 = _k(t2 + t3, [1, 128, 64], "SharedHbm")
    return _k(np.concatenate([r0, r1], axis=-1), B3, "SharedHbm")


def rope_3d_compound_pdim0(q0, q1, cos, sin):
    """#33[pdim0]: q (128, 4, 64), cos/sin (128, 1, 64)."""
    r0 = _k(q0 * cos - q1 * sin, [128, 1, 64], "Sbuf")
    r1 = _k(q0 * sin + q1 * cos, [128, 1, 64], "Sbuf")
    return _k(np.concatenate([r0, r1], axis=-1), [128, 1, 128], "SharedHbm")


def rope_3d_compound_pdim1(q0, q1, cos, sin):
    """#33[pdim1]: q (4, 128, 64), cos/sin (1, 128, 64), partition_dim=1."""
    r0 = _k(q0 * cos - q1 * sin, [1, 128, 64], "Sbuf", pd=1)
    r1 = _k(q0 * sin + q1 * cos, [1, 128, 64], "Sbuf", pd=1)
    return _k(np.concatenate([r0, r1], axis=-1), B3, "SharedHbm", pd=1)


# --- #34-#38: single activations and tensor-scalar ops ------------------------------------------
def exp_activation(x):
    """#34."""
    return _k(np.exp(x), T2, "SharedHbm")


def tensor_add_scalar(x):
    """#35."""
    return _k(x + 2.0, T2, "SharedHbm")


def sigmoid(x):
    """#36."""
    n = _k(-x, T2, "Sbuf")
    e = _k(np.exp(n), T2, "Sbuf")
    o = _k(1.0 + e, T2, "Sbuf")
    return _k(1.0 / o, T2, "SharedHbm")


def scalar_minus_tensor(x):
    """#37."""
    return _k(5.0 - x, T2, "SharedHbm")


def division_to_reciprocal(x):
    """#38."""
    return _k(x / 2.0, T2, "SharedHbm")
