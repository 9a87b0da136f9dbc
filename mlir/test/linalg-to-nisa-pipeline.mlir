// RUN: nkipy-kg-opt %s --linalg-to-nisa="target=trn2" --split-input-file | filecheck %s

// A fused bf16 softmax row-block loop (3 blocks; stage 25 of the catalogue's
// softmax_fused): load -> max (VectorE) -> exp (ScalarE) -> sum (VectorE) -> divide
// (ScalarE) -> store, each engine in program order. Pipelined, the first stage (load,
// max, exp) runs one block ahead: block 0's first stage before the loop, the loop over
// blocks 0-1 computes block i+1's first stage into fresh tiles and block i's rest on
// the tiles carried from the previous iteration, and block 2's rest follows the loop.

// CHECK-LABEL: func.func @softmax_fused
// CHECK:         "nisa.dma_copy"(%[[X0:.*]], %{{.*}}) : (memref<128x1024xbf16, 3 : i32>
// CHECK:         "nisa.tensor_reduce_arith"(%{{.*}}, %[[X0]]) {num_r_dim = 1 : i64, op = "max"}
// CHECK:         "nisa.activation"(%[[E0:.*]], %[[X0]], %{{.*}}) {op = "exp"
// CHECK:         %[[R:.*]]:5 = scf.for %[[I:.*]] = %c0 to %c2 step %c1 iter_args({{.*}}%[[X:.*]] = %[[X0]], {{.*}}%[[E:.*]] = %[[E0]], {{.*}})
// CHECK:           %[[NEXT:.*]] = arith.addi %[[I]], %c1 : index
// CHECK:           arith.muli %[[NEXT]], %c128 : index
// CHECK:           "nisa.dma_copy"(%[[X1:.*]], %{{.*}}) : (memref<128x1024xbf16, 3 : i32>
// CHECK:           "nisa.activation"(%[[E1:.*]], %[[X1]], %{{.*}}) {op = "exp"
// CHECK:           "nisa.release"(%[[X]])
// CHECK:           "nisa.tensor_reduce_arith"(%{{.*}}, %[[E]]) {num_r_dim = 1 : i64, op = "add"}
// CHECK:           "nisa.dma_copy"(%{{.*}}, %{{.*}}) : (memref<128x1024xbf16, strided<[1024, 1], offset: ?>, 4 : i32>
// CHECK:           scf.yield {{.*}}%[[X1]], {{.*}}%[[E1]], {{.*}}
// CHECK:         }
// CHECK:         "nisa.release"(%[[R]]#1)
// CHECK:         "nisa.tensor_reduce_arith"(%{{.*}}, %[[R]]#3) {num_r_dim = 1 : i64, op = "add"}
// CHECK:         "nisa.dma_copy"(%{{.*}}, %{{.*}}) : (memref<128x1024xbf16, strided<[1024, 1], offset: ?>, 4 : i32>
// CHECK-NEXT:    "nisa.release"
// CHECK-NEXT:    return
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d0, 0)>
  func.func @softmax_fused(%arg0: memref<384x1024xbf16, strided<[?, ?], offset: ?>, 4 : i32>) -> memref<384x1024xbf16, 4 : i32> {
    %cst = arith.constant 1.000000e+00 : f32
    %c3 = arith.constant 3 : index
    %cst_0 = arith.constant 0xFF80 : bf16
    %c0 = arith.constant 0 : index
    %c128 = arith.constant 128 : index
    %cst_1 = arith.constant 0.000000e+00 : f32
    %c1 = arith.constant 1 : index
    %alloc = memref.alloc() {alignment = 64 : i64} : memref<384x1024xbf16, 4 : i32>
    scf.for %arg1 = %c0 to %c3 step %c1 {
      %0 = arith.muli %arg1, %c128 : index
      %alloc_2 = memref.alloc() {alignment = 64 : i64} : memref<128x1xf32, 3 : i32>
      linalg.fill ins(%cst_1 : f32) outs(%alloc_2 : memref<128x1xf32, 3 : i32>)
      %alloc_3 = memref.alloc() {alignment = 64 : i64} : memref<128x1xbf16, 3 : i32>
      linalg.fill ins(%cst_0 : bf16) outs(%alloc_3 : memref<128x1xbf16, 3 : i32>)
      %subview = memref.subview %arg0[%0, 0] [128, 1024] [1, 1] : memref<384x1024xbf16, strided<[?, ?], offset: ?>, 4 : i32> to memref<128x1024xbf16, strided<[?, ?], offset: ?>, 4 : i32>
      %alloc_4 = memref.alloc() {alignment = 64 : i64} : memref<128x1024xbf16, 3 : i32>
      memref.copy %subview, %alloc_4 : memref<128x1024xbf16, strided<[?, ?], offset: ?>, 4 : i32> to memref<128x1024xbf16, 3 : i32>
      linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%alloc_4 : memref<128x1024xbf16, 3 : i32>) outs(%alloc_3 : memref<128x1xbf16, 3 : i32>) {
      ^bb0(%in: bf16, %out: bf16):
        %1 = arith.maximumf %in, %out : bf16
        linalg.yield %1 : bf16
      }
      %alloc_5 = memref.alloc() {alignment = 64 : i64} : memref<128x1024xbf16, 3 : i32>
      linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%alloc_4, %alloc_3 : memref<128x1024xbf16, 3 : i32>, memref<128x1xbf16, 3 : i32>) outs(%alloc_5 : memref<128x1024xbf16, 3 : i32>) {
      ^bb0(%in: bf16, %in_9: bf16, %out: bf16):
        %1 = arith.subf %in, %in_9 : bf16
        %2 = math.exp %1 : bf16
        linalg.yield %2 : bf16
      }
      memref.dealloc %alloc_4 : memref<128x1024xbf16, 3 : i32>
      memref.dealloc %alloc_3 : memref<128x1xbf16, 3 : i32>
      linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%alloc_5 : memref<128x1024xbf16, 3 : i32>) outs(%alloc_2 : memref<128x1xf32, 3 : i32>) {
      ^bb0(%in: bf16, %out: f32):
        %1 = arith.extf %in : bf16 to f32
        %2 = arith.addf %1, %out : f32
        linalg.yield %2 : f32
      }
      %alloc_6 = memref.alloc() {alignment = 64 : i64} : memref<128x1xf32, 3 : i32>
      linalg.reciprocal ins(%alloc_2 : memref<128x1xf32, 3 : i32>) outs(%alloc_6 : memref<128x1xf32, 3 : i32>)
      memref.dealloc %alloc_2 : memref<128x1xf32, 3 : i32>
      %alloc_7 = memref.alloc() {alignment = 64 : i64} : memref<128x1024xbf16, 3 : i32>
      linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%alloc_5, %alloc_6 : memref<128x1024xbf16, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%alloc_7 : memref<128x1024xbf16, 3 : i32>) {
      ^bb0(%in: bf16, %in_9: f32, %out: bf16):
        %1 = arith.extf %in : bf16 to f32
        %2 = arith.mulf %1, %in_9 : f32
        %3 = arith.truncf %2 : f32 to bf16
        linalg.yield %3 : bf16
      }
      memref.dealloc %alloc_6 : memref<128x1xf32, 3 : i32>
      memref.dealloc %alloc_5 : memref<128x1024xbf16, 3 : i32>
      %subview_8 = memref.subview %alloc[%0, 0] [128, 1024] [1, 1] : memref<384x1024xbf16, 4 : i32> to memref<128x1024xbf16, strided<[1024, 1], offset: ?>, 4 : i32>
      memref.copy %alloc_7, %subview_8 : memref<128x1024xbf16, 3 : i32> to memref<128x1024xbf16, strided<[1024, 1], offset: ?>, 4 : i32>
      memref.dealloc %alloc_7 : memref<128x1024xbf16, 3 : i32>
    }
    return %alloc : memref<384x1024xbf16, 4 : i32>
  }

// -----

// Two blocks only: nothing to overlap, the loop stays.

// CHECK-LABEL: func.func @two_blocks
// CHECK-NOT:     iter_args
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @two_blocks(%x: memref<256x512xbf16, 4 : i32>, %out: memref<256x512xbf16, 4 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  scf.for %i = %c0 to %c2 step %c1 {
    %r = arith.muli %i, %c128 : index
    %xs = memref.subview %x[%r, 0] [128, 512] [1, 1] : memref<256x512xbf16, 4 : i32> to memref<128x512xbf16, strided<[512, 1], offset: ?>, 4 : i32>
    %t = memref.alloc() : memref<128x512xbf16, 3 : i32>
    memref.copy %xs, %t : memref<128x512xbf16, strided<[512, 1], offset: ?>, 4 : i32> to memref<128x512xbf16, 3 : i32>
    %e = memref.alloc() : memref<128x512xbf16, 3 : i32>
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%t : memref<128x512xbf16, 3 : i32>) outs(%e : memref<128x512xbf16, 3 : i32>) {
    ^bb0(%a: bf16, %o: bf16):
      %v = math.exp %a : bf16
      linalg.yield %v : bf16
    }
    %os = memref.subview %out[%r, 0] [128, 512] [1, 1] : memref<256x512xbf16, 4 : i32> to memref<128x512xbf16, strided<[512, 1], offset: ?>, 4 : i32>
    memref.copy %e, %os : memref<128x512xbf16, 3 : i32> to memref<128x512xbf16, strided<[512, 1], offset: ?>, 4 : i32>
    memref.dealloc %t : memref<128x512xbf16, 3 : i32>
    memref.dealloc %e : memref<128x512xbf16, 3 : i32>
  }
  return
}
