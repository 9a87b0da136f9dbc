// RUN: nkipy-kg-opt %s --annotate-memory-space --split-input-file | filecheck %s

// Layouts move from the bufferization.to_tensor onto the buffer and give it their
// space; tile_ops and the dead to_tensors go; arguments and the returned buffer are
// SharedHbm (an Hbm layout on it keeps SharedHbm); views follow their buffer.

// CHECK-LABEL: func.func @tiled_add
// CHECK-SAME:    (%[[A:.*]]: memref<256x256xf32, strided<[?, ?], offset: ?>, 4 : i32>, %{{.*}}: memref<256x256xf32, strided<[?, ?], offset: ?>, 4 : i32>) -> memref<256x256xf32, 4 : i32>
// CHECK:         %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<256x256xf32, 3 : i32>
// CHECK:         scf.for
// CHECK:           memref.subview %[[A]]{{.*}} to memref<128x256xf32, strided<[?, ?], offset: ?>, 4 : i32>
// CHECK:           memref.subview %[[BUF]]{{.*}} : memref<256x256xf32, 3 : i32> to memref<128x256xf32, strided<[256, 1], offset: ?>, 3 : i32>
// CHECK-NOT:     bufferization.to_tensor
// CHECK-NOT:     nkipy.tile_op
// CHECK:         "nkipy.layout"(%[[BUF]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 256>} : (memref<256x256xf32, 3 : i32>) -> ()
// CHECK:         %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<256x256xf32, 4 : i32>
// CHECK:         linalg.exp ins(%[[BUF]] : memref<256x256xf32, 3 : i32>) outs(%[[OUT]] : memref<256x256xf32, 4 : i32>)
// CHECK:         "nkipy.layout"(%[[OUT]]) {mem_space = 1 : i32} : (memref<256x256xf32, 4 : i32>) -> ()
// CHECK-NEXT:    return %[[OUT]] : memref<256x256xf32, 4 : i32>
func.func @tiled_add(%arg0: memref<256x256xf32, strided<[?, ?], offset: ?>>, %arg1: memref<256x256xf32, strided<[?, ?], offset: ?>>) -> memref<256x256xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<256x256xf32>
  scf.for %arg2 = %c0 to %c2 step %c1 {
    %2 = arith.muli %arg2, %c128 : index
    %subview = memref.subview %arg0[%2, 0] [128, 256] [1, 1] : memref<256x256xf32, strided<[?, ?], offset: ?>> to memref<128x256xf32, strided<[?, ?], offset: ?>>
    %subview_1 = memref.subview %arg1[%2, 0] [128, 256] [1, 1] : memref<256x256xf32, strided<[?, ?], offset: ?>> to memref<128x256xf32, strided<[?, ?], offset: ?>>
    %alloc_2 = memref.alloc() {alignment = 64 : i64} : memref<128x256xf32, 3 : i32>
    memref.copy %subview, %alloc_2 : memref<128x256xf32, strided<[?, ?], offset: ?>> to memref<128x256xf32, 3 : i32>
    %alloc_3 = memref.alloc() {alignment = 64 : i64} : memref<128x256xf32, 3 : i32>
    memref.copy %subview_1, %alloc_3 : memref<128x256xf32, strided<[?, ?], offset: ?>> to memref<128x256xf32, 3 : i32>
    %alloc_5 = memref.alloc() {alignment = 64 : i64} : memref<128x256xf32, 3 : i32>
    linalg.add ins(%alloc_2, %alloc_3 : memref<128x256xf32, 3 : i32>, memref<128x256xf32, 3 : i32>) outs(%alloc_5 : memref<128x256xf32, 3 : i32>)
    %subview_6 = memref.subview %alloc[%2, 0] [128, 256] [1, 1] : memref<256x256xf32> to memref<128x256xf32, strided<[256, 1], offset: ?>>
    memref.copy %alloc_5, %subview_6 : memref<128x256xf32, 3 : i32> to memref<128x256xf32, strided<[256, 1], offset: ?>>
  }
  %0 = bufferization.to_tensor %alloc : memref<256x256xf32> to tensor<256x256xf32>
  "nkipy.layout"(%0) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 256>} : (tensor<256x256xf32>) -> ()
  %alloc_0 = memref.alloc() {alignment = 64 : i64} : memref<256x256xf32>
  linalg.exp ins(%alloc : memref<256x256xf32>) outs(%alloc_0 : memref<256x256xf32>)
  %1 = bufferization.to_tensor %alloc_0 : memref<256x256xf32> to tensor<256x256xf32>
  "nkipy.layout"(%1) {mem_space = 1 : i32} : (tensor<256x256xf32>) -> ()
  "nkipy.tile_op"(%1) {loop_tile_size = array<i64: 128, 256>} : (tensor<256x256xf32>) -> ()
  return %alloc_0 : memref<256x256xf32>
}

// -----

// A space flows both ways through collapse/expand views and forward through casts;
// an unannotated alloc copied into an annotated buffer becomes Hbm; a layout
// without mem_space is still moved onto the buffer.

// CHECK-LABEL: func.func @propagate
// CHECK:         %[[S:.*]] = memref.alloc() : memref<4x8xf32, 3 : i32>
// CHECK:         memref.collapse_shape %[[S]] {{\[\[}}0, 1]] : memref<4x8xf32, 3 : i32> into memref<32xf32, 3 : i32>
// CHECK:         memref.cast %{{.*}} : memref<32xf32, 3 : i32> to memref<?xf32, 3 : i32>
// CHECK:         %[[G:.*]] = memref.alloc() : memref<4x8xf32, 1 : i32>
// CHECK:         memref.copy %[[G]], %[[S]] : memref<4x8xf32, 1 : i32> to memref<4x8xf32, 3 : i32>
// CHECK:         "nkipy.layout"(%[[S]]) {partition_dim = 0 : ui32} : (memref<4x8xf32, 3 : i32>) -> ()
func.func @propagate(%x: memref<4x8xf32>) -> memref<4x8xf32> {
  %s = memref.alloc() : memref<4x8xf32>
  %c = memref.collapse_shape %s [[0, 1]] : memref<4x8xf32> into memref<32xf32>
  %d = memref.cast %c : memref<32xf32> to memref<?xf32>
  %t = bufferization.to_tensor %c : memref<32xf32> to tensor<32xf32>
  "nkipy.layout"(%t) {mem_space = 3 : i32} : (tensor<32xf32>) -> ()
  %g = memref.alloc() : memref<4x8xf32>
  memref.copy %g, %s : memref<4x8xf32> to memref<4x8xf32>
  %ts = bufferization.to_tensor %s : memref<4x8xf32> to tensor<4x8xf32>
  "nkipy.layout"(%ts) {partition_dim = 0 : ui32} : (tensor<4x8xf32>) -> ()
  %r = memref.alloc() : memref<4x8xf32>
  linalg.exp ins(%s : memref<4x8xf32>) outs(%r : memref<4x8xf32>)
  return %r : memref<4x8xf32>
}

// -----

// A returned subview of an SBUF buffer: the subview stays in SBUF and the function
// returns a fresh SharedHbm alloc filled by a staging copy. Writes through a
// subview that changes space are copied back after the last use.

// CHECK-LABEL: func.func @subview_conflict
// CHECK-SAME:    -> memref<4x8xf32, 4 : i32>
// CHECK:         %[[S:.*]] = memref.alloc() : memref<8x8xf32, 3 : i32>
// CHECK:         %[[V:.*]] = memref.subview %[[S]][0, 0] [4, 8] [1, 1] : memref<8x8xf32, 3 : i32> to memref<4x8xf32, strided<[8, 1]>, 3 : i32>
// CHECK-NEXT:    %[[R:.*]] = memref.alloc() : memref<4x8xf32, 4 : i32>
// CHECK-NEXT:    memref.copy %[[V]], %[[R]] : memref<4x8xf32, strided<[8, 1]>, 3 : i32> to memref<4x8xf32, 4 : i32>
// CHECK:         %[[W:.*]] = memref.subview %[[S]][4, 0] [4, 8] [1, 1] : memref<8x8xf32, 3 : i32> to memref<4x8xf32, strided<[8, 1], offset: 32>, 3 : i32>
// CHECK-NEXT:    %[[H:.*]] = memref.alloc() : memref<4x8xf32, 1 : i32>
// CHECK-NEXT:    "nkipy.layout"(%[[H]]) {mem_space = 1 : i32}
// CHECK-NEXT:    linalg.fill ins(%{{.*}} : f32) outs(%[[H]] : memref<4x8xf32, 1 : i32>)
// CHECK-NEXT:    memref.copy %[[H]], %[[W]] : memref<4x8xf32, 1 : i32> to memref<4x8xf32, strided<[8, 1], offset: 32>, 3 : i32>
// CHECK:         return %[[R]] : memref<4x8xf32, 4 : i32>
func.func @subview_conflict(%x: memref<8x8xf32>) -> memref<4x8xf32, strided<[8, 1]>> {
  %cst = arith.constant 2.0 : f32
  %s = memref.alloc() : memref<8x8xf32>
  linalg.exp ins(%x : memref<8x8xf32>) outs(%s : memref<8x8xf32>)
  %t = bufferization.to_tensor %s : memref<8x8xf32> to tensor<8x8xf32>
  "nkipy.layout"(%t) {mem_space = 3 : i32} : (tensor<8x8xf32>) -> ()
  %v = memref.subview %s[0, 0] [4, 8] [1, 1] : memref<8x8xf32> to memref<4x8xf32, strided<[8, 1]>>
  %w = memref.subview %s[4, 0] [4, 8] [1, 1] : memref<8x8xf32> to memref<4x8xf32, strided<[8, 1], offset: 32>>
  %tw = bufferization.to_tensor %w : memref<4x8xf32, strided<[8, 1], offset: 32>> to tensor<4x8xf32>
  "nkipy.layout"(%tw) {mem_space = 1 : i32} : (tensor<4x8xf32>) -> ()
  linalg.fill ins(%cst : f32) outs(%w : memref<4x8xf32, strided<[8, 1], offset: 32>>)
  return %v : memref<4x8xf32, strided<[8, 1]>>
}

// -----

// Constant: a scalar broadcast (fill of an arith.constant) is accepted.
// Declarations get SharedHbm in their signature.

// CHECK-LABEL: func.func private @decl(memref<4xf32, 4 : i32>) -> memref<4xf32, 4 : i32>
// CHECK-LABEL: func.func @constant
// CHECK:         memref.alloc() : memref<4x8xf32, 5 : i32>
func.func private @decl(memref<4xf32>) -> memref<4xf32>
func.func @constant(%x: memref<4x8xf32>) -> memref<4x8xf32> {
  %cst = arith.constant 2.0 : f32
  %c = memref.alloc() : memref<4x8xf32>
  linalg.fill ins(%cst : f32) outs(%c : memref<4x8xf32>)
  %t = bufferization.to_tensor %c : memref<4x8xf32> to tensor<4x8xf32>
  "nkipy.layout"(%t) {mem_space = 5 : i32} : (tensor<4x8xf32>) -> ()
  %r = memref.alloc() : memref<4x8xf32>
  linalg.mul ins(%x, %c : memref<4x8xf32>, memref<4x8xf32>) outs(%r : memref<4x8xf32>)
  return %r : memref<4x8xf32>
}

// -----

// A bufferization clone (an unannotated alloc filled by a copy) takes its source's
// space; the clone of a SharedHbm argument is a private Hbm buffer.

// CHECK-LABEL: func.func @clones
// CHECK:         %[[S:.*]] = memref.alloc() : memref<8xf32, 3 : i32>
// CHECK:         %[[C1:.*]] = memref.alloc() : memref<8xf32, 3 : i32>
// CHECK-NEXT:    memref.copy %[[S]], %[[C1]]
// CHECK:         %[[C2:.*]] = memref.alloc() : memref<8xf32, 1 : i32>
// CHECK-NEXT:    memref.copy %{{.*}}, %[[C2]] : memref<8xf32, 4 : i32> to memref<8xf32, 1 : i32>
func.func @clones(%x: memref<8xf32>) -> memref<8xf32> {
  %s = memref.alloc() : memref<8xf32>
  linalg.exp ins(%x : memref<8xf32>) outs(%s : memref<8xf32>)
  %t = bufferization.to_tensor %s : memref<8xf32> to tensor<8xf32>
  "nkipy.layout"(%t) {mem_space = 3 : i32} : (tensor<8xf32>) -> ()
  %c1 = memref.alloc() : memref<8xf32>
  memref.copy %s, %c1 : memref<8xf32> to memref<8xf32>
  %c2 = memref.alloc() : memref<8xf32>
  memref.copy %x, %c2 : memref<8xf32> to memref<8xf32>
  %r = memref.alloc() : memref<8xf32>
  linalg.add ins(%c1, %c2 : memref<8xf32>, memref<8xf32>) outs(%r : memref<8xf32>)
  return %r : memref<8xf32>
}

// -----

// A returned cast gives its buffer SharedHbm too (the space flows back through casts).

// CHECK-LABEL: func.func @returned_cast
// CHECK:         %[[R:.*]] = memref.alloc() : memref<8xf32, 4 : i32>
// CHECK:         memref.cast %[[R]] : memref<8xf32, 4 : i32> to memref<?xf32, 4 : i32>
func.func @returned_cast(%x: memref<8xf32>) -> memref<?xf32> {
  %r = memref.alloc() : memref<8xf32>
  linalg.exp ins(%x : memref<8xf32>) outs(%r : memref<8xf32>)
  %c = memref.cast %r : memref<8xf32> to memref<?xf32>
  return %c : memref<?xf32>
}
