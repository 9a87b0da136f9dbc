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

// -----

// Scaled scores read only by their row max and exp(y - m): the scale folds into both
// (the max of x rescaled on its [P, 1] result, the activation's scale operand), and
// the scaled tile is never written.

// CHECK-LABEL: func.func @scaled_scores
// CHECK:         %[[C:.*]] = arith.constant 1.250000e-01 : f32
// CHECK-NOT:     "nisa.alloc"() : () -> memref<128x512xf32
// CHECK:         "nisa.tensor_reduce_arith"(%[[M:.*]], %arg0) {num_r_dim = 1 : i64, op = "max"}
// CHECK-NEXT:    "nisa.tensor_scalar_arith"(%[[M]], %[[M]], %[[C]]) {op0 = "multiply"
// CHECK:         "nisa.activation"(%arg1, %arg0, %{{.*}}, %[[C]]) {op = "exp", operandSegmentSizes = array<i32: 1, 1, 1, 1>}
// CHECK-NOT:     "nisa.tensor_scalar_arith"(%{{.*}}, %arg0
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
func.func @scaled_scores(%x: memref<128x512xf32, 3 : i32>, %e: memref<128x512xf32, 3 : i32>) {
  %c = arith.constant 0.125 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %y = memref.alloc() : memref<128x512xf32, 3 : i32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x512xf32, 3 : i32>) outs(%y : memref<128x512xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.mulf %a, %c : f32
    linalg.yield %v : f32
  }
  %m = memref.alloc() : memref<128x1xf32, 3 : i32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<128x1xf32, 3 : i32>)
  linalg.generic {indexing_maps = [#id, #col], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<128x512xf32, 3 : i32>) outs(%m : memref<128x1xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.maximumf %a, %o : f32
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %m : memref<128x512xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%e : memref<128x512xf32, 3 : i32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %v = math.exp %d : f32
    linalg.yield %v : f32
  }
  memref.dealloc %m : memref<128x1xf32, 3 : i32>
  memref.dealloc %y : memref<128x512xf32, 3 : i32>
  return
}

// -----

// The scaled tile is also an output (or the scale is negative): the scale stays.

// CHECK-LABEL: func.func @scaled_kept
// CHECK:         "nisa.tensor_scalar_arith"(%arg1, %arg0, %{{.*}}) {{.*}}op0 = "multiply"
// CHECK:         "nisa.tensor_reduce_arith"(%{{.*}}, %arg1) {num_r_dim = 1 : i64, op = "max"}
// CHECK:         "nisa.tensor_scalar_arith"(%[[Y:.*]], %arg0, %{{.*}}) {{.*}}op0 = "multiply"
// CHECK:         "nisa.tensor_reduce_arith"(%{{.*}}, %[[Y]]) {num_r_dim = 1 : i64, op = "max"}
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
func.func @scaled_kept(%x: memref<128x512xf32, 3 : i32>, %y: memref<128x512xf32, 3 : i32>) {
  %c = arith.constant 0.125 : f32
  %neg = arith.constant -0.125 : f32
  %ninf = arith.constant 0xFF800000 : f32
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x512xf32, 3 : i32>) outs(%y : memref<128x512xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.mulf %a, %c : f32
    linalg.yield %v : f32
  }
  %m = memref.alloc() : memref<128x1xf32, 3 : i32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<128x1xf32, 3 : i32>)
  linalg.generic {indexing_maps = [#id, #col], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<128x512xf32, 3 : i32>) outs(%m : memref<128x1xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.maximumf %a, %o : f32
    linalg.yield %v : f32
  }
  %z = memref.alloc() : memref<128x512xf32, 3 : i32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x512xf32, 3 : i32>) outs(%z : memref<128x512xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.mulf %a, %neg : f32
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#id, #col], iterator_types = ["parallel", "reduction"]}
      ins(%z : memref<128x512xf32, 3 : i32>) outs(%m : memref<128x1xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.maximumf %a, %o : f32
    linalg.yield %v : f32
  }
  memref.dealloc %z : memref<128x512xf32, 3 : i32>
  memref.dealloc %m : memref<128x1xf32, 3 : i32>
  return
}

// -----

// A tile computed only to be copied into a view of another buffer: the op writes
// the view (no VectorE copy, no temporary). A temporary read twice keeps its copy.

// CHECK-LABEL: func.func @copy_elided
// CHECK:         %[[V:.*]] = memref.subview %arg1[0, 512] [128, 512] [1, 1]
// CHECK-NEXT:    "nisa.activation"(%[[V]], %arg0) {op = "exp"
// CHECK-NOT:     "nisa.tensor_copy"(%[[V]]
// CHECK:         "nisa.activation"(%[[T:.*]], %arg0) {op = "tanh"
// CHECK:         "nisa.tensor_copy"(%{{.*}}, %[[T]])
// CHECK:         "nisa.tensor_copy"(%{{.*}}, %[[T]])
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @copy_elided(%x: memref<128x512xf32, 3 : i32>, %out: memref<128x2048xf32, 3 : i32>) {
  %t = memref.alloc() : memref<128x512xf32, 3 : i32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x512xf32, 3 : i32>) outs(%t : memref<128x512xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = math.exp %a : f32
    linalg.yield %v : f32
  }
  %view = memref.subview %out[0, 512] [128, 512] [1, 1] : memref<128x2048xf32, 3 : i32> to memref<128x512xf32, strided<[2048, 1], offset: 512>, 3 : i32>
  memref.copy %t, %view : memref<128x512xf32, 3 : i32> to memref<128x512xf32, strided<[2048, 1], offset: 512>, 3 : i32>
  memref.dealloc %t : memref<128x512xf32, 3 : i32>
  %u = memref.alloc() : memref<128x512xf32, 3 : i32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x512xf32, 3 : i32>) outs(%u : memref<128x512xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %v = math.tanh %a : f32
    linalg.yield %v : f32
  }
  %v0 = memref.subview %out[0, 0] [128, 512] [1, 1] : memref<128x2048xf32, 3 : i32> to memref<128x512xf32, strided<[2048, 1]>, 3 : i32>
  %v1 = memref.subview %out[0, 1024] [128, 512] [1, 1] : memref<128x2048xf32, 3 : i32> to memref<128x512xf32, strided<[2048, 1], offset: 1024>, 3 : i32>
  memref.copy %u, %v0 : memref<128x512xf32, 3 : i32> to memref<128x512xf32, strided<[2048, 1]>, 3 : i32>
  memref.copy %u, %v1 : memref<128x512xf32, 3 : i32> to memref<128x512xf32, strided<[2048, 1], offset: 1024>, 3 : i32>
  memref.dealloc %u : memref<128x512xf32, 3 : i32>
  return
}

// -----

// A reduction of an elementwise prefix (infer-layout fused `square` into the sum):
// the prefix goes to an fp32 SBUF tile of the iteration space, reduced per tile, and
// the activation and its fp32 row sum are one activation_reduce.

// CHECK-LABEL: func.func @sum_of_squares
// CHECK:         %[[T:.*]] = "nisa.alloc"() : () -> memref<128x512xf32, 3 : i32>
// CHECK:         "nisa.activation_reduce"(%[[T]], %arg0, %[[S:.*]]) {op = "square"
// CHECK:         "nisa.tensor_tensor_arith"(%arg1, %arg1, %[[S]]) {{.*}}op = "add"
// CHECK:         "nisa.release"(%[[T]])
// CHECK-NOT:     linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
func.func @sum_of_squares(%x: memref<128x512xf32, 3 : i32>, %s: memref<128x1xf32, 3 : i32>) {
  linalg.generic {indexing_maps = [#id, #col], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<128x512xf32, 3 : i32>) outs(%s : memref<128x1xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %v = arith.addf %q, %o : f32
    linalg.yield %v : f32
  }
  return
}
