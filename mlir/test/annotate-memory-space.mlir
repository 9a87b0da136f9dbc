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

// -----

// A constant-index gather (np.take) becomes row copies into its destination buffer:
// one copy per run of consecutive indices ([3, 4] is one two-row copy), through
// reshapes of the index constant; the dead index global is erased.

// CHECK-NOT:     memref.global
// CHECK-LABEL: func.func @take_rows
// CHECK-SAME:    (%[[X:.*]]: memref<16x8xf32, strided<[?, ?], offset: ?>, 4 : i32>) -> memref<2x2x8xf32, strided<[?, ?, ?], offset: ?>, 4 : i32>
// CHECK-NOT:     nkipy.gather
// CHECK:         %[[OUT:.*]] = memref.alloc() : memref<4x8xf32, 4 : i32>
// CHECK:         %[[S0:.*]] = memref.subview %[[X]][3, 0] [2, 8] [1, 1]
// CHECK:         %[[D0:.*]] = memref.subview %[[OUT]][0, 0] [2, 8] [1, 1]
// CHECK:         memref.copy %[[S0]], %[[D0]]
// CHECK:         %[[S1:.*]] = memref.subview %[[X]][0, 0] [1, 8] [1, 1]
// CHECK:         %[[D1:.*]] = memref.subview %[[OUT]][2, 0] [1, 8] [1, 1]
// CHECK:         memref.copy %[[S1]], %[[D1]]
// CHECK:         %[[S2:.*]] = memref.subview %[[X]][15, 0] [1, 8] [1, 1]
// CHECK:         %[[D2:.*]] = memref.subview %[[OUT]][3, 0] [1, 8] [1, 1]
// CHECK:         memref.copy %[[S2]], %[[D2]]
// CHECK:         %[[CAST:.*]] = memref.cast %[[OUT]] : memref<4x8xf32, 4 : i32> to memref<4x8xf32, strided<[?, ?], offset: ?>, 4 : i32>
// CHECK:         memref.expand_shape %[[CAST]]
memref.global "private" constant @__constant_2x2xi32 : memref<2x2xi32> = dense<[[3, 4], [0, 15]]>
func.func @take_rows(%x: memref<16x8xf32, strided<[?, ?], offset: ?>>) -> memref<2x2x8xf32, strided<[?, ?, ?], offset: ?>> {
  %0 = bufferization.to_tensor %x : memref<16x8xf32, strided<[?, ?], offset: ?>> to tensor<16x8xf32>
  %1 = memref.get_global @__constant_2x2xi32 : memref<2x2xi32>
  %2 = memref.collapse_shape %1 [[0, 1]] : memref<2x2xi32> into memref<4xi32>
  %3 = bufferization.to_tensor %2 : memref<4xi32> to tensor<4xi32>
  %out = memref.alloc() : memref<4x8xf32>
  %4 = bufferization.to_tensor %out : memref<4x8xf32> to tensor<4x8xf32>
  %5 = "nkipy.gather"(%0, %3, %4) : (tensor<16x8xf32>, tensor<4xi32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %6 = bufferization.to_buffer %5 : tensor<4x8xf32> to memref<4x8xf32, strided<[?, ?], offset: ?>>
  %7 = memref.expand_shape %6 [[0, 1], [2]] output_shape [2, 2, 8] : memref<4x8xf32, strided<[?, ?], offset: ?>> into memref<2x2x8xf32, strided<[?, ?, ?], offset: ?>>
  return %7 : memref<2x2x8xf32, strided<[?, ?, ?], offset: ?>>
}

// -----

// Buffers only DMAs touch (copies, linalg.transpose: no layout from infer-layout)
// live in Hbm: here the transposed source of a row copy and the copied rows.

// CHECK-LABEL: func.func @dma_only
// CHECK:         %[[T:.*]] = memref.alloc() : memref<8x16xf32, 1 : i32>
// CHECK:         linalg.transpose ins(%{{.*}} : memref<16x8xf32, 4 : i32>) outs(%[[T]] : memref<8x16xf32, 1 : i32>)
// CHECK:         %[[R:.*]] = memref.alloc() : memref<2x16xf32, 1 : i32>
// CHECK:         memref.subview %[[T]][3, 0] [2, 16] [1, 1] : memref<8x16xf32, 1 : i32> to memref<2x16xf32, strided<[16, 1], offset: 48>, 1 : i32>
// CHECK:         memref.copy %{{.*}}, %[[R]] : memref<2x16xf32, strided<[16, 1], offset: 48>, 1 : i32> to memref<2x16xf32, 1 : i32>
// CHECK:         linalg.transpose ins(%[[R]] : memref<2x16xf32, 1 : i32>) outs(%{{.*}} : memref<16x2xf32, 4 : i32>)
func.func @dma_only(%x: memref<16x8xf32>) -> memref<16x2xf32> {
  %t = memref.alloc() : memref<8x16xf32>
  linalg.transpose ins(%x : memref<16x8xf32>) outs(%t : memref<8x16xf32>) permutation = [1, 0]
  %r = memref.alloc() : memref<2x16xf32>
  %s = memref.subview %t[3, 0] [2, 16] [1, 1] : memref<8x16xf32> to memref<2x16xf32, strided<[16, 1], offset: 48>>
  memref.copy %s, %r : memref<2x16xf32, strided<[16, 1], offset: 48>> to memref<2x16xf32>
  %o = memref.alloc() : memref<16x2xf32>
  linalg.transpose ins(%r : memref<2x16xf32>) outs(%o : memref<16x2xf32>) permutation = [1, 0]
  return %o : memref<16x2xf32>
}

// -----

// A returned reshape of an SBUF buffer cannot be an HBM view of SBUF memory: the
// buffer is copied to a fresh SharedHbm buffer where the view was, and the view
// reshapes the copy.

// CHECK-LABEL: func.func @returned_collapse
// CHECK:         %[[S:.*]] = memref.alloc() : memref<4x2x8xf32, 3 : i32>
// CHECK:         linalg.exp ins(%{{.*}} : memref<4x2x8xf32, 4 : i32>) outs(%[[S]] : memref<4x2x8xf32, 3 : i32>)
// CHECK:         %[[H:.*]] = memref.alloc() : memref<4x2x8xf32, 4 : i32>
// CHECK-NEXT:    memref.copy %[[S]], %[[H]] : memref<4x2x8xf32, 3 : i32> to memref<4x2x8xf32, 4 : i32>
// CHECK-NEXT:    %[[C:.*]] = memref.collapse_shape %[[H]] {{\[}}[0], [1, 2]] : memref<4x2x8xf32, 4 : i32> into memref<4x16xf32, 4 : i32>
// CHECK-NEXT:    return %[[C]] : memref<4x16xf32, 4 : i32>
func.func @returned_collapse(%x: memref<4x2x8xf32>) -> memref<4x16xf32> {
  %s = memref.alloc() : memref<4x2x8xf32>
  linalg.exp ins(%x : memref<4x2x8xf32>) outs(%s : memref<4x2x8xf32>)
  %t = bufferization.to_tensor %s : memref<4x2x8xf32> to tensor<4x2x8xf32>
  "nkipy.layout"(%t) {mem_space = 3 : i32} : (tensor<4x2x8xf32>) -> ()
  %c = memref.collapse_shape %s [[0], [1, 2]] : memref<4x2x8xf32> into memref<4x16xf32>
  return %c : memref<4x16xf32>
}
