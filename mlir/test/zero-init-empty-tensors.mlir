// RUN: nkipy-kg-opt %s --zero-init-empty-tensors --split-input-file | filecheck %s

// A reduction reads its init: the tensor.empty gets a linalg.fill(0) and the
// reduction reads the filled tensor.

// CHECK-LABEL: func.func @reduce_reads_init
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<4xf32>
// CHECK-NEXT:    %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[F:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%[[E]] : tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    linalg.reduce ins(%{{.*}} : tensor<4x8xf32>) outs(%[[F]] : tensor<4xf32>)
func.func @reduce_reads_init(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.reduce ins(%x : tensor<4x8xf32>) outs(%e : tensor<4xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  return %r : tensor<4xf32>
}

// -----

// Pure-write inits stay uninitialised: named elementwise ops, linalg.fill,
// linalg.transpose/broadcast/copy and a generic that ignores its output argument.

// CHECK-LABEL: func.func @pure_writes
// CHECK-NOT:     0.000000e+00
// CHECK:         linalg.add ins(%{{.*}}, %{{.*}} : {{.*}}) outs(%[[E:.*]] : tensor<4x8xf32>)
// CHECK:         linalg.transpose ins(%{{.*}} : tensor<4x8xf32>) outs(%[[ET:.*]] : tensor<8x4xf32>)
// CHECK:         linalg.copy ins(%{{.*}} : tensor<4x8xf32>) outs(%[[E]] : tensor<4x8xf32>)
// CHECK:         linalg.generic
// CHECK-SAME:      outs(%[[E]] : tensor<4x8xf32>)
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<4x8xf32>)
// CHECK-NOT:     0.000000e+00
// CHECK:         return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @pure_writes(%a: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8x4xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %et = tensor.empty() : tensor<8x4xf32>
  %s = linalg.add ins(%a, %a : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%et : tensor<8x4xf32>) permutation = [1, 0]
  %c = linalg.copy ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %n = arith.negf %in : f32
      linalg.yield %n : f32
  } -> tensor<4x8xf32>
  %one = arith.constant 1.0 : f32
  %f = linalg.fill ins(%one : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %s, %t, %c, %g, %f : tensor<4x8xf32>, tensor<8x4xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// One reading use is enough: every use of the empty then reads the filled tensor,
// including the pure-write one. matmul accumulates into its init; the integer zero
// matches the element type.

// CHECK-LABEL: func.func @matmul_and_add
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<4x4xi32>
// CHECK-NEXT:    %[[Z:.*]] = arith.constant 0 : i32
// CHECK-NEXT:    %[[F:.*]] = linalg.fill ins(%[[Z]] : i32) outs(%[[E]] : tensor<4x4xi32>)
// CHECK-NEXT:    linalg.matmul ins({{.*}}) outs(%[[F]] : tensor<4x4xi32>)
// CHECK-NEXT:    linalg.add ins({{.*}}) outs(%[[F]] : tensor<4x4xi32>)
func.func @matmul_and_add(%a: tensor<4x4xi32>) -> (tensor<4x4xi32>, tensor<4x4xi32>) {
  %e = tensor.empty() : tensor<4x4xi32>
  %m = linalg.matmul ins(%a, %a : tensor<4x4xi32>, tensor<4x4xi32>) outs(%e : tensor<4x4xi32>) -> tensor<4x4xi32>
  %s = linalg.add ins(%a, %a : tensor<4x4xi32>, tensor<4x4xi32>) outs(%e : tensor<4x4xi32>) -> tensor<4x4xi32>
  return %m, %s : tensor<4x4xi32>, tensor<4x4xi32>
}

// -----

// An empty used as an input, as an insert_slice destination (its other elements
// survive) and as a loop-carried value are reads; an unused empty is left alone.

// CHECK-LABEL: func.func @other_reads
// CHECK:         %[[E1:.*]] = tensor.empty() : tensor<4xf16>
// CHECK-NEXT:    arith.constant 0.000000e+00 : f16
// CHECK-NEXT:    linalg.fill {{.*}} outs(%[[E1]] : tensor<4xf16>)
// CHECK:         %[[E2:.*]] = tensor.empty() : tensor<8xf16>
// CHECK-NEXT:    arith.constant 0.000000e+00 : f16
// CHECK-NEXT:    %[[F2:.*]] = linalg.fill {{.*}} outs(%[[E2]] : tensor<8xf16>)
// CHECK:         tensor.insert_slice %{{.*}} into %[[F2]][0] [4] [1]
// CHECK:         %[[E3:.*]] = tensor.empty() : tensor<4xf16>
// CHECK-NEXT:    arith.constant 0.000000e+00 : f16
// CHECK-NEXT:    %[[F3:.*]] = linalg.fill {{.*}} outs(%[[E3]] : tensor<4xf16>)
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %[[F3]])
// CHECK:         tensor.empty() : tensor<16xf16>
// CHECK-NOT:     linalg.fill
// CHECK:         return
func.func @other_reads(%a: tensor<4xf16>) -> (tensor<4xf16>, tensor<8xf16>, tensor<4xf16>) {
  %e1 = tensor.empty() : tensor<4xf16>
  %o1 = tensor.empty() : tensor<4xf16>
  %s = linalg.add ins(%a, %e1 : tensor<4xf16>, tensor<4xf16>) outs(%o1 : tensor<4xf16>) -> tensor<4xf16>
  %e2 = tensor.empty() : tensor<8xf16>
  %ins = tensor.insert_slice %a into %e2[0] [4] [1] : tensor<4xf16> into tensor<8xf16>
  %e3 = tensor.empty() : tensor<4xf16>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %e3) -> (tensor<4xf16>) {
    %o = tensor.empty() : tensor<4xf16>
    %n = linalg.add ins(%acc, %a : tensor<4xf16>, tensor<4xf16>) outs(%o : tensor<4xf16>) -> tensor<4xf16>
    scf.yield %n : tensor<4xf16>
  }
  %unused = tensor.empty() : tensor<16xf16>
  return %s, %ins, %r : tensor<4xf16>, tensor<8xf16>, tensor<4xf16>
}

// -----

// An operand-less alloc_tensor is as undefined as a tensor.empty: a matmul accumulating
// into it (knob-driven-fusion's per-row-block scores tile) reads zeros; one only
// overwritten by materialize_in_destination stays as it is.

// CHECK-LABEL: func.func @alloc_tensor_accumulator
// CHECK:         %[[A:.*]] = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<4x16xf32>
// CHECK-NEXT:    %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[F:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%[[A]] : tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT:    %[[MM:.*]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<8x16xf32>) outs(%[[F]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[D:.*]] = bufferization.alloc_tensor() : tensor<4x16xf32>
// CHECK-NEXT:    bufferization.materialize_in_destination %[[MM]] in %[[D]]
func.func @alloc_tensor_accumulator(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %t = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<4x16xf32>
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%t : tensor<4x16xf32>) -> tensor<4x16xf32>
  %d = bufferization.alloc_tensor() : tensor<4x16xf32>
  %m = bufferization.materialize_in_destination %r in %d : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %m : tensor<4x16xf32>
}
