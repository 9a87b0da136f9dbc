// RUN: nkipy-kg-opt %s --knob-driven-fusion --split-input-file | filecheck %s

// Two tiled 2-D elementwise nests with equal bounds: one outer and one inner
// loop carrying both accumulators. The ops between the loops are moved: the
// second op's init (independent) above the fused loop, the first result's
// layout (dependent) below it. The fuse_op is gone.

// CHECK-LABEL: func.func @two_nests
// CHECK-SAME:    (%[[A:.*]]: tensor<8x16xf32>, %[[B:.*]]: tensor<8x16xf32>)
// CHECK-DAG:     %[[E0:.*]] = tensor.empty() : tensor<8x16xf32>
// CHECK-DAG:     %[[E1:.*]] = tensor.empty() : tensor<8x16xf32>
// CHECK:         %[[R:.*]]:2 = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[X:.*]] = %[[E0]], %[[Y:.*]] = %[[E1]]) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
// CHECK-NEXT:      %[[IN:.*]]:2 = scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[X2:.*]] = %[[X]], %[[Y2:.*]] = %[[Y]]) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
// CHECK-NEXT:        tensor.extract_slice %[[A]][%[[I]], %[[J]]] [4, 8] [1, 1]
// CHECK-NEXT:        tensor.extract_slice %[[X2]][%[[I]], %[[J]]]
// CHECK-NEXT:        linalg.exp
// CHECK-NEXT:        %[[U0:.*]] = tensor.insert_slice %{{.*}} into %[[X2]][%[[I]], %[[J]]]
// CHECK-NEXT:        tensor.extract_slice %[[B]][%[[I]], %[[J]]] [4, 8] [1, 1]
// CHECK-NEXT:        tensor.extract_slice %[[Y2]][%[[I]], %[[J]]]
// CHECK-NEXT:        linalg.negf
// CHECK-NEXT:        %[[U1:.*]] = tensor.insert_slice %{{.*}} into %[[Y2]][%[[I]], %[[J]]]
// CHECK-NEXT:        scf.yield %[[U0]], %[[U1]] : tensor<8x16xf32>, tensor<8x16xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.yield %[[IN]]#0, %[[IN]]#1 : tensor<8x16xf32>, tensor<8x16xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    "nkipy.layout"(%[[R]]#0) {mem_space = 3 : i32}
// CHECK-NEXT:    "nkipy.layout"(%[[R]]#1) {mem_space = 4 : i32}
// CHECK-NOT:     nkipy.fuse_op
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1
func.func @two_nests(%a: tensor<8x16xf32>, %b: tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %e0 = tensor.empty() : tensor<8x16xf32>
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e0) -> (tensor<8x16xf32>) {
    %in = scf.for %j = %c0 to %c16 step %c8 iter_args(%x2 = %x) -> (tensor<8x16xf32>) {
      %s = tensor.extract_slice %a[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %o = tensor.extract_slice %x2[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %v = linalg.exp ins(%s : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
      %u = tensor.insert_slice %v into %x2[%i, %j] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<8x16xf32>
      scf.yield %u : tensor<8x16xf32>
    }
    scf.yield %in : tensor<8x16xf32>
  }
  "nkipy.layout"(%r0) {mem_space = 3 : i32} : (tensor<8x16xf32>) -> ()
  %e1 = tensor.empty() : tensor<8x16xf32>
  %c4b = arith.constant 4 : index
  %r1 = scf.for %i = %c0 to %c8 step %c4b iter_args(%y = %e1) -> (tensor<8x16xf32>) {
    %in = scf.for %j = %c0 to %c16 step %c8 iter_args(%y2 = %y) -> (tensor<8x16xf32>) {
      %s = tensor.extract_slice %b[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %o = tensor.extract_slice %y2[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %v = linalg.negf ins(%s : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
      %u = tensor.insert_slice %v into %y2[%i, %j] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<8x16xf32>
      scf.yield %u : tensor<8x16xf32>
    }
    scf.yield %in : tensor<8x16xf32>
  }
  "nkipy.layout"(%r1) {mem_space = 4 : i32} : (tensor<8x16xf32>) -> ()
  "nkipy.fuse_op"(%r0, %r1) : (tensor<8x16xf32>, tensor<8x16xf32>) -> ()
  return %r0, %r1 : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// Three 1-D loops, fused left to right in program order (the fuse_op lists them
// out of order); the inner bodies keep their order.

// CHECK-LABEL: func.func @three_loops
// CHECK:         %[[R:.*]]:3 = scf.for {{.*}} -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
// CHECK:           linalg.exp
// CHECK:           linalg.negf
// CHECK:           linalg.abs
// CHECK:           scf.yield
// CHECK-NEXT:    }
// CHECK-NOT:     scf.for
// CHECK:         return %[[R]]#0, %[[R]]#1, %[[R]]#2
func.func @three_loops(%a: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8xf32>
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %s = tensor.extract_slice %a[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %o = tensor.extract_slice %x[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %v = linalg.exp ins(%s : tensor<4xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
    %u = tensor.insert_slice %v into %x[%i] [4] [1] : tensor<4xf32> into tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %s = tensor.extract_slice %a[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %o = tensor.extract_slice %x[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %v = linalg.negf ins(%s : tensor<4xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
    %u = tensor.insert_slice %v into %x[%i] [4] [1] : tensor<4xf32> into tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  %r2 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %s = tensor.extract_slice %a[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %o = tensor.extract_slice %x[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %v = linalg.abs ins(%s : tensor<4xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
    %u = tensor.insert_slice %v into %x[%i] [4] [1] : tensor<4xf32> into tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  "nkipy.fuse_op"(%r2, %r0, %r1) : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> ()
  return %r0, %r1, %r2 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}
