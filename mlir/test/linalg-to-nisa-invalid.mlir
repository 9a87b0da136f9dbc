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

#row = affine_map<(d0, d1) -> (d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @partition_broadcast(%x: memref<128x64xf32, 3 : i32>, %w: memref<1x64xf32, 3 : i32>, %y: memref<128x64xf32, 3 : i32>) {
  %w1 = memref.collapse_shape %w [[0, 1]] : memref<1x64xf32, 3 : i32> into memref<64xf32, 3 : i32>
  // expected-error @below {{is not an identity, a per-partition [P, 1] broadcast or a [1, F] row broadcast}}
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w1 : memref<128x64xf32, 3 : i32>, memref<64xf32, 3 : i32>) outs(%y : memref<128x64xf32, 3 : i32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %0 = arith.mulf %in, %s : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

func.func @fill_hbm(%x: memref<128x64xf32, 4 : i32>) {
  %c = arith.constant 0.0 : f32
  // expected-error @below {{nisa.memset writes SBUF/PSUM only}}
  linalg.fill ins(%c : f32) outs(%x : memref<128x64xf32, 4 : i32>)
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
