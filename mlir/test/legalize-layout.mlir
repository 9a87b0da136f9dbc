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
