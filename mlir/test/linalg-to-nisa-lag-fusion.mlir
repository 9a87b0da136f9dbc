// RUN: nkipy-kg-opt %s --linalg-to-nisa="target=trn2" --split-input-file | filecheck %s

// Lagged fusion (nisa_lowering_lag_fusion.py): the producer loop's iteration j writes
// block j of %p (an exp on ScalarE), the consumer's iteration j reads block j (a matmul
// on TensorE). The consumer runs inside the producer loop one iteration behind: the
// producer's first iteration alone, then iterations 1-3 each followed by the
// consumer's iteration j - 1, then the consumer's last iteration. The weights' load
// between the loops, which the consumer needs, moves above the producer.

// CHECK-LABEL: func.func @exp_then_matmul
// CHECK:         "nisa.dma_copy"(%[[W:.*]], %arg1)
// CHECK:         scf.for %{{.*}} = %c0 to %[[LAG:.*]] step %c1 {
// CHECK:           "nisa.activation"
// CHECK:         }
// CHECK:         scf.for %[[T:.*]] = %[[LAG]] to %c4 step %c1 {
// CHECK:           "nisa.activation"(%{{.*}}, %{{.*}}) {op = "exp"
// CHECK:           %[[J:.*]] = arith.subi %[[T]], %[[LAG]] : index
// CHECK:           %[[PJ:.*]] = memref.subview %{{.*}}[0, %[[J]], 0] [128, 1, 128]
// CHECK:           "nisa.matmul"(%{{.*}}, %[[PJ]], %[[W]])
// CHECK:           "nisa.dma_copy"
// CHECK:         }
// CHECK:         scf.for %[[R:.*]] = %c3 to %c4 step %c1 {
// CHECK:           "nisa.matmul"
// CHECK:         }
// CHECK-NOT:     scf.for

#id = affine_map<(d0, d1) -> (d0, d1)>
#a = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @exp_then_matmul(%x: memref<4x128x128xbf16, 4 : i32>, %w: memref<128x128xbf16, 4 : i32>) -> memref<4x128x128xf32, 4 : i32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %out = memref.alloc() : memref<4x128x128xf32, 4 : i32>
  %p = memref.alloc() : memref<128x4x128xbf16, 3 : i32>
  scf.for %j = %c0 to %c4 step %c1 {
    %xs = memref.subview %x[%j, 0, 0] [1, 128, 128] [1, 1, 1] : memref<4x128x128xbf16, 4 : i32> to memref<128x128xbf16, strided<[128, 1], offset: ?>, 4 : i32>
    %t = memref.alloc() : memref<128x128xbf16, 3 : i32>
    memref.copy %xs, %t : memref<128x128xbf16, strided<[128, 1], offset: ?>, 4 : i32> to memref<128x128xbf16, 3 : i32>
    %pj = memref.subview %p[0, %j, 0] [128, 1, 128] [1, 1, 1] : memref<128x4x128xbf16, 3 : i32> to memref<128x128xbf16, strided<[512, 1], offset: ?>, 3 : i32>
    linalg.exp ins(%t : memref<128x128xbf16, 3 : i32>) outs(%pj : memref<128x128xbf16, strided<[512, 1], offset: ?>, 3 : i32>)
    memref.dealloc %t : memref<128x128xbf16, 3 : i32>
  }
  %ws = memref.alloc() : memref<128x128xbf16, 3 : i32>
  memref.copy %w, %ws : memref<128x128xbf16, 4 : i32> to memref<128x128xbf16, 3 : i32>
  scf.for %j = %c0 to %c4 step %c1 {
    %pj = memref.subview %p[0, %j, 0] [128, 1, 128] [1, 1, 1] : memref<128x4x128xbf16, 3 : i32> to memref<128x128xbf16, strided<[512, 1], offset: ?>, 3 : i32>
    %acc = memref.alloc() : memref<128x128xf32, 2 : i32>
    linalg.matmul indexing_maps = [#a, #b, #c] ins(%pj, %ws : memref<128x128xbf16, strided<[512, 1], offset: ?>, 3 : i32>, memref<128x128xbf16, 3 : i32>) outs(%acc : memref<128x128xf32, 2 : i32>)
    %os = memref.subview %out[%j, 0, 0] [1, 128, 128] [1, 1, 1] : memref<4x128x128xf32, 4 : i32> to memref<128x128xf32, strided<[128, 1], offset: ?>, 4 : i32>
    memref.copy %acc, %os : memref<128x128xf32, 2 : i32> to memref<128x128xf32, strided<[128, 1], offset: ?>, 4 : i32>
    memref.dealloc %acc : memref<128x128xf32, 2 : i32>
  }
  memref.dealloc %ws : memref<128x128xbf16, 3 : i32>
  memref.dealloc %p : memref<128x4x128xbf16, 3 : i32>
  return %out : memref<4x128x128xf32, 4 : i32>
}

// -----

// The consumer's iteration j reads block j + 1, which the producer writes in its
// iteration j + 1: not the producer's stripe, so the loops stay apart.

// CHECK-LABEL: func.func @reads_the_next_block
// CHECK:         scf.for
// CHECK:           "nisa.activation"
// CHECK-NOT:       "nisa.matmul"
// CHECK:         }
// CHECK:         scf.for
// CHECK:           "nisa.matmul"

#id = affine_map<(d0, d1) -> (d0, d1)>
#a = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @reads_the_next_block(%x: memref<4x128x128xbf16, 4 : i32>, %w: memref<128x128xbf16, 4 : i32>) -> memref<4x128x128xf32, 4 : i32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %out = memref.alloc() : memref<4x128x128xf32, 4 : i32>
  %p = memref.alloc() : memref<128x4x128xbf16, 3 : i32>
  scf.for %j = %c0 to %c4 step %c1 {
    %xs = memref.subview %x[%j, 0, 0] [1, 128, 128] [1, 1, 1] : memref<4x128x128xbf16, 4 : i32> to memref<128x128xbf16, strided<[128, 1], offset: ?>, 4 : i32>
    %t = memref.alloc() : memref<128x128xbf16, 3 : i32>
    memref.copy %xs, %t : memref<128x128xbf16, strided<[128, 1], offset: ?>, 4 : i32> to memref<128x128xbf16, 3 : i32>
    %pj = memref.subview %p[0, %j, 0] [128, 1, 128] [1, 1, 1] : memref<128x4x128xbf16, 3 : i32> to memref<128x128xbf16, strided<[512, 1], offset: ?>, 3 : i32>
    linalg.exp ins(%t : memref<128x128xbf16, 3 : i32>) outs(%pj : memref<128x128xbf16, strided<[512, 1], offset: ?>, 3 : i32>)
    memref.dealloc %t : memref<128x128xbf16, 3 : i32>
  }
  %ws = memref.alloc() : memref<128x128xbf16, 3 : i32>
  memref.copy %w, %ws : memref<128x128xbf16, 4 : i32> to memref<128x128xbf16, 3 : i32>
  %c3 = arith.constant 3 : index
  scf.for %j = %c0 to %c3 step %c1 {
    %j1 = arith.addi %j, %c1 : index
    %pj = memref.subview %p[0, %j1, 0] [128, 1, 128] [1, 1, 1] : memref<128x4x128xbf16, 3 : i32> to memref<128x128xbf16, strided<[512, 1], offset: ?>, 3 : i32>
    %acc = memref.alloc() : memref<128x128xf32, 2 : i32>
    linalg.matmul indexing_maps = [#a, #b, #c] ins(%pj, %ws : memref<128x128xbf16, strided<[512, 1], offset: ?>, 3 : i32>, memref<128x128xbf16, 3 : i32>) outs(%acc : memref<128x128xf32, 2 : i32>)
    %os = memref.subview %out[%j, 0, 0] [1, 128, 128] [1, 1, 1] : memref<4x128x128xf32, 4 : i32> to memref<128x128xf32, strided<[128, 1], offset: ?>, 4 : i32>
    memref.copy %acc, %os : memref<128x128xf32, 2 : i32> to memref<128x128xf32, strided<[128, 1], offset: ?>, 4 : i32>
    memref.dealloc %acc : memref<128x128xf32, 2 : i32>
  }
  memref.dealloc %ws : memref<128x128xbf16, 3 : i32>
  memref.dealloc %p : memref<128x4x128xbf16, 3 : i32>
  return %out : memref<4x128x128xf32, 4 : i32>
}
