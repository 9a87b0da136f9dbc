// RUN: nkipy-kg-opt %s --insert-spill-reload=sbuf-capacity=16384 --split-input-file --verify-diagnostics

func.func @too_big_alone(%x: memref<128x8192xf32, 4 : i32>) {
  // expected-error @below {{SBUF buffer needs 32768 bytes per partition, more than the capacity of 16384 bytes on its own}}
  %a = memref.alloc() : memref<128x8192xf32, 3 : i32>
  memref.copy %x, %a : memref<128x8192xf32, 4 : i32> to memref<128x8192xf32, 3 : i32>
  return
}

// -----

// Each buffer fits, but one op needs all three at once: nothing can be spilled.
func.func @operands_exceed_capacity(%x: memref<128x2048xf32, 4 : i32>) {
  %a = memref.alloc() : memref<128x2048xf32, 3 : i32>
  %b = memref.alloc() : memref<128x2048xf32, 3 : i32>
  %c = memref.alloc() : memref<128x2048xf32, 3 : i32>
  memref.copy %x, %a : memref<128x2048xf32, 4 : i32> to memref<128x2048xf32, 3 : i32>
  memref.copy %x, %b : memref<128x2048xf32, 4 : i32> to memref<128x2048xf32, 3 : i32>
  // expected-error @below {{SBUF pressure here is 24576 bytes per partition, over the capacity of 16384 bytes}}
  linalg.add ins(%a, %b : memref<128x2048xf32, 3 : i32>, memref<128x2048xf32, 3 : i32>) outs(%c : memref<128x2048xf32, 3 : i32>)
  memref.copy %c, %x : memref<128x2048xf32, 3 : i32> to memref<128x2048xf32, 4 : i32>
  return
}

// -----

// Pressure inside a loop body caused by a buffer the body itself uses: spilling it
// would need loop-carried staging, so the pass reports it instead of pretending.
func.func @loop_carried_pressure(%x: memref<128x2048xf32, 4 : i32>, %y: memref<128x4096xf32, 4 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c1024 = arith.constant 1024 : index
  %a = memref.alloc() : memref<128x2048xf32, 3 : i32>
  %b = memref.alloc() : memref<128x2048xf32, 3 : i32>
  memref.copy %x, %a : memref<128x2048xf32, 4 : i32> to memref<128x2048xf32, 3 : i32>
  memref.copy %x, %b : memref<128x2048xf32, 4 : i32> to memref<128x2048xf32, 3 : i32>
  scf.for %i = %c0 to %c4 step %c1 {
    %o = arith.muli %i, %c1024 : index
    %t = memref.alloc() : memref<128x1024xf32, 3 : i32>
    %hy = memref.subview %y[0, %o] [128, 1024] [1, 1] : memref<128x4096xf32, 4 : i32> to memref<128x1024xf32, strided<[4096, 1], offset: ?>, 4 : i32>
    // expected-error @below {{SBUF pressure here is 20480 bytes per partition}}
    memref.copy %hy, %t : memref<128x1024xf32, strided<[4096, 1], offset: ?>, 4 : i32> to memref<128x1024xf32, 3 : i32>
    %va = memref.subview %a[0, 0] [128, 1024] [1, 1] : memref<128x2048xf32, 3 : i32> to memref<128x1024xf32, strided<[2048, 1]>, 3 : i32>
    %vb = memref.subview %b[0, 0] [128, 1024] [1, 1] : memref<128x2048xf32, 3 : i32> to memref<128x1024xf32, strided<[2048, 1]>, 3 : i32>
    linalg.add ins(%va, %vb : memref<128x1024xf32, strided<[2048, 1]>, 3 : i32>, memref<128x1024xf32, strided<[2048, 1]>, 3 : i32>) outs(%t : memref<128x1024xf32, 3 : i32>)
    memref.copy %t, %hy : memref<128x1024xf32, 3 : i32> to memref<128x1024xf32, strided<[4096, 1], offset: ?>, 4 : i32>
  }
  return
}
