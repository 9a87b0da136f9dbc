// RUN: nkipy-kg-opt %s --simplify-linalg --split-input-file | filecheck %s

// A binary generic whose maps are the identity up to a trivial broadcast (a 0 in an
// extent-1 dim) becomes the named op, in the body's operand order, keeping its op id.
// A real broadcast (different shapes) stays a generic.

// CHECK-LABEL: func.func @named
// CHECK:         linalg.sub {nkipy.op_id = 3 : i64} ins(%arg1, %arg0 : memref<128x1xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%arg2 : memref<128x1xf32, 3 : i32>)
// CHECK-NOT:     linalg.generic
// CHECK-LABEL: func.func @real_broadcast
// CHECK:         linalg.generic
// CHECK-NOT:     linalg.mul
#id = affine_map<(d0, d1) -> (d0, d1)>
#bc = affine_map<(d0, d1) -> (d0, 0)>
func.func @named(%a: memref<128x1xf32, 3 : i32>, %b: memref<128x1xf32, 3 : i32>, %c: memref<128x1xf32, 3 : i32>) {
  linalg.generic {indexing_maps = [#id, #bc, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : memref<128x1xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%c : memref<128x1xf32, 3 : i32>) attrs = {nkipy.op_id = 3 : i64} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.subf %y, %x : f32
    linalg.yield %s : f32
  }
  return
}

func.func @real_broadcast(%a: memref<128x64xf32, 3 : i32>, %b: memref<128x1xf32, 3 : i32>, %c: memref<128x64xf32, 3 : i32>) {
  linalg.generic {indexing_maps = [#id, #bc, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : memref<128x64xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%c : memref<128x64xf32, 3 : i32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.mulf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Rank-4 [0, 2, 1, 3] HBM -> HBM (a head shuffle: the last dim stays): one DMA copy
// per (batch, source dim-1 index) slab [32, 4]: x[b, h, :, :] is y[b, :, h, :].

// CHECK-LABEL: func.func @head_shuffle
// CHECK:         scf.for %[[B:.*]] =
// CHECK:           scf.for %[[H:.*]] =
// CHECK:             %[[X:.*]] = memref.subview %arg0[%[[B]], %[[H]], 0, 0] [1, 1, 32, 4]
// CHECK:             %[[X2:.*]] = memref.collapse_shape %[[X]] {{\[\[}}0, 1, 2], [3]] {{.*}} into memref<32x4xf32, strided<[4, 1], offset: ?>, 4 : i32>
// CHECK:             %[[Y:.*]] = memref.subview %arg1[%[[B]], 0, %[[H]], 0] [1, 32, 1, 4]
// CHECK:             %[[Y2:.*]] = memref.collapse_shape %[[Y]] {{\[\[}}0, 1], [2, 3]] {{.*}} into memref<32x4xf32, strided<[256, 1], offset: ?>, 4 : i32>
// CHECK:             memref.copy %[[X2]], %[[Y2]]
// CHECK-NOT:     linalg.transpose
// CHECK-NOT:     memref.alloc
func.func @head_shuffle(%x: memref<2x64x32x4xf32, 4 : i32>, %y: memref<2x32x64x4xf32, 4 : i32>) {
  linalg.transpose ins(%x : memref<2x64x32x4xf32, 4 : i32>) outs(%y : memref<2x32x64x4xf32, 4 : i32>) permutation = [0, 2, 1, 3]
  return
}

// -----

// Rank-4 [0, 3, 2, 1] HBM -> HBM (the last dim moves): a loop over dims 0 and 2;
// each slice goes HBM -> SBUF, 2-D [1, 0] transpose in SBUF, SBUF -> HBM.

// CHECK-LABEL: func.func @high_rank
// CHECK:         scf.for %[[I:.*]] =
// CHECK:           scf.for %[[L:.*]] =
// CHECK:             %[[X:.*]] = memref.subview %arg0[%[[I]], 0, %[[L]], 0] [1, 64, 1, 32]
// CHECK:             %[[X2:.*]] = memref.collapse_shape %[[X]] {{\[\[}}0, 1], [2, 3]] {{.*}} into memref<64x32xf32, strided<[128, 1], offset: ?>, 4 : i32>
// CHECK:             %[[Y:.*]] = memref.subview %arg1[%[[I]], 0, %[[L]], 0] [1, 32, 1, 64]
// CHECK:             %[[Y2:.*]] = memref.collapse_shape %[[Y]]
// CHECK:             %[[S:.*]] = memref.alloc() : memref<64x32xf32, 3 : i32>
// CHECK:             memref.copy %[[X2]], %[[S]]
// CHECK:             %[[T:.*]] = memref.alloc() : memref<32x64xf32, 3 : i32>
// CHECK:             linalg.transpose ins(%[[S]] : memref<64x32xf32, 3 : i32>) outs(%[[T]] : memref<32x64xf32, 3 : i32>) permutation = [1, 0]
// CHECK:             memref.copy %[[T]], %[[Y2]]
func.func @high_rank(%x: memref<2x64x4x32xf32, 4 : i32>, %y: memref<2x32x4x64xf32, 4 : i32>) {
  linalg.transpose ins(%x : memref<2x64x4x32xf32, 4 : i32>) outs(%y : memref<2x32x4x64xf32, 4 : i32>) permutation = [0, 3, 2, 1]
  return
}

// -----

// SBUF rank-3 transpose with two non-unit dims -> 2-D [1, 0] transpose of 2-D views;
// when the two non-unit dims keep their order it is a copy.

// CHECK-LABEL: func.func @sbuf_two_dim
// CHECK:         %[[X:.*]] = memref.collapse_shape %arg0 {{\[\[}}0], [1, 2]] : memref<64x1x32xf32, 3 : i32> into memref<64x32xf32, 3 : i32>
// CHECK:         %[[Y:.*]] = memref.collapse_shape %arg1 {{\[\[}}0], [1, 2]] : memref<32x1x64xf32, 3 : i32> into memref<32x64xf32, 3 : i32>
// CHECK:         linalg.transpose ins(%[[X]] : memref<64x32xf32, 3 : i32>) outs(%[[Y]] : memref<32x64xf32, 3 : i32>) permutation = [1, 0]
// CHECK-LABEL: func.func @sbuf_keep_order
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<64x32xf32, 3 : i32> to memref<64x32xf32, 3 : i32>
// CHECK-NOT:     linalg.transpose
func.func @sbuf_two_dim(%x: memref<64x1x32xf32, 3 : i32>, %y: memref<32x1x64xf32, 3 : i32>) {
  linalg.transpose ins(%x : memref<64x1x32xf32, 3 : i32>) outs(%y : memref<32x1x64xf32, 3 : i32>) permutation = [2, 1, 0]
  return
}

func.func @sbuf_keep_order(%x: memref<64x1x32xf32, 3 : i32>, %y: memref<1x64x32xf32, 3 : i32>) {
  linalg.transpose ins(%x : memref<64x1x32xf32, 3 : i32>) outs(%y : memref<1x64x32xf32, 3 : i32>) permutation = [1, 0, 2]
  return
}

// -----

// A gather reads its table and indices from HBM directly: the staging copies into
// SBUF, the SBUF allocs and their deallocs go.

// CHECK-LABEL: func.func @gather
// CHECK-NOT:     memref.copy
// CHECK:         %[[O:.*]] = memref.alloc() : memref<8x64xf32, 3 : i32>
// CHECK-NEXT:    "nkipy.gather"(%arg0, %arg1, %[[O]])
// CHECK-NOT:     memref.dealloc
func.func @gather(%table: memref<512x64xf32, 4 : i32>, %idx: memref<8xi32, 4 : i32>) -> memref<8x64xf32, 3 : i32> {
  %s = memref.alloc() : memref<512x64xf32, 3 : i32>
  memref.copy %table, %s : memref<512x64xf32, 4 : i32> to memref<512x64xf32, 3 : i32>
  %i = memref.alloc() : memref<8xi32, 3 : i32>
  memref.copy %idx, %i : memref<8xi32, 4 : i32> to memref<8xi32, 3 : i32>
  %o = memref.alloc() : memref<8x64xf32, 3 : i32>
  %g = "nkipy.gather"(%s, %i, %o) : (memref<512x64xf32, 3 : i32>, memref<8xi32, 3 : i32>, memref<8x64xf32, 3 : i32>) -> tensor<8x64xf32>
  memref.dealloc %s : memref<512x64xf32, 3 : i32>
  return %o : memref<8x64xf32, 3 : i32>
}

// Through bufferization.to_tensor too; an SBUF operand that is also computed
// (not only DMA'd from HBM) stays.

// CHECK-LABEL: func.func @gather_tensor
// CHECK-NOT:     memref.alloc
// CHECK:         %[[T:.*]] = bufferization.to_tensor %arg0 restrict : memref<512x64xf32, 4 : i32>
// CHECK:         %[[I:.*]] = bufferization.to_tensor %arg1 restrict : memref<8xi32, 4 : i32>
// CHECK:         "nkipy.gather"(%[[T]], %[[I]], %{{.*}})
// CHECK-LABEL: func.func @gather_computed
// CHECK:         memref.copy
// CHECK:         linalg.exp
// CHECK:         "nkipy.gather"(%{{.*}}, %arg1, %{{.*}}) : (memref<512x64xf32, 3 : i32>
func.func @gather_tensor(%table: memref<512x64xf32, 4 : i32>, %idx: memref<8xi32, 4 : i32>) -> tensor<8x64xf32> {
  %s = memref.alloc() : memref<512x64xf32, 3 : i32>
  memref.copy %table, %s : memref<512x64xf32, 4 : i32> to memref<512x64xf32, 3 : i32>
  %ts = bufferization.to_tensor %s restrict : memref<512x64xf32, 3 : i32> to tensor<512x64xf32>
  %i = memref.alloc() : memref<8xi32, 3 : i32>
  memref.copy %idx, %i : memref<8xi32, 4 : i32> to memref<8xi32, 3 : i32>
  %ti = bufferization.to_tensor %i restrict : memref<8xi32, 3 : i32> to tensor<8xi32>
  %o = tensor.empty() : tensor<8x64xf32>
  %g = "nkipy.gather"(%ts, %ti, %o) : (tensor<512x64xf32>, tensor<8xi32>, tensor<8x64xf32>) -> tensor<8x64xf32>
  return %g : tensor<8x64xf32>
}

func.func @gather_computed(%table: memref<512x64xf32, 4 : i32>, %idx: memref<8xi32, 4 : i32>) -> memref<8x64xf32, 3 : i32> {
  %s = memref.alloc() : memref<512x64xf32, 3 : i32>
  memref.copy %table, %s : memref<512x64xf32, 4 : i32> to memref<512x64xf32, 3 : i32>
  linalg.exp ins(%s : memref<512x64xf32, 3 : i32>) outs(%s : memref<512x64xf32, 3 : i32>)
  %i = memref.alloc() : memref<8xi32, 3 : i32>
  memref.copy %idx, %i : memref<8xi32, 4 : i32> to memref<8xi32, 3 : i32>
  %o = memref.alloc() : memref<8x64xf32, 3 : i32>
  %g = "nkipy.gather"(%s, %i, %o) : (memref<512x64xf32, 3 : i32>, memref<8xi32, 3 : i32>, memref<8x64xf32, 3 : i32>) -> tensor<8x64xf32>
  return %o : memref<8x64xf32, 3 : i32>
}
