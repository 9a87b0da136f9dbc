// RUN: nkipy-kg-opt %s --canonicalize-loop-step --split-input-file | filecheck %s

// A tiled 2-D nest: both loops run 0..N/step with step 1, and the original
// induction value `lb + iv * step` is rebuilt at the top of each body.

// CHECK-LABEL: func.func @nest
// CHECK-DAG:     %[[LB:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[S4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[S8:.*]] = arith.constant 8 : index
// CHECK-DAG:     %[[TRIP:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1 : index
// CHECK:         scf.for %[[I:.*]] = %[[ZERO]] to %[[TRIP]] step %[[ONE]] iter_args
// CHECK-NEXT:      %[[MI:.*]] = arith.muli %[[I]], %[[S4]] : index
// CHECK-NEXT:      %[[OI:.*]] = arith.addi %[[LB]], %[[MI]] : index
// CHECK:           scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK-NEXT:        %[[MJ:.*]] = arith.muli %[[J]], %[[S8]] : index
// CHECK-NEXT:        %[[OJ:.*]] = arith.addi %[[LB]], %[[MJ]] : index
// CHECK-NEXT:        tensor.extract_slice %{{.*}}[%[[OI]], %[[OJ]]] [4, 8] [1, 1]
// CHECK:             tensor.insert_slice %{{.*}} into %{{.*}}[%[[OI]], %[[OJ]]] [4, 8] [1, 1]
func.func @nest(%a: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %e = tensor.empty() : tensor<8x16xf32>
  %r = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8x16xf32>) {
    %in = scf.for %j = %c0 to %c16 step %c8 iter_args(%x2 = %x) -> (tensor<8x16xf32>) {
      %s = tensor.extract_slice %a[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %o = tensor.extract_slice %x2[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %v = linalg.exp ins(%s : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
      %u = tensor.insert_slice %v into %x2[%i, %j] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<8x16xf32>
      scf.yield %u : tensor<8x16xf32>
    }
    scf.yield %in : tensor<8x16xf32>
  }
  return %r : tensor<8x16xf32>
}

// -----

// A non-zero lower bound: trip count (ub - lb) / step, iv = lb + i * step.
// A step-1 loop is untouched.

// CHECK-LABEL: func.func @offset
// CHECK-DAG:     %[[LB:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[STEP:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[TRIP:.*]] = arith.constant 2 : index
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %[[TRIP]] step %{{.*}} iter_args
// CHECK-NEXT:      %[[M:.*]] = arith.muli %[[I]], %[[STEP]] : index
// CHECK-NEXT:      %[[O:.*]] = arith.addi %[[LB]], %[[M]] : index
// CHECK-NEXT:      arith.index_cast %[[O]]
// CHECK:         scf.for %[[K:.*]] = %[[LB]] to %{{.*}} step %[[ONE:.*]] iter_args
// CHECK-NEXT:      arith.index_cast %[[K]]
func.func @offset(%s: i64) -> (i64, i64) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %r = scf.for %i = %c2 to %c8 step %c3 iter_args(%acc = %s) -> (i64) {
    %v = arith.index_cast %i : index to i64
    %n = arith.addi %acc, %v : i64
    scf.yield %n : i64
  }
  %r2 = scf.for %k = %c2 to %c8 step %c1 iter_args(%acc = %s) -> (i64) {
    %v = arith.index_cast %k : index to i64
    %n = arith.addi %acc, %v : i64
    scf.yield %n : i64
  }
  return %r, %r2 : i64, i64
}

// -----

// Dynamic bounds: the trip count is computed, ceil((ub - lb) / step).

// CHECK-LABEL: func.func @dynamic
// CHECK-SAME:    (%[[N:.*]]: index)
// CHECK:         %[[D:.*]] = arith.subi %[[N]], %[[LB:.*]] : index
// CHECK-NEXT:    %[[T:.*]] = arith.ceildivsi %[[D]], %[[STEP:.*]] : index
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %[[T]] step
// CHECK-NEXT:      %[[M:.*]] = arith.muli %[[I]], %[[STEP]] : index
// CHECK-NEXT:      arith.addi %[[LB]], %[[M]] : index
func.func @dynamic(%n: index) -> index {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %n step %c4 iter_args(%acc = %c0) -> (index) {
    %v = arith.addi %acc, %i : index
    scf.yield %v : index
  }
  return %r : index
}
