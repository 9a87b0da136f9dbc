// RUN: nkipy-kg-opt %s --split-input-file --verify-diagnostics

func.func @bad_mem_space(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{'nkipy.layout' op mem_space 9 is not one of Hbm=1, Psum=2, Sbuf=3, SharedHbm=4, Constant=5}}
  "nkipy.layout"(%a) {mem_space = 9 : i32} : (tensor<4x8xf32>) -> ()
  return
}

// -----

func.func @mem_space_zero(%a: tensor<4x8xf32>) {
  // 0 is deliberately not a memory space (MLIR drops a zero memref memory space).
  "nkipy.layout"(%a) {mem_space = 0 : i32} : (tensor<4x8xf32>) -> () // expected-error {{mem_space 0 is not one of}}
  return
}

// -----

func.func @partition_dim_out_of_range(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{partition_dim 2 is out of range for rank 2}}
  "nkipy.layout"(%a) {partition_dim = 2 : ui32} : (tensor<4x8xf32>) -> ()
  return
}

// -----

func.func @tile_size_wrong_rank(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{tile_size has 3 entries, the value has rank 2}}
  "nkipy.layout"(%a) {tile_size = array<i64: 2, 2, 2>} : (tensor<4x8xf32>) -> ()
  return
}

// -----

func.func @tile_size_not_positive(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{tile_size entries must be positive, got [2, 0]}}
  "nkipy.layout"(%a) {tile_size = array<i64: 2, 0>} : (tensor<4x8xf32>) -> ()
  return
}

// -----

func.func @loop_tile_size_negative(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{'nkipy.tile_op' op loop_tile_size entries must be positive, got [4, -1]}}
  "nkipy.tile_op"(%a) {loop_tile_size = array<i64: 4, -1>} : (tensor<4x8xf32>) -> ()
  return
}

// -----

func.func @tile_op_without_sizes(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{requires a 'loop_tile_size' array<i64> attribute}}
  "nkipy.tile_op"(%a) : (tensor<4x8xf32>) -> ()
  return
}

// -----

func.func @fuse_one_target(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{'nkipy.fuse_op' op requires at least 2 target tensors to fuse}}
  "nkipy.fuse_op"(%a) : (tensor<4x8xf32>) -> ()
  return
}

// -----

func.func @gather_wrong_output_shape(%t: tensor<16x4xf32>, %i: tensor<8xi32>, %o: tensor<8x5xf32>) -> tensor<8x5xf32> {
  // expected-error @+1 {{'nkipy.gather' op output shape [8, 5] must be [8, 4]}}
  %g = "nkipy.gather"(%t, %i, %o) : (tensor<16x4xf32>, tensor<8xi32>, tensor<8x5xf32>) -> tensor<8x5xf32>
  return %g : tensor<8x5xf32>
}

// -----

func.func @gather_rank2_indices(%t: tensor<16x4xf32>, %i: tensor<2x4xi32>, %o: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{indices must be a rank-1 integer tensor}}
  %g = "nkipy.gather"(%t, %i, %o) : (tensor<16x4xf32>, tensor<2x4xi32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %g : tensor<2x4xf32>
}

// -----

func.func @gather_float_indices(%t: tensor<16x4xf32>, %i: tensor<8xf32>, %o: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{indices must be a rank-1 integer tensor}}
  %g = "nkipy.gather"(%t, %i, %o) : (tensor<16x4xf32>, tensor<8xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %g : tensor<8x4xf32>
}

// -----

func.func @gather_element_type_mismatch(%t: tensor<16x4xf32>, %i: tensor<8xi32>, %o: tensor<8x4xf16>) -> tensor<8x4xf16> {
  // expected-error @+1 {{output and source element types differ}}
  %g = "nkipy.gather"(%t, %i, %o) : (tensor<16x4xf32>, tensor<8xi32>, tensor<8x4xf16>) -> tensor<8x4xf16>
  return %g : tensor<8x4xf16>
}
