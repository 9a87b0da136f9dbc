// RUN: nkipy-kg-opt %s --split-input-file --insert-memref-dealloc | filecheck %s

// SBUF and PSUM buffers are freed right after their last use, followed through
// views, with a use inside a loop counting at the loop. HBM, SharedHbm and
// Constant buffers are left alone.

// CHECK-LABEL: func.func @last_use
// CHECK:         %[[S:.*]] = memref.alloc() : memref<128x512xf32, 3 : i32>
// CHECK:         %[[P:.*]] = memref.alloc() : memref<128x512xf32, 2 : i32>
// CHECK:         %[[V:.*]] = memref.subview %[[S]]
// CHECK-NEXT:    linalg.matmul ins(%{{.*}}, %{{.*}} : {{.*}}) outs(%[[P]] : {{.*}})
// CHECK-NEXT:    memref.dealloc %[[P]] : memref<128x512xf32, 2 : i32>
// CHECK-NEXT:    scf.for
// CHECK-NEXT:      linalg.exp ins(%[[V]] : {{.*}}) outs(%[[V]] : {{.*}})
// CHECK-NEXT:    }
// CHECK-NEXT:    memref.copy %[[S]], %{{.*}}
// CHECK-NEXT:    memref.dealloc %[[S]] : memref<128x512xf32, 3 : i32>
// CHECK-NEXT:    return
// CHECK-NOT:     memref.dealloc
func.func @last_use(%x: memref<128x512xf32, 4 : i32>, %w: memref<128x128xf32, 3 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %s = memref.alloc() : memref<128x512xf32, 3 : i32>
  %p = memref.alloc() : memref<128x512xf32, 2 : i32>
  %h = memref.alloc() : memref<128x512xf32, 1 : i32>
  %g = memref.alloc() : memref<128x512xf32, 4 : i32>
  %k = memref.alloc() : memref<128x512xf32, 5 : i32>
  %v = memref.subview %s[0, 0] [128, 256] [1, 1] : memref<128x512xf32, 3 : i32> to memref<128x256xf32, strided<[512, 1]>, 3 : i32>
  linalg.matmul ins(%w, %s : memref<128x128xf32, 3 : i32>, memref<128x512xf32, 3 : i32>) outs(%p : memref<128x512xf32, 2 : i32>)
  scf.for %i = %c0 to %c4 step %c1 {
    linalg.exp ins(%v : memref<128x256xf32, strided<[512, 1]>, 3 : i32>) outs(%v : memref<128x256xf32, strided<[512, 1]>, 3 : i32>)
  }
  memref.copy %s, %x : memref<128x512xf32, 3 : i32> to memref<128x512xf32, 4 : i32>
  return
}

// -----

// Unused: freed before the terminator. Returned through views: not freed.
// Already freed: not freed twice.

// CHECK-LABEL: func.func @unused_returned_freed
// CHECK:         %[[U:.*]] = memref.alloc() : memref<128x64xf32, 3 : i32>
// CHECK:         %[[R:.*]] = memref.alloc() : memref<128x64xf32, 3 : i32>
// CHECK:         %[[F:.*]] = memref.alloc() : memref<128x64xf32, 2 : i32>
// CHECK:         memref.dealloc %[[F]]
// CHECK-NEXT:    %[[E:.*]] = memref.expand_shape %[[R]]
// CHECK-NEXT:    %[[C:.*]] = memref.collapse_shape %[[E]]
// CHECK-NEXT:    memref.dealloc %[[U]] : memref<128x64xf32, 3 : i32>
// CHECK-NEXT:    return %[[C]]
func.func @unused_returned_freed() -> memref<128x64xf32, 3 : i32> {
  %u = memref.alloc() : memref<128x64xf32, 3 : i32>
  %r = memref.alloc() : memref<128x64xf32, 3 : i32>
  %f = memref.alloc() : memref<128x64xf32, 2 : i32>
  memref.dealloc %f : memref<128x64xf32, 2 : i32>
  %e = memref.expand_shape %r [[0], [1, 2]] output_shape [128, 2, 32] : memref<128x64xf32, 3 : i32> into memref<128x2x32xf32, 3 : i32>
  %c = memref.collapse_shape %e [[0], [1, 2]] : memref<128x2x32xf32, 3 : i32> into memref<128x64xf32, 3 : i32>
  return %c : memref<128x64xf32, 3 : i32>
}

// -----

// A buffer allocated in a loop body is freed in the body, after its last use
// there; one yielded out of the body is not freed inside it.

// CHECK-LABEL: func.func @in_loop_body
// CHECK:         scf.for
// CHECK-NEXT:      %[[T:.*]] = memref.alloc() : memref<128x64xf32, 3 : i32>
// CHECK:           memref.copy %{{.*}}, %[[T]]
// CHECK-NEXT:      linalg.exp ins(%[[T]] : {{.*}}) outs(%{{.*}} : {{.*}})
// CHECK-NEXT:      memref.dealloc %[[T]]
// CHECK-NEXT:    }
// CHECK:         scf.for
// CHECK-NEXT:      %[[Y:.*]] = memref.alloc() : memref<128x64xf32, 3 : i32>
// CHECK-NEXT:      scf.yield %[[Y]]
// CHECK:         memref.dealloc
// CHECK-NEXT:    return
func.func @in_loop_body(%x: memref<128x256xf32, 4 : i32>, %init: memref<128x64xf32, 3 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %t = memref.alloc() : memref<128x64xf32, 3 : i32>
    %hx = memref.subview %x[0, 0] [128, 64] [1, 1] : memref<128x256xf32, 4 : i32> to memref<128x64xf32, strided<[256, 1]>, 4 : i32>
    memref.copy %hx, %t : memref<128x64xf32, strided<[256, 1]>, 4 : i32> to memref<128x64xf32, 3 : i32>
    linalg.exp ins(%t : memref<128x64xf32, 3 : i32>) outs(%hx : memref<128x64xf32, strided<[256, 1]>, 4 : i32>)
  }
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %init) -> (memref<128x64xf32, 3 : i32>) {
    %y = memref.alloc() : memref<128x64xf32, 3 : i32>
    scf.yield %y : memref<128x64xf32, 3 : i32>
  }
  %o = memref.alloc() : memref<128x64xf32, 3 : i32>
  return
}
