"""Each illegal access raises a SimError that names the user's source line."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nkipy_kg.errors import SimError
from nkipy_kg.sim import simulate
from nkipy_kg.sim.examples import mref as T
from nkipy_kg.targets import get_target

SB = T((128, 64), "f32", 3)
HB = T((128, 64), "f32", 1)


def module(args: str, body: str) -> str:
    return f"""module attributes {{nisa.target = "trn2"}} {{
  func.func @k({args}) {{
{body}
    return
  }}
}}"""


def at(line: int) -> str:
    return f'loc("my_kernel.py":{line}:5)'


def raises_at(text: str, line: int, match: str, *arrays, **kw) -> SimError:
    with pytest.raises(SimError, match=match) as info:
        simulate(text, *arrays, **kw)
    assert info.value.loc is not None and info.value.loc.file == "my_kernel.py"
    assert info.value.loc.line == line
    return info.value


def test_sbuf_overflow_names_the_allocation() -> None:
    big = T((128, 30000), "f32", 3)  # 120000 B per partition: two do not fit in 212984
    body = f"""    %a = "nisa.alloc"() : () -> {big} {at(10)}
    %b = "nisa.alloc"() : () -> {big} {at(11)}"""
    err = raises_at(module("", body), 11, r"Sbuf overflow: %\w+ needs 120000 B per partition")
    assert "212984" in str(err)


def test_psum_overflow() -> None:
    bank = T((128, 512), "f32", 2)
    body = "\n".join(f'    %p{i} = "nisa.alloc"() : () -> {bank} {at(20 + i)}' for i in range(9))
    raises_at(module("", body), 28, r"Psum overflow")


def test_out_of_bounds_subview_in_a_loop() -> None:
    tile = "memref<128x64xf32, strided<[64, 1], offset: ?>, 1 : i32>"
    full = T((256, 64), "f32", 1)
    body = f"""    %c0 = arith.constant 0 : index
    %c128 = arith.constant 128 : index
    %c384 = arith.constant 384 : index
    %t = "nisa.alloc"() : () -> {SB}
    scf.for %i = %c0 to %c384 step %c128 {{
      %s = memref.subview %a[%i, 0] [128, 64] [1, 1] : {full} to {tile} {at(33)}
      "nisa.dma_copy"(%t, %s) : ({SB}, {tile}) -> () {at(34)}
    }}"""
    raises_at(module(f"%a: {full}", body), 33, r"out-of-bounds access: .* \[256, 383\] on dim 0, which has size 256",
              np.zeros((256, 64), np.float32))


def test_partition_dim_larger_than_the_target() -> None:
    small = dataclasses.replace(get_target("trn2"), name="tiny", partitions=64)
    body = f'    %t = "nisa.alloc"() : () -> {SB} {at(40)}'
    raises_at(module("", body), 40, r"partition dim 128 > 64 partitions of tiny", target=small)


def test_partition_dim_rejected_by_the_verifier_is_located_too() -> None:
    body = f'    %t = "nisa.alloc"() : () -> {T((256, 64), "f32", 3)} {at(45)}'
    raises_at(module("", body), 45, r"partition dim 256 exceeds the 128 partitions")


def test_reading_uninitialised_memory() -> None:
    body = f"""    %x = "nisa.alloc"() : () -> {SB}
    %y = "nisa.alloc"() : () -> {SB}
    "nisa.dma_copy"(%x, %a) : ({SB}, {HB}) -> ()
    "nisa.tensor_tensor_arith"(%x, %x, %y) {{op = "add"}} : ({SB}, {SB}, {SB}) -> () {at(53)}"""
    raises_at(module(f"%a: {HB}", body), 53, r"reads uninitialised Sbuf memory: rhs",
              np.zeros((128, 64), np.float32))


def test_reading_a_partly_written_tile() -> None:
    half = "memref<128x32xf32, strided<[64, 1]>, 3 : i32>"
    hhalf = "memref<128x32xf32, strided<[64, 1]>, 1 : i32>"
    body = f"""    %x = "nisa.alloc"() : () -> {SB}
    %xs = memref.subview %x[0, 0] [128, 32] [1, 1] : {SB} to {half}
    %as = memref.subview %a[0, 0] [128, 32] [1, 1] : {HB} to {hhalf}
    "nisa.dma_copy"(%xs, %as) : ({half}, {hhalf}) -> ()
    "nisa.dma_copy"(%o, %x) : ({T((128, 64), "f32", 4)}, {SB}) -> () {at(64)}"""
    err = raises_at(module(f"%a: {HB}, %o: {T((128, 64), 'f32', 4)}", body), 64, r"uninitialised .* \[0, 32\]",
                    np.zeros((128, 64), np.float32), np.zeros((128, 64), np.float32))
    assert "nisa.dma_copy" in str(err)


def _halves(first: int, second: int) -> str:
    """Write columns [first*32, first*32+32) and then [second*32, ...) of an SBUF tile
    by DMA, then store the whole tile (line 65)."""
    lines = [f'    %x = "nisa.alloc"() : () -> {SB}']
    for i, col in enumerate((first * 32, second * 32)):
        layout = f"strided<[64, 1], offset: {col}>" if col else "strided<[64, 1]>"
        half, hhalf = (f"memref<128x32xf32, {layout}, {space} : i32>" for space in (3, 1))
        lines += [f"    %xs{i} = memref.subview %x[0, {col}] [128, 32] [1, 1] : {SB} to {half}",
                  f"    %as{i} = memref.subview %a[0, {col}] [128, 32] [1, 1] : {HB} to {hhalf}",
                  f'    "nisa.dma_copy"(%xs{i}, %as{i}) : ({half}, {hhalf}) -> ()']
    lines.append(f'    "nisa.dma_copy"(%o, %x) : ({T((128, 64), "f32", 4)}, {SB}) -> () {at(65)}')
    return module(f"%a: {HB}, %o: {T((128, 64), 'f32', 4)}", "\n".join(lines))


def test_a_tile_written_piecewise_reads_whole_once_every_piece_is_written() -> None:
    """The simulator stops checking a buffer's mask once its writes have covered it:
    two halves cover it, the same half twice does not."""
    a = np.arange(128 * 64, dtype=np.float32).reshape(128, 64)
    out = simulate(_halves(0, 1), a, np.zeros_like(a)).args[1]
    np.testing.assert_array_equal(out, a)
    raises_at(_halves(1, 1), 65, r"uninitialised .* first unwritten element \[0, 0\]", a, np.zeros_like(a))


def test_a_view_repeating_elements_does_not_count_as_filling_its_tile() -> None:
    """A reinterpret_cast with a zero stride is as large as the tile but writes column 0
    only; reading the tile must still find columns 1.. unwritten."""
    rep = "memref<128x64xf32, strided<[64, 0]>, 3 : i32>"
    body = f"""    %x = "nisa.alloc"() : () -> {SB}
    %v = memref.reinterpret_cast %x to offset: [0], sizes: [128, 64], strides: [64, 0] : {SB} to {rep}
    "nisa.memset"(%v) {{value = 1.0 : f32}} : ({rep}) -> ()
    "nisa.dma_copy"(%o, %x) : ({T((128, 64), "f32", 4)}, {SB}) -> () {at(71)}"""
    raises_at(module(f"%o: {T((128, 64), 'f32', 4)}", body), 71, r"first unwritten element \[0, 1\]",
              np.zeros((128, 64), np.float32))


def test_use_after_release() -> None:
    body = f"""    %x = "nisa.alloc"() : () -> {SB}
    "nisa.dma_copy"(%x, %a) : ({SB}, {HB}) -> ()
    "nisa.release"(%x) : ({SB}) -> ()
    "nisa.tensor_copy"(%x, %x) : ({SB}, {SB}) -> () {at(74)}"""
    raises_at(module(f"%a: {HB}", body), 74, r"uses buffer %\w+ after its nisa.release",
              np.zeros((128, 64), np.float32))


def test_view_of_a_released_buffer() -> None:
    half = "memref<128x32xf32, strided<[64, 1]>, 3 : i32>"
    body = f"""    %x = "nisa.alloc"() : () -> {SB}
    "nisa.dma_copy"(%x, %a) : ({SB}, {HB}) -> ()
    %v = memref.subview %x[0, 0] [128, 32] [1, 1] : {SB} to {half}
    "nisa.release"(%x) : ({SB}) -> ()
    "nisa.memset"(%v) {{value = 1.0 : f32}} : ({half}) -> () {at(84)}"""
    raises_at(module(f"%a: {HB}", body), 84, r"after its nisa.release", np.zeros((128, 64), np.float32))


def test_error_message_shows_the_source_line(tmp_path) -> None:
    src = tmp_path / "user_kernel.py"
    src.write_text("import numpy as np\n\ndef k(a):\n    return a + b_undefined_tile\n")
    body = f"""    %x = "nisa.alloc"() : () -> {SB}
    %y = "nisa.alloc"() : () -> {SB}
    "nisa.tensor_tensor_arith"(%x, %x, %y) {{op = "add"}} : ({SB}, {SB}, {SB}) -> () loc("{src}":4:12)"""
    with pytest.raises(SimError) as info:
        simulate(module("", body))
    text = str(info.value)
    assert f"{src}:4:12" in text and "return a + b_undefined_tile" in text and "^" in text


def test_wrong_argument_shape() -> None:
    with pytest.raises(SimError, match=r"argument 0 has shape \[4, 4\]"):
        simulate(module(f"%a: {HB}", ""), np.zeros((4, 4), np.float32))


def test_psum_tile_crossing_a_bank() -> None:
    two_banks = T((128, 1024), "f32", 2)
    mid = "memref<128x512xf32, strided<[1024, 1], offset: 256>, 2 : i32>"
    body = f"""    %p = "nisa.alloc"() : () -> {two_banks}
    %v = memref.subview %p[0, 256] [128, 512] [1, 1] : {two_banks} to {mid}
    "nisa.memset"(%v) {{value = 0.0 : f32}} : ({mid}) -> () {at(93)}"""
    raises_at(module("", body), 93, r"crossing a 2048 B bank boundary")


def test_out_of_bounds_reinterpret_cast() -> None:
    past = "memref<128x64xf32, strided<[64, 1], offset: 64>, 3 : i32>"
    body = f"""    %x = "nisa.alloc"() : () -> {SB}
    %v = memref.reinterpret_cast %x to offset: [64], sizes: [128, 64], strides: [64, 1] : {SB} to {past} {at(101)}
    "nisa.memset"(%v) {{value = 0.0 : f32}} : ({past}) -> ()"""
    raises_at(module("", body), 101, r"out-of-bounds access: memref.reinterpret_cast of %\w+ reaches element 8255 of 8192")


def test_out_of_bounds_gather_index() -> None:
    rows, idx, table = T((8, 64), "f32", 3), T((8, 1), "i32", 3), T((512, 64), "f32", 1)
    body = f"""    %i = "nisa.alloc"() : () -> {idx}
    "nisa.iota"(%i) {{pattern = array<i64: 0, 1>, channel_multiplier = 100 : i64}} : ({idx}) -> ()
    %r = "nisa.alloc"() : () -> {rows}
    "nisa.dma_copy_indirect"(%r, %t, %i) : ({rows}, {table}, {idx}) -> () {at(111)}"""
    raises_at(module(f"%t: {table}", body), 111, r"index 600 is outside src rows \[0, 512\)",
              np.zeros((512, 64), np.float32))


def test_psum_overflow_by_many_small_tiles() -> None:
    """Each PSUM allocation takes whole 2 KiB banks: 9 tiny tiles do not fit 8 banks."""
    tiny = T((128, 4), "f32", 2)
    body = "\n".join(f'    %p{i} = "nisa.alloc"() : () -> {tiny} {at(120 + i)}' for i in range(9))
    err = raises_at(module("", body), 128, r"Psum overflow: %\w+ needs 16 B per partition, 0 of 16384 B free")
    assert "largest hole 0 B" in str(err)


def test_partition_dim_of_psum_larger_than_the_target() -> None:
    small = dataclasses.replace(get_target("trn2"), name="tiny", partitions=64)
    body = f'    %p = "nisa.alloc"() : () -> {T((128, 512), "f32", 2)} {at(130)}'
    raises_at(module("", body), 130, r"Psum allocation %\w+ of shape \[128, 512\] has partition dim 128 > 64",
              target=small)


def test_reading_uninitialised_psum_by_an_accumulating_matmul() -> None:
    st, mv, ps = T((128, 128), "bf16", 3), T((128, 512), "bf16", 3), T((128, 512), "f32", 2)
    body = f"""    %s = "nisa.alloc"() : () -> {st}
    %m = "nisa.alloc"() : () -> {mv}
    "nisa.memset"(%s) {{value = 1.0 : f32}} : ({st}) -> ()
    "nisa.memset"(%m) {{value = 1.0 : f32}} : ({mv}) -> ()
    %acc = "nisa.alloc"() : () -> {ps}
    "nisa.matmul"(%acc, %s, %m) {{accumulate = true}} : ({ps}, {st}, {mv}) -> () {at(145)}"""
    raises_at(module("", body), 145, r"nisa.matmul reads uninitialised Psum memory: dst \(accumulate\)")


def test_reading_an_unwritten_kernel_private_hbm_buffer() -> None:
    body = f"""    %h = "nisa.alloc"() : () -> {HB}
    %x = "nisa.alloc"() : () -> {SB}
    "nisa.dma_copy"(%x, %h) : ({SB}, {HB}) -> () {at(152)}"""
    raises_at(module("", body), 152, r"reads uninitialised Hbm memory: src")


def test_release_twice() -> None:
    body = f"""    %x = "nisa.alloc"() : () -> {SB}
    "nisa.release"(%x) : ({SB}) -> ()
    "nisa.release"(%x) : ({SB}) -> () {at(158)}"""
    raises_at(module("", body), 158, r"buffer %\w+ is released twice")


def test_use_of_a_released_psum_buffer() -> None:
    ps = T((128, 512), "f32", 2)
    body = f"""    %p = "nisa.alloc"() : () -> {ps}
    "nisa.memset"(%p) {{value = 0.0 : f32}} : ({ps}) -> ()
    "nisa.release"(%p) : ({ps}) -> ()
    %x = "nisa.alloc"() : () -> {T((128, 512), "f32", 3)}
    "nisa.tensor_copy"(%x, %p) : ({T((128, 512), "f32", 3)}, {ps}) -> () {at(166)}"""
    raises_at(module("", body), 166, r"nisa.tensor_copy uses buffer %\w+ after its nisa.release")


def test_released_bytes_are_reusable() -> None:
    """Not an error: releasing makes room, so the overflow test above is about live data."""
    big = T((128, 30000), "f32", 3)
    body = f"""    %a = "nisa.alloc"() : () -> {big}
    "nisa.release"(%a) : ({big}) -> ()
    %b = "nisa.alloc"() : () -> {big}
    "nisa.release"(%b) : ({big}) -> ()"""
    assert simulate(module("", body)).sbuf_high_water >= 120000


def test_op_the_simulator_cannot_run_is_located() -> None:
    body = f"""    %m = memref.alloc() : memref<4xf32> {at(180)}"""
    raises_at(module("", body), 180, r"the simulator does not support 'memref.alloc'")


def test_unknown_target_is_a_sim_error() -> None:
    with pytest.raises(SimError, match=r"unknown target 'trn9'"):
        simulate(module("", "").replace('"trn2"', '"trn9"'))


def test_matmul_accumulating_onto_a_memset_psum_tile() -> None:
    """Undefined on NC-v2/v3: an accumulation group must start with a matmul that overwrites."""
    st, mv, ps = T((128, 128), "bf16", 3), T((128, 512), "bf16", 3), T((128, 512), "f32", 2)
    body = f"""    %s = "nisa.alloc"() : () -> {st}
    %m = "nisa.alloc"() : () -> {mv}
    "nisa.memset"(%s) {{value = 1.0 : f32}} : ({st}) -> ()
    "nisa.memset"(%m) {{value = 1.0 : f32}} : ({mv}) -> ()
    %acc = "nisa.alloc"() : () -> {ps}
    "nisa.memset"(%acc) {{value = 0.0 : f32}} : ({ps}) -> ()
    "nisa.matmul"(%acc, %s, %m) {{accumulate = true}} : ({ps}, {st}, {mv}) -> () {at(195)}"""
    err = raises_at(module("", body), 195, r"nisa.matmul accumulates onto PSUM of %\w+ that a non-matmul "
                                           r"instruction wrote last; that is undefined on NC-v2/v3")
    assert "accumulate = false" in str(err)
    ok = body.replace("{accumulate = true}", "{accumulate = false}") + f"""
    "nisa.matmul"(%acc, %s, %m) {{accumulate = true}} : ({ps}, {st}, {mv}) -> ()"""
    simulate(module("", ok))  # overwrite first, then accumulate: fine


@pytest.mark.parametrize("start,size,ok", [(32, 64, False), (64, 64, True), (96, 32, True), (16, 32, False),
                                           (32, 33, False), (0, 128, True), (64, 33, True)])
def test_compute_engines_reach_partitions_from_aligned_starts(start: int, size: int, ok: bool) -> None:
    """n > 64 partitions start at 0, 32 < n <= 64 at 0 or 64, n <= 32 at a multiple of 32."""
    view = f"memref<{size}x64xf32, strided<[64, 1], offset: {start * 64}>, 3 : i32>"
    body = f"""    %x = "nisa.alloc"() : () -> {SB}
    %v = memref.subview %x[{start}, 0] [{size}, 64] [1, 1] : {SB} to {view}
    "nisa.memset"(%v) {{value = 1.0 : f32}} : ({view}) -> () {at(210)}"""
    if ok:
        simulate(module("", body))
        return
    raises_at(module("", body), 210, rf"nisa.memset: a {size}-partition operand of %\w+ starts at partition "
                                     rf"{start}; Vector reaches {size} partitions only from a multiple of "
                                     rf"{64 if size > 32 else 32}")


def test_dma_may_start_at_any_partition() -> None:
    view = "memref<64x64xf32, strided<[64, 1], offset: 2048>, 3 : i32>"
    hview = "memref<64x64xf32, strided<[64, 1], offset: 2048>, 1 : i32>"
    body = f"""    %x = "nisa.alloc"() : () -> {SB}
    %v = memref.subview %x[32, 0] [64, 64] [1, 1] : {SB} to {view}
    %h = memref.subview %a[32, 0] [64, 64] [1, 1] : {HB} to {hview}
    "nisa.dma_copy"(%v, %h) : ({view}, {hview}) -> ()"""
    simulate(module(f"%a: {HB}", body), np.zeros((128, 64), np.float32))
