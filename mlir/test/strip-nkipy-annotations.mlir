// RUN: nkipy-kg-opt %s --strip-nkipy-annotations | filecheck %s

// The three annotation ops go away; the computation and nkipy.gather stay.

// CHECK-LABEL: func.func @annotated
// CHECK-SAME:    (%[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<4x8xf32>)
// CHECK-NOT:     nkipy.tile_op
// CHECK-NOT:     nkipy.layout
// CHECK-NOT:     nkipy.fuse_op
// CHECK:         %[[SUM:.*]] = linalg.add ins(%[[A]], %[[B]] : {{.*}}) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK-NEXT:    %[[EXP:.*]] = linalg.exp ins(%[[SUM]] : {{.*}})
// CHECK-NEXT:    return %[[EXP]] : tensor<4x8xf32>
func.func @annotated(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %s = linalg.add ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  "nkipy.tile_op"(%s) {loop_tile_size = array<i64: 2, 8>} : (tensor<4x8xf32>) -> ()
  "nkipy.layout"(%s) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 2, 8>} : (tensor<4x8xf32>) -> ()
  %x = linalg.exp ins(%s : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  "nkipy.fuse_op"(%s, %x) : (tensor<4x8xf32>, tensor<4x8xf32>) -> ()
  return %x : tensor<4x8xf32>
}

// Annotations inside a loop body are erased too; nkipy.gather is not an annotation.

// CHECK-LABEL: func.func @nested_and_gather
// CHECK:         scf.for
// CHECK-NOT:       nkipy.layout
// CHECK:           scf.yield
// CHECK:         "nkipy.gather"
func.func @nested_and_gather(%t: tensor<16x4xf32>, %i: tensor<2xi32>, %acc0: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %iv = %c0 to %c4 step %c1 iter_args(%acc = %acc0) -> (tensor<2x4xf32>) {
    "nkipy.layout"(%acc) {mem_space = 1 : i32} : (tensor<2x4xf32>) -> ()
    scf.yield %acc : tensor<2x4xf32>
  }
  %g = "nkipy.gather"(%t, %i, %r) : (tensor<16x4xf32>, tensor<2xi32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %g : tensor<2x4xf32>
}
