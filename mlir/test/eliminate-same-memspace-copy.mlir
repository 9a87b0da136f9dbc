// RUN: nkipy-kg-opt %s --eliminate-same-memspace-copy --split-input-file | filecheck %s

// Row 1: `copy %v, %v` (left by bufferizing a tiled matmul) and copies between
// identical subviews of one buffer are erased; a copy between different tiles stays.

// CHECK-LABEL: func.func @self_copies
// CHECK-NOT:     memref.copy %[[P:.*]], %[[P]]
// CHECK:         %[[A:.*]] = memref.subview %{{.*}}[%{{.*}}, 0] [4, 8] [1, 1]
// CHECK:         %[[B:.*]] = memref.subview %{{.*}}[4, 0] [4, 8] [1, 1]
// CHECK-NEXT:    memref.copy %[[A]], %[[B]]
// CHECK-NOT:     memref.copy
func.func @self_copies(%i: index) {
  %p = memref.alloc() : memref<4x8xf32, 2 : i32>
  memref.copy %p, %p : memref<4x8xf32, 2 : i32> to memref<4x8xf32, 2 : i32>
  %h = memref.alloc() : memref<8x8xf32, 1 : i32>
  %s1 = memref.subview %h[%i, 0] [4, 8] [1, 1] : memref<8x8xf32, 1 : i32> to memref<4x8xf32, strided<[8, 1], offset: ?>, 1 : i32>
  %s2 = memref.subview %h[%i, 0] [4, 8] [1, 1] : memref<8x8xf32, 1 : i32> to memref<4x8xf32, strided<[8, 1], offset: ?>, 1 : i32>
  memref.copy %s1, %s2 : memref<4x8xf32, strided<[8, 1], offset: ?>, 1 : i32> to memref<4x8xf32, strided<[8, 1], offset: ?>, 1 : i32>
  %s3 = memref.subview %h[4, 0] [4, 8] [1, 1] : memref<8x8xf32, 1 : i32> to memref<4x8xf32, strided<[8, 1], offset: 32>, 1 : i32>
  memref.copy %s1, %s3 : memref<4x8xf32, strided<[8, 1], offset: ?>, 1 : i32> to memref<4x8xf32, strided<[8, 1], offset: 32>, 1 : i32>
  return
}

// -----

// Row 2: an SBUF->SBUF copy into a fresh alloc forwards the source; its layout
// goes when the source has its own.

// CHECK-LABEL: func.func @forward_sbuf
// CHECK-SAME:    (%[[X:[^:]*]]: memref<128x64xf32, 4 : i32>, %[[S:[^:]*]]: memref<128x64xf32, 3 : i32>
// CHECK-NOT:     memref.copy
// CHECK:         "nkipy.layout"(%[[S]]) {mem_space = 3 : i32, partition_dim = 0 : ui32}
// CHECK-NOT:     nkipy.layout
// CHECK:         linalg.exp ins(%[[S]] : memref<128x64xf32, 3 : i32>)
func.func @forward_sbuf(%x: memref<128x64xf32, 4 : i32>, %s: memref<128x64xf32, 3 : i32>, %y: memref<128x64xf32, 3 : i32>) {
  "nkipy.layout"(%s) {mem_space = 3 : i32, partition_dim = 0 : ui32} : (memref<128x64xf32, 3 : i32>) -> ()
  %t = memref.alloc() : memref<128x64xf32, 3 : i32>
  memref.copy %s, %t : memref<128x64xf32, 3 : i32> to memref<128x64xf32, 3 : i32>
  "nkipy.layout"(%t) {mem_space = 3 : i32} : (memref<128x64xf32, 3 : i32>) -> ()
  linalg.exp ins(%t : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>)
  return
}

// -----

// A layout of the fresh alloc placed before the copy moves onto the source when
// the source has none.

// CHECK-LABEL: func.func @forward_layout
// CHECK-SAME:    (%[[S:[^:]*]]: memref<128x64xf32, 3 : i32>
// CHECK-NEXT:    "nkipy.layout"(%[[S]]) {mem_space = 3 : i32, tile_size = array<i64: 64, 64>}
// CHECK-NEXT:    linalg.exp ins(%[[S]] : memref<128x64xf32, 3 : i32>)
func.func @forward_layout(%s: memref<128x64xf32, 3 : i32>, %y: memref<128x64xf32, 3 : i32>) {
  %t = memref.alloc() : memref<128x64xf32, 3 : i32>
  "nkipy.layout"(%t) {mem_space = 3 : i32, tile_size = array<i64: 64, 64>} : (memref<128x64xf32, 3 : i32>) -> ()
  memref.copy %s, %t : memref<128x64xf32, 3 : i32> to memref<128x64xf32, 3 : i32>
  linalg.exp ins(%t : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>)
  return
}

// -----

// Row 2 does not apply: PSUM->PSUM, an alloc used before the copy, a source
// written after the copy, and a destination written while the source is still
// read afterwards.

// CHECK-LABEL: func.func @keep
// CHECK-COUNT-4: memref.copy
// CHECK-NOT:     memref.copy
func.func @keep(%s: memref<8xf32, 3 : i32>, %p: memref<8xf32, 2 : i32>, %y: memref<8xf32, 3 : i32>) {
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<8xf32, 2 : i32>
  memref.copy %p, %a : memref<8xf32, 2 : i32> to memref<8xf32, 2 : i32>
  %b = memref.alloc() : memref<8xf32, 3 : i32>
  linalg.fill ins(%cst : f32) outs(%b : memref<8xf32, 3 : i32>)
  memref.copy %s, %b : memref<8xf32, 3 : i32> to memref<8xf32, 3 : i32>
  %c = memref.alloc() : memref<8xf32, 3 : i32>
  memref.copy %s, %c : memref<8xf32, 3 : i32> to memref<8xf32, 3 : i32>
  linalg.fill ins(%cst : f32) outs(%s : memref<8xf32, 3 : i32>)
  linalg.exp ins(%c : memref<8xf32, 3 : i32>) outs(%y : memref<8xf32, 3 : i32>)
  %sb = memref.alloc() : memref<8xf32, 3 : i32>
  linalg.exp ins(%y : memref<8xf32, 3 : i32>) outs(%sb : memref<8xf32, 3 : i32>)
  %d = memref.alloc() : memref<8xf32, 3 : i32>
  memref.copy %sb, %d : memref<8xf32, 3 : i32> to memref<8xf32, 3 : i32>
  linalg.add ins(%d, %d : memref<8xf32, 3 : i32>, memref<8xf32, 3 : i32>) outs(%d : memref<8xf32, 3 : i32>)
  linalg.exp ins(%sb : memref<8xf32, 3 : i32>) outs(%y : memref<8xf32, 3 : i32>)
  return
}

// -----

// Row 2, round trip: a reduction's SBUF accumulator slice copied out, updated and
// copied back onto the same slice is updated in place (both copies go). When the
// accumulator is read while the tile is out, both copies stay.

// CHECK-LABEL: func.func @round_trip
// CHECK:         %[[V:.*]] = memref.subview %[[ACC:.*]][%{{.*}}, 0] [128, 1] [1, 1]
// CHECK-NEXT:    linalg.generic {{.*}} ins(%{{.*}} : memref<128x64xf32, 3 : i32>) outs(%[[V]] : memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32>)
// CHECK-NOT:     memref.copy
// CHECK-LABEL: func.func @round_trip_read_between
// CHECK-COUNT-2: memref.copy
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func @round_trip(%x: memref<128x64xf32, 3 : i32>, %i: index) {
  %acc = memref.alloc() : memref<256x1xf32, 3 : i32>
  %in = memref.subview %acc[%i, 0] [128, 1] [1, 1] : memref<256x1xf32, 3 : i32> to memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32>
  %t = memref.alloc() : memref<128x1xf32, 3 : i32>
  memref.copy %in, %t : memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32> to memref<128x1xf32, 3 : i32>
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%t : memref<128x1xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %o : f32
    linalg.yield %m : f32
  }
  %out = memref.subview %acc[%i, 0] [128, 1] [1, 1] : memref<256x1xf32, 3 : i32> to memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32>
  memref.copy %t, %out : memref<128x1xf32, 3 : i32> to memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32>
  return
}
func.func @round_trip_read_between(%x: memref<128x64xf32, 3 : i32>, %y: memref<256x1xf32, 3 : i32>, %i: index) {
  %acc = memref.alloc() : memref<256x1xf32, 3 : i32>
  %in = memref.subview %acc[%i, 0] [128, 1] [1, 1] : memref<256x1xf32, 3 : i32> to memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32>
  %t = memref.alloc() : memref<128x1xf32, 3 : i32>
  memref.copy %in, %t : memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32> to memref<128x1xf32, 3 : i32>
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%t : memref<128x1xf32, 3 : i32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %o : f32
    linalg.yield %m : f32
  }
  linalg.exp ins(%acc : memref<256x1xf32, 3 : i32>) outs(%y : memref<256x1xf32, 3 : i32>)
  %out = memref.subview %acc[%i, 0] [128, 1] [1, 1] : memref<256x1xf32, 3 : i32> to memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32>
  memref.copy %t, %out : memref<128x1xf32, 3 : i32> to memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32>
  return
}

// -----

// Row 4: a tile computed into a fresh SBUF alloc and copied into an SBUF buffer is
// computed there (the view is rebuilt before the op). When the buffer is read
// while the tile is computed, the copy stays.

// CHECK-LABEL: func.func @write_in_place
// CHECK:         %[[D:.*]] = memref.subview %[[E:.*]][%{{.*}}, 0] [128, 64] [1, 1]
// CHECK-NEXT:    linalg.exp ins(%{{.*}} : memref<128x64xf32, 3 : i32>) outs(%[[D]] : memref<128x64xf32, strided<[64, 1], offset: ?>, 3 : i32>)
// CHECK-NOT:     memref.copy
// CHECK-LABEL: func.func @write_in_place_read_between
// CHECK:         memref.copy
func.func @write_in_place(%x: memref<128x64xf32, 3 : i32>, %i: index) -> memref<256x64xf32, 3 : i32> {
  %e = memref.alloc() : memref<256x64xf32, 3 : i32>
  %t = memref.alloc() : memref<128x64xf32, 3 : i32>
  linalg.exp ins(%x : memref<128x64xf32, 3 : i32>) outs(%t : memref<128x64xf32, 3 : i32>)
  %d = memref.subview %e[%i, 0] [128, 64] [1, 1] : memref<256x64xf32, 3 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 3 : i32>
  memref.copy %t, %d : memref<128x64xf32, 3 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 3 : i32>
  return %e : memref<256x64xf32, 3 : i32>
}
func.func @write_in_place_read_between(%x: memref<128x64xf32, 3 : i32>, %y: memref<256x64xf32, 3 : i32>, %i: index) -> memref<256x64xf32, 3 : i32> {
  %e = memref.alloc() : memref<256x64xf32, 3 : i32>
  %t = memref.alloc() : memref<128x64xf32, 3 : i32>
  linalg.exp ins(%x : memref<128x64xf32, 3 : i32>) outs(%t : memref<128x64xf32, 3 : i32>)
  linalg.exp ins(%e : memref<256x64xf32, 3 : i32>) outs(%y : memref<256x64xf32, 3 : i32>)
  %d = memref.subview %e[%i, 0] [128, 64] [1, 1] : memref<256x64xf32, 3 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 3 : i32>
  memref.copy %t, %d : memref<128x64xf32, 3 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 3 : i32>
  return %e : memref<256x64xf32, 3 : i32>
}

// -----

// Row 3: `acc[i] = x` in a fori_loop: the HBM temporary written tile by tile and
// bulk-copied through a 1xMxN expand into out[i] is replaced by subviews of out.

// CHECK-LABEL: func.func @hbm_intermediate
// CHECK-SAME:    (%[[OUT:.*]]: memref<4x256x64xf32, 4 : i32>
// CHECK:         scf.for %[[B:.*]] =
// CHECK-NOT:       memref.alloc() : memref<256x64xf32
// CHECK:           scf.for %[[I:.*]] =
// CHECK:             %[[O:.*]] = arith.muli %[[I]]
// CHECK:             %[[V:.*]] = memref.subview %[[OUT]][%[[B]], %[[O]], 0] [1, 128, 64] [1, 1, 1] : memref<4x256x64xf32, 4 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 4 : i32>
// CHECK:             memref.copy %{{.*}}, %[[V]] : memref<128x64xf32, 3 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 4 : i32>
// CHECK-NOT:       memref.expand_shape
// CHECK-NOT:       memref.copy
// CHECK:         return
func.func @hbm_intermediate(%out: memref<4x256x64xf32, 4 : i32>, %x: memref<128x64xf32, 3 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c128 = arith.constant 128 : index
  scf.for %b = %c0 to %c4 step %c1 {
    %tmp = memref.alloc() : memref<256x64xf32, 1 : i32>
    "nkipy.layout"(%tmp) {mem_space = 1 : i32} : (memref<256x64xf32, 1 : i32>) -> ()
    scf.for %i = %c0 to %c2 step %c1 {
      %o = arith.muli %i, %c128 : index
      %t = memref.subview %tmp[%o, 0] [128, 64] [1, 1] : memref<256x64xf32, 1 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 1 : i32>
      memref.copy %x, %t : memref<128x64xf32, 3 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 1 : i32>
    }
    %e = memref.expand_shape %tmp [[0, 1], [2]] output_shape [1, 256, 64] : memref<256x64xf32, 1 : i32> into memref<1x256x64xf32, 1 : i32>
    %d = memref.subview %out[%b, 0, 0] [1, 256, 64] [1, 1, 1] : memref<4x256x64xf32, 4 : i32> to memref<1x256x64xf32, strided<[16384, 64, 1], offset: ?>, 4 : i32>
    memref.copy %e, %d : memref<1x256x64xf32, 1 : i32> to memref<1x256x64xf32, strided<[16384, 64, 1], offset: ?>, 4 : i32>
  }
  return
}
