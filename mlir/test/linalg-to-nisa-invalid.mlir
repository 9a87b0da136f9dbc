// RUN: nkipy-kg-opt %s --linalg-to-nisa="target=trn2" --split-input-file --verify-diagnostics

func.func @unplaced() {
  // expected-error @below {{buffer has no nisa memory space}}
  %a = memref.alloc() : memref<128x64xf32>
  return
}

// -----

func.func @too_many_partitions() {
  // expected-error @below {{partition dim 256 exceeds the 128 partitions of trn2}}
  %a = memref.alloc() : memref<256xf32, 3 : i32>
  return
}

// -----

#tr = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @transposed_operand(%x: memref<128x64xf32, 3 : i32>, %w: memref<64x128xf32, 3 : i32>, %y: memref<128x64xf32, 3 : i32>) {
  // expected-error @below {{is not an identity, a per-partition [P, 1] broadcast, a [1, F] row broadcast or an [F, 1] column read along the free axis}}
  linalg.generic {indexing_maps = [#id, #tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w : memref<128x64xf32, 3 : i32>, memref<64x128xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %0 = arith.mulf %in, %s : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @unknown_body(%x: memref<128x64xf32, 3 : i32>, %y: memref<128x64xf32, 3 : i32>) {
  // expected-error @below {{no nisa instruction for 'math.floor' in a linalg.generic body}}
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<128x64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.floor %in : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @plain_matmul(%a: memref<128x128xf32, 3 : i32>, %b: memref<128x256xf32, 3 : i32>, %c: memref<128x256xf32, 2 : i32>) {
  // expected-error @below {{are not transposed-A}}
  linalg.matmul indexing_maps = [#a, #b, #c] ins(%a, %b : memref<128x128xf32, 3 : i32>, memref<128x256xf32, 3 : i32>) outs(%c : memref<128x256xf32, 2 : i32>)
  return
}

// -----

func.func @alloca() {
  // expected-error @below {{no nisa lowering for 'memref.alloca'}}
  %a = memref.alloca() : memref<128x64xf32, 3 : i32>
  return
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#b0 = affine_map<(d0, d1, d2) -> (d0)>
func.func @only_unit_dims(%x: memref<1x128x64xf32, 3 : i32>, %s: memref<1xf32, 3 : i32>, %y: memref<1x128x64xf32, 3 : i32>) {
  // expected-error @below {{operand memref<1xf32, 3 : i32> has only unit dims; cannot drop them}}
  linalg.generic {indexing_maps = [#id3, #b0, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %s : memref<1x128x64xf32, 3 : i32>, memref<1xf32, 3 : i32>) outs(%y : memref<1x128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %v: f32, %out: f32):
    %0 = arith.mulf %in, %v : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

func.func @fill_hbm_too_large(%h: memref<128x16384xf32, 4 : i32>) {
  %zero = arith.constant 0.0 : f32
  // expected-error @below {{linalg.fill of an HBM buffer needs a 65536-byte per partition SBUF staging tile (limit 32768); tile the fill first}}
  linalg.fill ins(%zero : f32) outs(%h : memref<128x16384xf32, 4 : i32>)
  return
}

// -----

#v = affine_map<(d0) -> (d0)>
#s = affine_map<(d0) -> (0)>
func.func @rank1_scalar_reduction(%x: memref<128xf32, 3 : i32>, %s: memref<1xf32, 3 : i32>) {
  // expected-error @below {{a reduction over a single dim (to a scalar) is not supported by linalg-to-nisa}}
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%x : memref<128xf32, 3 : i32>) outs(%s : memref<1xf32, 3 : i32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (0, d1)>
func.func @partition_reduce_psum(%x: memref<128x64xf32, 2 : i32>, %m: memref<1x64xf32, 3 : i32>) {
  // expected-error @below {{partition-axis reduction reads SBUF (or HBM, staged) only}}
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<128x64xf32, 2 : i32>) outs(%m : memref<1x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (0, d1, d2)>
func.func @partition_reduce_3d_hbm(%x: memref<256x4x64xf32, 4 : i32>, %m: memref<1x4x64xf32, 3 : i32>) {
  // expected-error @below {{partition-axis reduction of memref<256x4x64xf32, 4 : i32>: only SBUF tiles of at most 128 rows or 2-D HBM buffers are supported}}
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["reduction", "parallel", "parallel"]}
      ins(%x : memref<256x4x64xf32, 4 : i32>) outs(%m : memref<1x4x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

module {
  func.func private @__custom_op__missing(memref<128x64xf32, 4 : i32>) -> memref<128x64xf32, 4 : i32> attributes {nkipy.custom_op}
  func.func @no_body(%arg0: memref<128x64xf32, 4 : i32>) -> memref<128x64xf32, 4 : i32> {
    // expected-error @below {{custom op missing has no body in the module's nkipy.custom_op_bodies}}
    %0 = call @__custom_op__missing(%arg0) : (memref<128x64xf32, 4 : i32>) -> memref<128x64xf32, 4 : i32>
    return %0 : memref<128x64xf32, 4 : i32>
  }
}

// -----

// A generic whose result depends on a [P, 1] broadcast operand only: each op runs
// on [P, 1] temporaries, and nothing would broadcast the last one into the tile.
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0, 0)>
func.func @broadcast_only(%v: memref<128x1xf32, 3 : i32>, %y: memref<128x64xf32, 3 : i32>) {
  // expected-error @below {{generic result computed from [P, 1] broadcasts only is not supported}}
  linalg.generic {indexing_maps = [#col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%v : memref<128x1xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%s: f32, %out: f32):
    %a = math.absf %s : f32
    linalg.yield %a : f32
  }
  return
}

// -----

#col = affine_map<(d0, d1) -> (d0, 0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @gather_column_tile(%table: memref<512x128xf32, 4 : i32>, %idx: memref<128x1xi32, 3 : i32>, %out: memref<128x64xf32, 3 : i32>) {
  %c64 = arith.constant 64 : index
  // expected-error @below {{a gather tiled along its row dims (a column offset) is not supported}}
  linalg.generic {indexing_maps = [#col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%idx : memref<128x1xi32, 3 : i32>) outs(%out : memref<128x64xf32, 3 : i32>) {
  ^bb0(%i: i32, %o: f32):
    %r = arith.index_cast %i : i32 to index
    %j = linalg.index 1 : index
    %jj = arith.addi %j, %c64 : index
    %v = memref.load %table[%r, %jj] : memref<512x128xf32, 4 : i32>
    linalg.yield %v : f32
  }
  return
}
