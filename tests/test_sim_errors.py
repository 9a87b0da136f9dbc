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
