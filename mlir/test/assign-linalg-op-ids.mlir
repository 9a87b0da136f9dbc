// RUN: nkipy-kg-opt %s --assign-linalg-op-ids | filecheck %s

// Every structured linalg op gets an id in program order, including ops nested in
// loops; existing ids are kept and never handed out again (5 is skipped).

// CHECK-LABEL: func.func @ids
// CHECK:         linalg.fill {nkipy.op_id = 0 : i64}
// CHECK:         linalg.matmul {nkipy.op_id = 5 : i64}
// CHECK:         linalg.generic {{{.*}}nkipy.op_id = 1 : i64
// CHECK:           linalg.yield
// CHECK-NOT:       nkipy.op_id
// CHECK:         scf.for
// CHECK:           linalg.exp {nkipy.op_id = 2 : i64}
// CHECK:         linalg.transpose {{.*}} permutation = [1, 0]  {nkipy.op_id = 3 : i64}
// CHECK:         linalg.add {nkipy.op_id = 4 : i64}
// CHECK:         linalg.mul {nkipy.op_id = 6 : i64}
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @ids(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %e = tensor.empty() : tensor<4x4xf32>
  %cst = arith.constant 0.000000e+00 : f32
  %f = linalg.fill ins(%cst : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %m = linalg.matmul {nkipy.op_id = 5 : i64} ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%f : tensor<4x4xf32>) -> tensor<4x4xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %n = arith.negf %in : f32
      linalg.yield %n : f32
  } -> tensor<4x4xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %g) -> (tensor<4x4xf32>) {
    %x = linalg.exp ins(%acc : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
    scf.yield %x : tensor<4x4xf32>
  }
  %t = linalg.transpose ins(%r : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %s = linalg.add ins(%t, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %p = linalg.mul ins(%s, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %p : tensor<4x4xf32>
}
