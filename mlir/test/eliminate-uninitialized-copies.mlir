// RUN: nkipy-kg-opt %s --eliminate-uninitialized-copies --split-input-file | filecheck %s

// The tile of a never-written result buffer copied into the PSUM accumulator is
// erased; the copies out of the arguments and the write-back copy stay. The
// write-back touches the same iteration's tile, so it is not loop-carried.

// CHECK-LABEL: func.func @tiled_matmul
// CHECK:         scf.for
// CHECK:           %[[ACC:.*]] = memref.alloc() : memref<128x256xf32, 2 : i32>
// CHECK-NOT:       memref.copy %{{.*}}, %[[ACC]]
// CHECK:           scf.for
// CHECK:             memref.copy %{{.*}}, %{{.*}} : memref<128x128xf32, strided<[?, ?], offset: ?>> to memref<128x128xf32, 3 : i32>
// CHECK:             memref.copy %{{.*}}, %{{.*}} : memref<128x256xf32, strided<[?, ?], offset: ?>> to memref<128x256xf32, 3 : i32>
// CHECK:             linalg.matmul
// CHECK:           memref.copy %[[ACC]], %{{.*}} : memref<128x256xf32, 2 : i32> to memref<128x256xf32, strided<[256, 1], offset: ?>>
func.func @tiled_matmul(%arg0: memref<256x256xf32, strided<[?, ?], offset: ?>>, %arg1: memref<256x256xf32, strided<[?, ?], offset: ?>>) -> memref<256x256xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %alloc = memref.alloc() : memref<256x256xf32>
  scf.for %i = %c0 to %c2 step %c1 {
    %o = arith.muli %i, %c128 : index
    %s = memref.subview %alloc[%o, 0] [128, 256] [1, 1] : memref<256x256xf32> to memref<128x256xf32, strided<[256, 1], offset: ?>>
    %acc = memref.alloc() : memref<128x256xf32, 2 : i32>
    memref.copy %s, %acc : memref<128x256xf32, strided<[256, 1], offset: ?>> to memref<128x256xf32, 2 : i32>
    scf.for %k = %c0 to %c2 step %c1 {
      %ok = arith.muli %k, %c128 : index
      %sa = memref.subview %arg0[%o, %ok] [128, 128] [1, 1] : memref<256x256xf32, strided<[?, ?], offset: ?>> to memref<128x128xf32, strided<[?, ?], offset: ?>>
      %sb = memref.subview %arg1[%ok, 0] [128, 256] [1, 1] : memref<256x256xf32, strided<[?, ?], offset: ?>> to memref<128x256xf32, strided<[?, ?], offset: ?>>
      %ta = memref.alloc() : memref<128x128xf32, 3 : i32>
      memref.copy %sa, %ta : memref<128x128xf32, strided<[?, ?], offset: ?>> to memref<128x128xf32, 3 : i32>
      %tb = memref.alloc() : memref<128x256xf32, 3 : i32>
      memref.copy %sb, %tb : memref<128x256xf32, strided<[?, ?], offset: ?>> to memref<128x256xf32, 3 : i32>
      linalg.matmul ins(%ta, %tb : memref<128x128xf32, 3 : i32>, memref<128x256xf32, 3 : i32>) outs(%acc : memref<128x256xf32, 2 : i32>)
    }
    %s2 = memref.subview %alloc[%o, 0] [128, 256] [1, 1] : memref<256x256xf32> to memref<128x256xf32, strided<[256, 1], offset: ?>>
    memref.copy %acc, %s2 : memref<128x256xf32, 2 : i32> to memref<128x256xf32, strided<[256, 1], offset: ?>>
  }
  return %alloc : memref<256x256xf32>
}

// -----

// Written before the copy (fill, store, copy into a collapse view): the copies stay.

// CHECK-LABEL: func.func @written_before
// CHECK-COUNT-4: memref.copy
// CHECK-NOT:     memref.copy
func.func @written_before(%x: memref<8xf32>) -> (memref<4x8xf32>, memref<4x8xf32>, memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<4x8xf32>
  linalg.fill ins(%cst : f32) outs(%a : memref<4x8xf32>)
  %ra = memref.alloc() : memref<4x8xf32>
  memref.copy %a, %ra : memref<4x8xf32> to memref<4x8xf32>
  %b = memref.alloc() : memref<4x8xf32>
  memref.store %cst, %b[%c0, %c0] : memref<4x8xf32>
  %rb = memref.alloc() : memref<4x8xf32>
  memref.copy %b, %rb : memref<4x8xf32> to memref<4x8xf32>
  %c = memref.alloc() : memref<4x8xf32>
  %cv = memref.collapse_shape %c [[0, 1]] : memref<4x8xf32> into memref<32xf32>
  %cs = memref.subview %cv[0] [8] [1] : memref<32xf32> to memref<8xf32, strided<[1]>>
  memref.copy %x, %cs : memref<8xf32> to memref<8xf32, strided<[1]>>
  %rc = memref.alloc() : memref<32xf32>
  memref.copy %cv, %rc : memref<32xf32> to memref<32xf32>
  return %ra, %rb, %rc : memref<4x8xf32>, memref<4x8xf32>, memref<32xf32>
}

// -----

// A write after the copy does not count, except later in a loop around both
// (it runs before the copy of the next iteration); a call may write.

func.func private @may_write(memref<8xf32>)

// CHECK-LABEL: func.func @order
// CHECK:         %[[A:.*]] = memref.alloc() : memref<8xf32>
// CHECK-NEXT:    %[[R:.*]] = memref.alloc() : memref<8xf32>
// CHECK-NEXT:    linalg.fill
// CHECK:         scf.for
// CHECK-NEXT:      memref.copy %[[L:.*]], %[[R]]
// CHECK-NEXT:      linalg.fill
// CHECK:         call @may_write
// CHECK-NEXT:    memref.copy
func.func @order(%n: index) -> memref<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<8xf32>
  %r = memref.alloc() : memref<8xf32>
  memref.copy %a, %r : memref<8xf32> to memref<8xf32>
  linalg.fill ins(%cst : f32) outs(%a : memref<8xf32>)
  %l = memref.alloc() : memref<8xf32>
  scf.for %i = %c0 to %n step %c1 {
    memref.copy %l, %r : memref<8xf32> to memref<8xf32>
    linalg.fill ins(%cst : f32) outs(%l : memref<8xf32>)
  }
  %u = memref.alloc() : memref<8xf32>
  func.call @may_write(%u) : (memref<8xf32>) -> ()
  memref.copy %u, %r : memref<8xf32> to memref<8xf32>
  return %r : memref<8xf32>
}

// -----

// One head of a decomposed batch matmul: the accumulator tile of head %h is copied out
// of the never-written result, and at the end of the head loop bufferization writes
// the head back onto itself (`copy %head, %head'`, the same view). That self-copy
// writes nothing, so it does not make the accumulator copy loop-carried: erased.
// CHECK-LABEL: func.func @head_self_copy
// CHECK:         %[[ACC:.*]] = memref.alloc() : memref<128x256xf32, 2 : i32>
// CHECK-NOT:     memref.copy %{{.*}}, %[[ACC]]
// CHECK:         memref.copy %[[ACC]], %{{.*}} : memref<128x256xf32, 2 : i32>
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<256x256xf32, strided<[256, 1], offset: ?>> to memref<256x256xf32, strided<[256, 1], offset: ?>>
func.func @head_self_copy(%b: memref<128x256xf32, 2 : i32>) -> memref<2x256x256xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %out = memref.alloc() : memref<2x256x256xf32>
  scf.for %h = %c0 to %c2 step %c1 {
    %head = memref.subview %out[%h, 0, 0] [1, 256, 256] [1, 1, 1] : memref<2x256x256xf32> to memref<256x256xf32, strided<[256, 1], offset: ?>>
    %tile = memref.subview %head[0, 0] [128, 256] [1, 1] : memref<256x256xf32, strided<[256, 1], offset: ?>> to memref<128x256xf32, strided<[256, 1], offset: ?>>
    %acc = memref.alloc() : memref<128x256xf32, 2 : i32>
    memref.copy %tile, %acc : memref<128x256xf32, strided<[256, 1], offset: ?>> to memref<128x256xf32, 2 : i32>
    linalg.add ins(%acc, %b : memref<128x256xf32, 2 : i32>, memref<128x256xf32, 2 : i32>) outs(%acc : memref<128x256xf32, 2 : i32>)
    memref.copy %acc, %tile : memref<128x256xf32, 2 : i32> to memref<128x256xf32, strided<[256, 1], offset: ?>>
    %again = memref.subview %out[%h, 0, 0] [1, 256, 256] [1, 1, 1] : memref<2x256x256xf32> to memref<256x256xf32, strided<[256, 1], offset: ?>>
    memref.copy %head, %again : memref<256x256xf32, strided<[256, 1], offset: ?>> to memref<256x256xf32, strided<[256, 1], offset: ?>>
  }
  return %out : memref<2x256x256xf32>
}
