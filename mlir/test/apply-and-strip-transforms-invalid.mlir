// RUN: nkipy-kg-opt %s --apply-and-strip-transforms --split-input-file --verify-diagnostics

// A failing transform is a PassError at the location MLIR reports: the payload
// op or the transform op (for a schedule from knob-driven-tiling both are the
// user's source line of the tiled op).

module attributes {transform.with_named_sequence} {
  func.func @not_a_matmul(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %e = tensor.empty() : tensor<4x8xf32>
    // expected-error @below {{transform interpretation failed: not supported}}
    %0 = linalg.exp {nkipy.op_id = 0 : i64} ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
    return %0 : tensor<4x8xf32>
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %m = transform.structured.match ops{["linalg.exp"]} attributes {nkipy.op_id = 0 : i64} in %root : (!transform.any_op) -> !transform.any_op
    %t = transform.structured.transpose_matmul %m : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}

// -----

module attributes {transform.with_named_sequence} {
  func.func @tile_too_many(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %e = tensor.empty() : tensor<4x8xf32>
    %0 = linalg.exp {nkipy.op_id = 0 : i64} ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
    return %0 : tensor<4x8xf32>
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %m = transform.structured.match ops{["linalg.exp"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @below {{transform interpretation failed: too many tiles provided, expected at most 2 found 3}}
    %t, %l:3 = transform.structured.tile_using_for %m tile_sizes [2, 4, 1] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}
