// RUN: nkipy-kg-opt %s --linalg-to-nisa="target=trn2" --split-input-file | filecheck %s

// HBM -> SBUF tiles, a named binary op, SBUF -> HBM, dealloc -> release.
// CHECK: module attributes {nisa.target = "trn2"}
// CHECK-LABEL: func.func @add
func.func @add(%a: memref<128x256xf32, 4 : i32>, %b: memref<128x256xf32, 4 : i32>) -> memref<128x256xf32, 4 : i32> {
  // CHECK: %[[OUT:.*]] = "nisa.alloc"() {alignment = 64 : i64} : () -> memref<128x256xf32, 4 : i32>
  %out = memref.alloc() {alignment = 64 : i64} : memref<128x256xf32, 4 : i32>
  // CHECK: %[[TA:.*]] = "nisa.alloc"() : () -> memref<128x256xf32, 3 : i32>
  %ta = memref.alloc() : memref<128x256xf32, 3 : i32>
  // CHECK: "nisa.dma_copy"(%[[TA]], %arg0)
  memref.copy %a, %ta : memref<128x256xf32, 4 : i32> to memref<128x256xf32, 3 : i32>
  %tb = memref.alloc() : memref<128x256xf32, 3 : i32>
  memref.copy %b, %tb : memref<128x256xf32, 4 : i32> to memref<128x256xf32, 3 : i32>
  %tc = memref.alloc() : memref<128x256xf32, 3 : i32>
  // CHECK: "nisa.tensor_tensor_arith"(%[[TC:.*]], %[[TA]], %[[TB:.*]]) {op = "add"}
  linalg.add ins(%ta, %tb : memref<128x256xf32, 3 : i32>, memref<128x256xf32, 3 : i32>) outs(%tc : memref<128x256xf32, 3 : i32>)
  // CHECK: "nisa.dma_copy"(%[[OUT]], %[[TC]])
  memref.copy %tc, %out : memref<128x256xf32, 3 : i32> to memref<128x256xf32, 4 : i32>
  // CHECK: "nisa.release"(%[[TA]])
  memref.dealloc %ta : memref<128x256xf32, 3 : i32>
  memref.dealloc %tb : memref<128x256xf32, 3 : i32>
  memref.dealloc %tc : memref<128x256xf32, 3 : i32>
  // CHECK-NOT: memref.alloc
  // CHECK-NOT: memref.copy
  // CHECK-NOT: memref.dealloc
  return %out : memref<128x256xf32, 4 : i32>
}

// -----

// Unary ops: activation, reciprocal, negate (x * -1), tensor-scalar generic bodies.
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @unary
func.func @unary(%x: memref<128x64xf32, 3 : i32>, %v: memref<128x1xf32, 3 : i32>, %y: memref<128x64xf32, 3 : i32>) {
  %c2 = arith.constant 2.0 : f32
  // CHECK: "nisa.activation"(%arg2, %arg0) {op = "exp", operandSegmentSizes = array<i32: 1, 1, 0, 0>}
  linalg.exp ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>)
  // CHECK: "nisa.reciprocal"(%arg2, %arg0)
  linalg.reciprocal ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>)
  // CHECK: %[[M1:.*]] = arith.constant -1.000000e+00 : f32
  // CHECK: "nisa.tensor_scalar_arith"(%arg2, %arg0, %[[M1]]) {op0 = "multiply"
  linalg.negf ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>)
  // x - 2.0 with the constant on the right
  // CHECK: "nisa.tensor_scalar_arith"(%arg2, %arg0, %{{.*}}) {op0 = "subtract", operandSegmentSizes = array<i32: 1, 1, 1, 0>}
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.subf %in, %c2 : f32
    linalg.yield %0 : f32
  }
  // 2.0 / x: the scalar is the lhs of a non-commutative op -> reverse0
  // CHECK: "nisa.tensor_scalar_arith"(%arg2, %arg0, %{{.*}}) {op0 = "divide", operandSegmentSizes = array<i32: 1, 1, 1, 0>, reverse0 = true}
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %c2, %in : f32
    linalg.yield %0 : f32
  }
  // x * v[p] with a [P, 1] broadcast, then exp: an SBUF temporary holds the product
  // CHECK: %[[T:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // CHECK: "nisa.tensor_scalar_arith"(%[[T]], %arg0, %arg1) {op0 = "multiply"
  // CHECK: "nisa.activation"(%arg2, %[[T]]) {op = "exp"
  // CHECK: "nisa.release"(%[[T]])
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %v : memref<128x64xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %0 = arith.mulf %in, %s : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// Reductions over the free axis accumulate into the init: reduce into a temporary,
// then combine; linalg.fill -> memset.
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @row_max
func.func @row_max(%x: memref<128x64xf32, 3 : i32>, %m: memref<128x1xf32, 3 : i32>) {
  %ninf = arith.constant 0xFF800000 : f32
  // CHECK: "nisa.memset"(%arg1) {value = 0xFF800000 : f32}
  linalg.fill ins(%ninf : f32) outs(%m : memref<128x1xf32, 3 : i32>)
  // CHECK: %[[T:.*]] = "nisa.alloc"() : () -> memref<128x1xf32, 3 : i32>
  // CHECK: "nisa.tensor_reduce_arith"(%[[T]], %arg0) {num_r_dim = 1 : i64, op = "max"}
  // CHECK: "nisa.tensor_tensor_arith"(%arg1, %arg1, %[[T]]) {op = "max"}
  // CHECK: "nisa.release"(%[[T]])
  linalg.generic {indexing_maps = [#id, #col], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%m : memref<128x1xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// Transposed-A matmul over a K loop into an uninitialised PSUM tile: the K loop is
// peeled so the first tile overwrites; PSUM -> HBM goes through an SBUF tile.
#a = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @matmul
func.func @matmul(%aT: memref<128x2x128xf32, 3 : i32>, %b: memref<128x2x256xf32, 3 : i32>, %out: memref<128x256xf32, 4 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  // CHECK: %[[ACC:.*]] = "nisa.alloc"() : () -> memref<128x256xf32, 2 : i32>
  %acc = memref.alloc() : memref<128x256xf32, 2 : i32>
  // CHECK: %[[ONE:.*]] = arith.addi %c0, %c1 : index
  // CHECK: scf.for %{{.*}} = %c0 to %[[ONE]] step %c1
  // CHECK: "nisa.matmul"(%[[ACC]], %{{.*}}, %{{.*}}) {accumulate = false}
  // CHECK: scf.for %{{.*}} = %[[ONE]] to %c2 step %c1
  // CHECK: "nisa.matmul"(%[[ACC]], %{{.*}}, %{{.*}}) {accumulate = true}
  scf.for %k = %c0 to %c2 step %c1 {
    %sa = memref.subview %aT[0, %k, 0] [128, 1, 128] [1, 1, 1] : memref<128x2x128xf32, 3 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>
    %sb = memref.subview %b[0, %k, 0] [128, 1, 256] [1, 1, 1] : memref<128x2x256xf32, 3 : i32> to memref<128x256xf32, strided<[512, 1], offset: ?>, 3 : i32>
    linalg.matmul indexing_maps = [#a, #b, #c]
        ins(%sa, %sb : memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>, memref<128x256xf32, strided<[512, 1], offset: ?>, 3 : i32>)
        outs(%acc : memref<128x256xf32, 2 : i32>)
  }
  // CHECK: %[[HOP:.*]] = "nisa.alloc"() : () -> memref<128x256xf32, 3 : i32>
  // CHECK: "nisa.tensor_copy"(%[[HOP]], %[[ACC]])
  // CHECK: "nisa.dma_copy"(%arg2, %[[HOP]])
  // CHECK: "nisa.release"(%[[HOP]])
  memref.copy %acc, %out : memref<128x256xf32, 2 : i32> to memref<128x256xf32, 4 : i32>
  memref.dealloc %acc : memref<128x256xf32, 2 : i32>
  return
}

// -----

// linalg.transpose: HBM -> SBUF by DMA, SBUF -> PSUM on the PE array.
// CHECK-LABEL: func.func @transposes
func.func @transposes(%x: memref<64x128xf32, 4 : i32>, %s: memref<128x64xf32, 3 : i32>) {
  %t = memref.alloc() : memref<128x64xf32, 3 : i32>
  // CHECK: "nisa.dma_transpose"(%{{.*}}, %arg0) {permutation = array<i64: 1, 0>}
  linalg.transpose ins(%x : memref<64x128xf32, 4 : i32>) outs(%t : memref<128x64xf32, 3 : i32>) permutation = [1, 0]
  %p = memref.alloc() : memref<64x128xf32, 2 : i32>
  // CHECK: "nisa.transpose"(%{{.*}}, %arg1)
  linalg.transpose ins(%s : memref<128x64xf32, 3 : i32>) outs(%p : memref<64x128xf32, 2 : i32>) permutation = [1, 0]
  memref.dealloc %p : memref<64x128xf32, 2 : i32>
  memref.dealloc %t : memref<128x64xf32, 3 : i32>
  return
}
