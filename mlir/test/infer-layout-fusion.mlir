// RUN: nkipy-kg-opt %s --infer-layout=target=trn2 --split-input-file | filecheck %s

// infer-layout first fuses single-use elementwise producers into their consumer:
// softmax's `x - m` disappears into `exp`, the bf16 -> f32 widening into the sum.
// CHECK-LABEL: func.func @sub_exp_sum
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} ins(%arg0, %arg1 : tensor<256x512xbf16>, tensor<256x1xbf16>)
// CHECK:           arith.subf
// CHECK-NEXT:      math.exp
// CHECK-NEXT:      linalg.yield
// CHECK:         "nkipy.tile_op"(%[[E:.*]]) {loop_tile_size = array<i64: 128, 128>}
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} ins(%[[E]] : tensor<256x512xbf16>)
// CHECK-NEXT:    ^bb0(%[[IN:.*]]: bf16, %[[OUT:.*]]: f32):
// CHECK-NEXT:      %[[W:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK-NEXT:      arith.addf %[[W]], %[[OUT]] : f32
// CHECK-NOT:     linalg.exp
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func @sub_exp_sum(%x: tensor<256x512xbf16>, %m: tensor<256x1xbf16>) -> tensor<256x1xf32> {
  %e0 = tensor.empty() : tensor<256x512xbf16>
  %d = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<256x512xbf16>, tensor<256x1xbf16>) outs(%e0 : tensor<256x512xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %s = arith.subf %a, %b : bf16
    linalg.yield %s : bf16
  } -> tensor<256x512xbf16>
  %e1 = tensor.empty() : tensor<256x512xbf16>
  %x2 = linalg.exp ins(%d : tensor<256x512xbf16>) outs(%e1 : tensor<256x512xbf16>) -> tensor<256x512xbf16>
  "nkipy.tile_op"(%x2) {loop_tile_size = array<i64: 128, 128>} : (tensor<256x512xbf16>) -> ()
  %e2 = tensor.empty() : tensor<256x512xf32>
  %w = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x2 : tensor<256x512xbf16>) outs(%e2 : tensor<256x512xf32>) {
  ^bb0(%a: bf16, %o: f32):
    %c = arith.extf %a : bf16 to f32
    linalg.yield %c : f32
  } -> tensor<256x512xf32>
  %z = arith.constant 0.0 : f32
  %e3 = tensor.empty() : tensor<256x1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e3 : tensor<256x1xf32>) -> tensor<256x1xf32>
  %r = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%w : tensor<256x512xf32>) outs(%f : tensor<256x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<256x1xf32>
  return %r : tensor<256x1xf32>
}

// -----

// Not fused: an annotated intermediate (the author chose its tile), a value with two
// readers and a value read through a broadcast map. A one-input producer of a
// reduction's input is fused (linalg-to-nisa splits it back off per SBUF tile).
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-2: linalg.exp
// CHECK:         linalg.negf
// CHECK-NOT:     linalg.square
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} ins(%arg0 : tensor<256x512xf32>)
// CHECK-NEXT:    ^bb0(%[[I:.*]]: f32, %[[O:.*]]: f32):
// CHECK-NEXT:      %[[SQ:.*]] = arith.mulf %[[I]], %[[I]] : f32
// CHECK-NEXT:      arith.addf %[[SQ]], %[[O]] : f32
// CHECK:         arith.negf
// CHECK:         linalg.generic {{.*}} ins(%arg0, %{{.*}} : tensor<256x512xf32>, tensor<256x1xf32>)
// CHECK-NEXT:    ^bb0(%{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT:      arith.mulf
// CHECK-NEXT:      linalg.yield
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func @kept(%x: tensor<256x512xf32>, %c: tensor<256x1xf32>) -> (tensor<256x512xf32>, tensor<256x512xf32>, tensor<256x1xf32>, tensor<256x512xf32>) {
  %e = tensor.empty() : tensor<256x512xf32>
  %a = linalg.exp ins(%x : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  "nkipy.layout"(%a) {mem_space = 3 : i32} : (tensor<256x512xf32>) -> ()
  %b = linalg.exp ins(%a : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  %n = linalg.negf ins(%x : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  %s = linalg.add ins(%n, %n : tensor<256x512xf32>, tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  %q = linalg.square ins(%x : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<256x1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e1 : tensor<256x1xf32>) -> tensor<256x1xf32>
  %r = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%q : tensor<256x512xf32>) outs(%f : tensor<256x1xf32>) {
  ^bb0(%i: f32, %o: f32):
    %t = arith.addf %i, %o : f32
    linalg.yield %t : f32
  } -> tensor<256x1xf32>
  %e2 = tensor.empty() : tensor<256x1xf32>
  %h = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<256x1xf32>) outs(%e2 : tensor<256x1xf32>) {
  ^bb0(%i: f32, %o: f32):
    %t = arith.negf %i : f32
    linalg.yield %t : f32
  } -> tensor<256x1xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %h : tensor<256x512xf32>, tensor<256x1xf32>) outs(%e : tensor<256x512xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %t = arith.mulf %i, %j : f32
    linalg.yield %t : f32
  } -> tensor<256x512xf32>
  return %b, %s, %r, %y : tensor<256x512xf32>, tensor<256x512xf32>, tensor<256x1xf32>, tensor<256x512xf32>
}
