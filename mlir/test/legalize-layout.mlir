// RUN: nkipy-kg-opt %s --legalize-layout=target=trn2 --split-input-file | filecheck %s

// 256x256 SBUF with tile [128, 128] is stored as [t0, nb0, nb1, t1] = 128x2x2x128.
// The whole-buffer HBM -> SBUF copy becomes a 2x2 loop nest of 2-D [128, 128]
// copies; the tiled subview `[%i*128, %j*128]` becomes block `[0, %i, %j, 0]`,
// seen by linalg.exp through a 2-D collapse_shape.

// CHECK-LABEL: func.func @tiled
// CHECK:         %[[A:.*]] = memref.alloc() : memref<128x2x2x128xf32, 3 : i32>
// CHECK:         scf.for %[[B0:.*]] =
// CHECK:           scf.for %[[B1:.*]] =
// CHECK:             %[[H:.*]] = memref.subview %arg0[%{{.*}}, %{{.*}}] [128, 128] [1, 1]
// CHECK:             %[[T:.*]] = memref.subview %[[A]][0, %[[B0]], %[[B1]], 0] [128, 1, 1, 128] [1, 1, 1, 1]
// CHECK:             %[[T2:.*]] = memref.collapse_shape %[[T]] {{\[\[}}0, 1, 2], [3]] {{.*}} into memref<128x128xf32, strided<[512, 1], offset: ?>, 3 : i32>
// CHECK:             memref.copy %[[H]], %[[T2]]
// CHECK:         scf.for %[[I:.*]] =
// CHECK:           scf.for %[[J:.*]] =
// CHECK:             %[[S:.*]] = memref.subview %[[A]][0, %[[I]], %[[J]], 0] [128, 1, 1, 128] [1, 1, 1, 1]
// CHECK:             %[[S2:.*]] = memref.collapse_shape %[[S]] {{\[\[}}0, 1], [2, 3]] {{.*}} into memref<128x128xf32, strided<[512, 1], offset: ?>, 3 : i32>
// CHECK:             linalg.exp ins(%[[S2]] : memref<128x128xf32, strided<[512, 1], offset: ?>, 3 : i32>)
// CHECK-NOT:     nkipy.layout
// CHECK-NOT:     memref<256x256xf32, 3 : i32>
func.func @tiled(%x: memref<256x256xf32, 4 : i32>) -> memref<256x256xf32, 4 : i32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %sb = memref.alloc() : memref<256x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (memref<256x256xf32, 3 : i32>) -> ()
  memref.copy %x, %sb : memref<256x256xf32, 4 : i32> to memref<256x256xf32, 3 : i32>
  %out = memref.alloc() : memref<256x256xf32, 4 : i32>
  scf.for %i = %c0 to %c2 step %c1 {
    %o0 = arith.muli %i, %c128 : index
    scf.for %j = %c0 to %c2 step %c1 {
      %o1 = arith.muli %j, %c128 : index
      %s = memref.subview %sb[%o0, %o1] [128, 128] [1, 1] : memref<256x256xf32, 3 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>
      %t = memref.alloc() : memref<128x128xf32, 3 : i32>
      linalg.exp ins(%s : memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>) outs(%t : memref<128x128xf32, 3 : i32>)
      %d = memref.subview %out[%o0, %o1] [128, 128] [1, 1] : memref<256x256xf32, 4 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 4 : i32>
      memref.copy %t, %d : memref<128x128xf32, 3 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 4 : i32>
    }
  }
  return %out : memref<256x256xf32, 4 : i32>
}

// -----

// 3-D [256, 2, 256] with tile [128, 1, 128] -> [128, nb0=2, nb1=2, nb2=2, 128]. The
// subview chain (row block, then [0, %k, %j*128]) composes into one block subview;
// rank-3 operands are collapsed to 2-D [128, 128] everywhere.

// CHECK-LABEL: func.func @chain3d
// CHECK:         %[[A:.*]] = memref.alloc() : memref<128x2x2x2x128xf32, 3 : i32>
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<128x128xf32, strided<[512, 1], offset: ?>, 4 : i32> to memref<128x128xf32, strided<[1024, 1], offset: ?>, 3 : i32>
// CHECK:         scf.for %[[I:.*]] =
// CHECK-NOT:       memref.subview %[[A]]
// CHECK:           scf.for %[[K:.*]] =
// CHECK:             scf.for %[[J:.*]] =
// CHECK:               %[[S:.*]] = memref.subview %[[A]][0, %[[I]], %[[K]], %[[J]], 0] [128, 1, 1, 1, 128]
// CHECK:               %[[S2:.*]] = memref.collapse_shape %[[S]] {{\[\[}}0, 1], [2, 3, 4]]
// CHECK:               %[[T:.*]] = memref.alloc() : memref<128x1x128xf32, 3 : i32>
// CHECK:               %[[T2:.*]] = memref.collapse_shape %[[T]] {{\[\[}}0], [1, 2]]
// CHECK:               linalg.exp ins(%[[S2]] : memref<128x128xf32, strided<[1024, 1], offset: ?>, 3 : i32>) outs(%[[T2]] : memref<128x128xf32, 3 : i32>)
// CHECK:               memref.copy %{{.*}}, %{{.*}} : memref<128x128xf32, 3 : i32> to memref<128x128xf32, strided<[512, 1], offset: ?>, 4 : i32>
func.func @chain3d(%x: memref<256x2x256xf32, 4 : i32>) -> memref<256x2x256xf32, 4 : i32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %sb = memref.alloc() : memref<256x2x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 1, 128>} : (memref<256x2x256xf32, 3 : i32>) -> ()
  memref.copy %x, %sb : memref<256x2x256xf32, 4 : i32> to memref<256x2x256xf32, 3 : i32>
  %out = memref.alloc() : memref<256x2x256xf32, 4 : i32>
  scf.for %i = %c0 to %c2 step %c1 {
    %o0 = arith.muli %i, %c128 : index
    %rows = memref.subview %sb[%o0, 0, 0] [128, 2, 256] [1, 1, 1] : memref<256x2x256xf32, 3 : i32> to memref<128x2x256xf32, strided<[512, 256, 1], offset: ?>, 3 : i32>
    scf.for %k = %c0 to %c2 step %c1 {
      scf.for %j = %c0 to %c2 step %c1 {
        %o1 = arith.muli %j, %c128 : index
        %s = memref.subview %rows[0, %k, %o1] [128, 1, 128] [1, 1, 1] : memref<128x2x256xf32, strided<[512, 256, 1], offset: ?>, 3 : i32> to memref<128x1x128xf32, strided<[512, 256, 1], offset: ?>, 3 : i32>
        %t = memref.alloc() : memref<128x1x128xf32, 3 : i32>
        linalg.exp ins(%s : memref<128x1x128xf32, strided<[512, 256, 1], offset: ?>, 3 : i32>) outs(%t : memref<128x1x128xf32, 3 : i32>)
        %d = memref.subview %out[%o0, %k, %o1] [128, 1, 128] [1, 1, 1] : memref<256x2x256xf32, 4 : i32> to memref<128x1x128xf32, strided<[512, 256, 1], offset: ?>, 4 : i32>
        memref.copy %t, %d : memref<128x1x128xf32, 3 : i32> to memref<128x1x128xf32, strided<[512, 256, 1], offset: ?>, 4 : i32>
      }
    }
  }
  return %out : memref<256x2x256xf32, 4 : i32>
}

// -----

// A narrow free tile (t_last = 1 < 128) over two partition blocks gets the
// partition-contiguous strided layout; the untiled fill becomes a per-block loop
// (a collapse of a strided layout is not a view).

// CHECK-LABEL: func.func @strided
// CHECK:         %[[A:.*]] = memref.alloc() : memref<128x2x1x1xf32, 3 : i32>
// CHECK:         %[[R:.*]] = memref.reinterpret_cast %[[A]] to offset: [0], sizes: [128, 2, 1, 1], strides: [1, 128, 128, 128]
// CHECK:         scf.for %[[B:.*]] =
// CHECK:           %[[T:.*]] = memref.subview %[[R]][0, %[[B]], 0, 0] [128, 1, 1, 1]
// CHECK:           %[[T2:.*]] = memref.collapse_shape %[[T]]
// CHECK:           linalg.fill ins(%{{.*}} : f32) outs(%[[T2]] : memref<128x1xf32, strided<[1, 128], offset: ?>, 3 : i32>)
// CHECK:         scf.for %[[I:.*]] =
// CHECK:           memref.subview %[[R]][0, %[[I]], 0, 0] [128, 1, 1, 1]
// CHECK:           linalg.add ins(%{{.*}}, %{{.*}} : memref<128x1xf32, strided<[1, 128], offset: ?>, 3 : i32>, memref<128x1xf32, strided<[1, 1], offset: ?>, 4 : i32>)
func.func @strided(%x: memref<256x1xf32, 4 : i32>) -> memref<256x1xf32, 4 : i32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %cst = arith.constant 1.0 : f32
  %sb = memref.alloc() : memref<256x1xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 1>} : (memref<256x1xf32, 3 : i32>) -> ()
  linalg.fill ins(%cst : f32) outs(%sb : memref<256x1xf32, 3 : i32>)
  %out = memref.alloc() : memref<256x1xf32, 4 : i32>
  scf.for %i = %c0 to %c2 step %c1 {
    %o0 = arith.muli %i, %c128 : index
    %s = memref.subview %sb[%o0, 0] [128, 1] [1, 1] : memref<256x1xf32, 3 : i32> to memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32>
    %xs = memref.subview %x[%o0, 0] [128, 1] [1, 1] : memref<256x1xf32, 4 : i32> to memref<128x1xf32, strided<[1, 1], offset: ?>, 4 : i32>
    %t = memref.alloc() : memref<128x1xf32, 3 : i32>
    linalg.add ins(%s, %xs : memref<128x1xf32, strided<[1, 1], offset: ?>, 3 : i32>, memref<128x1xf32, strided<[1, 1], offset: ?>, 4 : i32>) outs(%t : memref<128x1xf32, 3 : i32>)
    %d = memref.subview %out[%o0, 0] [128, 1] [1, 1] : memref<256x1xf32, 4 : i32> to memref<128x1xf32, strided<[1, 1], offset: ?>, 4 : i32>
    memref.copy %t, %d : memref<128x1xf32, 3 : i32> to memref<128x1xf32, strided<[1, 1], offset: ?>, 4 : i32>
  }
  return %out : memref<256x1xf32, 4 : i32>
}

// -----

// NISA memset writes SBUF/PSUM only: an HBM fill becomes an SBUF tile fill plus
// a loop of copies into the HBM row blocks.

// CHECK-LABEL: func.func @hbm_fill
// CHECK:         %[[H:.*]] = memref.alloc() : memref<256x64xf32, 4 : i32>
// CHECK:         %[[S:.*]] = memref.alloc() : memref<128x64xf32, 3 : i32>
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%[[S]] : memref<128x64xf32, 3 : i32>)
// CHECK:         scf.for
// CHECK:           %[[D:.*]] = memref.subview %[[H]][%{{.*}}, 0] [128, 64] [1, 1]
// CHECK:           memref.copy %[[S]], %[[D]]
// CHECK-NOT:     linalg.fill
func.func @hbm_fill() -> memref<256x64xf32, 4 : i32> {
  %cst = arith.constant 0.0 : f32
  %out = memref.alloc() : memref<256x64xf32, 4 : i32>
  linalg.fill ins(%cst : f32) outs(%out : memref<256x64xf32, 4 : i32>)
  return %out : memref<256x64xf32, 4 : i32>
}

// -----

// A non-unit middle tile cannot be a [partition, free] tile: with more than one
// partition block the buffer and its views are demoted to SharedHbm.

// CHECK-LABEL: func.func @demote
// CHECK:         %[[A:.*]] = memref.alloc() : memref<256x4x256xf32, 4 : i32>
// CHECK:         memref.subview %[[A]][0, 0, 0] [128, 2, 128] [1, 1, 1] : memref<256x4x256xf32, 4 : i32> to memref<128x2x128xf32, strided<[1024, 256, 1]>, 4 : i32>
// CHECK-NOT:     3 : i32>
func.func @demote(%x: memref<256x4x256xf32, 4 : i32>) -> memref<256x4x256xf32, 4 : i32> {
  %sb = memref.alloc() : memref<256x4x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 2, 128>} : (memref<256x4x256xf32, 3 : i32>) -> ()
  memref.copy %x, %sb : memref<256x4x256xf32, 4 : i32> to memref<256x4x256xf32, 3 : i32>
  %s = memref.subview %sb[0, 0, 0] [128, 2, 128] [1, 1, 1] : memref<256x4x256xf32, 3 : i32> to memref<128x2x128xf32, strided<[1024, 256, 1]>, 3 : i32>
  %out = memref.alloc() : memref<256x4x256xf32, 4 : i32>
  memref.copy %sb, %out : memref<256x4x256xf32, 3 : i32> to memref<256x4x256xf32, 4 : i32>
  return %out : memref<256x4x256xf32, 4 : i32>
}

// -----

// A linalg op that read or wrote a demoted buffer in place gets SBUF tiles of its views
// (engines reach SBUF/PSUM only): copies in before it, the written tile copied back after.

// CHECK-LABEL: func.func @demote_in_place
// CHECK:         memref.alloc() : memref<256x4x64xf32, 4 : i32>
// CHECK:         memref.alloc() : memref<128x4x64xf32, 3 : i32>
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<128x256xf32, strided<[256, 1], offset: ?>, 4 : i32> to memref<128x256xf32, 3 : i32>
// CHECK:         linalg.exp ins(%{{.*}} : memref<128x256xf32, 3 : i32>) outs(%{{.*}} : memref<128x256xf32, 3 : i32>)
// CHECK-NEXT:    memref.collapse_shape
// CHECK-NEXT:    memref.collapse_shape
// CHECK-NEXT:    memref.copy %{{.*}}, %{{.*}} : memref<128x256xf32, 3 : i32> to memref<128x256xf32, strided<[256, 1], offset: ?>, 4 : i32>
func.func @demote_in_place(%x: memref<256x4x64xf32, 4 : i32>, %i: index) -> memref<256x4x64xf32, 4 : i32> {
  %sb = memref.alloc() : memref<256x4x64xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 4, 64>} : (memref<256x4x64xf32, 3 : i32>) -> ()
  memref.copy %x, %sb : memref<256x4x64xf32, 4 : i32> to memref<256x4x64xf32, 3 : i32>
  %out = memref.alloc() : memref<256x4x64xf32, 3 : i32>
  "nkipy.layout"(%out) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 4, 64>} : (memref<256x4x64xf32, 3 : i32>) -> ()
  %v = memref.subview %sb[%i, 0, 0] [128, 4, 64] [1, 1, 1] : memref<256x4x64xf32, 3 : i32> to memref<128x4x64xf32, strided<[256, 64, 1], offset: ?>, 3 : i32>
  %w = memref.subview %out[%i, 0, 0] [128, 4, 64] [1, 1, 1] : memref<256x4x64xf32, 3 : i32> to memref<128x4x64xf32, strided<[256, 64, 1], offset: ?>, 3 : i32>
  linalg.exp ins(%v : memref<128x4x64xf32, strided<[256, 64, 1], offset: ?>, 3 : i32>) outs(%w : memref<128x4x64xf32, strided<[256, 64, 1], offset: ?>, 3 : i32>)
  %r = memref.alloc() : memref<256x4x64xf32, 4 : i32>
  memref.copy %out, %r : memref<256x4x64xf32, 3 : i32> to memref<256x4x64xf32, 4 : i32>
  return %r : memref<256x4x64xf32, 4 : i32>
}

// -----

// A whole HBM -> SBUF transpose is tiled: SBUF block (0, b) is the 2-D transpose
// of HBM rows [b*128, +128).

// CHECK-LABEL: func.func @transpose
// CHECK:         %[[A:.*]] = memref.alloc() : memref<128x1x2x128xf32, 3 : i32>
// CHECK:         scf.for %[[B:.*]] =
// CHECK:           %[[O:.*]] = arith.muli %[[B]], %{{.*}} : index
// CHECK:           %[[H:.*]] = memref.subview %arg0[%[[O]], 0] [128, 128] [1, 1]
// CHECK:           %[[T:.*]] = memref.subview %[[A]][0, 0, %[[B]], 0] [128, 1, 1, 128]
// CHECK:           %[[T2:.*]] = memref.collapse_shape %[[T]]
// CHECK:           linalg.transpose ins(%[[H]] : {{.*}}) outs(%[[T2]] : {{.*}}) permutation = [1, 0]
func.func @transpose(%x: memref<256x128xf32, 4 : i32>) -> memref<128x256xf32, 4 : i32> {
  %sb = memref.alloc() : memref<128x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (memref<128x256xf32, 3 : i32>) -> ()
  linalg.transpose ins(%x : memref<256x128xf32, 4 : i32>) outs(%sb : memref<128x256xf32, 3 : i32>) permutation = [1, 0]
  %out = memref.alloc() : memref<128x256xf32, 4 : i32>
  memref.copy %sb, %out : memref<128x256xf32, 3 : i32> to memref<128x256xf32, 4 : i32>
  return %out : memref<128x256xf32, 4 : i32>
}

// -----

// An expand_shape view of a legalized buffer (left by canonicalize-reshape as the
// source of a materializing copy) becomes a tiled copy into the collapsed target.
// The 4-D target [2, 128, 2, 128] has its partition tile on dim 1 and a second
// non-unit tile on dim 2, which no [partition, free] tile can hold: it is demoted
// to SharedHbm (4) and filled tile by tile from SBUF.

// CHECK-LABEL: func.func @expand_copy
// CHECK-NOT:     memref.expand_shape
// CHECK:         %[[B:.*]] = memref.alloc() : memref<2x128x2x128xf32, 4 : i32>
// CHECK:         %[[BV:.*]] = memref.collapse_shape %[[B]] {{\[\[}}0, 1], [2, 3]] : memref<2x128x2x128xf32, 4 : i32> into memref<256x256xf32, 4 : i32>
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             %[[D:.*]] = memref.subview %[[BV]][%{{.*}}, %{{.*}}] [128, 128] [1, 1]
// CHECK:             memref.copy %{{.*}}, %[[D]] : memref<128x128xf32, strided<[512, 1], offset: ?>, 3 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 4 : i32>
func.func @expand_copy(%x: memref<256x256xf32, 4 : i32>) -> memref<2x128x2x128xf32, 4 : i32> {
  %sb = memref.alloc() : memref<256x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (memref<256x256xf32, 3 : i32>) -> ()
  memref.copy %x, %sb : memref<256x256xf32, 4 : i32> to memref<256x256xf32, 3 : i32>
  %e = memref.expand_shape %sb [[0, 1], [2, 3]] output_shape [2, 128, 2, 128] : memref<256x256xf32, 3 : i32> into memref<2x128x2x128xf32, 3 : i32>
  %b = memref.alloc() : memref<2x128x2x128xf32, 3 : i32>
  memref.copy %e, %b : memref<2x128x2x128xf32, 3 : i32> to memref<2x128x2x128xf32, 3 : i32>
  %out = memref.alloc() : memref<2x128x2x128xf32, 4 : i32>
  memref.copy %b, %out : memref<2x128x2x128xf32, 3 : i32> to memref<2x128x2x128xf32, 4 : i32>
  return %out : memref<2x128x2x128xf32, 4 : i32>
}

// -----

// A whole transpose of a [128, 256]-tiled buffer into a [128, 128]-tiled one: each
// 128x256 block is cut into 128-column chunks, the other side's partition dim.

// CHECK-LABEL: func.func @wide_transpose
// CHECK:         %[[A:.*]] = memref.alloc() : memref<128x2x1x256xf32, 3 : i32>
// CHECK:         %[[T:.*]] = memref.alloc() : memref<128x2x2x128xf32, 3 : i32>
// CHECK:         scf.for %[[B:.*]] =
// CHECK:           scf.for %[[C:.*]] =
// CHECK:             %[[O:.*]] = arith.muli %[[C]], %{{.*}} : index
// CHECK:             %[[S:.*]] = memref.subview %[[A]][0, %[[B]], 0, %[[O]]] [128, 1, 1, 128]
// CHECK:             %[[D:.*]] = memref.subview %[[T]][0, %[[C]], %[[B]], 0] [128, 1, 1, 128]
// CHECK:             linalg.transpose ins(%{{.*}} : memref<128x128xf32, strided<[512, 1], offset: ?>, 3 : i32>) outs(%{{.*}} : memref<128x128xf32, strided<[512, 1], offset: ?>, 3 : i32>) permutation = [1, 0]
func.func @wide_transpose(%x: memref<256x256xf32, 4 : i32>) -> memref<256x256xf32, 4 : i32> {
  %sb = memref.alloc() : memref<256x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 256>} : (memref<256x256xf32, 3 : i32>) -> ()
  memref.copy %x, %sb : memref<256x256xf32, 4 : i32> to memref<256x256xf32, 3 : i32>
  %t = memref.alloc() : memref<256x256xf32, 3 : i32>
  "nkipy.layout"(%t) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (memref<256x256xf32, 3 : i32>) -> ()
  linalg.transpose ins(%sb : memref<256x256xf32, 3 : i32>) outs(%t : memref<256x256xf32, 3 : i32>) permutation = [1, 0]
  %out = memref.alloc() : memref<256x256xf32, 4 : i32>
  memref.copy %t, %out : memref<256x256xf32, 3 : i32> to memref<256x256xf32, 4 : i32>
  return %out : memref<256x256xf32, 4 : i32>
}

// -----

// np.split's strided copy: the [256, 256] column slice at 256 of a [256, 768] buffer
// (tile [128, 128], stored 128x2x6x128) spans 2x2 blocks. It is no single 2-D tile,
// so the copy to HBM runs block by block from block [0, 2].
// CHECK-LABEL: func.func @split_copy
// CHECK:         %[[SB:.*]] = memref.alloc() : memref<128x2x6x128xf32, 3 : i32>
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}}
// CHECK:           scf.for %[[J:.*]] = %{{.*}} to %{{.*}}
// CHECK:             %[[B:.*]] = arith.addi %{{.*}}, %[[J]] : index
// CHECK:             %[[T:.*]] = memref.subview %[[SB]][0, %[[I]], %[[B]], 0] [128, 1, 1, 128]
// CHECK:             %[[C:.*]] = memref.collapse_shape %[[T]] {{\[\[}}0, 1, 2], [3]]
// CHECK:             %[[H:.*]] = memref.subview %{{.*}}[%{{.*}}, %{{.*}}] [128, 128] [1, 1] : memref<256x256xf32, 4 : i32>
// CHECK:             memref.copy %[[C]], %[[H]] : memref<128x128xf32, {{.*}}, 3 : i32> to memref<128x128xf32, {{.*}}, 4 : i32>
// CHECK-NOT:     memref<256x768xf32, 3 : i32>
func.func @split_copy(%x: memref<256x768xf32, 4 : i32>) -> memref<256x256xf32, 4 : i32> {
  %sb = memref.alloc() : memref<256x768xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (memref<256x768xf32, 3 : i32>) -> ()
  memref.copy %x, %sb : memref<256x768xf32, 4 : i32> to memref<256x768xf32, 3 : i32>
  %s = memref.subview %sb[0, 256] [256, 256] [1, 1] : memref<256x768xf32, 3 : i32> to memref<256x256xf32, strided<[768, 1], offset: 256>, 3 : i32>
  %out = memref.alloc() : memref<256x256xf32, 4 : i32>
  memref.copy %s, %out : memref<256x256xf32, strided<[768, 1], offset: 256>, 3 : i32> to memref<256x256xf32, 4 : i32>
  return %out : memref<256x256xf32, 4 : i32>
}

// -----

// A subview chain through a rank-reducing subview (one head [256, 256] of a
// batch-leading [4, 256, 256], then a row block, then a column block): the dropped
// head dim comes back, and the chain is the one block [0, head 2, row 1, col 1, 0].
// CHECK-LABEL: func.func @head_of_head
// CHECK:         %[[SB:.*]] = memref.alloc() : memref<128x4x2x2x128xf32, 3 : i32>
// CHECK-NEXT:    %[[T:.*]] = memref.subview %[[SB]][0, 2, 1, 1, 0] [128, 1, 1, 1, 128]
// CHECK-NEXT:    %[[C:.*]] = memref.collapse_shape %[[T]] {{\[\[}}0, 1], [2, 3, 4]]
// CHECK-NEXT:    linalg.exp ins(%[[C]] : memref<128x128xf32, strided<[2048, 1], offset: 1408>, 3 : i32>)
func.func @head_of_head(%out: memref<128x128xf32, 3 : i32>) {
  %sb = memref.alloc() : memref<4x256x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 1, 128, 128>} : (memref<4x256x256xf32, 3 : i32>) -> ()
  %h = memref.subview %sb[2, 0, 0] [1, 256, 256] [1, 1, 1] : memref<4x256x256xf32, 3 : i32> to memref<256x256xf32, strided<[256, 1], offset: 131072>, 3 : i32>
  %r = memref.subview %h[128, 0] [128, 256] [1, 1] : memref<256x256xf32, strided<[256, 1], offset: 131072>, 3 : i32> to memref<128x256xf32, strided<[256, 1], offset: 163840>, 3 : i32>
  %t = memref.subview %r[0, 128] [128, 128] [1, 1] : memref<128x256xf32, strided<[256, 1], offset: 163840>, 3 : i32> to memref<128x128xf32, strided<[256, 1], offset: 163968>, 3 : i32>
  linalg.exp ins(%t : memref<128x128xf32, strided<[256, 1], offset: 163968>, 3 : i32>) outs(%out : memref<128x128xf32, 3 : i32>)
  return
}

// -----

// `x - max` on one [128, 1, 128] block of a [256, 8, 256] buffer (tile [128, 1, 128]):
// the 3-D generic with a [128, 1, 1] broadcast operand loses its unit loop d1 and
// runs on 2-D tiles, the broadcast becoming a per-partition (d0, 0) operand.
// CHECK-DAG:   #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[BC:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @unit_loops
// CHECK-DAG:     %[[M:.*]] = memref.collapse_shape %arg0 {{\[\[}}0], [1, 2]] : memref<128x1x1xf32, 3 : i32> into memref<128x1xf32, 3 : i32>
// CHECK-DAG:     %[[O:.*]] = memref.collapse_shape %arg1 {{\[\[}}0], [1, 2]] : memref<128x1x128xf32, 3 : i32> into memref<128x128xf32, 3 : i32>
// CHECK:         linalg.generic {indexing_maps = [#[[ID]], #[[BC]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:      ins(%{{.*}}, %[[M]] : memref<128x128xf32, strided<[4096, 1], offset: ?>, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%[[O]] : memref<128x128xf32, 3 : i32>)
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
func.func @unit_loops(%m: memref<128x1x1xf32, 3 : i32>, %o: memref<128x1x128xf32, 3 : i32>, %h: index) {
  %sb = memref.alloc() : memref<256x8x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 1, 128>} : (memref<256x8x256xf32, 3 : i32>) -> ()
  %s = memref.subview %sb[128, %h, 0] [128, 1, 128] [1, 1, 1] : memref<256x8x256xf32, 3 : i32> to memref<128x1x128xf32, strided<[2048, 256, 1], offset: ?>, 3 : i32>
  linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %m : memref<128x1x128xf32, strided<[2048, 256, 1], offset: ?>, 3 : i32>, memref<128x1x1xf32, 3 : i32>) outs(%o : memref<128x1x128xf32, 3 : i32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %d = arith.subf %in, %in2 : f32
    linalg.yield %d : f32
  }
  return
}

// -----

// A one-block per-head tile [1, 128, 256] is allocated partition dim first, [128, 256],
// and seen through an expand_shape: every SBUF alloc leaving the pass has its
// partitions on dim 0 (insert-spill-reload and the simulator count bytes that way).
// CHECK-LABEL: func.func @head_tile
// CHECK:         %[[A:.*]] = memref.alloc() {alignment = 64 : i64} : memref<128x256xf32, 3 : i32>
// CHECK-NEXT:    memref.expand_shape %[[A]] {{\[\[}}0, 1], [2]] output_shape [1, 128, 256]
// CHECK-NOT:     memref.alloc
// CHECK:         return
func.func @head_tile(%x: memref<1x128x256xf32, 4 : i32>) {
  %t = memref.alloc() {alignment = 64 : i64} : memref<1x128x256xf32, 3 : i32>
  memref.copy %x, %t : memref<1x128x256xf32, 4 : i32> to memref<1x128x256xf32, 3 : i32>
  memref.copy %t, %x : memref<1x128x256xf32, 3 : i32> to memref<1x128x256xf32, 4 : i32>
  return
}

// -----

// A 1-D SBUF vector longer than the partitions (rmsnorm's weight) filled 128 elements
// at a time (a bf16 -> f32 cast tiled along N): the [1, 256] row's chunk subviews are
// [0, o] [1, 128], the HBM side is expanded to [1, 128], the broadcast reads (0, d1).
// CHECK-DAG:   #[[ROW:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func.func @vector_chunks
// CHECK:         %[[V:.*]] = memref.alloc() : memref<1x256xf32, 3 : i32>
// CHECK:         scf.for
// CHECK:           %[[S:.*]] = memref.subview %[[V]][0, %{{.*}}] [1, 128] [1, 1]
// CHECK:           %[[H:.*]] = memref.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [1, 128]
// CHECK:           memref.copy %[[H]], %[[S]] : memref<1x128xf32, {{.*}}, 4 : i32> to memref<1x128xf32, {{.*}}, 3 : i32>
// CHECK:         linalg.generic {indexing_maps = [#{{.*}}, #[[ROW]], #{{.*}}]
// CHECK-SAME:      ins(%{{.*}}, %[[V]] : memref<128x256xf32, 3 : i32>, memref<1x256xf32, 3 : i32>)
#bc = affine_map<(d0, d1) -> (d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @vector_chunks(%w: memref<256xf32, 4 : i32>, %x: memref<128x256xf32, 3 : i32>, %y: memref<128x256xf32, 3 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %v = memref.alloc() : memref<256xf32, 3 : i32>
  scf.for %i = %c0 to %c2 step %c1 {
    %o = arith.muli %i, %c128 : index
    %hw = memref.subview %w[%o] [128] [1] : memref<256xf32, 4 : i32> to memref<128xf32, strided<[1], offset: ?>, 4 : i32>
    %sv = memref.subview %v[%o] [128] [1] : memref<256xf32, 3 : i32> to memref<128xf32, strided<[1], offset: ?>, 3 : i32>
    memref.copy %hw, %sv : memref<128xf32, strided<[1], offset: ?>, 4 : i32> to memref<128xf32, strided<[1], offset: ?>, 3 : i32>
  }
  linalg.generic {indexing_maps = [#id, #bc, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %v : memref<128x256xf32, 3 : i32>, memref<256xf32, 3 : i32>) outs(%y : memref<128x256xf32, 3 : i32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A whole head [256, 256] of a batch-leading [2, 256, 256] buffer (tile [1, 128, 128])
// transposed: 2x2 blocks, each a 2-D [128, 128] transpose into the mirrored block.
// CHECK-LABEL: func.func @head_transpose
// CHECK:         %[[SB:.*]] = memref.alloc() : memref<128x2x2x2x128xf32, 3 : i32>
// CHECK:         scf.for %[[I:[^ ]*]] =
// CHECK:           scf.for %[[J:[^ ]*]] =
// CHECK:             %[[R:.*]] = arith.muli %[[I]], %{{.*}}
// CHECK:             %[[C:.*]] = arith.muli %[[J]], %{{.*}}
// CHECK:             %[[T:.*]] = memref.subview %[[SB]][0, 1, %[[I]], %[[J]], 0] [128, 1, 1, 1, 128]
// CHECK:             %[[T2:.*]] = memref.collapse_shape %[[T]]
// CHECK:             %[[O:.*]] = memref.subview %arg0[%[[C]], %[[R]]] [128, 128] [1, 1]
// CHECK:             linalg.transpose ins(%[[T2]] : memref<128x128xf32, {{.*}}>) outs(%[[O]] : memref<128x128xf32, {{.*}}>) permutation = [1, 0]
func.func @head_transpose(%out: memref<256x256xf32, 3 : i32>) {
  %sb = memref.alloc() : memref<2x256x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 1, 128, 128>} : (memref<2x256x256xf32, 3 : i32>) -> ()
  %h = memref.subview %sb[1, 0, 0] [1, 256, 256] [1, 1, 1] : memref<2x256x256xf32, 3 : i32> to memref<256x256xf32, strided<[256, 1], offset: 65536>, 3 : i32>
  linalg.transpose ins(%h : memref<256x256xf32, strided<[256, 1], offset: 65536>, 3 : i32>) outs(%out : memref<256x256xf32, 3 : i32>) permutation = [1, 0]
  return
}

// -----

// A 1-D SBUF vector tiled on the partitions (np.std's per-row mean, a row reduction
// 128 rows at a time) is stored as [128, 2] column blocks: each [128] tile is one
// [128, 1] column, read by generics through (d0, d1) -> (d0, 0) and by named ops and
// copies next to [128, 1] views of their other 1-D operands; the fill takes the
// whole buffer and the whole-vector copy runs column by column.
// CHECK-DAG:   #[[COL:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @vector_columns
// CHECK:         %[[V:.*]] = memref.alloc() : memref<128x2xf32, 3 : i32>
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%[[V]] : memref<128x2xf32, 3 : i32>)
// CHECK:         scf.for %[[I:[^ ]*]] =
// CHECK:           %[[C:.*]] = memref.subview %[[V]][0, %[[I]]] [128, 1] [1, 1] : memref<128x2xf32, 3 : i32> to memref<128x1xf32, strided<[2, 1], offset: ?>, 3 : i32>
// CHECK:           linalg.generic {indexing_maps = [#{{.*}}, #[[COL]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME:        outs(%[[C]] : memref<128x1xf32, strided<[2, 1], offset: ?>, 3 : i32>)
// CHECK:           %[[C2:.*]] = memref.subview %[[V]][0, %[[I]]] [128, 1] [1, 1]
// CHECK:           %[[R:.*]] = memref.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [128, 1] : memref<128xf32, 3 : i32> into memref<128x1xf32, 3 : i32>
// CHECK:           linalg.sqrt ins(%[[C2]] : memref<128x1xf32, strided<[2, 1], offset: ?>, 3 : i32>) outs(%[[R]] : memref<128x1xf32, 3 : i32>)
// CHECK:         scf.for %[[B:[^ ]*]] =
// CHECK:           %[[CB:.*]] = memref.subview %[[V]][0, %[[B]]] [128, 1] [1, 1]
// CHECK:           %[[H:.*]] = memref.subview %arg1[%{{.*}}] [128] [1]
// CHECK:           %[[HC:.*]] = memref.expand_shape %[[H]] {{\[\[}}0, 1]] output_shape [128, 1] : memref<128xf32, strided<[1], offset: ?>, 4 : i32> into memref<128x1xf32, strided<[1, 1], offset: ?>, 4 : i32>
// CHECK:           memref.copy %[[CB]], %[[HC]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @vector_columns(%x: memref<256x64xf32, 3 : i32>, %out: memref<256xf32, 4 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %zero = arith.constant 0.0 : f32
  %v = memref.alloc() : memref<256xf32, 3 : i32>
  linalg.fill ins(%zero : f32) outs(%v : memref<256xf32, 3 : i32>)
  scf.for %i = %c0 to %c2 step %c1 {
    %o = arith.muli %i, %c128 : index
    %xs = memref.subview %x[%o, 0] [128, 64] [1, 1] : memref<256x64xf32, 3 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 3 : i32>
    %sv = memref.subview %v[%o] [128] [1] : memref<256xf32, 3 : i32> to memref<128xf32, strided<[1], offset: ?>, 3 : i32>
    linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]} ins(%xs : memref<128x64xf32, strided<[64, 1], offset: ?>, 3 : i32>) outs(%sv : memref<128xf32, strided<[1], offset: ?>, 3 : i32>) {
    ^bb0(%a: f32, %acc: f32):
      %s = arith.addf %a, %acc : f32
      linalg.yield %s : f32
    }
    %sv2 = memref.subview %v[%o] [128] [1] : memref<256xf32, 3 : i32> to memref<128xf32, strided<[1], offset: ?>, 3 : i32>
    %r = memref.alloc() : memref<128xf32, 3 : i32>
    linalg.sqrt ins(%sv2 : memref<128xf32, strided<[1], offset: ?>, 3 : i32>) outs(%r : memref<128xf32, 3 : i32>)
    memref.dealloc %r : memref<128xf32, 3 : i32>
  }
  "nkipy.layout"(%v) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128>} : (memref<256xf32, 3 : i32>) -> ()
  memref.copy %v, %out : memref<256xf32, 3 : i32> to memref<256xf32, 4 : i32>
  return
}
