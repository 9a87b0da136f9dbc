// RUN: nkipy-kg-opt %s --prepare-arithmetic --split-input-file | filecheck %s

// Named div -> mul(A, reciprocal(B)). The divide's tile_op and layout are cloned
// onto the reciprocal (same order), the originals stay on the multiply, and the
// op id moves to the multiply.

// CHECK-LABEL: func.func @named_div
// CHECK-SAME:    (%[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<4x8xf32>)
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK-NEXT:    %[[E0:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK-NEXT:    %[[R:.*]] = linalg.reciprocal ins(%[[B]] : tensor<4x8xf32>) outs(%[[E0]] : tensor<4x8xf32>)
// CHECK-NEXT:    "nkipy.tile_op"(%[[R]]) {loop_tile_size = array<i64: 2, 8>}
// CHECK-NEXT:    "nkipy.layout"(%[[R]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 2, 8>}
// CHECK-NEXT:    %[[M:.*]] = linalg.mul {nkipy.op_id = 3 : i64} ins(%[[A]], %[[R]] : tensor<4x8xf32>, tensor<4x8xf32>) outs(%[[E]] : tensor<4x8xf32>)
// CHECK-NEXT:    "nkipy.tile_op"(%[[M]]) {loop_tile_size = array<i64: 2, 8>}
// CHECK-NEXT:    "nkipy.layout"(%[[M]]) {mem_space = 3 : i32
// CHECK-NOT:     linalg.div
// CHECK:         return %[[M]]
func.func @named_div(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %d = linalg.div {nkipy.op_id = 3 : i64} ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  "nkipy.tile_op"(%d) {loop_tile_size = array<i64: 2, 8>} : (tensor<4x8xf32>) -> ()
  "nkipy.layout"(%d) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 2, 8>} : (tensor<4x8xf32>) -> ()
  return %d : tensor<4x8xf32>
}

// -----

// Tensor / scalar constant: divf(x, c) -> mulf(x, 1/c) in the body, the dead
// constant goes; a zero divisor becomes a multiply by +inf / -inf (IEEE-exact).

// CHECK-LABEL: func.func @divide_by_constant
// CHECK:         linalg.generic
// CHECK:         ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[C:.*]] = arith.constant 2.500000e-01 : f32
// CHECK-NEXT:      %[[P:.*]] = arith.mulf %[[IN]], %[[C]] : f32
// CHECK-NEXT:      linalg.yield %[[P]] : f32
// CHECK:         linalg.generic
// CHECK:           arith.constant 0xFF800000 : f32
// CHECK-NEXT:      arith.mulf
// CHECK-NOT:     arith.divf
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @divide_by_constant(%a: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %c = arith.constant 4.0 : f32
    %r = arith.divf %x, %c : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %g0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %c = arith.constant -0.0 : f32
    %r = arith.divf %x, %c : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %g, %g0 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// 1/x -> linalg.reciprocal writing the generic's init; 5/x -> mul(fill(5), reciprocal(x)).
// The layout of 5/x goes to the multiply and, without its HBM mem_space, to the
// reciprocal (an intermediate).

// CHECK-LABEL: func.func @scalar_over_tensor
// CHECK-SAME:    (%[[A:.*]]: tensor<4x8xf32>)
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK-NEXT:    %[[R1:.*]] = linalg.reciprocal ins(%[[A]] : tensor<4x8xf32>) outs(%[[E]] : tensor<4x8xf32>)
// CHECK-NEXT:    %[[E1:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK-NEXT:    %[[R2:.*]] = linalg.reciprocal ins(%[[A]] : tensor<4x8xf32>) outs(%[[E1]] : tensor<4x8xf32>)
// CHECK-NEXT:    "nkipy.layout"(%[[R2]]) {tile_size = array<i64: 2, 8>}
// CHECK-NEXT:    %[[C:.*]] = arith.constant 5.000000e+00 : f32
// CHECK-NEXT:    %[[E2:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK-NEXT:    %[[F:.*]] = linalg.fill ins(%[[C]] : f32) outs(%[[E2]] : tensor<4x8xf32>)
// CHECK-NEXT:    %[[M:.*]] = linalg.mul ins(%[[F]], %[[R2]] : tensor<4x8xf32>, tensor<4x8xf32>) outs(%[[E]] : tensor<4x8xf32>)
// CHECK-NEXT:    "nkipy.layout"(%[[M]]) {mem_space = 4 : i32, tile_size = array<i64: 2, 8>}
// CHECK-NEXT:    return %[[R1]], %[[M]]
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @scalar_over_tensor(%a: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %g1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %c = arith.constant 1.0 : f32
    %r = arith.divf %c, %x : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %g5 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %c = arith.constant 5.0 : f32
    %r = arith.divf %c, %x : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  "nkipy.layout"(%g5) {mem_space = 4 : i32, tile_size = array<i64: 2, 8>} : (tensor<4x8xf32>) -> ()
  return %g1, %g5 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Broadcast divide (column [4,1] and row [8] divisors): the divisor input is
// replaced by its reciprocal and divf by mulf; the maps are kept.

// CHECK-LABEL: func.func @broadcast_divide
// CHECK-SAME:    (%[[A:.*]]: tensor<4x8xf32>, %[[S:.*]]: tensor<4x1xf32>, %[[W:.*]]: tensor<8xf32>)
// CHECK:         %[[RS:.*]] = linalg.reciprocal ins(%[[S]] : tensor<4x1xf32>) outs(%{{.*}} : tensor<4x1xf32>)
// CHECK-NEXT:    linalg.generic {indexing_maps = [#map, #map1, #map]{{.*}} ins(%[[A]], %[[RS]] : tensor<4x8xf32>, tensor<4x1xf32>)
// CHECK:           arith.mulf
// CHECK:         %[[RW:.*]] = linalg.reciprocal ins(%[[W]] : tensor<8xf32>) outs(%{{.*}} : tensor<8xf32>)
// CHECK-NEXT:    linalg.generic {indexing_maps = [#map, #map2, #map]{{.*}} ins(%[[A]], %[[RW]] : tensor<4x8xf32>, tensor<8xf32>)
// CHECK:           arith.mulf
// CHECK-NOT:     arith.divf
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @broadcast_divide(%a: tensor<4x8xf32>, %s: tensor<4x1xf32>, %w: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %g = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %s : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.divf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %h = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %w : tensor<4x8xf32>, tensor<8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.divf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %g, %h : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Integer division and reductions are left alone.

// CHECK-LABEL: func.func @untouched
// CHECK:         linalg.div ins(%{{.*}}, %{{.*}} : tensor<4xi32>, tensor<4xi32>)
// CHECK:         arith.divsi
// CHECK:         arith.divf
// CHECK-NOT:     linalg.reciprocal
func.func @untouched(%a: tensor<4xi32>, %x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4xi32>, tensor<4xi32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xi32>
  %d = linalg.div ins(%a, %a : tensor<4xi32>, tensor<4xi32>) outs(%e : tensor<4xi32>) -> tensor<4xi32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xi32>) outs(%e : tensor<4xi32>) {
  ^bb0(%i: i32, %o: i32):
    %r = arith.divsi %o, %i : i32
    linalg.yield %r : i32
  } -> tensor<4xi32>
  %ef = tensor.empty() : tensor<4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%x, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%ef : tensor<4xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %r = arith.divf %p, %q : f32
    %t = arith.addf %r, %o : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  return %d, %g, %s : tensor<4xi32>, tensor<4xi32>, tensor<4xf32>
}
