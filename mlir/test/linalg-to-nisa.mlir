// RUN: nkipy-kg-opt %s --linalg-to-nisa="target=trn2" --split-input-file | filecheck %s
// RUN: nkipy-kg-opt %s --linalg-to-nisa="target=trn1" --split-input-file | filecheck %s --check-prefix=TRN1

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
  // CHECK: "nisa.tensor_scalar_arith"(%arg2, %arg0, %{{.*}}) {{[{](engine = "[A-Za-z]+", )?}}op0 = "subtract", operandSegmentSizes = array<i32: 1, 1, 1, 0>}
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.subf %in, %c2 : f32
    linalg.yield %0 : f32
  }
  // 2.0 / x: the scalar is the lhs of a non-commutative op -> reverse0
  // CHECK: "nisa.tensor_scalar_arith"(%arg2, %arg0, %{{.*}}) {{[{](engine = "[A-Za-z]+", )?}}op0 = "divide", operandSegmentSizes = array<i32: 1, 1, 1, 0>, reverse0 = true}
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %c2, %in : f32
    linalg.yield %0 : f32
  }
  // x * v[p] with a [P, 1] broadcast, then exp: an SBUF temporary holds the product
  // CHECK: %[[T:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // CHECK: "nisa.tensor_scalar_arith"(%[[T]], %arg0, %arg1) {{[{](engine = "[A-Za-z]+", )?}}op0 = "multiply"
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
// then combine; linalg.fill -> memset. On trn2 a [P, 1] combine runs on GpSimd (VectorE
// reduces the next tile meanwhile); trn1 serialises VectorE and GpSimdE on SBUF.
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @row_max
func.func @row_max(%x: memref<128x64xf32, 3 : i32>, %m: memref<128x1xf32, 3 : i32>) {
  %ninf = arith.constant 0xFF800000 : f32
  // CHECK: "nisa.memset"(%arg1) {value = 0xFF800000 : f32}
  linalg.fill ins(%ninf : f32) outs(%m : memref<128x1xf32, 3 : i32>)
  // CHECK: %[[T:.*]] = "nisa.alloc"() : () -> memref<128x1xf32, 3 : i32>
  // CHECK: "nisa.tensor_reduce_arith"(%[[T]], %arg0) {num_r_dim = 1 : i64, op = "max"}
  // CHECK: "nisa.tensor_tensor_arith"(%arg1, %arg1, %[[T]]) {engine = "GpSimd", op = "max"}
  // CHECK: "nisa.release"(%[[T]])
  // TRN1-LABEL: func.func @row_max
  // TRN1: "nisa.tensor_tensor_arith"(%arg1, %arg1, %{{.*}}) {op = "max"}
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

// linalg.transpose: HBM -> SBUF by DMA, SBUF -> PSUM on the PE array, and a
// <= 128 x 128 SBUF -> SBUF tile on the PE array through PSUM (not an SBUF -> SBUF
// DMA transpose at half the DMA rate).
// CHECK-LABEL: func.func @transposes
func.func @transposes(%x: memref<64x128xf32, 4 : i32>, %s: memref<128x64xf32, 3 : i32>) {
  %t = memref.alloc() : memref<128x64xf32, 3 : i32>
  // CHECK: "nisa.dma_transpose"(%{{.*}}, %arg0) {permutation = array<i64: 1, 0>}
  linalg.transpose ins(%x : memref<64x128xf32, 4 : i32>) outs(%t : memref<128x64xf32, 3 : i32>) permutation = [1, 0]
  %p = memref.alloc() : memref<64x128xf32, 2 : i32>
  // CHECK: "nisa.transpose"(%{{.*}}, %arg1)
  linalg.transpose ins(%s : memref<128x64xf32, 3 : i32>) outs(%p : memref<64x128xf32, 2 : i32>) permutation = [1, 0]
  %u = memref.alloc() : memref<64x128xf32, 3 : i32>
  // CHECK: %[[PS:.*]] = "nisa.alloc"() : () -> memref<64x128xf32, 2 : i32>
  // CHECK-NEXT: "nisa.transpose"(%[[PS]], %arg1)
  // CHECK-NEXT: "nisa.tensor_copy"(%{{.*}}, %[[PS]])
  // CHECK-NEXT: "nisa.release"(%[[PS]])
  linalg.transpose ins(%s : memref<128x64xf32, 3 : i32>) outs(%u : memref<64x128xf32, 3 : i32>) permutation = [1, 0]
  memref.dealloc %u : memref<64x128xf32, 3 : i32>
  memref.dealloc %p : memref<64x128xf32, 2 : i32>
  memref.dealloc %t : memref<128x64xf32, 3 : i32>
  return
}

// -----

// A PSUM accumulator reloaded from an SBUF slice that only its own store-back writes
// (the zero fill was removed upstream) starts from zero: no read of unwritten SBUF,
// and with the K loop right after the reload, the first K tile overwrites.
#a = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @reload_unwritten
func.func @reload_unwritten(%aT: memref<128x2x128xf32, 3 : i32>, %b: memref<128x2x128xf32, 3 : i32>, %out: memref<128x2x128xf32, 4 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %s = memref.alloc() : memref<128x2x128xf32, 3 : i32>
  scf.for %j = %c0 to %c2 step %c1 {
    // CHECK: %[[SJ:.*]] = memref.subview
    %sj = memref.subview %s[0, %j, 0] [128, 1, 128] [1, 1, 1] : memref<128x2x128xf32, 3 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>
    // CHECK: %[[ACC:.*]] = "nisa.alloc"() : () -> memref<128x128xf32, 2 : i32>
    %acc = memref.alloc() : memref<128x128xf32, 2 : i32>
    // CHECK-NOT: "nisa.tensor_copy"(%[[ACC]], %[[SJ]])
    // CHECK-NOT: "nisa.memset"(%[[ACC]])
    memref.copy %sj, %acc : memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32> to memref<128x128xf32, 2 : i32>
    // CHECK: "nisa.matmul"(%[[ACC]], %{{.*}}, %{{.*}}) {accumulate = false}
    // CHECK: "nisa.matmul"(%[[ACC]], %{{.*}}, %{{.*}}) {accumulate = true}
    scf.for %k = %c0 to %c2 step %c1 {
      %sa = memref.subview %aT[0, %k, 0] [128, 1, 128] [1, 1, 1] : memref<128x2x128xf32, 3 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>
      %sb = memref.subview %b[0, %k, 0] [128, 1, 128] [1, 1, 1] : memref<128x2x128xf32, 3 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>
      linalg.matmul indexing_maps = [#a, #b, #c]
          ins(%sa, %sb : memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>, memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>)
          outs(%acc : memref<128x128xf32, 2 : i32>)
    }
    // CHECK: "nisa.tensor_copy"(%[[SJ]], %[[ACC]])
    memref.copy %acc, %sj : memref<128x128xf32, 2 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>
    memref.dealloc %acc : memref<128x128xf32, 2 : i32>
  }
  memref.copy %s, %out : memref<128x2x128xf32, 3 : i32> to memref<128x2x128xf32, 4 : i32>
  memref.dealloc %s : memref<128x2x128xf32, 3 : i32>
  return
}

// -----

// The same reload with other work between it and the K loop: a zero memset of the
// PSUM tile (every K tile then accumulates).
#a = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @reload_unwritten_memset
func.func @reload_unwritten_memset(%aT: memref<128x128xf32, 3 : i32>, %b: memref<128x128xf32, 3 : i32>, %x: memref<128x128xf32, 4 : i32>, %out: memref<128x2x128xf32, 4 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %s = memref.alloc() : memref<128x2x128xf32, 3 : i32>
  scf.for %j = %c0 to %c2 step %c1 {
    %sj = memref.subview %s[0, %j, 0] [128, 1, 128] [1, 1, 1] : memref<128x2x128xf32, 3 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>
    %acc = memref.alloc() : memref<128x128xf32, 2 : i32>
    // CHECK: "nisa.memset"(%[[ACC:.*]]) {value = 0.000000e+00 : f32} : (memref<128x128xf32, 2 : i32>)
    memref.copy %sj, %acc : memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32> to memref<128x128xf32, 2 : i32>
    %t = memref.alloc() : memref<128x128xf32, 3 : i32>
    memref.copy %x, %t : memref<128x128xf32, 4 : i32> to memref<128x128xf32, 3 : i32>
    // CHECK: "nisa.matmul"(%[[ACC]], %{{.*}}, %{{.*}}) {accumulate = true}
    scf.for %k = %c0 to %c2 step %c1 {
      linalg.matmul indexing_maps = [#a, #b, #c]
          ins(%aT, %t : memref<128x128xf32, 3 : i32>, memref<128x128xf32, 3 : i32>)
          outs(%acc : memref<128x128xf32, 2 : i32>)
    }
    memref.copy %acc, %sj : memref<128x128xf32, 2 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>
    memref.dealloc %t : memref<128x128xf32, 3 : i32>
    memref.dealloc %acc : memref<128x128xf32, 2 : i32>
  }
  memref.copy %s, %out : memref<128x2x128xf32, 3 : i32> to memref<128x2x128xf32, 4 : i32>
  memref.dealloc %s : memref<128x2x128xf32, 3 : i32>
  return
}

// -----

// A matmul whose PSUM tile is allocated in the loop body (one K tile, no K loop):
// it overwrites, and the enclosing loop is not peeled.
#a = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @matmul_single_k
func.func @matmul_single_k(%aT: memref<128x128xf32, 3 : i32>, %b: memref<128x128xf32, 3 : i32>, %out: memref<128x128xf32, 4 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  // CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1
  // CHECK: "nisa.matmul"(%{{.*}}, %arg0, %arg1) {accumulate = false}
  // CHECK-NOT: scf.for
  scf.for %j = %c0 to %c2 step %c1 {
    %acc = memref.alloc() : memref<128x128xf32, 2 : i32>
    linalg.matmul indexing_maps = [#a, #b, #c]
        ins(%aT, %b : memref<128x128xf32, 3 : i32>, memref<128x128xf32, 3 : i32>)
        outs(%acc : memref<128x128xf32, 2 : i32>)
    memref.copy %acc, %out : memref<128x128xf32, 2 : i32> to memref<128x128xf32, 4 : i32>
    memref.dealloc %acc : memref<128x128xf32, 2 : i32>
  }
  return
}

// -----

// Generics over [1, P, F] tiles (per-head slices of a batch-leading buffer): the unit
// iteration dim is dropped by collapse_shape views, leaving [P, F] / [P, 1] operands.
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#col3 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
// CHECK-LABEL: func.func @unit_dims
func.func @unit_dims(%x: memref<1x128x64xf32, 3 : i32>, %m: memref<1x128x1xf32, 3 : i32>, %y: memref<1x128x64xf32, 3 : i32>) {
  // CHECK: %[[X:.*]] = memref.collapse_shape %arg0 {{\[}}[0, 1], [2]] : memref<1x128x64xf32, 3 : i32> into memref<128x64xf32, 3 : i32>
  // CHECK: %[[M:.*]] = memref.collapse_shape %arg1 {{\[}}[0, 1], [2]] : memref<1x128x1xf32, 3 : i32> into memref<128x1xf32, 3 : i32>
  // CHECK: "nisa.tensor_reduce_arith"(%[[T:.*]], %[[X]]) {num_r_dim = 1 : i64, op = "max"}
  // CHECK: "nisa.tensor_tensor_arith"(%[[M]], %[[M]], %[[T]]) {engine = "GpSimd", op = "max"}
  linalg.generic {indexing_maps = [#id3, #col3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<1x128x64xf32, 3 : i32>) outs(%m : memref<1x128x1xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  }
  // CHECK: "nisa.tensor_scalar_arith"(%{{.*}}, %{{.*}}, %{{.*}}) {{[{](engine = "[A-Za-z]+", )?}}op0 = "subtract", operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 3 : i32>, memref<128x1xf32, 3 : i32>)
  linalg.generic {indexing_maps = [#id3, #col3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %m : memref<1x128x64xf32, 3 : i32>, memref<1x128x1xf32, 3 : i32>) outs(%y : memref<1x128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %0 = arith.subf %in, %s : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// 1-D SBUF vectors live on n partitions, one element each: a [P] vector read per row is
// a [P, 1] broadcast; a [F] weight read along the free axis is transposed on the PE
// array into a [1, F] row, then broadcast to every partition (ones[1, P]^T @ row).
#id = affine_map<(d0, d1) -> (d0, d1)>
#p = affine_map<(d0, d1) -> (d0)>
#f = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @vectors
func.func @vectors(%x: memref<128x64xf32, 3 : i32>, %v: memref<128xf32, 3 : i32>, %w: memref<64xf32, 3 : i32>, %y: memref<128x64xf32, 3 : i32>) {
  // CHECK: %[[V:.*]] = memref.expand_shape %arg1 {{\[}}[0, 1]] output_shape [128, 1] : memref<128xf32, 3 : i32> into memref<128x1xf32, 3 : i32>
  // CHECK: "nisa.tensor_scalar_arith"(%arg3, %arg0, %[[V]]) {{[{](engine = "[A-Za-z]+", )?}}op0 = "multiply"
  linalg.generic {indexing_maps = [#id, #p, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %v : memref<128x64xf32, 3 : i32>, memref<128xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %0 = arith.mulf %in, %s : f32
    linalg.yield %0 : f32
  }
  // CHECK: %[[W:.*]] = memref.expand_shape %arg2 {{\[}}[0, 1]] output_shape [64, 1] : memref<64xf32, 3 : i32> into memref<64x1xf32, 3 : i32>
  // CHECK: %[[WT:.*]] = "nisa.alloc"() : () -> memref<1x64xf32, 2 : i32>
  // CHECK: "nisa.transpose"(%[[WT]], %[[W]])
  // CHECK: %[[ROW:.*]] = "nisa.alloc"() : () -> memref<1x64xf32, 3 : i32>
  // CHECK: "nisa.tensor_copy"(%[[ROW]], %[[WT]])
  // The row is a whole SBUF buffer: one DMA reads it on every partition (stride 0).
  // CHECK: %[[REP:.*]] = memref.reinterpret_cast %[[ROW]] to offset: [0], sizes: [128, 64], strides: [0, 1]
  // CHECK: %[[B:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // CHECK: "nisa.dma_copy"(%[[B]], %[[REP]])
  // CHECK: "nisa.tensor_tensor_arith"(%arg3, %arg0, %[[B]]) {op = "multiply"}
  linalg.generic {indexing_maps = [#id, #f, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w : memref<128x64xf32, 3 : i32>, memref<64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %0 = arith.mulf %in, %s : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// HBM has no memset: a fill of an HBM buffer memsets an SBUF staging tile [p, n/p]
// (p the largest divisor of n up to 128) and DMAs it out; i1 fills are 1.0 / 0.0.
// CHECK-LABEL: func.func @fill_hbm
func.func @fill_hbm(%h: memref<256xf32, 4 : i32>, %b: memref<6x5xi1, 4 : i32>) {
  %zero = arith.constant 0.0 : f32
  %true = arith.constant true
  // CHECK: %[[T:.*]] = "nisa.alloc"() : () -> memref<128x2xf32, 3 : i32>
  // CHECK: "nisa.memset"(%[[T]]) {value = 0.000000e+00 : f32}
  // CHECK: "nisa.dma_copy"(%arg0, %[[T]]) : (memref<256xf32, 4 : i32>, memref<128x2xf32, 3 : i32>)
  // CHECK: "nisa.release"(%[[T]])
  linalg.fill ins(%zero : f32) outs(%h : memref<256xf32, 4 : i32>)
  // CHECK: %[[B:.*]] = "nisa.alloc"() : () -> memref<30x1xi1, 3 : i32>
  // CHECK: "nisa.memset"(%[[B]]) {value = 1.000000e+00 : f32}
  linalg.fill ins(%true : i1) outs(%b : memref<6x5xi1, 4 : i32>)
  return
}

// -----

// all / any over booleans reduce with min / max (andi / ori on i1).
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @all_rows
func.func @all_rows(%x: memref<128x64xi1, 3 : i32>, %m: memref<128x1xi1, 3 : i32>) {
  // CHECK: "nisa.tensor_reduce_arith"(%[[T:.*]], %arg0) {num_r_dim = 1 : i64, op = "min"}
  // CHECK: "nisa.tensor_tensor_arith"(%arg1, %arg1, %[[T]]) {engine = "GpSimd", op = "min"}
  linalg.generic {indexing_maps = [#id, #col], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<128x64xi1, 3 : i32>) outs(%m : memref<128x1xi1, 3 : i32>) {
  ^bb0(%in: i1, %out: i1):
    %0 = arith.andi %in, %out : i1
    linalg.yield %0 : i1
  }
  return
}

// -----

// A batched HBM -> HBM transpose: one SBUF hop per (batch index, 128-row block).
// CHECK-LABEL: func.func @transpose_hbm_batched
func.func @transpose_hbm_batched(%x: memref<2x128x256xf32, 4 : i32>, %y: memref<2x256x128xf32, 1 : i32>) {
  // CHECK: %[[S:.*]] = memref.subview %arg0[0, 0, 0] [1, 128, 128] [1, 1, 1] : memref<2x128x256xf32, 4 : i32> to memref<128x128xf32, strided<[256, 1]>, 4 : i32>
  // CHECK: %[[D:.*]] = memref.subview %arg1[0, 0, 0] [1, 128, 128] [1, 1, 1] : memref<2x256x128xf32, 1 : i32> to memref<128x128xf32, strided<[128, 1]>, 1 : i32>
  // CHECK: %[[T:.*]] = "nisa.alloc"() : () -> memref<128x128xf32, 3 : i32>
  // CHECK: "nisa.dma_transpose"(%[[T]], %[[S]]) {permutation = array<i64: 1, 0>}
  // CHECK: "nisa.dma_copy"(%[[D]], %[[T]])
  // CHECK: "nisa.release"(%[[T]])
  // CHECK: memref.subview %arg0[0, 0, 128] [1, 128, 128]
  // CHECK: memref.subview %arg1[0, 128, 0] [1, 128, 128]
  // CHECK: memref.subview %arg0[1, 0, 0] [1, 128, 128]
  // CHECK: memref.subview %arg0[1, 0, 128] [1, 128, 128]
  // CHECK: "nisa.dma_transpose"
  // CHECK-NOT: "nisa.dma_transpose"
  // CHECK: return
  linalg.transpose ins(%x : memref<2x128x256xf32, 4 : i32>) outs(%y : memref<2x256x128xf32, 1 : i32>) permutation = [0, 2, 1]
  return
}

// -----

// A copy-in out of an HBM buffer nothing wrote before it (the result buffer staged
// through SBUF) is erased; the PSUM reload of the staged tile then starts from zero.
#a = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @copy_in_unwritten
func.func @copy_in_unwritten(%aT: memref<128x128xf32, 3 : i32>, %b: memref<128x128xf32, 3 : i32>) -> memref<2x128x128xf32, 1 : i32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %r = memref.alloc() : memref<2x128x128xf32, 1 : i32>
  // CHECK: scf.for
  scf.for %h = %c0 to %c2 step %c1 {
    %rh = memref.subview %r[%h, 0, 0] [1, 128, 128] [1, 1, 1] : memref<2x128x128xf32, 1 : i32> to memref<128x128xf32, strided<[128, 1], offset: ?>, 1 : i32>
    %s = memref.alloc() : memref<128x128xf32, 3 : i32>
    // CHECK-NOT: "nisa.dma_copy"
    // CHECK-NOT: "nisa.tensor_copy"
    memref.copy %rh, %s : memref<128x128xf32, strided<[128, 1], offset: ?>, 1 : i32> to memref<128x128xf32, 3 : i32>
    %acc = memref.alloc() : memref<128x128xf32, 2 : i32>
    memref.copy %s, %acc : memref<128x128xf32, 3 : i32> to memref<128x128xf32, 2 : i32>
    // CHECK: "nisa.matmul"(%{{.*}}, %arg0, %arg1) {accumulate = false}
    linalg.matmul indexing_maps = [#a, #b, #c]
        ins(%aT, %b : memref<128x128xf32, 3 : i32>, memref<128x128xf32, 3 : i32>) outs(%acc : memref<128x128xf32, 2 : i32>)
    // CHECK: "nisa.tensor_copy"
    memref.copy %acc, %s : memref<128x128xf32, 2 : i32> to memref<128x128xf32, 3 : i32>
    // CHECK: "nisa.dma_copy"
    memref.copy %s, %rh : memref<128x128xf32, 3 : i32> to memref<128x128xf32, strided<[128, 1], offset: ?>, 1 : i32>
    memref.dealloc %acc : memref<128x128xf32, 2 : i32>
    memref.dealloc %s : memref<128x128xf32, 3 : i32>
  }
  return %r : memref<2x128x128xf32, 1 : i32>
}

// -----

// A generic over one dim works on [n, 1] columns (a 1-D SBUF vector is n partitions
// x 1); a [1, n] row read as (0, d0) is transposed on the PE array first.
#r = affine_map<(d0) -> (0, d0)>
#v = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @rank1
func.func @rank1(%row: memref<1x128xf32, 3 : i32>, %out: memref<128xbf16, 3 : i32>) {
  // CHECK: %[[O:.*]] = memref.expand_shape %arg1 {{\[}}[0, 1]] output_shape [128, 1] : memref<128xbf16, 3 : i32> into memref<128x1xbf16, 3 : i32>
  // CHECK: %[[P:.*]] = "nisa.alloc"() : () -> memref<128x1xf32, 2 : i32>
  // CHECK: "nisa.transpose"(%[[P]], %arg0)
  // CHECK: %[[T:.*]] = "nisa.alloc"() : () -> memref<128x1xf32, 3 : i32>
  // CHECK: "nisa.tensor_copy"(%[[T]], %[[P]])
  // CHECK: "nisa.tensor_copy"(%[[O]], %[[T]])
  linalg.generic {indexing_maps = [#r, #v], iterator_types = ["parallel"]}
      ins(%row : memref<1x128xf32, 3 : i32>) outs(%out : memref<128xbf16, 3 : i32>) {
  ^bb0(%in: f32, %o: bf16):
    %0 = arith.truncf %in : f32 to bf16
    linalg.yield %0 : bf16
  }
  return
}

// -----

// A partition-axis reduction into a 1-D [F] result (F partitions x 1): the [1, F]
// cross-partition result is transposed into the column before the combine.
#id = affine_map<(d0, d1) -> (d0, d1)>
#f = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @column_sums
func.func @column_sums(%x: memref<128x64xf32, 3 : i32>, %s: memref<64xf32, 3 : i32>) {
  // CHECK: %[[S:.*]] = memref.expand_shape %arg1 {{\[}}[0, 1]] output_shape [64, 1]
  // CHECK: "nisa.cross_partition_reduce"(%[[R:.*]], %arg0) {op = "add"} : (memref<1x64xf32, 3 : i32>, memref<128x64xf32, 3 : i32>)
  // CHECK: "nisa.transpose"(%[[P:.*]], %[[R]]) : (memref<64x1xf32, 2 : i32>, memref<1x64xf32, 3 : i32>)
  // CHECK: "nisa.tensor_copy"(%[[T:.*]], %[[P]])
  // CHECK: "nisa.tensor_tensor_arith"(%[[S]], %[[S]], %[[T]]) {engine = "GpSimd", op = "add"}
  linalg.generic {indexing_maps = [#id, #f], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%s : memref<64xf32, 3 : i32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// GpSimd has no partition-axis min: min(x) = -max(-x), negation being exact.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func.func @column_min
func.func @column_min(%x: memref<128x64xf32, 3 : i32>, %m: memref<1x64xf32, 3 : i32>) {
  // CHECK: %[[P:.*]] = "nisa.alloc"() : () -> memref<1x64xf32, 3 : i32>
  // CHECK: %[[N:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // CHECK: %[[M1:.*]] = arith.constant -1.000000e+00 : f32
  // CHECK: "nisa.tensor_scalar_arith"(%[[N]], %arg0, %[[M1]]) {{.*}}op0 = "multiply"
  // CHECK: "nisa.cross_partition_reduce"(%[[P]], %[[N]]) {op = "max"}
  // CHECK: "nisa.release"(%[[N]])
  // CHECK: "nisa.tensor_scalar_arith"(%[[P]], %[[P]], %{{.*}}) {{.*}}op0 = "multiply"
  // CHECK: "nisa.tensor_tensor_arith"(%arg1, %arg1, %[[P]]) {op = "min"}
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%m : memref<1x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.minimumf %in, %o : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A column reduction over a whole HBM buffer of 256 rows: staged 128 rows at a time
// (DMA, cross-partition reduce, combine into a running [1, F] partial).
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func.func @column_max_hbm
func.func @column_max_hbm(%x: memref<256x64xf32, 4 : i32>, %m: memref<1x64xf32, 3 : i32>) {
  // CHECK: %[[P:.*]] = "nisa.alloc"() : () -> memref<1x64xf32, 3 : i32>
  // CHECK: %[[S0:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // CHECK: %[[V0:.*]] = memref.subview %arg0[0, 0] [128, 64] [1, 1]
  // CHECK: "nisa.dma_copy"(%[[S0]], %[[V0]])
  // CHECK: "nisa.cross_partition_reduce"(%[[P]], %[[S0]]) {op = "max"}
  // CHECK: %[[S1:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // CHECK: %[[V1:.*]] = memref.subview %arg0[128, 0] [128, 64] [1, 1]
  // CHECK: "nisa.dma_copy"(%[[S1]], %[[V1]])
  // CHECK: "nisa.cross_partition_reduce"(%[[T:.*]], %[[S1]]) {op = "max"}
  // CHECK: "nisa.tensor_tensor_arith"(%[[P]], %[[P]], %[[T]]) {op = "max"}
  // CHECK: "nisa.tensor_tensor_arith"(%arg1, %arg1, %[[P]]) {op = "max"}
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<256x64xf32, 4 : i32>) outs(%m : memref<1x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.maximumf %in, %o : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// Body rows for prepare-arithmetic's decompositions. divf(1.0, v) is a reciprocal;
// a temporary is released right after its last use; a select of two constants is
// one tensor_scalar p * (a - b) + b (exact here: 2^23 - -2^23 = 2^24); a constant
// branch is memset into a tile (released after the select); extf costs nothing and
// a final truncf is the rounding of the write into the bf16 output; ops on a [P, 1]
// operand alone run on [P, 1] temporaries, then broadcast as a tensor_scalar operand.
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @body_rows
// CHECK-SAME:    (%[[X:.*]]: memref<128x64xf32, 3 : i32>, %[[V:.*]]: memref<128x1xf32, 3 : i32>, %[[B:.*]]: memref<128x64xbf16, 3 : i32>, %[[Y:.*]]: memref<128x64xf32, 3 : i32>, %[[YB:.*]]: memref<128x64xbf16, 3 : i32>)
func.func @body_rows(%x: memref<128x64xf32, 3 : i32>, %v: memref<128x1xf32, 3 : i32>, %b: memref<128x64xbf16, 3 : i32>,
                     %y: memref<128x64xf32, 3 : i32>, %yb: memref<128x64xbf16, 3 : i32>) {
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %m = arith.constant -8388608.0 : f32
  %p = arith.constant 8388608.0 : f32
  // CHECK: %[[T0:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // CHECK-NEXT: "nisa.tensor_tensor_arith"(%[[T0]], %[[X]], %[[X]]) {op = "add"}
  // CHECK-NEXT: "nisa.reciprocal"(%[[Y]], %[[T0]])
  // CHECK-NEXT: "nisa.release"(%[[T0]])
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %in : f32
    %r = arith.divf %one, %s : f32
    linalg.yield %r : f32
  }
  // CHECK: %[[N:.*]] = "nisa.alloc"()
  // CHECK-NEXT: "nisa.tensor_scalar_arith"(%[[N]], %[[X]], %{{.*}}) {{[{](engine = "[A-Za-z]+", )?}}op0 = "is_lt"
  // CHECK-NEXT: %[[S:.*]] = "nisa.alloc"()
  // CHECK-NEXT: %[[D:.*]] = arith.constant 0xCB800000 : f32
  // CHECK-NEXT: %[[C:.*]] = arith.constant 0x4B000000 : f32
  // CHECK-NEXT: "nisa.tensor_scalar_arith"(%[[S]], %[[N]], %[[D]], %[[C]]) {{[{](engine = "[A-Za-z]+", )?}}op0 = "multiply", op1 = "add", operandSegmentSizes = array<i32: 1, 1, 1, 1>}
  // CHECK-NEXT: "nisa.release"(%[[N]])
  // CHECK-NEXT: "nisa.tensor_tensor_arith"(%[[Y]], %[[X]], %[[S]]) {op = "add"}
  // CHECK-NEXT: "nisa.release"(%[[S]])
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.cmpf olt, %in, %zero : f32
    %s = arith.select %n, %m, %p : f32
    %t = arith.addf %in, %s : f32
    linalg.yield %t : f32
  }
  // CHECK: %[[N:.*]] = "nisa.alloc"()
  // CHECK-NEXT: "nisa.tensor_scalar_arith"(%[[N]], %[[X]], %{{.*}}) {{[{](engine = "[A-Za-z]+", )?}}op0 = "is_lt"
  // CHECK-NEXT: %[[F:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // CHECK-NEXT: "nisa.memset"(%[[F]]) {value = 2.000000e+00 : f32}
  // CHECK-NEXT: "nisa.select"(%[[Y]], %[[N]], %[[F]], %[[X]])
  // CHECK-NEXT: "nisa.release"(%[[F]])
  // CHECK-NEXT: "nisa.release"(%[[N]])
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.cmpf olt, %in, %zero : f32
    %s = arith.select %n, %two, %in : f32
    linalg.yield %s : f32
  }
  // CHECK: %[[E:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
  // CHECK-NEXT: "nisa.activation"(%[[E]], %[[B]]) {op = "exp"
  // CHECK-NEXT: "nisa.tensor_scalar_arith"(%[[YB]], %[[E]], %{{.*}}) {{[{](engine = "[A-Za-z]+", )?}}op0 = "multiply"
  // CHECK-NEXT: "nisa.release"(%[[E]])
  // CHECK-NOT: "nisa.tensor_copy"
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<128x64xbf16, 3 : i32>) outs(%yb : memref<128x64xbf16, 3 : i32>) {
  ^bb0(%in: bf16, %out: bf16):
    %w = arith.extf %in : bf16 to f32
    %e = math.exp %w : f32
    %t = arith.mulf %e, %two : f32
    %n = arith.truncf %t : f32 to bf16
    linalg.yield %n : bf16
  }
  // CHECK: %[[A:.*]] = "nisa.alloc"() : () -> memref<128x1xf32, 3 : i32>
  // CHECK-NEXT: "nisa.activation"(%[[A]], %[[V]]) {op = "abs"
  // CHECK-NEXT: %[[R:.*]] = "nisa.alloc"() : () -> memref<128x1xf32, 3 : i32>
  // CHECK-NEXT: "nisa.reciprocal"(%[[R]], %[[A]])
  // CHECK-NEXT: "nisa.release"(%[[A]])
  // CHECK-NEXT: "nisa.tensor_scalar_arith"(%[[Y]], %[[X]], %[[R]]) {{[{](engine = "[A-Za-z]+", )?}}op0 = "multiply"
  // CHECK-NEXT: "nisa.release"(%[[R]])
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %v : memref<128x64xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %a = math.absf %s : f32
    %r = arith.divf %one, %a : f32
    %q = arith.mulf %in, %r : f32
    linalg.yield %q : f32
  }
  return
}

// -----

// A strided 1-D operand viewed as [n, 1]: expand_shape's layout keeps the stride on
// both dims (the inner unit dim has the source stride).
#id = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @strided_vector
// CHECK: memref.expand_shape %{{.*}} {{\[}}[0, 1]] output_shape [128, 1] : memref<128xf32, strided<[2]>, 3 : i32> into memref<128x1xf32, strided<[2, 2]>, 3 : i32>
// CHECK: "nisa.activation"
func.func @strided_vector(%x: memref<256xf32, 3 : i32>, %y: memref<128xf32, 3 : i32>) {
  %v = memref.subview %x[0] [128] [2] : memref<256xf32, 3 : i32> to memref<128xf32, strided<[2]>, 3 : i32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%v : memref<128xf32, strided<[2]>, 3 : i32>) outs(%y : memref<128xf32, 3 : i32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = math.exp %in : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A gather by computed indices (what infer-layout makes of `table[ids]`): rows of the
// HBM table by an SBUF [P, 1] index column -> one indirect DMA; the CPU JIT's clamp
// is dropped (an index outside the table is a device error).
#col = affine_map<(d0, d1) -> (d0, 0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @gather_rows
// CHECK: "nisa.dma_copy_indirect"(%arg2, %arg0, %arg1) : (memref<128x64xf32, 3 : i32>, memref<512x64xf32, 4 : i32>, memref<128x1xi32, 3 : i32>) -> ()
// CHECK-NOT: linalg.generic
// CHECK-NOT: memref.load
func.func @gather_rows(%table: memref<512x64xf32, 4 : i32>, %idx: memref<128x1xi32, 3 : i32>, %out: memref<128x64xf32, 3 : i32>) {
  %c0 = arith.constant 0 : index
  %c511 = arith.constant 511 : index
  linalg.generic {indexing_maps = [#col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%idx : memref<128x1xi32, 3 : i32>) outs(%out : memref<128x64xf32, 3 : i32>) {
  ^bb0(%i: i32, %o: f32):
    %r = arith.index_cast %i : i32 to index
    %lo = arith.maxsi %r, %c0 : index
    %row = arith.minsi %lo, %c511 : index
    %j = linalg.index 1 : index
    %v = memref.load %table[%row, %j] : memref<512x64xf32, 4 : i32>
    linalg.yield %v : f32
  }
  return
}

// -----

// Activation idioms: `x * (1 / (1 + exp(-x)))` is one silu and `1 / (1 + exp(-x))` one
// sigmoid on ScalarE; when exp(-x) has a second reader, the chain is lowered op by op.
// CHECK-LABEL: func.func @idioms
// CHECK:         "nisa.activation"(%{{.*}}, %[[X:.*]]) {op = "silu"
// CHECK-NEXT:    "nisa.tensor_tensor_arith"(%{{.*}}, %{{.*}}, %{{.*}}) {op = "multiply"}
// CHECK:         "nisa.activation"(%{{.*}}, %[[X]]) {op = "sigmoid"
// CHECK-NOT:     "nisa.activation"(%{{.*}}) {op = "sigmoid"
// CHECK:         "nisa.activation"(%{{.*}}, %{{.*}}) {op = "exp"
// CHECK:         "nisa.reciprocal"
// CHECK-NOT:     op = "silu"
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @idioms(%x: memref<128x256xf32, 3 : i32>, %u: memref<128x256xf32, 3 : i32>, %y: memref<128x256xf32, 3 : i32>,
                  %s: memref<128x256xf32, 3 : i32>, %z: memref<128x256xf32, 3 : i32>) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %u : memref<128x256xf32, 3 : i32>, memref<128x256xf32, 3 : i32>) outs(%y : memref<128x256xf32, 3 : i32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %a : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %r = arith.divf %one, %d : f32
    %silu = arith.mulf %a, %r : f32
    %h = arith.mulf %silu, %b : f32
    linalg.yield %h : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x256xf32, 3 : i32>) outs(%s : memref<128x256xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %a : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %r = arith.divf %one, %d : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x256xf32, 3 : i32>) outs(%z : memref<128x256xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %a : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %r = arith.divf %one, %d : f32
    %t = arith.mulf %r, %e : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A [P, 1, F] operand read across a middle dim (rope's `cos[:, None, :]` in a
// [128, heads, d] tile) is a zero-stride access pattern: one tensor_tensor_arith.
// CHECK-LABEL: func.func @middle_broadcast
// CHECK:         "nisa.tensor_tensor_arith"(%arg2, %arg0, %arg1) {op = "multiply"} : (memref<128x4x64xf32, 3 : i32>, memref<128x4x64xf32, 3 : i32>, memref<128x1x64xf32, 3 : i32>)
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#mid = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @middle_broadcast(%x: memref<128x4x64xf32, 3 : i32>, %c: memref<128x1x64xf32, 3 : i32>,
                            %y: memref<128x4x64xf32, 3 : i32>) {
  linalg.generic {indexing_maps = [#id3, #mid, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %c : memref<128x4x64xf32, 3 : i32>, memref<128x1x64xf32, 3 : i32>) outs(%y : memref<128x4x64xf32, 3 : i32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A [1, F] row that is not a whole SBUF allocation (here an argument) is broadcast on
// the PE array: ones[1, P]^T @ row, copied out of PSUM.
// CHECK-LABEL: func.func @row_on_pe
// CHECK:         %[[ONES:.*]] = "nisa.alloc"() : () -> memref<1x128xf32, 3 : i32>
// CHECK:         "nisa.memset"(%[[ONES]]) {value = 1.000000e+00 : f32}
// CHECK:         "nisa.matmul"(%{{.*}}, %[[ONES]], %arg1) {accumulate = false}
// CHECK:         "nisa.tensor_copy"
// CHECK:         "nisa.tensor_tensor_arith"(%arg2, %arg0, %{{.*}}) {op = "add"}
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#r = affine_map<(d0, d1) -> (0, d1)>
func.func @row_on_pe(%x: memref<128x64xf32, 3 : i32>, %w: memref<1x64xf32, 3 : i32>, %y: memref<128x64xf32, 3 : i32>) {
  linalg.generic {indexing_maps = [#id2, #r, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w : memref<128x64xf32, 3 : i32>, memref<1x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A load that does not change in the loop (w: nothing in the loop writes it, its view
// does not depend on %i) moves out with its tile; the tile is released after the
// loop. The x rows depend on %i and stay; so does a load of a buffer the loop writes.

// CHECK-LABEL: func.func @invariant_load
// CHECK:         %[[W:.*]] = "nisa.alloc"() : () -> memref<128x512xf32, 3 : i32>
// CHECK-NEXT:    "nisa.dma_copy"(%[[W]], %arg1)
// CHECK-NEXT:    scf.for
// CHECK:           "nisa.dma_copy"(%{{.*}}, %{{.*}}) : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, strided<[512, 1], offset: ?>, 4 : i32>)
// CHECK:           "nisa.tensor_tensor_arith"(%{{.*}}, %{{.*}}, %[[W]]) {op = "multiply"}
// CHECK:           "nisa.dma_copy"(%[[A:.*]], %arg2)
// CHECK:           "nisa.dma_copy"(%arg2, %{{.*}})
// CHECK:         }
// CHECK-NEXT:    "nisa.release"(%[[W]])
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @invariant_load(%x: memref<512x512xf32, 4 : i32>, %w: memref<128x512xf32, 4 : i32>,
                          %acc: memref<128x512xf32, 4 : i32>, %out: memref<512x512xf32, 4 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c128 = arith.constant 128 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %r = arith.muli %i, %c128 : index
    %xs = memref.subview %x[%r, 0] [128, 512] [1, 1] : memref<512x512xf32, 4 : i32> to memref<128x512xf32, strided<[512, 1], offset: ?>, 4 : i32>
    %tx = memref.alloc() : memref<128x512xf32, 3 : i32>
    memref.copy %xs, %tx : memref<128x512xf32, strided<[512, 1], offset: ?>, 4 : i32> to memref<128x512xf32, 3 : i32>
    %tw = memref.alloc() : memref<128x512xf32, 3 : i32>
    memref.copy %w, %tw : memref<128x512xf32, 4 : i32> to memref<128x512xf32, 3 : i32>
    %ty = memref.alloc() : memref<128x512xf32, 3 : i32>
    linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%tx, %tw : memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>) outs(%ty : memref<128x512xf32, 3 : i32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %v = arith.mulf %a, %b : f32
      linalg.yield %v : f32
    }
    %ta = memref.alloc() : memref<128x512xf32, 3 : i32>
    memref.copy %acc, %ta : memref<128x512xf32, 4 : i32> to memref<128x512xf32, 3 : i32>
    memref.copy %ty, %acc : memref<128x512xf32, 3 : i32> to memref<128x512xf32, 4 : i32>
    %os = memref.subview %out[%r, 0] [128, 512] [1, 1] : memref<512x512xf32, 4 : i32> to memref<128x512xf32, strided<[512, 1], offset: ?>, 4 : i32>
    memref.copy %ta, %os : memref<128x512xf32, 3 : i32> to memref<128x512xf32, strided<[512, 1], offset: ?>, 4 : i32>
    memref.dealloc %tx : memref<128x512xf32, 3 : i32>
    memref.dealloc %tw : memref<128x512xf32, 3 : i32>
    memref.dealloc %ty : memref<128x512xf32, 3 : i32>
    memref.dealloc %ta : memref<128x512xf32, 3 : i32>
  }
  return
}

// -----

// A loop left with views only (its instruction elided or hoisted away) is erased: it
// computes nothing.

// CHECK-LABEL: func.func @view_only_loop
// CHECK-NOT:     scf.for
// CHECK:         return
func.func @view_only_loop(%a: memref<128x2x64xf32, 3 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.for %i = %c0 to %c2 step %c1 {
    %v = memref.subview %a[0, %i, 0] [128, 1, 64] [1, 1, 1] : memref<128x2x64xf32, 3 : i32> to memref<128x64xf32, strided<[128, 1], offset: ?>, 3 : i32>
  }
  return
}
