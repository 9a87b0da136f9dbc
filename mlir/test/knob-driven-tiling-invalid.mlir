// RUN: nkipy-kg-opt %s --knob-driven-tiling --split-input-file --verify-diagnostics

func.func @matmul_two_tiles(%a: tensor<256x128xf32>, %b: tensor<128x512xf32>) -> tensor<256x512xf32> {
  %c = tensor.empty() : tensor<256x512xf32>
  %r = linalg.matmul {nkipy.op_id = 0 : i64} ins(%a, %b : tensor<256x128xf32>, tensor<128x512xf32>) outs(%c : tensor<256x512xf32>) -> tensor<256x512xf32>
  // expected-error @below {{Invalid tile configuration: matmul expects 3 tile sizes ([M, N, K]), got [128, 128]}}
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128, 128>} : (tensor<256x512xf32>) -> ()
  return %r : tensor<256x512xf32>
}

// -----

func.func @matmul_k_too_big(%a: tensor<256x128xf32>, %b: tensor<128x512xf32>) -> tensor<256x512xf32> {
  %c = tensor.empty() : tensor<256x512xf32>
  %r = linalg.matmul {nkipy.op_id = 0 : i64} ins(%a, %b : tensor<256x128xf32>, tensor<128x512xf32>) outs(%c : tensor<256x512xf32>) -> tensor<256x512xf32>
  // expected-error @below {{Invalid tile configuration: matmul tile K=256 is larger than the dimension (128)}}
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128, 128, 256>} : (tensor<256x512xf32>) -> ()
  return %r : tensor<256x512xf32>
}

// -----

func.func @elementwise_rank(%a: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %e = tensor.empty() : tensor<256x512xf32>
  %0 = linalg.exp {nkipy.op_id = 0 : i64} ins(%a : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  // expected-error @below {{Invalid tile configuration: linalg.exp expects 2 tile sizes (one per result dim: 2), got [128]}}
  "nkipy.tile_op"(%0) {loop_tile_size = array<i64: 128>} : (tensor<256x512xf32>) -> ()
  return %0 : tensor<256x512xf32>
}

// -----

func.func @elementwise_too_big(%a: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %e = tensor.empty() : tensor<256x512xf32>
  %0 = linalg.exp {nkipy.op_id = 0 : i64} ins(%a : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  // expected-error @below {{Invalid tile configuration: linalg.exp tile dim 1=1024 is larger than the dimension (512)}}
  "nkipy.tile_op"(%0) {loop_tile_size = array<i64: 128, 1024>} : (tensor<256x512xf32>) -> ()
  return %0 : tensor<256x512xf32>
}

// -----

func.func @transpose_rank(%a: tensor<256x128xf32>) -> tensor<128x256xf32> {
  %e = tensor.empty() : tensor<128x256xf32>
  %t = linalg.transpose {nkipy.op_id = 0 : i64} ins(%a : tensor<256x128xf32>) outs(%e : tensor<128x256xf32>) permutation = [1, 0]
  // expected-error @below {{Invalid tile configuration: linalg.transpose expects 2 tile sizes (one per result dim: 2), got [128, 128, 1]}}
  "nkipy.tile_op"(%t) {loop_tile_size = array<i64: 128, 128, 1>} : (tensor<128x256xf32>) -> ()
  return %t : tensor<128x256xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @reduction_iterators(%a: tensor<256x512xf32>, %init: tensor<256xf32>) -> tensor<256xf32> {
  %r = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%a : tensor<256x512xf32>) outs(%init : tensor<256xf32>) attrs = {nkipy.op_id = 0 : i64} {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<256xf32>
  // expected-error @below {{Invalid tile configuration: reduction expects 2 tile sizes (one per iterator: 2), got [128]}}
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128>} : (tensor<256xf32>) -> ()
  return %r : tensor<256xf32>
}

// -----

func.func @no_op_id(%a: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %e = tensor.empty() : tensor<256x512xf32>
  // expected-error @below {{a tiled op has no nkipy.op_id}}
  %0 = linalg.exp ins(%a : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  "nkipy.tile_op"(%0) {loop_tile_size = array<i64: 128, 512>} : (tensor<256x512xf32>) -> ()
  return %0 : tensor<256x512xf32>
}

// -----

func.func @batch_matmul(%a: tensor<2x4x8xf32>, %b: tensor<2x8x16xf32>) -> tensor<2x4x16xf32> {
  %c = tensor.empty() : tensor<2x4x16xf32>
  %r = linalg.batch_matmul {nkipy.op_id = 0 : i64} ins(%a, %b : tensor<2x4x8xf32>, tensor<2x8x16xf32>) outs(%c : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-error @below {{Invalid tile configuration: linalg.batch_matmul must be decomposed first}}
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 1, 4, 16, 8>} : (tensor<2x4x16xf32>) -> ()
  return %r : tensor<2x4x16xf32>
}

// -----

func.func @gather(%t: tensor<512x64xf32>, %i: tensor<8xi32>, %o: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %g = "nkipy.gather"(%t, %i, %o) : (tensor<512x64xf32>, tensor<8xi32>, tensor<8x64xf32>) -> tensor<8x64xf32>
  // expected-error @below {{Invalid tile configuration: nkipy.gather cannot be tiled}}
  "nkipy.tile_op"(%g) {loop_tile_size = array<i64: 8, 64>} : (tensor<8x64xf32>) -> ()
  return %g : tensor<8x64xf32>
}

// -----

func.func @conflicting(%a: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %e = tensor.empty() : tensor<256x512xf32>
  %0 = linalg.exp {nkipy.op_id = 0 : i64} ins(%a : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  "nkipy.tile_op"(%0) {loop_tile_size = array<i64: 128, 512>} : (tensor<256x512xf32>) -> ()
  // expected-error @below {{Invalid tile configuration: conflicting tile_ops on one value ([128, 512] vs [64, 512])}}
  "nkipy.tile_op"(%0) {loop_tile_size = array<i64: 64, 512>} : (tensor<256x512xf32>) -> ()
  return %0 : tensor<256x512xf32>
}

// -----

func.func @named_reduce(%a: tensor<16x8xf32>, %init: tensor<16xf32>) -> tensor<16xf32> {
  %r = linalg.reduce ins(%a : tensor<16x8xf32>) outs(%init : tensor<16xf32>) dimensions = [1] {nkipy.op_id = 0 : i64}
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  // expected-error @below {{Invalid tile configuration: tiling linalg.reduce is not supported}}
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 8>} : (tensor<16xf32>) -> ()
  return %r : tensor<16xf32>
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b_t = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @transposed_b(%a: tensor<16x8xf32>, %b: tensor<32x8xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %r = linalg.matmul indexing_maps = [#a, #b_t, #c] {nkipy.op_id = 0 : i64} ins(%a, %b : tensor<16x8xf32>, tensor<32x8xf32>) outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  // expected-error @below {{is not supported (only plain and transposed-A)}}
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 16, 32, 8>} : (tensor<16x32xf32>) -> ()
  return %r : tensor<16x32xf32>
}
