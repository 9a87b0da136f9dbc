"""Transformer building blocks written as plain NumPy kernels (with knobs)."""

from __future__ import annotations

import numpy as np

from nkipy_kg import knob


def softmax(x: np.ndarray) -> np.ndarray:
    m = np.max(x, axis=-1, keepdims=True)
    knob.knob(m).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    e = np.exp(x - m)
    knob.knob(e).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    s = np.sum(e, axis=-1, keepdims=True)
    r = e / s
    knob.knob(r).tile_op(tile_size=[128, 128]).layout(mem_space="SharedHbm")
    return r


def rmsnorm(x: np.ndarray, w: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    sq = np.square(x)
    knob.knob(sq).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    ms = np.mean(sq, axis=-1, keepdims=True)
    normed = x / np.sqrt(ms + eps)
    return normed * w


def softmax_fused(x: np.ndarray) -> np.ndarray:
    """softmax with the knobs of a fast kernel: whole rows per block of 128 (a
    2048 x 4096 bf16 row block is 8 KiB per partition) and `knob.fuse` of the max, exp,
    sum and division, so x is read from HBM once and each block's intermediates stay
    in SBUF. The sum is asked for in fp32 (`dtype=`), the result cast back."""
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    s = np.sum(e, axis=-1, keepdims=True, dtype=np.float32)
    r = (e / s).astype(x.dtype)
    rows = [min(128, x.shape[0]), x.shape[-1]]
    for t in (m, e, s, r):
        knob.knob(t).tile_op(tile_size=rows)
    knob.fuse(m, e, s, r)
    return r


def rmsnorm_fused(x: np.ndarray, w: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """rmsnorm with whole rows per block of 128 and its square, mean and normalisation
    fused: x is read from HBM once (the mean's tile is its [128, 1] column)."""
    sq = np.square(x)
    ms = np.mean(sq, axis=-1, keepdims=True)
    out = x / np.sqrt(ms + eps) * w
    rows = [min(128, x.shape[0]), x.shape[-1]]
    for t in (sq, out):
        knob.knob(t).tile_op(tile_size=rows)
    knob.knob(ms).tile_op(tile_size=[rows[0], 1])
    knob.fuse(sq, ms, out)
    return out


def rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotary embedding over the last dim of x [S, H, D] with cos/sin [S, D/2]."""
    half = x.shape[-1] // 2
    c = np.expand_dims(cos, 1)
    s = np.expand_dims(sin, 1)
    x0, x1 = x[:, :, :half], x[:, :, half:]
    o0 = x0 * c - x1 * s
    o1 = x0 * s + x1 * c
    return np.concatenate([o0, o1], axis=-1)


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def silu_ffn(x: np.ndarray, w_gate: np.ndarray, w_up: np.ndarray, w_down: np.ndarray) -> np.ndarray:
    gate = x @ w_gate
    knob.knob(gate).tile_op(tile_size=[128, 128, 128]).layout(mem_space="Sbuf")
    up = x @ w_up
    # Back to the kernel's dtype: NumPy makes bf16 @ bf16 f32, and an f32 `h @ w_down`
    # runs at a quarter of TensorE's bf16 rate (a no-op for f32 kernels).
    h = (silu(gate) * up).astype(x.dtype)
    out = h @ w_down
    knob.knob(out).tile_op(tile_size=[128, 128, 128]).layout(mem_space="SharedHbm")
    return out


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """softmax(q k^T / sqrt(d)) v over heads: q, k, v are [heads, seq, d].

    Tiled by blocks of 128 query rows (whole key rows) and fused: per block, `q @ k^T`
    accumulates its [128, seq] fp32 scores in PSUM, 512 keys per bank, and they go
    straight to an SBUF tile (each bank's copy taking its row max on the way) where
    their max, exp and sum stay, as do the head's
    probabilities (4 KiB per partition per block of 2048 bf16 keys), which `p @ v`,
    fused per head, transposes on the PE array and reads from there. The scores never
    go to HBM; linalg-to-nisa's software pipelining issues block i+1's matmuls and
    row max ahead of block i's exp and normalisation, and (in bf16) runs `p @ v` of
    block i-1 in the same iteration, so TensorE works while ScalarE does the exp
    (bench/README.md).
    """
    scale = 1.0 / float(np.sqrt(q.shape[-1]))  # a Python float keeps the kernel in its own dtype
    rows = [1, min(128, q.shape[1]), k.shape[1]]
    qk = q @ np.swapaxes(k, -1, -2)
    scores = qk * scale
    m = np.max(scores, axis=-1, keepdims=True)
    e = np.exp(scores - m)
    s = np.sum(e, axis=-1, keepdims=True)
    p = (e / s).astype(q.dtype)  # a kernel-dtype p @ v (see silu_ffn)
    out = p @ v
    knob.knob(qk).tile_op(tile_size=[*rows[:2], min(512, k.shape[1]), min(128, q.shape[-1])])
    for t in (scores, m, e, s, p):
        knob.knob(t).tile_op(tile_size=rows)
    knob.knob(out).tile_op(tile_size=[1, rows[1], min(512, v.shape[-1]), min(128, k.shape[1])])
    knob.fuse(qk, scores, m, e, s, p, out)
    return out


def _heads(t: np.ndarray, seq: int, heads: int, dim: int) -> np.ndarray:
    """[B*S, H*D] -> [B*H, S, D]."""
    batch = t.shape[0] // seq
    return np.reshape(np.transpose(np.reshape(t, (batch, seq, heads, dim)), (0, 2, 1, 3)),
                      (batch * heads, seq, dim))


def _rope_heads(t: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    half = t.shape[-1] // 2
    t0, t1 = t[:, :, :half], t[:, :, half:]
    return np.concatenate([t0 * cos - t1 * sin, t0 * sin + t1 * cos], axis=-1)


def transformer_layer(hidden: np.ndarray, ln1_w: np.ndarray, ln2_w: np.ndarray, wq: np.ndarray,
                      wk: np.ndarray, wv: np.ndarray, wo: np.ndarray, cos: np.ndarray,
                      sin: np.ndarray, w_gate: np.ndarray, w_up: np.ndarray,
                      w_down: np.ndarray) -> np.ndarray:
    """A Qwen3-style decoder layer: batch 2, seq 128, hidden 256, 2 heads of 128."""
    seq, heads, dim = 128, 2, 128
    x = rmsnorm(hidden, ln1_w)
    q = _rope_heads(_heads(x @ wq, seq, heads, dim), cos, sin)
    k = _rope_heads(_heads(x @ wk, seq, heads, dim), cos, sin)
    v = _heads(x @ wv, seq, heads, dim)
    ctx = attention(q, k, v)
    batch = hidden.shape[0] // seq
    ctx = np.reshape(np.transpose(np.reshape(ctx, (batch, heads, seq, dim)), (0, 2, 1, 3)),
                     (batch * seq, heads * dim))
    h = hidden + ctx @ wo
    return h + silu_ffn(rmsnorm(h, ln2_w), w_gate, w_up, w_down)
