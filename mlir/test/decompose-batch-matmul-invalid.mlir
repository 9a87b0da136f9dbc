// RUN: nkipy-kg-opt %s --decompose-batch-matmul --split-input-file --verify-diagnostics

func.func @tiled_batch(%a: tensor<2x4x8xf32>, %b: tensor<2x8x16xf32>) -> tensor<2x4x16xf32> {
  %c = tensor.empty() : tensor<2x4x16xf32>
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x8xf32>, tensor<2x8x16xf32>) outs(%c : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-error @below {{batch dim cannot be tiled; it is iterated}}
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 2, 4, 16, 8>} : (tensor<2x4x16xf32>) -> ()
  return %r : tensor<2x4x16xf32>
}

// -----

func.func @tiled_batch_layout(%a: tensor<2x4x8xf32>, %b: tensor<2x8x16xf32>) -> tensor<2x4x16xf32> {
  %c = tensor.empty() : tensor<2x4x16xf32>
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x8xf32>, tensor<2x8x16xf32>) outs(%c : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-error @below {{batch dim cannot be tiled; it is iterated}}
  "nkipy.layout"(%r) {tile_size = array<i64: 2, 4, 16>} : (tensor<2x4x16xf32>) -> ()
  return %r : tensor<2x4x16xf32>
}

// -----

func.func @short_loop_tile(%a: tensor<2x4x8xf32>, %b: tensor<2x8x16xf32>) -> tensor<2x4x16xf32> {
  %c = tensor.empty() : tensor<2x4x16xf32>
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x8xf32>, tensor<2x8x16xf32>) outs(%c : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-error @below {{a batch matmul takes loop_tile_size [1, M, N, K], got [4, 16, 8]}}
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 4, 16, 8>} : (tensor<2x4x16xf32>) -> ()
  return %r : tensor<2x4x16xf32>
}

// -----

func.func @dynamic(%a: tensor<?x4x8xf32>, %b: tensor<?x8x16xf32>, %c: tensor<?x4x16xf32>) -> tensor<?x4x16xf32> {
  // expected-error @below {{batch_matmul with a dynamic shape (tensor<?x4x8xf32>) is not supported}}
  %r = linalg.batch_matmul ins(%a, %b : tensor<?x4x8xf32>, tensor<?x8x16xf32>) outs(%c : tensor<?x4x16xf32>) -> tensor<?x4x16xf32>
  return %r : tensor<?x4x16xf32>
}
