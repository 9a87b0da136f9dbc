// RUN: nkipy-kg-opt %s | filecheck %s
// RUN: nkipy-kg-opt %s | nkipy-kg-opt | filecheck %s
// RUN: nkipy-kg-opt %s --mlir-print-debuginfo | nkipy-kg-opt --mlir-print-debuginfo | filecheck %s --check-prefix=LOC

// All four nkipy ops parse, verify and print (in generic form: Python-defined ops
// have no custom syntax), and the printed form parses again to the same IR.

// CHECK-LABEL: func.func @all_ops
// CHECK-SAME:    (%[[A:.*]]: tensor<256x512xf32>, %[[B:.*]]: tensor<256x512xf32>, %[[T:.*]]: tensor<512x64xbf16>, %[[I:.*]]: tensor<8xi32>, %[[O:.*]]: tensor<8x64xbf16>)
// CHECK-NEXT:    "nkipy.tile_op"(%[[A]]) {loop_tile_size = array<i64: 128, 128, 128>} : (tensor<256x512xf32>) -> ()
// CHECK-NEXT:    "nkipy.layout"(%[[A]]) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (tensor<256x512xf32>) -> ()
// CHECK-NEXT:    "nkipy.layout"(%[[B]]) {mem_space = 1 : i32} : (tensor<256x512xf32>) -> ()
// CHECK-NEXT:    "nkipy.layout"(%[[B]]) : (tensor<256x512xf32>) -> ()
// CHECK-NEXT:    "nkipy.fuse_op"(%[[A]], %[[B]]) : (tensor<256x512xf32>, tensor<256x512xf32>) -> ()
// CHECK-NEXT:    "nkipy.fuse_op"(%[[A]], %[[B]], %[[A]]) : (tensor<256x512xf32>, tensor<256x512xf32>, tensor<256x512xf32>) -> ()
// CHECK-NEXT:    %[[G:.*]] = "nkipy.gather"(%[[T]], %[[I]], %[[O]]) : (tensor<512x64xbf16>, tensor<8xi32>, tensor<8x64xbf16>) -> tensor<8x64xbf16>
// CHECK-NEXT:    return %[[G]] : tensor<8x64xbf16>
func.func @all_ops(%a: tensor<256x512xf32>, %b: tensor<256x512xf32>, %table: tensor<512x64xbf16>,
                   %idx: tensor<8xi32>, %init: tensor<8x64xbf16>) -> tensor<8x64xbf16> {
  "nkipy.tile_op"(%a) {loop_tile_size = array<i64: 128, 128, 128>} : (tensor<256x512xf32>) -> ()
  "nkipy.layout"(%a) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (tensor<256x512xf32>) -> ()
  "nkipy.layout"(%b) {mem_space = 1 : i32} : (tensor<256x512xf32>) -> ()
  "nkipy.layout"(%b) : (tensor<256x512xf32>) -> ()
  "nkipy.fuse_op"(%a, %b) : (tensor<256x512xf32>, tensor<256x512xf32>) -> ()
  "nkipy.fuse_op"(%a, %b, %a) : (tensor<256x512xf32>, tensor<256x512xf32>, tensor<256x512xf32>) -> ()
  %g = "nkipy.gather"(%table, %idx, %init) : (tensor<512x64xbf16>, tensor<8xi32>, tensor<8x64xbf16>) -> tensor<8x64xbf16>
  return %g : tensor<8x64xbf16>
}

// The annotations also accept memrefs (after bufferization).

// CHECK-LABEL: func.func @on_memrefs
// CHECK-NEXT:    "nkipy.layout"(%{{.*}}) {mem_space = 2 : i32, partition_dim = 1 : ui32} : (memref<128x64xf32>) -> ()
// CHECK-NEXT:    "nkipy.tile_op"(%{{.*}}) {loop_tile_size = array<i64: 64>} : (memref<128x64xf32>) -> ()
func.func @on_memrefs(%m: memref<128x64xf32>) {
  "nkipy.layout"(%m) {mem_space = 2 : i32, partition_dim = 1 : ui32} : (memref<128x64xf32>) -> ()
  "nkipy.tile_op"(%m) {loop_tile_size = array<i64: 64>} : (memref<128x64xf32>) -> ()
  return
}

// Locations survive the round trip.
// LOC: "nkipy.gather"{{.*}} loc(#[[GL:loc[0-9]+]])
// LOC: #[[GL]] = loc("-":[[# @LINE - 17]]:8)
