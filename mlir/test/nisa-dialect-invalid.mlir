// RUN: nkipy-kg-opt %s --split-input-file --verify-diagnostics
// The nisa verifiers' hardware rules, one case each.

func.func @alloc_too_many_partitions() {
  // expected-error @+1 {{'nisa.alloc' op partition dim 256 exceeds the 128 partitions of trn2}}
  %t = "nisa.alloc"() : () -> memref<256x64xf32, 3 : i32>
  return
}

// -----

func.func @alloc_sbuf_too_big() {
  // expected-error @+1 {{needs 240000 B per partition, Sbuf has 212984}}
  %t = "nisa.alloc"() : () -> memref<128x60000xf32, 3 : i32>
  return
}

// -----

func.func @alloc_no_memory_space() {
  // expected-error @+1 {{result memory space must be Hbm=1, Psum=2, Sbuf=3 or SharedHbm=4}}
  %t = "nisa.alloc"() : () -> memref<128x64xf32>
  return
}

// -----

func.func @compute_reads_hbm(%a: memref<128x64xf32, 1 : i32>) {
  %t = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // expected-error @+1 {{'nisa.tensor_tensor_arith' op lhs must live in Psum/Sbuf, got Hbm}}
  "nisa.tensor_tensor_arith"(%t, %a, %t) {op = "add"} : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 1 : i32>, memref<128x64xf32, 3 : i32>) -> ()
  return
}

// -----

func.func @both_inputs_psum() {
  %s = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  %p = "nisa.alloc"() : () -> memref<128x64xf32, 2 : i32>
  // expected-error @+1 {{may not read both inputs from PSUM}}
  "nisa.tensor_tensor_arith"(%s, %p, %p) {op = "add"} : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 2 : i32>, memref<128x64xf32, 2 : i32>) -> ()
  return
}

// -----

func.func @unknown_alu_op() {
  %s = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // expected-error @+1 {{op 'frobnicate' is not one of}}
  "nisa.tensor_tensor_arith"(%s, %s, %s) {op = "frobnicate"} : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 3 : i32>, memref<128x64xf32, 3 : i32>) -> ()
  return
}

// -----

func.func @dma_touches_psum(%a: memref<128x64xf32, 1 : i32>) {
  %p = "nisa.alloc"() : () -> memref<128x64xf32, 2 : i32>
  // expected-error @+1 {{'nisa.dma_copy' op dst must live in Hbm/Sbuf/SharedHbm, got Psum}}
  "nisa.dma_copy"(%p, %a) : (memref<128x64xf32, 2 : i32>, memref<128x64xf32, 1 : i32>) -> ()
  return
}

// -----

func.func @dma_count_mismatch(%a: memref<128x64xf32, 1 : i32>) {
  %s = "nisa.alloc"() : () -> memref<128x32xf32, 3 : i32>
  // expected-error @+1 {{dst has 4096 elements, src has 8192}}
  "nisa.dma_copy"(%s, %a) : (memref<128x32xf32, 3 : i32>, memref<128x64xf32, 1 : i32>) -> ()
  return
}

// -----

func.func @matmul_dst_in_sbuf() {
  %st = "nisa.alloc"() : () -> memref<128x128xbf16, 3 : i32>
  %mv = "nisa.alloc"() : () -> memref<128x512xbf16, 3 : i32>
  %d = "nisa.alloc"() : () -> memref<128x512xf32, 3 : i32>
  // expected-error @+1 {{'nisa.matmul' op dst must live in Psum, got Sbuf}}
  "nisa.matmul"(%d, %st, %mv) : (memref<128x512xf32, 3 : i32>, memref<128x128xbf16, 3 : i32>, memref<128x512xbf16, 3 : i32>) -> ()
  return
}

// -----

func.func @matmul_dst_not_f32() {
  %st = "nisa.alloc"() : () -> memref<128x128xbf16, 3 : i32>
  %mv = "nisa.alloc"() : () -> memref<128x512xbf16, 3 : i32>
  %d = "nisa.alloc"() : () -> memref<128x512xbf16, 2 : i32>
  // expected-error @+1 {{dst must be f32 (PSUM accumulates in fp32), got bf16}}
  "nisa.matmul"(%d, %st, %mv) : (memref<128x512xbf16, 2 : i32>, memref<128x128xbf16, 3 : i32>, memref<128x512xbf16, 3 : i32>) -> ()
  return
}

// -----

func.func @matmul_moving_too_wide() {
  %st = "nisa.alloc"() : () -> memref<128x128xbf16, 3 : i32>
  %mv = "nisa.alloc"() : () -> memref<128x1024xbf16, 3 : i32>
  %d = "nisa.alloc"() : () -> memref<128x1024xf32, 2 : i32>
  // expected-error @+1 {{moving free size 1024 exceeds 512}}
  "nisa.matmul"(%d, %st, %mv) : (memref<128x1024xf32, 2 : i32>, memref<128x128xbf16, 3 : i32>, memref<128x1024xbf16, 3 : i32>) -> ()
  return
}

// -----

func.func @matmul_stationary_too_wide() {
  %st = "nisa.alloc"() : () -> memref<128x256xbf16, 3 : i32>
  %mv = "nisa.alloc"() : () -> memref<128x512xbf16, 3 : i32>
  %d = "nisa.alloc"() : () -> memref<128x512xf32, 2 : i32>
  // expected-error @+1 {{stationary free size 256 exceeds 128}}
  "nisa.matmul"(%d, %st, %mv) : (memref<128x512xf32, 2 : i32>, memref<128x256xbf16, 3 : i32>, memref<128x512xbf16, 3 : i32>) -> ()
  return
}

// -----

func.func @psum_tile_crosses_bank() {
  %s = "nisa.alloc"() : () -> memref<128x1024xf32, 3 : i32>
  %p = "nisa.alloc"() : () -> memref<128x1024xf32, 2 : i32>
  // expected-error @+1 {{src uses 4096 B per partition; a PSUM tile must fit one 2048 B bank}}
  "nisa.tensor_copy"(%s, %p) : (memref<128x1024xf32, 3 : i32>, memref<128x1024xf32, 2 : i32>) -> ()
  return
}

// -----

func.func @bad_engine() {
  %s = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // expected-error @+1 {{engine 'Tensor' is not one of Vector, Scalar, GpSimd}}
  "nisa.tensor_copy"(%s, %s) {engine = "Tensor"} : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 3 : i32>) -> ()
  return
}

// -----

func.func @gpsimd_cannot_reach_psum() {
  %s = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  %p = "nisa.alloc"() : () -> memref<128x64xf32, 2 : i32>
  // expected-error @+1 {{src must live in Sbuf, got Psum}}
  "nisa.tensor_copy"(%s, %p) {engine = "GpSimd"} : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 2 : i32>) -> ()
  return
}

// -----

func.func @reduce_partition_axis() {
  %s = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  %d = "nisa.alloc"() : () -> memref<1xf32, 3 : i32>
  // expected-error @+1 {{num_r_dim 2 must be in [1, 1] (the partition axis is not reducible)}}
  "nisa.tensor_reduce_arith"(%d, %s) {op = "add", num_r_dim = 2 : i64} : (memref<1xf32, 3 : i32>, memref<128x64xf32, 3 : i32>) -> ()
  return
}

// -----

func.func @activation_unknown() {
  %s = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // expected-error @+1 {{op 'cosh' is not one of}}
  "nisa.activation"(%s, %s) {op = "cosh", operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 3 : i32>) -> ()
  return
}

// -----

func.func @scalar_operand_wrong_shape() {
  %s = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  %v = "nisa.alloc"() : () -> memref<64x1xf32, 3 : i32>
  // expected-error @+1 {{operand0 has 64 partitions, the data has 128}}
  "nisa.tensor_scalar_arith"(%s, %s, %v) {op0 = "add", operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 3 : i32>, memref<64x1xf32, 3 : i32>) -> ()
  return
}

// -----

func.func @release_argument(%a: memref<128x64xf32, 1 : i32>) {
  // expected-error @+1 {{'nisa.release' op operand must be an nisa.alloc result}}
  "nisa.release"(%a) : (memref<128x64xf32, 1 : i32>) -> ()
  return
}

// -----

func.func @transpose_shape() {
  %s = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  %p = "nisa.alloc"() : () -> memref<128x64xf32, 2 : i32>
  // expected-error @+1 {{dst shape [128, 64] must be the 2-D transpose of [128, 64]}}
  "nisa.transpose"(%p, %s) : (memref<128x64xf32, 2 : i32>, memref<128x64xf32, 3 : i32>) -> ()
  return
}

// -----

func.func @operand_not_from_nisa_alloc() {
  %m = memref.alloc() : memref<128x64xf32, 3 : i32>
  %s = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // expected-error @+1 {{src must be an nisa.alloc result, a function argument or a view of one, not a result of 'memref.alloc'}}
  "nisa.tensor_copy"(%s, %m) : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 3 : i32>) -> ()
  return
}

// -----

func.func @matmul_mixed_f32_bf16() {
  %st = "nisa.alloc"() : () -> memref<128x128xf32, 3 : i32>
  %mv = "nisa.alloc"() : () -> memref<128x512xbf16, 3 : i32>
  %d = "nisa.alloc"() : () -> memref<128x512xf32, 2 : i32>
  // expected-error @+1 {{an f32 operand must pair with an f32 operand}}
  "nisa.matmul"(%d, %st, %mv) : (memref<128x512xf32, 2 : i32>, memref<128x128xf32, 3 : i32>, memref<128x512xbf16, 3 : i32>) -> ()
  return
}

// -----

// An input broadcasts only along size-1 free dims (a zero-stride access pattern).
func.func @tensor_tensor_broadcast(%d: memref<128x4x64xf32, 3 : i32>, %a: memref<128x4x64xf32, 3 : i32>,
                                   %c: memref<128x1x64xf32, 3 : i32>, %b: memref<128x2x64xf32, 3 : i32>) {
  "nisa.tensor_tensor_arith"(%d, %a, %c) {op = "multiply"} : (memref<128x4x64xf32, 3 : i32>, memref<128x4x64xf32, 3 : i32>, memref<128x1x64xf32, 3 : i32>) -> ()
  // expected-error @+1 {{'nisa.tensor_tensor_arith' op rhs shape [128, 2, 64] does not match dst [128, 4, 64] (only size-1 free dims broadcast)}}
  "nisa.tensor_tensor_arith"(%d, %a, %b) {op = "multiply"} : (memref<128x4x64xf32, 3 : i32>, memref<128x4x64xf32, 3 : i32>, memref<128x2x64xf32, 3 : i32>) -> ()
  return
}
