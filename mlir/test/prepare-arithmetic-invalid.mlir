// RUN: nkipy-kg-opt %s --prepare-arithmetic --split-input-file --verify-diagnostics

// A scalar (non-tensor) divisor operand has no tensor to take the reciprocal of,
// and NISA has no reciprocal of a runtime scalar.
#id = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>
func.func @scalar_divisor(%a: tensor<4xf32>, %s: f32) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-error @below {{division by a scalar operand of type f32}}
  %g = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel"]} ins(%a, %s : tensor<4xf32>, f32) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.divf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %g : tensor<4xf32>
}

// -----

// The same divisor used twice: still a scalar operand, whichever rewrite would apply.
#id = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>
func.func @scalar_divisor_reused(%a: tensor<4xf32>, %s: f32) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-error @below {{division by a scalar operand of type f32}}
  %g = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel"]} ins(%a, %s : tensor<4xf32>, f32) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.divf %x, %y : f32
    %t = arith.addf %r, %y : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  return %g : tensor<4xf32>
}
