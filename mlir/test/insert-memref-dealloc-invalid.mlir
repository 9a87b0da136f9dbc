// RUN: nkipy-kg-opt %s --insert-memref-dealloc --split-input-file --verify-diagnostics

func.func @unplaced(%x: memref<128x512xf32, 4 : i32>) {
  // expected-error @below {{memref.alloc must have an nkipy memory space annotation (SBUF, PSUM, HBM, or SHAREDHBM)}}
  %a = memref.alloc() : memref<128x512xf32>
  memref.copy %x, %a : memref<128x512xf32, 4 : i32> to memref<128x512xf32>
  return
}

// -----

func.func @unknown_space(%x: memref<128x512xf32, 4 : i32>) {
  // expected-error @below {{memref.alloc must have an nkipy memory space annotation}}
  %a = memref.alloc() : memref<128x512xf32, 7 : i32>
  return
}

// -----

func.func @nested_unplaced(%x: memref<128x512xf32, 4 : i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %c1 step %c1 {
    // expected-error @below {{memref.alloc must have an nkipy memory space annotation}}
    %a = memref.alloc() : memref<128x512xf32>
  }
  return
}
