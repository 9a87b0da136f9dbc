// RUN: nkipy-kg-opt %s --prepare-arithmetic --split-input-file --verify-diagnostics

// A divisor computed inside the body has no tensor to take the reciprocal of.
#id = affine_map<(d0) -> (d0)>
func.func @computed_divisor(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-error @below {{division by a value computed inside a linalg.generic is not supported}}
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %s = arith.addf %x, %one : f32
    %r = arith.divf %one, %s : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %g : tensor<4xf32>
}

// -----

// Two divisions by tensor values in one body.
#id = affine_map<(d0) -> (d0)>
func.func @two_divides(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-error @below {{2 divisions by tensor values in one linalg.generic}}
  %g = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]} ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.divf %x, %y : f32
    %q = arith.divf %r, %x : f32
    linalg.yield %q : f32
  } -> tensor<4xf32>
  return %g : tensor<4xf32>
}

// -----

// The divisor argument is also used elsewhere: replacing the input would change that use.
#id = affine_map<(d0) -> (d0)>
func.func @divisor_reused(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-error @below {{the divisor of a linalg.generic is also used for something else}}
  %g = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]} ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.divf %x, %y : f32
    %s = arith.addf %r, %y : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %g : tensor<4xf32>
}
