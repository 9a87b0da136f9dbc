"""Composed kernels (the building blocks of a transformer layer), traced, JIT-run and
compared with NumPy in float32 and bfloat16."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from nkipy_kg import knob, trace, verify_against_numpy

from frontend_helpers import BF16, rand

DTYPES = [pytest.param(np.dtype(np.float32), id="f32"), pytest.param(BF16, id="bf16")]

SEQ, HIDDEN, HEADS, HEAD_DIM, FFN = 16, 32, 2, 16, 64


def softmax(x: np.ndarray) -> np.ndarray:
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=-1, keepdims=True)


def rmsnorm(x: np.ndarray, w: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    ms = np.mean(np.square(x), axis=-1, keepdims=True)
    return x / np.sqrt(ms + eps) * w


def rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate the two halves of the last dim of x [..., S, D] by angles with cos/sin [S, D/2]."""
    half = x.shape[-1] // 2
    x0, x1 = x[..., :half], x[..., half:]
    return np.concatenate([x0 * cos - x1 * sin, x0 * sin + x1 * cos], axis=-1)


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def ffn(x: np.ndarray, wg: np.ndarray, wu: np.ndarray, wd: np.ndarray) -> np.ndarray:
    return (silu(x @ wg) * (x @ wu)) @ wd


def attention_scores(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """softmax(q @ k^T / sqrt(d)) for q, k of shape [heads, seq, d]."""
    return softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]))


def causal_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    scores = q @ k.transpose(0, 2, 1) * (1.0 / np.sqrt(q.shape[-1]))
    positions = np.arange(q.shape[1])
    future = positions[None, :] > positions[:, None]  # a host array: a compile-time constant
    return softmax(np.where(future, -1e9, scores)) @ v


def split_heads(t: np.ndarray) -> np.ndarray:
    """[S, H*D] -> [H, S, D]."""
    return np.transpose(t.reshape(SEQ, HEADS, HEAD_DIM), (1, 0, 2))


def transformer_layer(h: np.ndarray, ln1: np.ndarray, ln2: np.ndarray, wq: np.ndarray, wk: np.ndarray,
                      wv: np.ndarray, wo: np.ndarray, cos: np.ndarray, sin: np.ndarray, wg: np.ndarray,
                      wu: np.ndarray, wd: np.ndarray) -> np.ndarray:
    x = rmsnorm(h, ln1)
    q = rope(split_heads(x @ wq), cos, sin)
    k = rope(split_heads(x @ wk), cos, sin)
    v = split_heads(x @ wv)
    attn = causal_attention(q, k, v)
    knob.knob(attn).tile_op(tile_size=[1, SEQ, HEAD_DIM, SEQ])
    merged = np.transpose(attn, (1, 0, 2)).reshape(SEQ, HEADS * HEAD_DIM)
    h = h + merged @ wo
    return h + ffn(rmsnorm(h, ln2), wg, wu, wd)


def rope_tables(seq: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    inv = 1.0 / (10000.0 ** (np.arange(0, dim, 2) / dim))
    angles = np.outer(np.arange(seq), inv)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def weights(shape: tuple[int, ...], dtype: Any, seed: int) -> np.ndarray:
    scale = 1.0 / np.sqrt(shape[0])
    return (rand(shape, np.float32, low=-1.0, high=1.0, seed=seed) * scale).astype(dtype)


def verified(fn: Callable[..., Any], *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    report = verify_against_numpy(fn, *arrays)
    assert report.passed, str(report)
    return report.actual


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(16, 64), (2, 8, 32)], ids=str)
def test_softmax(shape: tuple[int, ...], dtype: np.dtype):
    (probs,) = verified(softmax, rand(shape, dtype, low=-4.0, high=4.0, seed=1))
    assert probs.dtype == dtype
    np.testing.assert_allclose(probs.astype(np.float64).sum(axis=-1), 1.0, rtol=2e-2 if dtype == BF16 else 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rmsnorm(dtype: np.dtype):
    x, w = rand((SEQ, HIDDEN), dtype, seed=2), rand((HIDDEN,), dtype, low=0.5, high=1.5, seed=3)
    (out,) = verified(rmsnorm, x, w)
    rms = np.sqrt(np.mean(np.square(out.astype(np.float64) / w.astype(np.float64)), axis=-1))
    np.testing.assert_allclose(rms, 1.0, rtol=3e-2 if dtype == BF16 else 1e-4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rope(dtype: np.dtype):
    cos, sin = rope_tables(SEQ, HEAD_DIM)
    x = rand((HEADS, SEQ, HEAD_DIM), dtype, seed=4)
    (out,) = verified(rope, x, cos.astype(dtype), sin.astype(dtype))
    # A rotation keeps the norm of every (x0[i], x1[i]) pair.
    half = HEAD_DIM // 2
    before = np.hypot(x[..., :half].astype(np.float64), x[..., half:].astype(np.float64))
    after = np.hypot(out[..., :half].astype(np.float64), out[..., half:].astype(np.float64))
    np.testing.assert_allclose(after, before, rtol=3e-2 if dtype == BF16 else 1e-5, atol=1e-2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_silu_gated_feed_forward(dtype: np.dtype):
    x = rand((SEQ, HIDDEN), dtype, seed=5)
    wg, wu, wd = weights((HIDDEN, FFN), dtype, 6), weights((HIDDEN, FFN), dtype, 7), weights((FFN, HIDDEN), dtype, 8)
    verified(ffn, x, wg, wu, wd)


@pytest.mark.parametrize("dtype", DTYPES)
def test_attention_scores_batched_over_heads(dtype: np.dtype):
    q, k = rand((HEADS, SEQ, HEAD_DIM), dtype, seed=9), rand((HEADS, SEQ, HEAD_DIM), dtype, seed=10)
    (probs,) = verified(attention_scores, q, k)
    assert probs.shape == (HEADS, SEQ, SEQ)
    np.testing.assert_allclose(probs.astype(np.float64).sum(axis=-1), 1.0, rtol=2e-2 if dtype == BF16 else 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_causal_attention(dtype: np.dtype):
    q, k, v = (rand((HEADS, SEQ, HEAD_DIM), dtype, seed=s) for s in (11, 12, 13))
    (out,) = verified(causal_attention, q, k, v)
    # The first query attends only to the first key: its output is v[:, 0].
    np.testing.assert_allclose(out[:, 0].astype(np.float64), v[:, 0].astype(np.float64), rtol=2e-2, atol=1e-2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_transformer_layer(dtype: np.dtype):
    cos, sin = rope_tables(SEQ, HEAD_DIM)
    args = [
        rand((SEQ, HIDDEN), dtype, seed=20),
        rand((HIDDEN,), dtype, low=0.8, high=1.2, seed=21), rand((HIDDEN,), dtype, low=0.8, high=1.2, seed=22),
        *(weights((HIDDEN, HIDDEN), dtype, seed) for seed in (23, 24, 25, 26)),
        cos.astype(dtype), sin.astype(dtype),
        weights((HIDDEN, FFN), dtype, 27), weights((HIDDEN, FFN), dtype, 28), weights((FFN, HIDDEN), dtype, 29),
    ]
    (out,) = verified(transformer_layer, *args)
    assert out.shape == (SEQ, HIDDEN) and np.isfinite(out.astype(np.float64)).all()


def test_knobbed_kernel_traces_with_annotations_and_still_matches_numpy():
    def kernel(x, w):
        h = x @ w
        knob.knob(h).tile_op(tile_size=[8, 16, 16]).layout(mem_space="Sbuf", partition_dim=0)
        p = softmax(h)
        knob.knob(p).tile_op(tile_size=[8, 16]).layout(mem_space="SharedHbm")
        return p

    x, w = rand((SEQ, HIDDEN), seed=30), weights((HIDDEN, HIDDEN), np.float32, 31)
    text = str(trace(kernel).to_mlir(x, w))
    assert text.count('"nkipy.tile_op"') == 2 and text.count('"nkipy.layout"') == 2
    verified(kernel, x, w)
