// RUN: nkipy-kg-opt %s --remove-redundant-zero-fill --split-input-file | filecheck %s

// The matmul accumulator fill goes away, and so does its dead constant.

// CHECK-LABEL: func.func @matmul
// CHECK-NOT:     linalg.fill
// CHECK-NOT:     arith.constant
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK-NEXT:    %[[M:.*]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x16xf32>, tensor<16x8xf32>) outs(%[[E]] : tensor<4x8xf32>)
// CHECK-NEXT:    return %[[M]]
func.func @matmul(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %cst = arith.constant 0.000000e+00 : f32
  %f = linalg.fill ins(%cst : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = linalg.matmul ins(%a, %b : tensor<4x16xf32>, tensor<16x8xf32>) outs(%f : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %m : tensor<4x8xf32>
}

// -----

// Transposed-A matmul (indexing_maps), batch_matmul, an integer zero and a fill
// shared by two matmuls all qualify.

// CHECK-LABEL: func.func @matmul_like
// CHECK-NOT:     linalg.fill
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK:         linalg.matmul indexing_maps = {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16x4xf32>, tensor<16x8xf32>) outs(%[[E]] : tensor<4x8xf32>)
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x16xf32>, tensor<16x8xf32>) outs(%[[E]] : tensor<4x8xf32>)
// CHECK:         %[[EB:.*]] = tensor.empty() : tensor<2x4x8xi32>
// CHECK:         linalg.batch_matmul ins({{.*}}) outs(%[[EB]] : tensor<2x4x8xi32>)
func.func @matmul_like(%at: tensor<16x4xf32>, %a: tensor<4x16xf32>, %b: tensor<16x8xf32>,
                       %x: tensor<2x4x16xi32>, %y: tensor<2x16x8xi32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x4x8xi32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %cst = arith.constant 0.000000e+00 : f32
  %f = linalg.fill ins(%cst : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
         ins(%at, %b : tensor<16x4xf32>, tensor<16x8xf32>) outs(%f : tensor<4x8xf32>) -> tensor<4x8xf32>
  %m2 = linalg.matmul ins(%a, %b : tensor<4x16xf32>, tensor<16x8xf32>) outs(%f : tensor<4x8xf32>) -> tensor<4x8xf32>
  %eb = tensor.empty() : tensor<2x4x8xi32>
  %c0 = arith.constant 0 : i32
  %fb = linalg.fill ins(%c0 : i32) outs(%eb : tensor<2x4x8xi32>) -> tensor<2x4x8xi32>
  %bm = linalg.batch_matmul ins(%x, %y : tensor<2x4x16xi32>, tensor<2x16x8xi32>) outs(%fb : tensor<2x4x8xi32>) -> tensor<2x4x8xi32>
  return %m, %m2, %bm : tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x4x8xi32>
}

// -----

// Kept: a non-zero fill; a zero fill also read by a non-matmul; a zero fill used
// as a matmul input; a zero fill over real data (a function argument).

// CHECK-LABEL: func.func @kept
// CHECK-COUNT-4: linalg.fill
func.func @kept(%a: tensor<4x4xf32>, %acc: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>) {
  %e = tensor.empty() : tensor<4x4xf32>
  %one = arith.constant 1.000000e+00 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %f1 = linalg.fill ins(%one : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %m1 = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%f1 : tensor<4x4xf32>) -> tensor<4x4xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %m2 = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%f2 : tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = linalg.add ins(%f2, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %e2 = tensor.empty() : tensor<4x4xf32>
  %m3 = linalg.matmul ins(%f3, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e2 : tensor<4x4xf32>) -> tensor<4x4xf32>
  %f4 = linalg.fill ins(%zero : f32) outs(%acc : tensor<4x4xf32>) -> tensor<4x4xf32>
  %m4 = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%f4 : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %m1, %m2, %s, %m3, %m4 : tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
}
