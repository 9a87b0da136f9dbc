// RUN: nkipy-kg-opt %s --legalize-layout=target=trn2 --split-input-file --verify-diagnostics

// Consumers disagree on the tile of an SBUF buffer without a layout.
func.func @inconsistent(%x: memref<256x256xf32, 4 : i32>) {
  // expected-error @below {{inconsistent tile sizes inferred from consumers: [128, 128], [64, 128]}}
  %sb = memref.alloc() : memref<256x256xf32, 3 : i32>
  %a = memref.subview %sb[0, 0] [128, 128] [1, 1] : memref<256x256xf32, 3 : i32> to memref<128x128xf32, strided<[256, 1]>, 3 : i32>
  %b = memref.subview %sb[128, 0] [64, 128] [1, 1] : memref<256x256xf32, 3 : i32> to memref<64x128xf32, strided<[256, 1], offset: 32768>, 3 : i32>
  %t = memref.alloc() : memref<128x128xf32, 3 : i32>
  linalg.exp ins(%a : memref<128x128xf32, strided<[256, 1]>, 3 : i32>) outs(%t : memref<128x128xf32, 3 : i32>)
  %u = memref.alloc() : memref<64x128xf32, 3 : i32>
  linalg.exp ins(%b : memref<64x128xf32, strided<[256, 1], offset: 32768>, 3 : i32>) outs(%u : memref<64x128xf32, 3 : i32>)
  return
}

// -----

func.func @not_dividing() {
  // expected-error @below {{tile [128, 96] does not divide the buffer shape [256, 256]}}
  %sb = memref.alloc() : memref<256x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 96>} : (memref<256x256xf32, 3 : i32>) -> ()
  return
}

// -----

func.func @too_many_partitions() {
  // expected-error @below {{partition tile 256 exceeds the target's 128 partitions}}
  %sb = memref.alloc() : memref<512x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 256, 128>} : (memref<512x256xf32, 3 : i32>) -> ()
  return
}

// -----

func.func @dynamic_offset(%n: index) {
  %c64 = arith.constant 64 : index
  %sb = memref.alloc() : memref<256x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (memref<256x256xf32, 3 : i32>) -> ()
  %o = arith.muli %n, %c64 : index
  // expected-error @below {{cannot compute block index from dynamic offset (tile size 128)}}
  %s = memref.subview %sb[%o, 0] [128, 128] [1, 1] : memref<256x256xf32, 3 : i32> to memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>
  %t = memref.alloc() : memref<128x128xf32, 3 : i32>
  linalg.exp ins(%s : memref<128x128xf32, strided<[256, 1], offset: ?>, 3 : i32>) outs(%t : memref<128x128xf32, 3 : i32>)
  return
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
// An operand spanning two partition blocks is no single [partition, free] tile; a
// reduction over it cannot run block by block (a copy or elementwise op can).
func.func @two_partition_blocks(%r: memref<256x1xf32, 3 : i32>) {
  %sb = memref.alloc() : memref<256x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (memref<256x256xf32, 3 : i32>) -> ()
  %s = memref.subview %sb[0, 0] [256, 128] [1, 1] : memref<256x256xf32, 3 : i32> to memref<256x128xf32, strided<[256, 1]>, 3 : i32>
  // expected-error @below {{an operand spans [2, 1] blocks of the legalized SBUF buffer (tile [128, 128]) and linalg.generic is not elementwise}}
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]} ins(%s : memref<256x128xf32, strided<[256, 1]>, 3 : i32>) outs(%r : memref<256x1xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#bc = affine_map<(d0, d1) -> (d0, 0)>
// A whole-buffer op that is not elementwise with identity maps is not tiled silently.
func.func @untiled_broadcast(%col: memref<256x1xf32, 4 : i32>) {
  %sb = memref.alloc() : memref<256x256xf32, 3 : i32>
  "nkipy.layout"(%sb) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (memref<256x256xf32, 3 : i32>) -> ()
  // expected-error @below {{cannot tile this op over a legalized SBUF buffer}}
  linalg.generic {indexing_maps = [#bc, #id], iterator_types = ["parallel", "parallel"]} ins(%col : memref<256x1xf32, 4 : i32>) outs(%sb : memref<256x256xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}
