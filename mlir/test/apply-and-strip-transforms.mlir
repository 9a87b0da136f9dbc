// RUN: nkipy-kg-opt %s --apply-and-strip-transforms --split-input-file | filecheck %s

// The schedule is applied, then every top-level transform op and the module
// attribute are gone.

// CHECK-NOT:   transform.with_named_sequence
// CHECK-LABEL: func.func @tiled
// CHECK-SAME:    (%[[A:.*]]: tensor<4x8xf32>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK:         scf.for %[[I:.*]] = %[[C0]] to %[[C4]] step %[[C2]] iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<4x8xf32>) {
// CHECK-NEXT:      %[[S:.*]] = tensor.extract_slice %[[A]][%[[I]], 0] [2, 8] [1, 1]
// CHECK-NEXT:      %[[ALLOC:.*]] = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<2x8xf32>
// CHECK-NEXT:      %[[IN:.*]] = bufferization.materialize_in_destination %[[S]] in %[[ALLOC]]
// CHECK-NEXT:      %[[O:.*]] = tensor.extract_slice %[[ACC]][%[[I]], 0] [2, 8] [1, 1]
// CHECK-NEXT:      linalg.exp {nkipy.op_id = 0 : i64} ins(%[[IN]] : tensor<2x8xf32>) outs(%[[O]] : tensor<2x8xf32>)
// CHECK:         "nkipy.layout"
// CHECK-NOT:     transform.
// CHECK:       // -----
module attributes {transform.with_named_sequence} {
  func.func @tiled(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %e = tensor.empty() : tensor<4x8xf32>
    %0 = linalg.exp {nkipy.op_id = 0 : i64} ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
    "nkipy.layout"(%0) {mem_space = 4 : i32} : (tensor<4x8xf32>) -> ()
    return %0 : tensor<4x8xf32>
  }
  transform.named_sequence @helper(%op: !transform.any_op {transform.readonly}) {
    transform.yield
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %m = transform.structured.match ops{["linalg.exp"]} attributes {nkipy.op_id = 0 : i64} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l = transform.structured.tile_using_for %m tile_sizes [2, 0] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %v = transform.get_operand %t[0] : (!transform.any_op) -> !transform.any_value
    %p = transform.structured.promote_tensor to 3 : i32 %v : !transform.any_value
    transform.include @helper failures(propagate) (%t) : (!transform.any_op) -> ()
    transform.yield
  }
}

// -----

// No @__transform_main: nothing happens (the module and its attribute stay).

// CHECK:       module attributes {transform.with_named_sequence}
// CHECK-LABEL: func.func @no_entry
// CHECK-NEXT:    tensor.empty
// CHECK-NEXT:    linalg.exp
// CHECK-NEXT:    return
// CHECK:       transform.named_sequence @other
module attributes {transform.with_named_sequence} {
  func.func @no_entry(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %e = tensor.empty() : tensor<4x8xf32>
    %0 = linalg.exp ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
    return %0 : tensor<4x8xf32>
  }
  transform.named_sequence @other(%root: !transform.any_op {transform.readonly}) {
    transform.yield
  }
}

// -----

// An empty schedule (knob-driven-tiling without knobs): stripped, IR unchanged.

// CHECK:       module {
// CHECK-LABEL: func.func @empty_schedule
// CHECK-NEXT:    tensor.empty
// CHECK-NEXT:    linalg.exp
// CHECK-NEXT:    return
// CHECK-NEXT:  }
// CHECK-NEXT:  }
module attributes {transform.with_named_sequence} {
  func.func @empty_schedule(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %e = tensor.empty() : tensor<4x8xf32>
    %0 = linalg.exp ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
    return %0 : tensor<4x8xf32>
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    transform.yield
  }
}
