// RUN: nkipy-kg-opt %s --linalg-to-nisa="target=trn2" --split-input-file | filecheck %s

// A row max of a tile filled by four PSUM -> SBUF copies of matmul chunks
// (nisa_lowering_copy_reduce.py): each copy becomes a tensor_scalar_reduce that takes
// its chunk's max into column %c of a [128, 4] partials tile, and the row max reduces
// the partials instead of the 2048 columns.

// CHECK-LABEL: func.func @scores_max
// CHECK:         %[[S:.*]] = "nisa.alloc"() : () -> memref<128x2048xf32, 3 : i32>
// CHECK:         %[[W:.*]] = "nisa.alloc"() : () -> memref<128x4xf32, 3 : i32>
// CHECK:         scf.for %[[C:.*]] = %c0 to %c4 step %c1 {
// CHECK:           "nisa.matmul"(%[[PS:[0-9]+]],
// CHECK:           %[[CHUNK:.*]] = memref.subview %[[S]][0, %{{.*}}] [128, 512] [1, 1]
// CHECK:           %[[COL:.*]] = memref.subview %[[W]][0, %[[C]]] [128, 1] [1, 1]
// CHECK:           "nisa.tensor_scalar_reduce"(%[[CHUNK]], %[[PS]], %{{.*}}, %[[COL]]) {op0 = "multiply", reduce_op = "max"}
// CHECK-NOT:       "nisa.tensor_copy"
// CHECK:         }
// CHECK:         "nisa.tensor_reduce_arith"(%{{.*}}, %[[W]]) {num_r_dim = 1 : i64, op = "max"}
// CHECK-NEXT:    "nisa.release"(%[[W]])

#a = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func @scores_max(%q: memref<128x128xbf16, 4 : i32>, %k: memref<128x2048xbf16, 4 : i32>) -> memref<128x1xf32, 4 : i32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c512 = arith.constant 512 : index
  %ninf = arith.constant 0xFF800000 : f32
  %qs = memref.alloc() : memref<128x128xbf16, 3 : i32>
  memref.copy %q, %qs : memref<128x128xbf16, 4 : i32> to memref<128x128xbf16, 3 : i32>
  %ks = memref.alloc() : memref<128x2048xbf16, 3 : i32>
  memref.copy %k, %ks : memref<128x2048xbf16, 4 : i32> to memref<128x2048xbf16, 3 : i32>
  %s = memref.alloc() : memref<128x2048xf32, 3 : i32>
  scf.for %i = %c0 to %c4 step %c1 {
    %o = arith.muli %i, %c512 : index
    %kc = memref.subview %ks[0, %o] [128, 512] [1, 1] : memref<128x2048xbf16, 3 : i32> to memref<128x512xbf16, strided<[2048, 1], offset: ?>, 3 : i32>
    %ps = memref.alloc() : memref<128x512xf32, 2 : i32>
    linalg.matmul indexing_maps = [#a, #b, #c] ins(%qs, %kc : memref<128x128xbf16, 3 : i32>, memref<128x512xbf16, strided<[2048, 1], offset: ?>, 3 : i32>) outs(%ps : memref<128x512xf32, 2 : i32>)
    %sc = memref.subview %s[0, %o] [128, 512] [1, 1] : memref<128x2048xf32, 3 : i32> to memref<128x512xf32, strided<[2048, 1], offset: ?>, 3 : i32>
    memref.copy %ps, %sc : memref<128x512xf32, 2 : i32> to memref<128x512xf32, strided<[2048, 1], offset: ?>, 3 : i32>
    memref.dealloc %ps : memref<128x512xf32, 2 : i32>
  }
  %m = memref.alloc() : memref<128x1xf32, 3 : i32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<128x1xf32, 3 : i32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%s : memref<128x2048xf32, 3 : i32>) outs(%m : memref<128x1xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %x = arith.maximumf %in, %out : f32
    linalg.yield %x : f32
  }
  %out = memref.alloc() : memref<128x1xf32, 4 : i32>
  memref.copy %m, %out : memref<128x1xf32, 3 : i32> to memref<128x1xf32, 4 : i32>
  memref.dealloc %s : memref<128x2048xf32, 3 : i32>
  memref.dealloc %m : memref<128x1xf32, 3 : i32>
  memref.dealloc %qs : memref<128x128xbf16, 3 : i32>
  memref.dealloc %ks : memref<128x2048xbf16, 3 : i32>
  return %out : memref<128x1xf32, 4 : i32>
}

// -----

// A row sum is left alone: summing per-chunk partials would change fp32 rounding.

// CHECK-LABEL: func.func @scores_sum
// CHECK:         "nisa.tensor_copy"
// CHECK-NOT:     "nisa.tensor_scalar_reduce"
// CHECK:         "nisa.tensor_reduce_arith"(%{{.*}}, %{{.*}}) {num_r_dim = 1 : i64, op = "add"} : (memref<128x1xf32, 3 : i32>, memref<128x2048xf32, 3 : i32>)

#a = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func @scores_sum(%q: memref<128x128xbf16, 4 : i32>, %k: memref<128x2048xbf16, 4 : i32>) -> memref<128x1xf32, 4 : i32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c512 = arith.constant 512 : index
  %ninf = arith.constant 0.0 : f32
  %qs = memref.alloc() : memref<128x128xbf16, 3 : i32>
  memref.copy %q, %qs : memref<128x128xbf16, 4 : i32> to memref<128x128xbf16, 3 : i32>
  %ks = memref.alloc() : memref<128x2048xbf16, 3 : i32>
  memref.copy %k, %ks : memref<128x2048xbf16, 4 : i32> to memref<128x2048xbf16, 3 : i32>
  %s = memref.alloc() : memref<128x2048xf32, 3 : i32>
  scf.for %i = %c0 to %c4 step %c1 {
    %o = arith.muli %i, %c512 : index
    %kc = memref.subview %ks[0, %o] [128, 512] [1, 1] : memref<128x2048xbf16, 3 : i32> to memref<128x512xbf16, strided<[2048, 1], offset: ?>, 3 : i32>
    %ps = memref.alloc() : memref<128x512xf32, 2 : i32>
    linalg.matmul indexing_maps = [#a, #b, #c] ins(%qs, %kc : memref<128x128xbf16, 3 : i32>, memref<128x512xbf16, strided<[2048, 1], offset: ?>, 3 : i32>) outs(%ps : memref<128x512xf32, 2 : i32>)
    %sc = memref.subview %s[0, %o] [128, 512] [1, 1] : memref<128x2048xf32, 3 : i32> to memref<128x512xf32, strided<[2048, 1], offset: ?>, 3 : i32>
    memref.copy %ps, %sc : memref<128x512xf32, 2 : i32> to memref<128x512xf32, strided<[2048, 1], offset: ?>, 3 : i32>
    memref.dealloc %ps : memref<128x512xf32, 2 : i32>
  }
  %m = memref.alloc() : memref<128x1xf32, 3 : i32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<128x1xf32, 3 : i32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%s : memref<128x2048xf32, 3 : i32>) outs(%m : memref<128x1xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %x = arith.addf %in, %out : f32
    linalg.yield %x : f32
  }
  %out = memref.alloc() : memref<128x1xf32, 4 : i32>
  memref.copy %m, %out : memref<128x1xf32, 3 : i32> to memref<128x1xf32, 4 : i32>
  memref.dealloc %s : memref<128x2048xf32, 3 : i32>
  memref.dealloc %m : memref<128x1xf32, 3 : i32>
  memref.dealloc %qs : memref<128x128xbf16, 3 : i32>
  memref.dealloc %ks : memref<128x2048xbf16, 3 : i32>
  return %out : memref<128x1xf32, 4 : i32>
}
