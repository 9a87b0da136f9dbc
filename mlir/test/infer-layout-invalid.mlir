// RUN: nkipy-kg-opt %s --infer-layout=target=trn2 --split-input-file --verify-diagnostics

// Two user seeds meet on %b: partition_dim 0 from %a, partition_dim 1 on %b itself.
func.func @partition_dim_conflict(%x: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %e = tensor.empty() : tensor<64x128xf32>
  %a = linalg.exp ins(%x : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  "nkipy.layout"(%a) {partition_dim = 0 : ui32, tile_size = array<i64: 64, 128>} : (tensor<64x128xf32>) -> ()
  // expected-error @below {{infer-layout: conflicting partition_dim: existing=1 vs proposed=0}}
  %b = linalg.exp ins(%a : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  "nkipy.layout"(%b) {partition_dim = 1 : ui32, tile_size = array<i64: 64, 128>} : (tensor<64x128xf32>) -> ()
  return %b : tensor<64x128xf32>
}

// -----

// 48 and 64 do not divide each other: the two seeds cannot share one tiling.
func.func @tile_conflict(%x: tensor<192x128xf32>) -> tensor<192x128xf32> {
  %e = tensor.empty() : tensor<192x128xf32>
  %a = linalg.exp ins(%x : tensor<192x128xf32>) outs(%e : tensor<192x128xf32>) -> tensor<192x128xf32>
  "nkipy.tile_op"(%a) {loop_tile_size = array<i64: 48, 128>} : (tensor<192x128xf32>) -> ()
  // expected-error @below {{infer-layout: incompatible tile_size: [64, 128] vs [48, 128] (one must divide the other in each dimension)}}
  %b = linalg.negf ins(%a : tensor<192x128xf32>) outs(%e : tensor<192x128xf32>) -> tensor<192x128xf32>
  "nkipy.tile_op"(%b) {loop_tile_size = array<i64: 64, 128>} : (tensor<192x128xf32>) -> ()
  return %b : tensor<192x128xf32>
}

// -----

// A reduction reached from two seeds: the sum's loop tile [64, 128] from %a,
// [32, 96] lifted from the user's value tile on %s.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func @reduction_conflict(%x: tensor<128x384xf32>) -> tensor<128x1xf32> {
  %e = tensor.empty() : tensor<128x384xf32>
  %a = linalg.exp ins(%x : tensor<128x384xf32>) outs(%e : tensor<128x384xf32>) -> tensor<128x384xf32>
  "nkipy.tile_op"(%a) {loop_tile_size = array<i64: 64, 128>} : (tensor<128x384xf32>) -> ()
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<128x1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e1 : tensor<128x1xf32>) -> tensor<128x1xf32>
  // expected-error @below {{infer-layout: incompatible tile_size: [64, 96] vs [64, 128]}}
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<128x384xf32>) outs(%f : tensor<128x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<128x1xf32>
  "nkipy.tile_op"(%s) {loop_tile_size = array<i64: 64, 96>} : (tensor<128x1xf32>) -> ()
  return %s : tensor<128x1xf32>
}

// -----

func.func @dynamic_shape(%x: tensor<?x8xf32>, %e: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @below {{infer-layout: unable to determine layout for op}}
  %a = linalg.exp ins(%x : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %a : tensor<?x8xf32>
}

// -----

func.func @tile_op_rank(%a: tensor<64x32xf32>, %b: tensor<32x64xf32>) -> tensor<64x64xf32> {
  %e = tensor.empty() : tensor<64x64xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x32xf32>, tensor<32x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  // expected-error @below {{infer-layout: tile_op has 2 sizes but linalg.matmul has 3 loops}}
  "nkipy.tile_op"(%m) {loop_tile_size = array<i64: 64, 64>} : (tensor<64x64xf32>) -> ()
  return %m : tensor<64x64xf32>
}

// -----

// A reduction to a scalar whose combiner has no known identity is not split.
#id = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>
func.func @scalar_reduction_unknown_combiner(%x: tensor<256x64xf32>) -> tensor<f32> {
  %e = tensor.empty() : tensor<f32>
  // expected-error @below {{infer-layout: a rank-0 result of linalg.generic has no partition dim to lay out}}
  %s = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]} ins(%x : tensor<256x64xf32>) outs(%e : tensor<f32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.subf %in, %acc : f32
    linalg.yield %a : f32
  } -> tensor<f32>
  return %s : tensor<f32>
}
