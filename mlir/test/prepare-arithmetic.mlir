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

// -----

// Math NISA has no instruction for, decomposed in the body (prepare_arithmetic_math.py):
// exp2 x = e^(x ln 2); expm1 x = tanh(x/2) (e^x + 1) (no cancellation near 0);
// log1p x = ln(u) * x / (u - 1) with u = 1 + x, x itself where u == 1 (Kahan).

// CHECK-LABEL: func.func @exp_log
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[LN2:.*]] = arith.constant 0.693147182 : f32
// CHECK-NEXT:      %[[T:.*]] = arith.mulf %[[X]], %[[LN2]] : f32
// CHECK-NEXT:      %[[E:.*]] = math.exp %[[T]] : f32
// CHECK-NEXT:      linalg.yield %[[E]] : f32
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[H:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT:      %[[XH:.*]] = arith.mulf %[[X]], %[[H]] : f32
// CHECK-NEXT:      %[[TH:.*]] = math.tanh %[[XH]] : f32
// CHECK-NEXT:      %[[E:.*]] = math.exp %[[X]] : f32
// CHECK-NEXT:      %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:      %[[E1:.*]] = arith.addf %[[E]], %[[ONE]] : f32
// CHECK-NEXT:      %[[R:.*]] = arith.mulf %[[TH]], %[[E1]] : f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK:           %[[U:.*]] = arith.addf %[[X]], %{{.*}} : f32
// CHECK:           %[[D:.*]] = arith.subf %[[U]], %{{.*}} : f32
// CHECK-NEXT:      %[[L:.*]] = math.log %[[U]] : f32
// CHECK:           %[[RD:.*]] = arith.divf %{{.*}}, %[[D]] : f32
// CHECK-NEXT:      %[[Q:.*]] = arith.mulf %[[X]], %[[RD]] : f32
// CHECK-NEXT:      %[[P:.*]] = arith.mulf %[[L]], %[[Q]] : f32
// CHECK:           %[[TINY:.*]] = arith.cmpf oeq, %[[D]], %{{.*}} : f32
// CHECK-NEXT:      %[[R:.*]] = arith.select %[[TINY]], %[[X]], %[[P]] : f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
// CHECK-NOT:     math.exp2
// CHECK-NOT:     math.expm1
// CHECK-NOT:     math.log1p
#id = affine_map<(d0) -> (d0)>
func.func @exp_log(%a: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.exp2 %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %h = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.expm1 %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %k = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.log1p %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %g, %h, %k : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Activations with a limited valid range get arguments inside it. sin: k = round(x /
// 2pi) by the 1.5 * 2^23 (0x4B400000) magic add, r = x - k 2pi in three Cody-Waite
// parts, clamped to fp32 [-pi, pi]; cos: sin(pi/2 - |r|) plus what fp32 pi/2 misses;
// arctan: |x| <= 1 directly, else +-pi/2 - arctan(1/x). The reduced activations carry
// nkipy.in_range, so running the pass again leaves them alone.

// CHECK-LABEL: func.func @trig
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[INV:.*]] = arith.constant 0.159154937 : f32
// CHECK-NEXT:      %[[XK:.*]] = arith.mulf %[[X]], %[[INV]] : f32
// CHECK-NEXT:      %[[M:.*]] = arith.constant 0x4B400000 : f32
// CHECK-NEXT:      %[[A:.*]] = arith.addf %[[XK]], %[[M]] : f32
// CHECK-NEXT:      %[[M2:.*]] = arith.constant 0x4B400000 : f32
// CHECK-NEXT:      %[[K:.*]] = arith.subf %[[A]], %[[M2]] : f32
// CHECK-NEXT:      %[[HI:.*]] = arith.constant 6.281250e+00 : f32
// CHECK-NEXT:      %[[KHI:.*]] = arith.mulf %[[K]], %[[HI]] : f32
// CHECK-NEXT:      %[[R1:.*]] = arith.subf %[[X]], %[[KHI]] : f32
// CHECK-NEXT:      %[[MID:.*]] = arith.constant 0.00193786621 : f32
// CHECK-NEXT:      %[[KMID:.*]] = arith.mulf %[[K]], %[[MID]] : f32
// CHECK-NEXT:      %[[R2:.*]] = arith.subf %[[R1]], %[[KMID]] : f32
// CHECK-NEXT:      %[[LO:.*]] = arith.constant -2.55903137E-6 : f32
// CHECK-NEXT:      %[[KLO:.*]] = arith.mulf %[[K]], %[[LO]] : f32
// CHECK-NEXT:      %[[R:.*]] = arith.subf %[[R2]], %[[KLO]] : f32
// CHECK-NEXT:      %[[NPI:.*]] = arith.constant -3.14159274 : f32
// CHECK-NEXT:      %[[C1:.*]] = arith.maximumf %[[R]], %[[NPI]] : f32
// CHECK-NEXT:      %[[PI:.*]] = arith.constant 3.14159274 : f32
// CHECK-NEXT:      %[[C2:.*]] = arith.minimumf %[[C1]], %[[PI]] : f32
// CHECK-NEXT:      %[[S:.*]] = math.sin %[[C2]] {nkipy.in_range} : f32
// CHECK-NEXT:      linalg.yield %[[S]] : f32
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK:           arith.constant -2.55903137E-6 : f32
// CHECK-NEXT:      %[[KLO:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:      %[[R:.*]] = arith.subf %{{.*}}, %[[KLO]] : f32
// CHECK-NEXT:      %[[AR:.*]] = math.absf %[[R]] : f32
// CHECK-NEXT:      %[[HP:.*]] = arith.constant 1.57079637 : f32
// CHECK-NEXT:      %[[D:.*]] = arith.subf %[[HP]], %[[AR]] : f32
// CHECK-NEXT:      %[[HPLO:.*]] = arith.constant -4.37113883E-8 : f32
// CHECK-NEXT:      %[[ARG:.*]] = arith.addf %[[D]], %[[HPLO]] : f32
// CHECK-NEXT:      %[[C:.*]] = math.sin %[[ARG]] {nkipy.in_range} : f32
// CHECK-NEXT:      linalg.yield %[[C]] : f32
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[AX:.*]] = math.absf %[[X]] : f32
// CHECK-NEXT:      %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:      %[[SMALL:.*]] = arith.cmpf ole, %[[AX]], %[[ONE]] : f32
// CHECK-NEXT:      %[[ONE2:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:      %[[INV:.*]] = arith.divf %[[ONE2]], %[[X]] : f32
// CHECK-NEXT:      %[[T:.*]] = arith.select %[[SMALL]], %[[X]], %[[INV]] : f32
// CHECK-NEXT:      %[[AT:.*]] = math.atan %[[T]] {nkipy.in_range} : f32
// CHECK:           %[[NEG:.*]] = arith.cmpf olt, %[[X]], %{{.*}} : f32
// CHECK-NEXT:      %[[NHP:.*]] = arith.constant -1.57079637 : f32
// CHECK-NEXT:      %[[HP:.*]] = arith.constant 1.57079637 : f32
// CHECK-NEXT:      %[[SHP:.*]] = arith.select %[[NEG]], %[[NHP]], %[[HP]] : f32
// CHECK-NEXT:      %[[BIG:.*]] = arith.subf %[[SHP]], %[[AT]] : f32
// CHECK-NEXT:      %[[R:.*]] = arith.select %[[SMALL]], %[[AT]], %[[BIG]] : f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
#id = affine_map<(d0) -> (d0)>
func.func @trig(%a: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.sin %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %h = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.cos %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %k = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.atan %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %g, %h, %k : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// roundeven x = (x + m) - m with m = copysign(2^23, x) (0x4B000000), x kept where
// |x| >= 2^23. Named linalg.floor becomes a generic (op id and layout kept) and
// computes in fp32: extf first, floor = r - 1 where r > x, truncf back to bf16.

// CHECK-LABEL: func.func @rounding
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:      %[[NEG:.*]] = arith.cmpf olt, %[[X]], %[[Z]] : f32
// CHECK-NEXT:      %[[NM:.*]] = arith.constant 0xCB000000 : f32
// CHECK-NEXT:      %[[PM:.*]] = arith.constant 0x4B000000 : f32
// CHECK-NEXT:      %[[M:.*]] = arith.select %[[NEG]], %[[NM]], %[[PM]] : f32
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[X]], %[[M]] : f32
// CHECK-NEXT:      %[[R:.*]] = arith.subf %[[S]], %[[M]] : f32
// CHECK-NEXT:      %[[AX:.*]] = math.absf %[[X]] : f32
// CHECK-NEXT:      %[[BIG:.*]] = arith.constant 0x4B000000 : f32
// CHECK-NEXT:      %[[SMALL:.*]] = arith.cmpf olt, %[[AX]], %[[BIG]] : f32
// CHECK-NEXT:      %[[OUT:.*]] = arith.select %[[SMALL]], %[[R]], %[[X]] : f32
// CHECK-NEXT:      linalg.yield %[[OUT]] : f32
// CHECK:         %[[F:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<4xbf16>) outs(%{{.*}} : tensor<4xbf16>) attrs = {nkipy.op_id = 7 : i64}
// CHECK-NEXT:    ^bb0(%[[B:.*]]: bf16, %{{.*}}: bf16):
// CHECK-NEXT:      %[[X:.*]] = arith.extf %[[B]] : bf16 to f32
// CHECK:           %[[R:.*]] = arith.select %{{.*}}, %{{.*}}, %[[X]] : f32
// CHECK-NEXT:      %[[UP:.*]] = arith.cmpf ogt, %[[R]], %[[X]] : f32
// CHECK-NEXT:      %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:      %[[RM1:.*]] = arith.subf %[[R]], %[[ONE]] : f32
// CHECK-NEXT:      %[[FL:.*]] = arith.select %[[UP]], %[[RM1]], %[[R]] : f32
// CHECK-NEXT:      %[[T:.*]] = arith.truncf %[[FL]] : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[T]] : bf16
// CHECK:         "nkipy.layout"(%[[F]]) {mem_space = 3 : i32}
// CHECK-NOT:     linalg.floor
#id = affine_map<(d0) -> (d0)>
func.func @rounding(%a: tensor<4xf32>, %b: tensor<4xbf16>) -> (tensor<4xf32>, tensor<4xbf16>) {
  %e = tensor.empty() : tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.roundeven %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %eb = tensor.empty() : tensor<4xbf16>
  %f = linalg.floor {nkipy.op_id = 7 : i64} ins(%b : tensor<4xbf16>) outs(%eb : tensor<4xbf16>) -> tensor<4xbf16>
  "nkipy.layout"(%f) {mem_space = 3 : i32} : (tensor<4xbf16>) -> ()
  return %g, %f : tensor<4xf32>, tensor<4xbf16>
}

// -----

// Compares the ALU lacks: isnan (uno) is x != x (une, the one NaN-true compare), one
// is olt or ogt. fmod: k = round(|x| / |y|) (2^23 magic add on a non-negative value),
// |x| - k|y| with k|y| exact as hi + lo (Veltkamp split by 4097), + |y| if negative,
// then x's sign.

// CHECK-LABEL: func.func @compares_and_fmod
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: i1):
// CHECK-NEXT:      %[[N:.*]] = arith.cmpf une, %[[X]], %[[X]] : f32
// CHECK-NEXT:      linalg.yield %[[N]] : i1
// CHECK:         ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: i1):
// CHECK-NEXT:      %[[LT:.*]] = arith.cmpf olt, %[[X]], %[[Y]] : f32
// CHECK-NEXT:      %[[GT:.*]] = arith.cmpf ogt, %[[X]], %[[Y]] : f32
// CHECK-NEXT:      %[[NE:.*]] = arith.ori %[[LT]], %[[GT]] : i1
// CHECK-NEXT:      linalg.yield %[[NE]] : i1
// CHECK:         ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[AX:.*]] = math.absf %[[X]] : f32
// CHECK-NEXT:      %[[AY:.*]] = math.absf %[[Y]] : f32
// CHECK:           %[[RY:.*]] = arith.divf %{{.*}}, %[[AY]] : f32
// CHECK-NEXT:      %[[Q:.*]] = arith.mulf %[[AX]], %[[RY]] : f32
// CHECK:           %[[K:.*]] = arith.subf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:      %[[SPLIT:.*]] = arith.constant 4.097000e+03 : f32
// CHECK-NEXT:      %[[C:.*]] = arith.mulf %[[AY]], %[[SPLIT]] : f32
// CHECK-NEXT:      %[[C1:.*]] = arith.subf %[[C]], %[[AY]] : f32
// CHECK-NEXT:      %[[YHI:.*]] = arith.subf %[[C]], %[[C1]] : f32
// CHECK-NEXT:      %[[PHI:.*]] = arith.mulf %[[K]], %[[YHI]] : f32
// CHECK-NEXT:      %[[YLO:.*]] = arith.subf %[[AY]], %[[YHI]] : f32
// CHECK-NEXT:      %[[PLO:.*]] = arith.mulf %[[K]], %[[YLO]] : f32
// CHECK-NEXT:      %[[R1:.*]] = arith.subf %[[AX]], %[[PHI]] : f32
// CHECK-NEXT:      %[[R:.*]] = arith.subf %[[R1]], %[[PLO]] : f32
// CHECK:           %[[RNEG:.*]] = arith.cmpf olt, %[[R]], %{{.*}} : f32
// CHECK-NEXT:      %[[RUP:.*]] = arith.addf %[[R]], %[[AY]] : f32
// CHECK-NEXT:      %[[M:.*]] = arith.select %[[RNEG]], %[[RUP]], %[[R]] : f32
// CHECK:           %[[XNEG:.*]] = arith.cmpf olt, %[[X]], %{{.*}} : f32
// CHECK-NEXT:      %[[NM:.*]] = arith.negf %[[M]] : f32
// CHECK-NEXT:      %[[OUT:.*]] = arith.select %[[XNEG]], %[[NM]], %[[M]] : f32
// CHECK-NEXT:      linalg.yield %[[OUT]] : f32
// CHECK-NOT:     arith.remf
#id = affine_map<(d0) -> (d0)>
func.func @compares_and_fmod(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xi1>, tensor<4xi1>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xi1>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xi1>) {
  ^bb0(%x: f32, %o: i1):
    %r = arith.cmpf uno, %x, %x : f32
    linalg.yield %r : i1
  } -> tensor<4xi1>
  %d = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]} ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xi1>) {
  ^bb0(%x: f32, %y: f32, %o: i1):
    %r = arith.cmpf one, %x, %y : f32
    linalg.yield %r : i1
  } -> tensor<4xi1>
  %ef = tensor.empty() : tensor<4xf32>
  %m = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]} ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%ef : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.remf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %n, %d, %m : tensor<4xi1>, tensor<4xi1>, tensor<4xf32>
}

// -----

// Divisors with no tensor of their own to take the reciprocal of: computed in the
// body, or an input also used for something else (NumPy's floor_divide). They get a
// reciprocal in the body, divf(1.0, v) (one nisa.reciprocal), which a second run
// leaves alone, as it leaves an nkipy.in_range sin.

// CHECK-LABEL: func.func @body_reciprocals
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[X]], %[[X]] : f32
// CHECK-NEXT:      %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:      %[[RS:.*]] = arith.divf %[[ONE]], %[[S]] : f32
// CHECK-NEXT:      %[[Q:.*]] = arith.mulf %[[X]], %[[RS]] : f32
// CHECK-NEXT:      linalg.yield %[[Q]] : f32
// CHECK:         ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:      %[[RY:.*]] = arith.divf %[[ONE]], %[[Y]] : f32
// CHECK-NEXT:      %[[Q:.*]] = arith.mulf %[[X]], %[[RY]] : f32
// CHECK-NEXT:      %[[T:.*]] = arith.addf %[[Q]], %[[Y]] : f32
// CHECK-NEXT:      linalg.yield %[[T]] : f32
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[X]], %[[ONE]] : f32
// CHECK-NEXT:      %[[R:.*]] = arith.divf %[[ONE]], %[[S]] : f32
// CHECK-NEXT:      %[[SIN:.*]] = math.sin %[[R]] {nkipy.in_range} : f32
// CHECK-NEXT:      linalg.yield %[[SIN]] : f32
#id = affine_map<(d0) -> (d0)>
func.func @body_reciprocals(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %x : f32
    %r = arith.divf %x, %s : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]} ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.divf %x, %y : f32
    %s = arith.addf %r, %y : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %k = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %s = arith.addf %x, %one : f32
    %r = arith.divf %one, %s : f32
    %t = math.sin %r {nkipy.in_range} : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  return %g, %h, %k : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
