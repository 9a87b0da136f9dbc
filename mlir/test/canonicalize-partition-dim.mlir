// RUN: nkipy-kg-opt %s --canonicalize-partition-dim=target=trn2 --split-input-file | filecheck %s

// e2e case #24: exp on (64,128) with partition_dim 1. The input is transposed in,
// exp runs on 128x64, the result is transposed back for the return. Every layout
// ends with partition_dim 0; the exp's own tiles are permuted.

// CHECK-LABEL: func.func @exp_pd1
// CHECK-SAME:    (%[[X:.*]]: tensor<64x128xf32>)
// CHECK:         %[[E0:.*]] = tensor.empty() : tensor<128x64xf32>
// CHECK-NEXT:    %[[T:.*]] = linalg.transpose ins(%[[X]] : tensor<64x128xf32>) outs(%[[E0]] : tensor<128x64xf32>) permutation = [1, 0]
// CHECK-NEXT:    "nkipy.tile_op"(%[[T]]) {loop_tile_size = array<i64: 128, 64>}
// CHECK-NEXT:    "nkipy.layout"(%[[T]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 64>}
// CHECK-NEXT:    %[[E1:.*]] = tensor.empty() : tensor<128x64xf32>
// CHECK-NEXT:    %[[EXP:.*]] = linalg.exp ins(%[[T]] : tensor<128x64xf32>) outs(%[[E1]] : tensor<128x64xf32>) -> tensor<128x64xf32>
// CHECK-NEXT:    %[[E2:.*]] = tensor.empty() : tensor<64x128xf32>
// CHECK-NEXT:    %[[B:.*]] = linalg.transpose ins(%[[EXP]] : tensor<128x64xf32>) outs(%[[E2]] : tensor<64x128xf32>) permutation = [1, 0]
// CHECK-NEXT:    "nkipy.tile_op"(%[[B]]) {loop_tile_size = array<i64: 64, 128>}
// CHECK-NEXT:    "nkipy.layout"(%[[B]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 64, 128>}
// CHECK-NEXT:    "nkipy.tile_op"(%[[EXP]]) {loop_tile_size = array<i64: 128, 64>}
// CHECK-NEXT:    "nkipy.layout"(%[[EXP]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 64>}
// CHECK-NEXT:    return %[[B]] : tensor<64x128xf32>
func.func @exp_pd1(%x: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %e = tensor.empty() : tensor<64x128xf32>
  %r = linalg.exp ins(%x : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 64, 128>} : (tensor<64x128xf32>) -> ()
  "nkipy.layout"(%r) {mem_space = 4 : i32, partition_dim = 1 : ui32, tile_size = array<i64: 64, 128>} : (tensor<64x128xf32>) -> ()
  return %r : tensor<64x128xf32>
}

// -----

// A keepdims row-max with partition_dim 1 and its broadcast consumer form one
// component: the reduction now reduces over the new d0 (iterators follow the
// loops), the fill init is rebuilt as 1x64, the [64,1] operand map (d0, 0) becomes
// (0, d1), and the shared input is transposed once.

// CHECK-DAG:     #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:     #[[ROW:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func.func @softmax_rows
// CHECK:         %[[T:.*]] = linalg.transpose ins(%{{.*}} : tensor<64x128xf32>) outs(%{{.*}} : tensor<128x64xf32>) permutation = [1, 0]
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<1x64xf32>
// CHECK-NEXT:    %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<1x64xf32>)
// CHECK-NEXT:    %[[M:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["reduction", "parallel"]} ins(%[[T]] : tensor<128x64xf32>) outs(%[[F]] : tensor<1x64xf32>)
// CHECK:         "nkipy.tile_op"(%[[M]]) {loop_tile_size = array<i64: 128, 64>}
// CHECK-NEXT:    "nkipy.layout"(%[[M]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 1, 64>}
// CHECK:         %[[S:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[T]], %[[M]] : tensor<128x64xf32>, tensor<1x64xf32>)
// CHECK:         %[[B:.*]] = linalg.transpose ins(%[[S]] : tensor<128x64xf32>) outs(%{{.*}} : tensor<64x128xf32>) permutation = [1, 0]
// CHECK:         return %[[B]]
// CHECK-NOT:     tensor<64x1xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
func.func @softmax_rows(%x: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %e0 = tensor.empty() : tensor<64x1xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %f = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<64x1xf32>) -> tensor<64x1xf32>
  %m = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<64x128xf32>) outs(%f : tensor<64x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<64x1xf32>
  "nkipy.tile_op"(%m) {loop_tile_size = array<i64: 64, 128>} : (tensor<64x1xf32>) -> ()
  "nkipy.layout"(%m) {mem_space = 3 : i32, partition_dim = 1 : ui32, tile_size = array<i64: 64, 1>} : (tensor<64x1xf32>) -> ()
  %e1 = tensor.empty() : tensor<64x128xf32>
  %s = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %m : tensor<64x128xf32>, tensor<64x1xf32>) outs(%e1 : tensor<64x128xf32>) {
  ^bb0(%in: f32, %mx: f32, %out: f32):
    %r = arith.subf %in, %mx : f32
    linalg.yield %r : f32
  } -> tensor<64x128xf32>
  return %s : tensor<64x128xf32>
}

// -----

// Rank 3, partition_dim 2: perm [2, 0, 1] in, [1, 2, 0] out; a named binary op
// whose second operand is a function argument gets its own (shared) transpose.

// CHECK-LABEL: func.func @rank3
// CHECK:         linalg.transpose ins(%arg0 : tensor<2x4x64xf32>) outs(%{{.*}} : tensor<64x2x4xf32>) permutation = [2, 0, 1]
// CHECK:         linalg.transpose ins(%arg1 : tensor<2x4x64xf32>) outs(%{{.*}} : tensor<64x2x4xf32>) permutation = [2, 0, 1]
// CHECK:         %[[SUM:.*]] = linalg.add ins(%{{.*}}, %{{.*}} : tensor<64x2x4xf32>, tensor<64x2x4xf32>)
// CHECK-NEXT:    %[[B:.*]] = tensor.empty() : tensor<2x4x64xf32>
// CHECK-NEXT:    linalg.transpose ins(%[[SUM]] : tensor<64x2x4xf32>) outs(%[[B]] : tensor<2x4x64xf32>) permutation = [1, 2, 0]
// CHECK:         "nkipy.layout"(%[[SUM]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 64, 1, 4>}
func.func @rank3(%a: tensor<2x4x64xf32>, %b: tensor<2x4x64xf32>) -> tensor<2x4x64xf32> {
  %e = tensor.empty() : tensor<2x4x64xf32>
  %r = linalg.add ins(%a, %b : tensor<2x4x64xf32>, tensor<2x4x64xf32>) outs(%e : tensor<2x4x64xf32>) -> tensor<2x4x64xf32>
  "nkipy.layout"(%r) {mem_space = 3 : i32, partition_dim = 2 : ui32, tile_size = array<i64: 1, 4, 64>} : (tensor<2x4x64xf32>) -> ()
  return %r : tensor<2x4x64xf32>
}

// -----

// partition_dim 0 is already canonical: nothing changes.

// CHECK-LABEL: func.func @pd0
// CHECK-NOT:     linalg.transpose
// CHECK:         linalg.exp ins(%{{.*}} : tensor<64x128xf32>)
func.func @pd0(%x: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %e = tensor.empty() : tensor<64x128xf32>
  %r = linalg.exp ins(%x : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  "nkipy.layout"(%r) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 64, 128>} : (tensor<64x128xf32>) -> ()
  return %r : tensor<64x128xf32>
}

// -----

// np.concatenate's result in SharedHbm with partition_dim 1: HBM has no partitions and
// the insert_slices writing it are DMAs, so the layout just gets partition_dim 0
// (tile unchanged) and nothing is transposed.
// CHECK-LABEL: func.func @concat_in_hbm
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[C:.*]] = tensor.insert_slice %arg1
// CHECK-NEXT:    "nkipy.layout"(%[[C]]) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 1, 128, 128>}
// CHECK-NOT:     linalg.transpose
func.func @concat_in_hbm(%a: tensor<4x128x64xf32>, %b: tensor<4x128x64xf32>) -> tensor<4x128x128xf32> {
  %e = tensor.empty() : tensor<4x128x128xf32>
  %l = tensor.insert_slice %a into %e[0, 0, 0] [4, 128, 64] [1, 1, 1] : tensor<4x128x64xf32> into tensor<4x128x128xf32>
  %c = tensor.insert_slice %b into %l[0, 0, 64] [4, 128, 64] [1, 1, 1] : tensor<4x128x64xf32> into tensor<4x128x128xf32>
  "nkipy.layout"(%c) {mem_space = 4 : i32, partition_dim = 1 : ui32, tile_size = array<i64: 1, 128, 128>} : (tensor<4x128x128xf32>) -> ()
  return %c : tensor<4x128x128xf32>
}
