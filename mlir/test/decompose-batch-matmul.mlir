// RUN: nkipy-kg-opt %s --decompose-batch-matmul --split-input-file | filecheck %s

// One scf.for over the batch: rank-reducing slices, a 2-D matmul carrying the op
// id and the tile_op without its batch entry, insert_slice back. The layout stays
// on the loop result and gets tile_size [1, M_t, N_t] from the tile_op.

// CHECK-LABEL: func.func @bmm
// CHECK-SAME:    (%[[A:.*]]: tensor<2x4x8xf32>, %[[B:.*]]: tensor<2x8x16xf32>)
// CHECK:         %[[INIT:.*]] = tensor.empty() : tensor<2x4x16xf32>
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK:         %[[R:.*]] = scf.for %[[I:.*]] = %[[C0]] to %[[C2]] step %[[C1]] iter_args(%[[ACC:.*]] = %[[INIT]]) -> (tensor<2x4x16xf32>) {
// CHECK-NEXT:      %[[AI:.*]] = tensor.extract_slice %[[A]][%[[I]], 0, 0] [1, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<4x8xf32>
// CHECK-NEXT:      %[[BI:.*]] = tensor.extract_slice %[[B]][%[[I]], 0, 0] [1, 8, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<8x16xf32>
// CHECK-NEXT:      %[[CI:.*]] = tensor.extract_slice %[[ACC]][%[[I]], 0, 0] [1, 4, 16] [1, 1, 1] : tensor<2x4x16xf32> to tensor<4x16xf32>
// CHECK-NEXT:      %[[M:.*]] = linalg.matmul {nkipy.op_id = 7 : i64} ins(%[[AI]], %[[BI]] : tensor<4x8xf32>, tensor<8x16xf32>) outs(%[[CI]] : tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT:      "nkipy.tile_op"(%[[M]]) {loop_tile_size = array<i64: 4, 8, 8>} : (tensor<4x16xf32>) -> ()
// CHECK-NEXT:      %[[U:.*]] = tensor.insert_slice %[[M]] into %[[ACC]][%[[I]], 0, 0] [1, 4, 16] [1, 1, 1] : tensor<4x16xf32> into tensor<2x4x16xf32>
// CHECK-NEXT:      scf.yield %[[U]] : tensor<2x4x16xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    "nkipy.layout"(%[[R]]) {mem_space = 3 : i32, tile_size = array<i64: 1, 4, 8>}
// CHECK-NEXT:    return %[[R]]
// CHECK-NOT:     linalg.batch_matmul
func.func @bmm(%a: tensor<2x4x8xf32>, %b: tensor<2x8x16xf32>) -> tensor<2x4x16xf32> {
  %c = tensor.empty() : tensor<2x4x16xf32>
  %r = linalg.batch_matmul {nkipy.op_id = 7 : i64} ins(%a, %b : tensor<2x4x8xf32>, tensor<2x8x16xf32>) outs(%c : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 1, 4, 8, 8>} : (tensor<2x4x16xf32>) -> ()
  "nkipy.layout"(%r) {mem_space = 3 : i32} : (tensor<2x4x16xf32>) -> ()
  return %r : tensor<2x4x16xf32>
}

// -----

// A user-given layout tile is kept; an unannotated batch matmul that feeds another op.

// CHECK-LABEL: func.func @layout_kept_and_chained
// CHECK:         %[[R:.*]] = scf.for
// CHECK:         "nkipy.layout"(%[[R]]) {mem_space = 4 : i32, tile_size = array<i64: 1, 2, 16>}
// CHECK:         %[[R2:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<2x4x4xf32>)
// CHECK:           tensor.extract_slice %[[R]][%{{.*}}, 0, 0] [1, 4, 16] [1, 1, 1]
// CHECK:         return %[[R2]]
func.func @layout_kept_and_chained(%a: tensor<2x4x8xf32>, %b: tensor<2x8x16xf32>, %d: tensor<2x16x4xf32>) -> tensor<2x4x4xf32> {
  %c = tensor.empty() : tensor<2x4x16xf32>
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x8xf32>, tensor<2x8x16xf32>) outs(%c : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  "nkipy.layout"(%r) {mem_space = 4 : i32, tile_size = array<i64: 1, 2, 16>} : (tensor<2x4x16xf32>) -> ()
  %c2 = tensor.empty() : tensor<2x4x4xf32>
  %r2 = linalg.batch_matmul ins(%r, %d : tensor<2x4x16xf32>, tensor<2x16x4xf32>) outs(%c2 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %r2 : tensor<2x4x4xf32>
}

// -----

// indexing_maps: a transposed A is sliced at its batch dim and the inner matmul
// keeps the transposed map; a B without batch dim (broadcast) is not sliced.

// CHECK-DAG:   #[[MA:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG:   #[[MB:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG:   #[[MC:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @maps
// CHECK-SAME:    (%[[A:.*]]: tensor<2x8x4xf32>, %[[B:.*]]: tensor<8x16xf32>)
// CHECK:         scf.for
// CHECK-NEXT:      %[[AI:.*]] = tensor.extract_slice %[[A]][%{{.*}}, 0, 0] [1, 8, 4] [1, 1, 1] : tensor<2x8x4xf32> to tensor<8x4xf32>
// CHECK-NEXT:      %[[CI:.*]] = tensor.extract_slice
// CHECK-NEXT:      linalg.matmul indexing_maps = [#[[MA]], #[[MB]], #[[MC]]] ins(%[[AI]], %[[B]] : tensor<8x4xf32>, tensor<8x16xf32>)
#a_t = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>
#b_bc = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @maps(%a: tensor<2x8x4xf32>, %b: tensor<8x16xf32>) -> tensor<2x4x16xf32> {
  %c = tensor.empty() : tensor<2x4x16xf32>
  %r = linalg.batch_matmul indexing_maps = [#a_t, #b_bc, #c] ins(%a, %b : tensor<2x8x4xf32>, tensor<8x16xf32>) outs(%c : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %r : tensor<2x4x16xf32>
}
