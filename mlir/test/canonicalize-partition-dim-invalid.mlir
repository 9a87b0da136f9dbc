// RUN: nkipy-kg-opt %s --canonicalize-partition-dim=target=trn2 --split-input-file --verify-diagnostics

func.func @matmul_producer(%a: tensor<64x32xf32>, %b: tensor<32x64xf32>) -> tensor<64x64xf32> {
  %e = tensor.empty() : tensor<64x64xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x32xf32>, tensor<32x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  // expected-error @below {{partition_dim != 0 on matmul/bmm is not supported. Please annotate downstream elementwise ops instead.}}
  "nkipy.layout"(%m) {partition_dim = 1 : ui32} : (tensor<64x64xf32>) -> ()
  return %m : tensor<64x64xf32>
}

// -----

func.func @tile_above_partitions(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %e = tensor.empty() : tensor<64x256xf32>
  %r = linalg.exp ins(%x : tensor<64x256xf32>) outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  // expected-error @below {{tile_size[1] = 256 exceeds hardware partition limit 128}}
  "nkipy.layout"(%r) {partition_dim = 1 : ui32, tile_size = array<i64: 64, 256>} : (tensor<64x256xf32>) -> ()
  return %r : tensor<64x256xf32>
}

// -----

func.func @transpose_producer(%x: tensor<64x32xf32>) -> tensor<32x64xf32> {
  %e = tensor.empty() : tensor<32x64xf32>
  %t = linalg.transpose ins(%x : tensor<64x32xf32>) outs(%e : tensor<32x64xf32>) permutation = [1, 0]
  // expected-error @below {{partition_dim != 0 on a value produced by linalg.transpose is not supported. Supported: elementwise and reduction ops.}}
  "nkipy.layout"(%t) {partition_dim = 1 : ui32} : (tensor<32x64xf32>) -> ()
  return %t : tensor<32x64xf32>
}

// -----

func.func @reshape_producer(%x: tensor<64x32xf32>) -> tensor<64x2x16xf32> {
  %r = tensor.expand_shape %x [[0], [1, 2]] output_shape [64, 2, 16] : tensor<64x32xf32> into tensor<64x2x16xf32>
  // expected-error @below {{partition_dim != 0 on a value produced by tensor.expand_shape is not supported}}
  "nkipy.layout"(%r) {partition_dim = 2 : ui32} : (tensor<64x2x16xf32>) -> ()
  return %r : tensor<64x2x16xf32>
}

// -----

func.func @conflict(%x: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  %e = tensor.empty() : tensor<4x8x16xf32>
  %a = linalg.exp ins(%x : tensor<4x8x16xf32>) outs(%e : tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  "nkipy.layout"(%a) {partition_dim = 1 : ui32} : (tensor<4x8x16xf32>) -> ()
  %b = linalg.exp ins(%a : tensor<4x8x16xf32>) outs(%e : tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  // expected-error @below {{conflicting partition_dim 2: this value is computed together with a value annotated partition_dim 1}}
  "nkipy.layout"(%b) {partition_dim = 2 : ui32} : (tensor<4x8x16xf32>) -> ()
  return %b : tensor<4x8x16xf32>
}

// -----

// The same concatenation kept in SBUF would need its data movement transposed: an error.
func.func @concat_in_sbuf(%a: tensor<4x128x64xf32>, %b: tensor<4x128x64xf32>) -> tensor<4x128x128xf32> {
  %e = tensor.empty() : tensor<4x128x128xf32>
  %l = tensor.insert_slice %a into %e[0, 0, 0] [4, 128, 64] [1, 1, 1] : tensor<4x128x64xf32> into tensor<4x128x128xf32>
  %c = tensor.insert_slice %b into %l[0, 0, 64] [4, 128, 64] [1, 1, 1] : tensor<4x128x64xf32> into tensor<4x128x128xf32>
  // expected-error @below {{partition_dim != 0 on a value produced by tensor.insert_slice is not supported}}
  "nkipy.layout"(%c) {mem_space = 3 : i32, partition_dim = 1 : ui32, tile_size = array<i64: 1, 128, 128>} : (tensor<4x128x128xf32>) -> ()
  return %c : tensor<4x128x128xf32>
}
