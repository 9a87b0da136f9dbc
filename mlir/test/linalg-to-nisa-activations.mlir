// RUN: nkipy-kg-opt %s --linalg-to-nisa="target=trn2" --split-input-file | filecheck %s

// A softmax row block: exp(x - m) is one activation with bias -m (the [P, 1]
// negation first, on VectorE: too small to balance), its row sum folds into it
// (activation_reduce, fp32 tile), and the multiplies that either engine can run go
// to the less loaded one: VectorE after the activation, then ScalarE.

// CHECK-LABEL: func.func @softmax_row
// CHECK:         %[[NEG:.*]] = "nisa.alloc"() : () -> memref<128x1xf32, 3 : i32>
// CHECK:         "nisa.tensor_scalar_arith"(%[[NEG]], %arg1, %{{.*}}) {op0 = "multiply"
// CHECK-NEXT:    %[[SUM:.*]] = "nisa.alloc"() : () -> memref<128x1xf32, 3 : i32>
// CHECK-NEXT:    "nisa.activation_reduce"(%arg3, %arg0, %[[SUM]], %[[NEG]]) {op = "exp", operandSegmentSizes = array<i32: 1, 1, 1, 1, 0>}
// CHECK-NOT:     nisa.tensor_reduce_arith
// CHECK:         "nisa.tensor_tensor_arith"(%arg2, %arg2, %[[SUM]]) {engine = "GpSimd", op = "add"}
// CHECK:         "nisa.tensor_scalar_arith"(%arg4, %arg3, %{{.*}}) {op0 = "multiply"
// CHECK-NEXT:    "nisa.tensor_scalar_arith"(%arg4, %arg3, %{{.*}}) {engine = "Scalar", op0 = "multiply"
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
func.func @softmax_row(%x: memref<128x512xf32, 3 : i32>, %m: memref<128x1xf32, 3 : i32>,
                       %s: memref<128x1xf32, 3 : i32>, %e: memref<128x512xf32, 3 : i32>,
                       %y: memref<128x512xf32, 3 : i32>) {
  %c2 = arith.constant 2.0 : f32
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : memref<128x512xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%e : memref<128x512xf32, 3 : i32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %v = math.exp %d : f32
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#id, #col], iterator_types = ["parallel", "reduction"]}
      ins(%e : memref<128x512xf32, 3 : i32>) outs(%s : memref<128x1xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.addf %a, %o : f32
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%e : memref<128x512xf32, 3 : i32>) outs(%y : memref<128x512xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.mulf %a, %c2 : f32
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%e : memref<128x512xf32, 3 : i32>) outs(%y : memref<128x512xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.mulf %a, %c2 : f32
    linalg.yield %v : f32
  }
  return
}

// -----

// The bias of f(x + b) is b itself; a constant bias is an f32 scalar. A bf16 dst
// rounds the activation, so its row sum stays a VectorE reduction of the rounded tile.

// CHECK-LABEL: func.func @biases
// CHECK:         "nisa.activation"(%arg2, %arg0, %arg1) {op = "tanh", operandSegmentSizes = array<i32: 1, 1, 1, 0>}
// CHECK:         %[[C:.*]] = arith.constant -3.000000e+00 : f32
// CHECK:         "nisa.activation"(%arg3, %arg0, %[[C]]) {op = "exp", operandSegmentSizes = array<i32: 1, 1, 1, 0>}
// CHECK:         "nisa.tensor_reduce_arith"(%{{.*}}, %arg3) {num_r_dim = 1 : i64, op = "add"}
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
func.func @biases(%x: memref<128x512xf32, 3 : i32>, %b: memref<128x1xf32, 3 : i32>,
                  %t: memref<128x512xf32, 3 : i32>, %e: memref<128x512xbf16, 3 : i32>,
                  %s: memref<128x1xf32, 3 : i32>) {
  %c3 = arith.constant 3.0 : f32
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : memref<128x512xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%t : memref<128x512xf32, 3 : i32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %d = arith.addf %a, %c : f32
    %v = math.tanh %d : f32
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x512xf32, 3 : i32>) outs(%e : memref<128x512xbf16, 3 : i32>) {
  ^bb0(%a: f32, %o: bf16):
    %d = arith.subf %a, %c3 : f32
    %v = math.exp %d : f32
    %r = arith.truncf %v : f32 to bf16
    linalg.yield %r : bf16
  }
  linalg.generic {indexing_maps = [#id, #col], iterator_types = ["parallel", "reduction"]}
      ins(%e : memref<128x512xbf16, 3 : i32>) outs(%s : memref<128x1xf32, 3 : i32>) {
  ^bb0(%a: bf16, %o: f32):
    %w = arith.extf %a : bf16 to f32
    %v = arith.addf %w, %o : f32
    linalg.yield %v : f32
  }
  return
}
