"""The matmul blocking plan of knob-driven-tiling (`passes/matmul_blocking.py`)."""

from __future__ import annotations

import itertools

import pytest

from nkipy_kg.passes.matmul_blocking import Blocking, plan
from nkipy_kg.targets import TARGETS

TRN1, TRN2 = TARGETS["trn1"], TARGETS["trn2"]


def _sbuf_bytes(b: Blocking, k: int, elem: int) -> int:
    outer, inner = (b.block_n, b.block_m) if b.n_outer else (b.block_m, b.block_n)
    return (outer + 2 * inner) * (-(-k // 128)) * elem


def _traffic(m: int, n: int, k: int, b: Blocking, elem: int) -> int:
    a, bb = m * k * elem, k * n * elem
    return bb + a * (n // b.block_n) if b.n_outer else a + bb * (m // b.block_m)


def test_small_kernels_keep_the_reference_plan():
    # Everything fits and nothing beats 2-tile blocks with M outer: the reference's plan.
    assert plan((256, 256, 256), (128, 128, 128), 4, TRN2) == Blocking(256, 256, False, 256 * 256 * 4 * 2)


def test_a1_matmul_keeps_b_and_streams_a():
    # 4096 x 8192 x 8192 bf16 on trn1 (the NKI tutorial's size): a whole-K B block of
    # 1024 columns (128 KiB per partition) stays while 128-column A^T blocks stream.
    b = plan((4096, 8192, 8192), (128, 512, 128), 2, TRN1)
    assert b.n_outer and (b.block_m, b.block_n) == (128, 1024)
    assert b.traffic == 8192 * 8192 * 2 + 4096 * 8192 * 2 * 8
    assert _sbuf_bytes(b, 8192, 2) <= TRN1.sbuf_bytes_per_partition


@pytest.mark.parametrize("m,n,k,elem,target", [
    (4096, 8192, 8192, 2, TRN1), (2048, 2048, 2048, 2, TRN2), (1024, 4096, 1024, 4, TRN2), (2048, 512, 8192, 2, TRN2),
])
def test_plan_is_the_cheapest_that_fits(m, n, k, elem, target):
    b = plan((m, n, k), (128, 512, 128), elem, target)
    assert b.traffic == _traffic(m, n, k, b, elem)
    budget = target.sbuf_bytes_per_partition - 2 * 512 * 4
    assert _sbuf_bytes(b, k, elem) <= budget
    # Brute force over every divisor block and both orders: nothing that fits moves less.
    options = [Blocking(bm, bn, no, 0) for no, bm, bn in itertools.product(
        (False, True), range(128, m + 1, 128), range(512, n + 1, 512)) if m % bm == 0 and n % bn == 0]
    fitting = [_traffic(m, n, k, o, elem) for o in options if _sbuf_bytes(o, k, elem) <= budget]
    assert b.traffic == min(fitting)


def test_nothing_fits_falls_back_to_the_reference_plan():
    # K so large that even one-tile blocks overflow SBUF: the reference's plan (the
    # capacity error is insert-spill-reload's to report, at the user's line).
    b = plan((256, 1024, 1 << 20), (128, 512, 128), 4, TRN2)
    assert (b.block_m, b.block_n, b.n_outer) == (256, 1024, False)
