// RUN: nkipy-kg-opt %s --canonicalize-reshape --split-input-file | filecheck %s

// memref.reshape becomes collapse to 1-D + expand (both views, same space).

// CHECK-LABEL: func.func @reshape
// CHECK-NOT:     memref.reshape
// CHECK:         %[[C:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<4x8xf32, 1 : i32> into memref<32xf32, 1 : i32>
// CHECK:         %[[E:.*]] = memref.expand_shape %[[C]] {{\[\[}}0, 1, 2]] output_shape [2, 2, 8] : memref<32xf32, 1 : i32> into memref<2x2x8xf32, 1 : i32>
// CHECK:         memref.copy %[[E]], %{{.*}} : memref<2x2x8xf32, 1 : i32> to memref<2x2x8xf32, 4 : i32>
func.func @reshape(%x: memref<4x8xf32, 4 : i32>, %shape: memref<3xindex>) -> memref<2x2x8xf32, 4 : i32> {
  %h = memref.alloc() : memref<4x8xf32, 1 : i32>
  memref.copy %x, %h : memref<4x8xf32, 4 : i32> to memref<4x8xf32, 1 : i32>
  %r = memref.reshape %h(%shape) : (memref<4x8xf32, 1 : i32>, memref<3xindex>) -> memref<2x2x8xf32, 1 : i32>
  %o = memref.alloc() : memref<2x2x8xf32, 4 : i32>
  memref.copy %r, %o : memref<2x2x8xf32, 1 : i32> to memref<2x2x8xf32, 4 : i32>
  return %o : memref<2x2x8xf32, 4 : i32>
}

// -----

// An SBUF expand splitting dim 0 gets an alloc + copy; a trivial split (a unit
// factor), an HBM expand and an SBUF split of another dim stay views.

// CHECK-LABEL: func.func @sbuf_split
// CHECK:         %[[E:.*]] = memref.expand_shape %[[S:.*]] {{\[\[}}0, 1], [2]] output_shape [2, 64, 32] : memref<128x32xf32, 3 : i32> into memref<2x64x32xf32, 3 : i32>
// CHECK-NEXT:    %[[A:.*]] = memref.alloc() : memref<2x64x32xf32, 3 : i32>
// CHECK-NEXT:    memref.copy %[[E]], %[[A]]
// CHECK:         linalg.exp ins(%[[A]] : memref<2x64x32xf32, 3 : i32>)
// CHECK:         %[[U:.*]] = memref.expand_shape %[[S]] {{\[\[}}0, 1], [2]] output_shape [1, 128, 32]
// CHECK-NOT:     memref.copy
// CHECK:         linalg.exp ins(%[[U]] : memref<1x128x32xf32, 3 : i32>)
// CHECK:         %[[F:.*]] = memref.expand_shape %[[S]] {{\[}}[0], [1, 2]] output_shape [128, 4, 8]
// CHECK-NOT:     memref.copy
// CHECK:         linalg.exp ins(%[[F]] : memref<128x4x8xf32, 3 : i32>)
// CHECK:         %[[H:.*]] = memref.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [2, 64, 32] : memref<128x32xf32, 1 : i32>
// CHECK-NOT:     memref.copy
// CHECK:         linalg.exp ins(%[[H]] : memref<2x64x32xf32, 1 : i32>)
func.func @sbuf_split(%s: memref<128x32xf32, 3 : i32>, %h: memref<128x32xf32, 1 : i32>) {
  %e = memref.expand_shape %s [[0, 1], [2]] output_shape [2, 64, 32] : memref<128x32xf32, 3 : i32> into memref<2x64x32xf32, 3 : i32>
  %o1 = memref.alloc() : memref<2x64x32xf32, 3 : i32>
  linalg.exp ins(%e : memref<2x64x32xf32, 3 : i32>) outs(%o1 : memref<2x64x32xf32, 3 : i32>)
  %u = memref.expand_shape %s [[0, 1], [2]] output_shape [1, 128, 32] : memref<128x32xf32, 3 : i32> into memref<1x128x32xf32, 3 : i32>
  %o2 = memref.alloc() : memref<1x128x32xf32, 3 : i32>
  linalg.exp ins(%u : memref<1x128x32xf32, 3 : i32>) outs(%o2 : memref<1x128x32xf32, 3 : i32>)
  %f = memref.expand_shape %s [[0], [1, 2]] output_shape [128, 4, 8] : memref<128x32xf32, 3 : i32> into memref<128x4x8xf32, 3 : i32>
  %o3 = memref.alloc() : memref<128x4x8xf32, 3 : i32>
  linalg.exp ins(%f : memref<128x4x8xf32, 3 : i32>) outs(%o3 : memref<128x4x8xf32, 3 : i32>)
  %g = memref.expand_shape %h [[0, 1], [2]] output_shape [2, 64, 32] : memref<128x32xf32, 1 : i32> into memref<2x64x32xf32, 1 : i32>
  %o4 = memref.alloc() : memref<2x64x32xf32, 1 : i32>
  linalg.exp ins(%g : memref<2x64x32xf32, 1 : i32>) outs(%o4 : memref<2x64x32xf32, 1 : i32>)
  return
}

// -----

// An SBUF split only DMAs read (the transformer's heads [4, 128, 128] -> [2, 2, 128, 128]
// shuffled into HBM by a [0, 2, 1, 3] transpose) is materialized in Hbm, not in an SBUF
// buffer with 2 partitions.

// CHECK-LABEL: func.func @sbuf_split_into_hbm
// CHECK:         %[[E:.*]] = memref.expand_shape %arg0 {{\[\[}}0, 1], [2], [3]] output_shape [2, 2, 128, 128] : memref<4x128x128xf32, 3 : i32> into memref<2x2x128x128xf32, 3 : i32>
// CHECK-NEXT:    %[[A:.*]] = memref.alloc() : memref<2x2x128x128xf32, 1 : i32>
// CHECK-NEXT:    memref.copy %[[E]], %[[A]] : memref<2x2x128x128xf32, 3 : i32> to memref<2x2x128x128xf32, 1 : i32>
// CHECK:         linalg.transpose ins(%[[A]] : memref<2x2x128x128xf32, 1 : i32>) outs(%{{.*}} : memref<2x128x2x128xf32, 1 : i32>) permutation = [0, 2, 1, 3]
func.func @sbuf_split_into_hbm(%s: memref<4x128x128xf32, 3 : i32>) {
  %e = memref.expand_shape %s [[0, 1], [2], [3]] output_shape [2, 2, 128, 128] : memref<4x128x128xf32, 3 : i32> into memref<2x2x128x128xf32, 3 : i32>
  %t = memref.alloc() : memref<2x128x2x128xf32, 1 : i32>
  linalg.transpose ins(%e : memref<2x2x128x128xf32, 3 : i32>) outs(%t : memref<2x128x2x128xf32, 1 : i32>) permutation = [0, 2, 1, 3]
  return
}

// -----

// Returned arguments and views of them get their own output buffer: a 1-D expand
// and a direct argument are copied as returned; a multi-dim expand copies the
// argument, then expands the copy. The function type follows.

// CHECK-LABEL: func.func @returned_views
// CHECK-SAME:    -> (memref<4x8xf32, 4 : i32>, memref<2x2x8xf32, 4 : i32>, memref<4x8xf32, 4 : i32>)
// CHECK:         %[[E1:.*]] = memref.expand_shape %[[X:.*]] {{\[\[}}0, 1]] output_shape [4, 8]
// CHECK:         %[[E2:.*]] = memref.expand_shape %[[Y:.*]] {{\[\[}}0, 1], [2]] output_shape [2, 2, 8]
// CHECK:         %[[R1:.*]] = memref.alloc() : memref<4x8xf32, 4 : i32>
// CHECK-NEXT:    memref.copy %[[E1]], %[[R1]]
// CHECK-NEXT:    %[[C2:.*]] = memref.alloc() : memref<4x8xf32, 4 : i32>
// CHECK-NEXT:    memref.copy %[[Y]], %[[C2]] : memref<4x8xf32, strided<[?, ?], offset: ?>, 4 : i32> to memref<4x8xf32, 4 : i32>
// CHECK-NEXT:    %[[R2:.*]] = memref.expand_shape %[[C2]] {{\[\[}}0, 1], [2]] output_shape [2, 2, 8] : memref<4x8xf32, 4 : i32> into memref<2x2x8xf32, 4 : i32>
// CHECK-NEXT:    %[[R3:.*]] = memref.alloc() : memref<4x8xf32, 4 : i32>
// CHECK-NEXT:    memref.copy %[[Y]], %[[R3]]
// CHECK-NEXT:    return %[[R1]], %[[R2]], %[[R3]]
func.func @returned_views(%x: memref<32xf32, 4 : i32>, %y: memref<4x8xf32, strided<[?, ?], offset: ?>, 4 : i32>)
    -> (memref<4x8xf32, 4 : i32>, memref<2x2x8xf32, strided<[?, ?, ?], offset: ?>, 4 : i32>, memref<4x8xf32, strided<[?, ?], offset: ?>, 4 : i32>) {
  %e1 = memref.expand_shape %x [[0, 1]] output_shape [4, 8] : memref<32xf32, 4 : i32> into memref<4x8xf32, 4 : i32>
  %e2 = memref.expand_shape %y [[0, 1], [2]] output_shape [2, 2, 8] : memref<4x8xf32, strided<[?, ?], offset: ?>, 4 : i32> into memref<2x2x8xf32, strided<[?, ?, ?], offset: ?>, 4 : i32>
  return %e1, %e2, %y : memref<4x8xf32, 4 : i32>, memref<2x2x8xf32, strided<[?, ?, ?], offset: ?>, 4 : i32>, memref<4x8xf32, strided<[?, ?], offset: ?>, 4 : i32>
}
