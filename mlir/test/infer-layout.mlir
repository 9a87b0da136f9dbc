// RUN: nkipy-kg-opt %s --infer-layout="target=trn2 fuse-elementwise=false" --split-input-file | filecheck %s
// (Layout propagation through elementwise chains; infer-layout-fusion.mlir checks the fusion.)

// The digest's example: an un-annotated [256,128] @ [128,512] gets [M,N,K] =
// [min(M,128), min(N,512), min(K,128)], its layout drops K, and a returned value is SharedHbm.
// CHECK-LABEL: func.func @matmul_default
// CHECK:         %[[C:.*]] = linalg.matmul
// CHECK-NEXT:    "nkipy.layout"(%[[C]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 512>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[C]]) {loop_tile_size = array<i64: 128, 512, 128>}
// CHECK-NEXT:    return %[[C]]
func.func @matmul_default(%a: tensor<256x128xf32>, %b: tensor<128x512xf32>) -> tensor<256x512xf32> {
  %e = tensor.empty() : tensor<256x512xf32>
  %c = linalg.matmul ins(%a, %b : tensor<256x128xf32>, tensor<128x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  return %c : tensor<256x512xf32>
}

// -----

// Fallback elementwise tile: [min(d0,128), 1, ..., 1, d_last]; a sequence-leading value
// keeps its middle dims while the free bytes per partition (fp32) stay <= 16 KiB.
// CHECK-LABEL: func.func @exp_3d
// CHECK:         %[[R:.*]] = linalg.exp
// CHECK-NEXT:    "nkipy.layout"(%[[R]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 4, 256>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[R]]) {loop_tile_size = array<i64: 128, 4, 256>}
// CHECK-LABEL: func.func @exp_3d_wide
// CHECK:         "nkipy.layout"(%{{.*}}) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 1, 256>}
func.func @exp_3d(%x: tensor<128x4x256xf32>) -> tensor<128x4x256xf32> {
  %e = tensor.empty() : tensor<128x4x256xf32>
  %r = linalg.exp ins(%x : tensor<128x4x256xf32>) outs(%e : tensor<128x4x256xf32>) -> tensor<128x4x256xf32>
  return %r : tensor<128x4x256xf32>
}
func.func @exp_3d_wide(%x: tensor<128x32x256xf32>) -> tensor<128x32x256xf32> {
  %e = tensor.empty() : tensor<128x32x256xf32>
  %r = linalg.exp ins(%x : tensor<128x32x256xf32>) outs(%e : tensor<128x32x256xf32>) -> tensor<128x32x256xf32>
  return %r : tensor<128x32x256xf32>
}

// -----

// CHECK-LABEL: func.func @exp_small
// CHECK:         %[[R:.*]] = linalg.exp
// CHECK-NEXT:    "nkipy.layout"(%[[R]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 64, 512>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[R]]) {loop_tile_size = array<i64: 64, 512>}
func.func @exp_small(%x: tensor<64x512xf32>) -> tensor<64x512xf32> {
  %e = tensor.empty() : tensor<64x512xf32>
  %r = linalg.exp ins(%x : tensor<64x512xf32>) outs(%e : tensor<64x512xf32>) -> tensor<64x512xf32>
  return %r : tensor<64x512xf32>
}

// -----

// A [1,N] operand broadcast across partitions does not clamp the partition tile (the
// reference clamps it to 1, leaving 127 partitions idle): its size-1 dim says nothing
// about the loop it meets.
// CHECK-LABEL: func.func @broadcast_partition_clamp
// CHECK:         "nkipy.layout"(%{{.*}}) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 64>}
// CHECK-NEXT:    "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 128, 64>}
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (0, d1)>
func.func @broadcast_partition_clamp(%x: tensor<128x64xf32>, %b: tensor<1x64xf32>) -> tensor<128x64xf32> {
  %e = tensor.empty() : tensor<128x64xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<128x64xf32>, tensor<1x64xf32>) outs(%e : tensor<128x64xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in, %in_1 : f32
    linalg.yield %s : f32
  } -> tensor<128x64xf32>
  return %r : tensor<128x64xf32>
}

// -----

// Backward into a [256,1] operand (map (d0, 0)) clamps the broadcast dim to 1.
// CHECK-LABEL: func.func @rmsnorm_pattern
// CHECK:         %[[S:.*]] = linalg.sqrt
// CHECK-NEXT:    "nkipy.layout"(%[[S]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 1>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[S]]) {loop_tile_size = array<i64: 128, 1>}
// CHECK:         "nkipy.layout"(%{{.*}}) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>}
// CHECK-NEXT:    "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 128, 128>}
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
func.func @rmsnorm_pattern(%x: tensor<256x256xf32>, %ms: tensor<256x1xf32>) -> tensor<256x256xf32> {
  %e1 = tensor.empty() : tensor<256x1xf32>
  %sq = linalg.sqrt ins(%ms : tensor<256x1xf32>) outs(%e1 : tensor<256x1xf32>) -> tensor<256x1xf32>
  %e = tensor.empty() : tensor<256x256xf32>
  %r = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sq : tensor<256x256xf32>, tensor<256x1xf32>) outs(%e : tensor<256x256xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.mulf %in, %in_1 : f32
    linalg.yield %s : f32
  } -> tensor<256x256xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128, 128>} : (tensor<256x256xf32>) -> ()
  return %r : tensor<256x256xf32>
}

// -----

// User annotations keep their fields (the returned %b stays Sbuf); only missing fields
// are filled, a missing tile_op or layout is added.
// CHECK-LABEL: func.func @preserve_user
// CHECK:         %[[A:.*]] = linalg.exp
// CHECK-NEXT:    "nkipy.layout"(%[[A]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 64, 128>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[A]]) {loop_tile_size = array<i64: 64, 128>}
// CHECK-NEXT:    %[[B:.*]] = linalg.negf
// CHECK-NEXT:    "nkipy.tile_op"(%[[B]]) {loop_tile_size = array<i64: 64, 128>}
// CHECK-NEXT:    "nkipy.layout"(%[[B]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 64, 128>}
// CHECK-NOT:     nkipy.layout
func.func @preserve_user(%x: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %e = tensor.empty() : tensor<256x256xf32>
  %a = linalg.exp ins(%x : tensor<256x256xf32>) outs(%e : tensor<256x256xf32>) -> tensor<256x256xf32>
  "nkipy.tile_op"(%a) {loop_tile_size = array<i64: 64, 128>} : (tensor<256x256xf32>) -> ()
  %b = linalg.negf ins(%a : tensor<256x256xf32>) outs(%e : tensor<256x256xf32>) -> tensor<256x256xf32>
  "nkipy.layout"(%b) {mem_space = 3 : i32} : (tensor<256x256xf32>) -> ()
  return %b : tensor<256x256xf32>
}

// -----

// Propagation never enters a matmul: it gets its own seed (N capped at 512).
// CHECK-LABEL: func.func @matmul_boundary
// CHECK:         "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 128, 64>}
// CHECK:         %[[C:.*]] = linalg.matmul
// CHECK-NEXT:    "nkipy.layout"(%[[C]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 512>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[C]]) {loop_tile_size = array<i64: 128, 512, 128>}
func.func @matmul_boundary(%x: tensor<256x256xf32>, %w: tensor<256x1024xf32>) -> tensor<256x1024xf32> {
  %e = tensor.empty() : tensor<256x256xf32>
  %a = linalg.exp ins(%x : tensor<256x256xf32>) outs(%e : tensor<256x256xf32>) -> tensor<256x256xf32>
  "nkipy.tile_op"(%a) {loop_tile_size = array<i64: 128, 64>} : (tensor<256x256xf32>) -> ()
  %e2 = tensor.empty() : tensor<256x1024xf32>
  %c = linalg.matmul ins(%a, %w : tensor<256x256xf32>, tensor<256x1024xf32>) outs(%e2 : tensor<256x1024xf32>) -> tensor<256x1024xf32>
  return %c : tensor<256x1024xf32>
}

// -----

// An un-annotated elementwise A operand takes the matmul's preference:
// [min(M,128), min(K,128)] with K (dim 1) on the partitions.
// CHECK-LABEL: func.func @matmul_operand
// CHECK:         %[[A:.*]] = linalg.exp
// CHECK-NEXT:    "nkipy.layout"(%[[A]]) {mem_space = 3 : i32, partition_dim = 1 : ui32, tile_size = array<i64: 128, 128>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[A]]) {loop_tile_size = array<i64: 128, 128>}
// CHECK:         "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 128, 64, 128>}
func.func @matmul_operand(%x: tensor<256x256xf32>, %w: tensor<256x64xf32>) -> tensor<256x64xf32> {
  %e = tensor.empty() : tensor<256x256xf32>
  %a = linalg.exp ins(%x : tensor<256x256xf32>) outs(%e : tensor<256x256xf32>) -> tensor<256x256xf32>
  %e2 = tensor.empty() : tensor<256x64xf32>
  %c = linalg.matmul ins(%a, %w : tensor<256x256xf32>, tensor<256x64xf32>) outs(%e2 : tensor<256x64xf32>) -> tensor<256x64xf32>
  return %c : tensor<256x64xf32>
}

// -----

// mean = sum * (1/N): the keepdims sum re-inserts its reduction loop from the input's
// tile (layout [128,1], loops [128,256]); the scale takes the [128,1] value tile.
// CHECK-LABEL: func.func @mean_to_sum
// CHECK:         %[[S:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK:         "nkipy.layout"(%[[S]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 1>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[S]]) {loop_tile_size = array<i64: 128, 256>}
// CHECK:         "nkipy.layout"(%{{.*}}) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 1>}
// CHECK-NEXT:    "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 128, 1>}
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
func.func @mean_to_sum(%x: tensor<256x512xf32>) -> tensor<256x1xf32> {
  %e = tensor.empty() : tensor<256x512xf32>
  %sq = linalg.square ins(%x : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  "nkipy.tile_op"(%sq) {loop_tile_size = array<i64: 128, 256>} : (tensor<256x512xf32>) -> ()
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<256x1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e1 : tensor<256x1xf32>) -> tensor<256x1xf32>
  %s = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["parallel", "reduction"]}
      ins(%sq : tensor<256x512xf32>) outs(%f : tensor<256x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<256x1xf32>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : tensor<256x1xf32>) outs(%e1 : tensor<256x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.001953125 : f32
    %r = arith.mulf %in, %c : f32
    linalg.yield %r : f32
  } -> tensor<256x1xf32>
  return %m : tensor<256x1xf32>
}

// -----

// Fallback reduction: parallel loops from the output (first capped at 128), reduction loops full.
// CHECK-LABEL: func.func @reduce_3d
// CHECK:         "nkipy.layout"(%{{.*}}) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 2, 256>}
// CHECK-NEXT:    "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 2, 256, 64>}
#in3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#out2 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @reduce_3d(%x: tensor<2x256x64xf32>) -> tensor<2x256xf32> {
  %z = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<2x256xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x256xf32>) -> tensor<2x256xf32>
  %m = linalg.generic {indexing_maps = [#in3, #out2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<2x256x64xf32>) outs(%f : tensor<2x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x256xf32>
  return %m : tensor<2x256xf32>
}

// -----

// One seed on h = g * (1 / exp(-g)) * u tiles the whole SiLU chain backward.
// CHECK-LABEL: func.func @silu_chain
// CHECK-COUNT-4: "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 128, 128>}
// CHECK:         "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 128, 128>}
// CHECK-NEXT:    "nkipy.layout"(%{{.*}}) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>}
func.func @silu_chain(%g: tensor<256x512xf32>, %u: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %e = tensor.empty() : tensor<256x512xf32>
  %n = linalg.negf ins(%g : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  %x = linalg.exp ins(%n : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  %r = linalg.reciprocal ins(%x : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  %s = linalg.mul ins(%g, %r : tensor<256x512xf32>, tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  %h = linalg.mul ins(%s, %u : tensor<256x512xf32>, tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  "nkipy.tile_op"(%h) {loop_tile_size = array<i64: 128, 128>} : (tensor<256x512xf32>) -> ()
  "nkipy.layout"(%h) {mem_space = 3 : i32} : (tensor<256x512xf32>) -> ()
  return %h : tensor<256x512xf32>
}

// -----

// A user layout with only partition_dim 1: the fallback puts min(d1,128) on dim 1 and
// the full last dim; the layout's missing fields are filled, the neighbour follows.
// CHECK-LABEL: func.func @partition_dim_3d
// CHECK:         "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 1, 128, 64>}
// CHECK-NEXT:    "nkipy.layout"(%{{.*}}) {mem_space = 3 : i32, partition_dim = 1 : ui32, tile_size = array<i64: 1, 128, 64>}
// CHECK:         linalg.negf
// CHECK-NEXT:    "nkipy.layout"(%{{.*}}) {mem_space = 4 : i32, partition_dim = 1 : ui32, tile_size = array<i64: 1, 128, 64>}
func.func @partition_dim_3d(%x: tensor<4x128x64xf32>) -> tensor<4x128x64xf32> {
  %e = tensor.empty() : tensor<4x128x64xf32>
  %a = linalg.exp ins(%x : tensor<4x128x64xf32>) outs(%e : tensor<4x128x64xf32>) -> tensor<4x128x64xf32>
  "nkipy.layout"(%a) {partition_dim = 1 : ui32} : (tensor<4x128x64xf32>) -> ()
  %b = linalg.negf ins(%a : tensor<4x128x64xf32>) outs(%e : tensor<4x128x64xf32>) -> tensor<4x128x64xf32>
  return %b : tensor<4x128x64xf32>
}

// -----

// A transpose is not annotatable and propagation does not cross it.
// CHECK-LABEL: func.func @transpose_stops
// CHECK:         linalg.transpose
// CHECK-NEXT:    %[[B:.*]] = linalg.exp
// CHECK-NEXT:    "nkipy.layout"(%[[B]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 32, 64>}
func.func @transpose_stops(%x: tensor<64x32xf32>) -> tensor<32x64xf32> {
  %e = tensor.empty() : tensor<64x32xf32>
  %a = linalg.exp ins(%x : tensor<64x32xf32>) outs(%e : tensor<64x32xf32>) -> tensor<64x32xf32>
  "nkipy.tile_op"(%a) {loop_tile_size = array<i64: 16, 32>} : (tensor<64x32xf32>) -> ()
  %et = tensor.empty() : tensor<32x64xf32>
  %t = linalg.transpose ins(%a : tensor<64x32xf32>) outs(%et : tensor<32x64xf32>) permutation = [1, 0]
  %b = linalg.exp ins(%t : tensor<32x64xf32>) outs(%et : tensor<32x64xf32>) -> tensor<32x64xf32>
  return %b : tensor<32x64xf32>
}

// -----

// A matmul layout tile_size alone is lifted to [M, N, min(K,128)], not used as the loop tile.
// CHECK-LABEL: func.func @matmul_layout_tile_only
// CHECK:         linalg.matmul
// CHECK-NEXT:    "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 128, 256, 128>}
// CHECK-NEXT:    "nkipy.layout"(%{{.*}}) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 256>}
// CHECK:         linalg.exp
// CHECK-NEXT:    "nkipy.layout"(%{{.*}}) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 256>}
func.func @matmul_layout_tile_only(%a: tensor<256x256xf32>, %b: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %e = tensor.empty() : tensor<256x256xf32>
  %c = linalg.matmul ins(%a, %b : tensor<256x256xf32>, tensor<256x256xf32>) outs(%e : tensor<256x256xf32>) -> tensor<256x256xf32>
  "nkipy.layout"(%c) {mem_space = 3 : i32, tile_size = array<i64: 128, 256>} : (tensor<256x256xf32>) -> ()
  %r = linalg.exp ins(%c : tensor<256x256xf32>) outs(%e : tensor<256x256xf32>) -> tensor<256x256xf32>
  return %r : tensor<256x256xf32>
}

// -----

// Transposed-A matmul: A is [K, M], so K (dim 0) is the partition dim.
// CHECK-LABEL: func.func @transposed_a
// CHECK:         "nkipy.layout"(%{{.*}}) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 64>}
// CHECK:         "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 64, 32, 128>}
func.func @transposed_a(%x: tensor<256x64xf32>, %w: tensor<256x32xf32>) -> tensor<64x32xf32> {
  %e = tensor.empty() : tensor<256x64xf32>
  %a = linalg.exp ins(%x : tensor<256x64xf32>) outs(%e : tensor<256x64xf32>) -> tensor<256x64xf32>
  %e2 = tensor.empty() : tensor<64x32xf32>
  %c = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>, affine_map<(d0, d1, d2) -> (d2, d1)>,
                                      affine_map<(d0, d1, d2) -> (d0, d1)>]
      ins(%a, %w : tensor<256x64xf32>, tensor<256x32xf32>) outs(%e2 : tensor<64x32xf32>) -> tensor<64x32xf32>
  return %c : tensor<64x32xf32>
}

// -----

// A rank-dropping reduction over the leading axis: its loops come back through the
// maps ([64, 32]), and partition_dim 1 of the input is out of range for the [32]
// result, so it becomes 0.
// CHECK-LABEL: func.func @reduce_leading_axis
// CHECK:         %[[S:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]
// CHECK:         "nkipy.layout"(%[[S]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 32>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[S]]) {loop_tile_size = array<i64: 64, 32>}
#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d1)>
func.func @reduce_leading_axis(%x: tensor<64x32xf32>) -> tensor<32xf32> {
  %e = tensor.empty() : tensor<64x32xf32>
  %a = linalg.exp ins(%x : tensor<64x32xf32>) outs(%e : tensor<64x32xf32>) -> tensor<64x32xf32>
  "nkipy.layout"(%a) {partition_dim = 1 : ui32, tile_size = array<i64: 64, 32>} : (tensor<64x32xf32>) -> ()
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<32xf32>
  %f = linalg.fill ins(%z : f32) outs(%e1 : tensor<32xf32>) -> tensor<32xf32>
  %s = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["reduction", "parallel"]}
      ins(%a : tensor<64x32xf32>) outs(%f : tensor<32xf32>) {
  ^bb0(%in: f32, %o: f32):
    %r = arith.addf %in, %o : f32
    linalg.yield %r : f32
  } -> tensor<32xf32>
  return %s : tensor<32xf32>
}

// -----

// An inferred intermediate needing more than half the SBUF per partition (a 2048x2048
// f32 matmul result: 131072 B of trn2's 212984 B) is placed in Hbm, not Sbuf; the
// smaller elementwise result after it stays in SharedHbm as a returned value.
// CHECK-LABEL: func.func @large_intermediate_in_hbm
// CHECK:         %[[C:.*]] = linalg.matmul
// CHECK-NEXT:    "nkipy.layout"(%[[C]]) {mem_space = 1 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 512>}
// CHECK:         %[[S:.*]] = linalg.add
// CHECK-NEXT:    "nkipy.layout"(%[[S]]) {mem_space = 4 : i32
func.func @large_intermediate_in_hbm(%a: tensor<2048x2048xf32>, %b: tensor<2048x2048xf32>, %d: tensor<2048x2048xf32>) -> tensor<2048x2048xf32> {
  %e = tensor.empty() : tensor<2048x2048xf32>
  %c = linalg.matmul ins(%a, %b : tensor<2048x2048xf32>, tensor<2048x2048xf32>) outs(%e : tensor<2048x2048xf32>) -> tensor<2048x2048xf32>
  %e2 = tensor.empty() : tensor<2048x2048xf32>
  %s = linalg.add ins(%c, %d : tensor<2048x2048xf32>, tensor<2048x2048xf32>) outs(%e2 : tensor<2048x2048xf32>) -> tensor<2048x2048xf32>
  return %s : tensor<2048x2048xf32>
}

// -----

// The same intermediate at half the size (65536 B per partition) stays in Sbuf.
// CHECK-LABEL: func.func @mid_intermediate_in_sbuf
// CHECK:         %[[C:.*]] = linalg.matmul
// CHECK-NEXT:    "nkipy.layout"(%[[C]]) {mem_space = 3 : i32
func.func @mid_intermediate_in_sbuf(%a: tensor<1024x2048xf32>, %b: tensor<2048x2048xf32>, %d: tensor<1024x2048xf32>) -> tensor<1024x2048xf32> {
  %e = tensor.empty() : tensor<1024x2048xf32>
  %c = linalg.matmul ins(%a, %b : tensor<1024x2048xf32>, tensor<2048x2048xf32>) outs(%e : tensor<1024x2048xf32>) -> tensor<1024x2048xf32>
  %e2 = tensor.empty() : tensor<1024x2048xf32>
  %s = linalg.add ins(%c, %d : tensor<1024x2048xf32>, tensor<1024x2048xf32>) outs(%e2 : tensor<1024x2048xf32>) -> tensor<1024x2048xf32>
  return %s : tensor<1024x2048xf32>
}

// -----

// Hardware caps that do not divide the dim take its largest divisor under the cap:
// N = 768 against one 512-wide PSUM bank gets 384 (the reference's 512 leaves a
// partial tile that canonicalize-loop-step rejects).
// CHECK-LABEL: func.func @matmul_n768
// CHECK:         %[[C:.*]] = linalg.matmul
// CHECK-NEXT:    "nkipy.layout"(%[[C]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 384>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[C]]) {loop_tile_size = array<i64: 128, 384, 128>}
func.func @matmul_n768(%a: tensor<256x256xf32>, %b: tensor<256x768xf32>) -> tensor<256x768xf32> {
  %e = tensor.empty() : tensor<256x768xf32>
  %c = linalg.matmul ins(%a, %b : tensor<256x256xf32>, tensor<256x768xf32>) outs(%e : tensor<256x768xf32>) -> tensor<256x768xf32>
  return %c : tensor<256x768xf32>
}

// -----

// The fallback partition tile too: 200 rows get 100, not 128.
// CHECK-LABEL: func.func @exp_200_rows
// CHECK:         %[[R:.*]] = linalg.exp
// CHECK-NEXT:    "nkipy.layout"(%[[R]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 100, 64>}
func.func @exp_200_rows(%x: tensor<200x64xf32>) -> tensor<200x64xf32> {
  %e = tensor.empty() : tensor<200x64xf32>
  %r = linalg.exp ins(%x : tensor<200x64xf32>) outs(%e : tensor<200x64xf32>) -> tensor<200x64xf32>
  return %r : tensor<200x64xf32>
}

// -----

// A reduction over every axis (np.sum(x)) becomes a row reduction into a [256, 1]
// column (init: the combiner's identity) and a partition reduction of the column
// into a one-element vector, collapsed to the rank-0 result; both get layouts. The
// rank-0 truncf after it is lifted to the one-element vector too, and the dead
// rank-0 inits are gone.
// CHECK-DAG:   #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[KEEP:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG:   #[[COLS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG:   #[[VEC:.*]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @sum_all
// CHECK-NOT:     tensor<f32>
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<256x1xf32>
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[F:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E]] : tensor<256x1xf32>)
// CHECK:         %[[ROWS:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[KEEP]]], iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<256x1024xf32>) outs(%[[F]] : tensor<256x1xf32>)
// CHECK:         "nkipy.layout"(%[[ROWS]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 1>}
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1xf32>)
// CHECK:         %[[TOT:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[COLS]]], iterator_types = ["reduction", "parallel"]} ins(%[[ROWS]] : tensor<256x1xf32>) outs(%[[INIT]] : tensor<1xf32>)
// CHECK:         "nkipy.tile_op"(%[[TOT]]) {loop_tile_size = array<i64: 128, 1>}
// CHECK-NOT:     tensor.collapse_shape %[[TOT]]
// CHECK:         %[[B:.*]] = linalg.generic {indexing_maps = [#[[VEC]], #[[VEC]]], iterator_types = ["parallel"]} ins(%[[TOT]] : tensor<1xf32>) outs(%{{.*}} : tensor<1xbf16>)
// CHECK:         "nkipy.layout"(%[[B]]) {mem_space = 4 : i32
// CHECK:         %[[S:.*]] = tensor.collapse_shape %[[B]] [] : tensor<1xbf16> into tensor<bf16>
// CHECK-NEXT:    return %[[S]] : tensor<bf16>
#id = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>
#scalar = affine_map<() -> ()>
func.func @sum_all(%x: tensor<256x1024xf32>) -> tensor<bf16> {
  %e = tensor.empty() : tensor<f32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]} ins(%x : tensor<256x1024xf32>) outs(%init : tensor<f32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %in, %acc : f32
    linalg.yield %a : f32
  } -> tensor<f32>
  %eb = tensor.empty() : tensor<bf16>
  %b = linalg.generic {indexing_maps = [#scalar, #scalar], iterator_types = []} ins(%s : tensor<f32>) outs(%eb : tensor<bf16>) {
  ^bb0(%in: f32, %out: bf16):
    %t = arith.truncf %in : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<bf16>
  return %b : tensor<bf16>
}

// -----

// A 1-D input is reduced as an [N, 1] column (no row step); max starts from its init.
// CHECK-LABEL: func.func @max_vector
// CHECK:         %[[C:.*]] = tensor.expand_shape %arg0 {{\[\[}}0, 1]] output_shape [512, 1] : tensor<512xf32> into tensor<512x1xf32>
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1xf32>)
// CHECK:         %[[M:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[C]] : tensor<512x1xf32>) outs(%[[INIT]] : tensor<1xf32>)
// CHECK:           arith.maximumf
// CHECK:         tensor.collapse_shape %[[M]] [] : tensor<1xf32> into tensor<f32>
#vec = affine_map<(d0) -> (d0)>
#none = affine_map<(d0) -> ()>
func.func @max_vector(%v: tensor<512xf32>) -> tensor<f32> {
  %e = tensor.empty() : tensor<f32>
  %ninf = arith.constant 0xFF800000 : f32
  %init = linalg.fill ins(%ninf : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %m = linalg.generic {indexing_maps = [#vec, #none], iterator_types = ["reduction"]} ins(%v : tensor<512xf32>) outs(%init : tensor<f32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.maximumf %in, %acc : f32
    linalg.yield %a : f32
  } -> tensor<f32>
  return %m : tensor<f32>
}

// -----

// SBUF budget (trn2: 212984 B per partition; inferred values live at once may take
// half): each [2048, 768] f32 value takes 48 KiB per partition. Where %c is computed,
// %a, %b and %c would be live together (144 KiB), so %a, which stays live longest,
// goes to Hbm; %b and %c fit in Sbuf. A user's Sbuf on a value larger than the whole
// SBUF (%big, 256 KiB) cannot be honoured: Hbm.
// CHECK-LABEL: func.func @live_budget
// CHECK:         %[[A:.*]] = linalg.exp ins(%arg0
// CHECK-NEXT:    "nkipy.layout"(%[[A]]) {mem_space = 1 : i32
// CHECK:         %[[B:.*]] = linalg.exp ins(%[[A]]
// CHECK-NEXT:    "nkipy.layout"(%[[B]]) {mem_space = 3 : i32
// CHECK:         %[[C:.*]] = linalg.add
// CHECK-NEXT:    "nkipy.layout"(%[[C]]) {mem_space = 3 : i32
// CHECK:         %[[BIG:.*]] = linalg.exp ins(%arg1
// CHECK:         "nkipy.layout"(%[[BIG]]) {mem_space = 1 : i32
func.func @live_budget(%x: tensor<2048x768xf32>, %y: tensor<2048x4096xf32>) -> (tensor<2048x768xf32>, tensor<2048x4096xf32>) {
  %e = tensor.empty() : tensor<2048x768xf32>
  %a = linalg.exp ins(%x : tensor<2048x768xf32>) outs(%e : tensor<2048x768xf32>) -> tensor<2048x768xf32>
  %b = linalg.exp ins(%a : tensor<2048x768xf32>) outs(%e : tensor<2048x768xf32>) -> tensor<2048x768xf32>
  %c = linalg.add ins(%a, %b : tensor<2048x768xf32>, tensor<2048x768xf32>) outs(%e : tensor<2048x768xf32>) -> tensor<2048x768xf32>
  %d = linalg.mul ins(%c, %a : tensor<2048x768xf32>, tensor<2048x768xf32>) outs(%e : tensor<2048x768xf32>) -> tensor<2048x768xf32>
  %eb = tensor.empty() : tensor<2048x4096xf32>
  %big = linalg.exp ins(%y : tensor<2048x4096xf32>) outs(%eb : tensor<2048x4096xf32>) -> tensor<2048x4096xf32>
  "nkipy.layout"(%big) {mem_space = 3 : i32} : (tensor<2048x4096xf32>) -> ()
  %r = linalg.exp ins(%big : tensor<2048x4096xf32>) outs(%eb : tensor<2048x4096xf32>) -> tensor<2048x4096xf32>
  return %d, %r : tensor<2048x768xf32>, tensor<2048x4096xf32>
}

// -----

// A gather by computed indices (a kernel input) becomes an elementwise generic that
// reads table rows (`tensor.extract`), so it is tiled and placed like any other op;
// a gather by constant indices stays for annotate-memory-space's row copies.
// CHECK-LABEL: func.func @gather_by_input
// CHECK-NOT: nkipy.gather
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<256xi32>) outs(%{{.*}} : tensor<256x64xf32>)
// CHECK: arith.index_cast
// CHECK: tensor.extract %arg0
// CHECK: "nkipy.layout"(%[[G]]) {mem_space = 4 : i32
func.func @gather_by_input(%table: tensor<512x64xf32>, %ids: tensor<256xi32>) -> tensor<256x64xf32> {
  %e = tensor.empty() : tensor<256x64xf32>
  %g = "nkipy.gather"(%table, %ids, %e) : (tensor<512x64xf32>, tensor<256xi32>, tensor<256x64xf32>) -> tensor<256x64xf32>
  return %g : tensor<256x64xf32>
}
