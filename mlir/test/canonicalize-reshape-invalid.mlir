// RUN: nkipy-kg-opt %s --canonicalize-reshape --split-input-file --verify-diagnostics

func.func @dynamic_reshape(%x: memref<32xf32, 1 : i32>, %shape: memref<2xindex>) {
  // expected-error @below {{memref.reshape needs static shapes}}
  %r = memref.reshape %x(%shape) : (memref<32xf32, 1 : i32>, memref<2xindex>) -> memref<?x?xf32, 1 : i32>
  return
}
