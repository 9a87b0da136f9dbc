// RUN: nkipy-kg-opt %s --annotate-memory-space --split-input-file --verify-diagnostics

func.func @constant_not_broadcast(%x: memref<4x8xf32>) -> memref<4x8xf32> {
  %c = memref.alloc() : memref<4x8xf32>
  linalg.exp ins(%x : memref<4x8xf32>) outs(%c : memref<4x8xf32>)
  %t = bufferization.to_tensor %c : memref<4x8xf32> to tensor<4x8xf32>
  // expected-error @below {{CONSTANT memory space requires a scalar broadcast}}
  "nkipy.layout"(%t) {mem_space = 5 : i32} : (tensor<4x8xf32>) -> ()
  return %c : memref<4x8xf32>
}

// -----

func.func @sbuf_result(%x: memref<4x8xf32>) -> memref<4x8xf32> {
  %r = memref.alloc() : memref<4x8xf32>
  linalg.exp ins(%x : memref<4x8xf32>) outs(%r : memref<4x8xf32>)
  %t = bufferization.to_tensor %r : memref<4x8xf32> to tensor<4x8xf32>
  // expected-error @below {{nkipy.layout asks for Sbuf but the buffer is a function argument or result in SharedHbm}}
  "nkipy.layout"(%t) {mem_space = 3 : i32} : (tensor<4x8xf32>) -> ()
  return %r : memref<4x8xf32>
}

// -----

func.func @no_buffer(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @below {{nkipy.layout annotates a tensor with no buffer}}
  "nkipy.layout"(%x) {mem_space = 3 : i32} : (tensor<4x8xf32>) -> ()
  return %x : tensor<4x8xf32>
}

// -----

func.func @collapse_conflict(%x: memref<32xf32>) -> memref<32xf32> {
  %s = memref.alloc() : memref<4x8xf32>
  // expected-error @below {{memref.collapse_shape views a Sbuf buffer as Psum}}
  %c = memref.collapse_shape %s [[0, 1]] : memref<4x8xf32> into memref<32xf32>
  %ts = bufferization.to_tensor %s : memref<4x8xf32> to tensor<4x8xf32>
  "nkipy.layout"(%ts) {mem_space = 3 : i32} : (tensor<4x8xf32>) -> ()
  %tc = bufferization.to_tensor %c : memref<32xf32> to tensor<32xf32>
  "nkipy.layout"(%tc) {mem_space = 2 : i32} : (tensor<32xf32>) -> ()
  %r = memref.alloc() : memref<32xf32>
  memref.copy %c, %r : memref<32xf32> to memref<32xf32>
  return %r : memref<32xf32>
}

// -----

// Memrefs carried by loops are not retyped (bufferization of our tiled loops never
// makes them); the pass reports the broken IR instead of handing it on.

func.func @loop_carried(%n: index) -> memref<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.alloc() : memref<8xf32>
  // expected-error @below {{memory-space annotation produced invalid IR: scf.for result #0 is carried as memref<8xf32, 3 : i32> / memref<8xf32>}}
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%x = %a) -> memref<8xf32> {
    %b = memref.alloc() : memref<8xf32>
    %t = bufferization.to_tensor %b : memref<8xf32> to tensor<8xf32>
    "nkipy.layout"(%t) {mem_space = 3 : i32} : (tensor<8xf32>) -> ()
    scf.yield %b : memref<8xf32>
  }
  %o = memref.alloc() : memref<8xf32>
  memref.copy %r, %o : memref<8xf32> to memref<8xf32>
  return %o : memref<8xf32>
}

// -----

func.func @gather_computed_indices(%x: memref<16x8xf32>, %i: memref<4xi32>) -> memref<4x8xf32> {
  %0 = bufferization.to_tensor %x : memref<16x8xf32> to tensor<16x8xf32>
  %1 = bufferization.to_tensor %i : memref<4xi32> to tensor<4xi32>
  %out = memref.alloc() : memref<4x8xf32>
  %2 = bufferization.to_tensor %out : memref<4x8xf32> to tensor<4x8xf32>
  // expected-error @below {{nkipy.gather with computed indices is not supported yet}}
  %3 = "nkipy.gather"(%0, %1, %2) : (tensor<16x8xf32>, tensor<4xi32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %4 = bufferization.to_buffer %3 : tensor<4x8xf32> to memref<4x8xf32>
  return %4 : memref<4x8xf32>
}

// -----

memref.global "private" constant @__constant_2xi32 : memref<2xi32> = dense<[3, 16]>
func.func @gather_out_of_range(%x: memref<16x8xf32>) -> memref<2x8xf32> {
  %0 = bufferization.to_tensor %x : memref<16x8xf32> to tensor<16x8xf32>
  %1 = memref.get_global @__constant_2xi32 : memref<2xi32>
  %2 = bufferization.to_tensor %1 : memref<2xi32> to tensor<2xi32>
  %out = memref.alloc() : memref<2x8xf32>
  %3 = bufferization.to_tensor %out : memref<2x8xf32> to tensor<2x8xf32>
  // expected-error @below {{nkipy.gather index 16 is outside the source's 16 rows}}
  %4 = "nkipy.gather"(%0, %2, %3) : (tensor<16x8xf32>, tensor<2xi32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %5 = bufferization.to_buffer %4 : tensor<2x8xf32> to memref<2x8xf32>
  return %5 : memref<2x8xf32>
}
