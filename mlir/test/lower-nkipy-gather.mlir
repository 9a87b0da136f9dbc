// RUN: nkipy-kg-opt %s --lower-nkipy-gather --split-input-file | filecheck %s
// RUN: nkipy-kg-opt %s --lower-nkipy-gather --split-input-file --mlir-print-debuginfo | filecheck %s --check-prefix=LOC

// result[i, j] = source[clamp(indices[i], 0, 15), j]: a generic over the output that
// reads the index through (d0, d1) -> (d0) and extracts from the source.

// CHECK-DAG:   #[[IDX:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG:   #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @gather_rows
// CHECK-SAME:    (%[[SRC:.*]]: tensor<16x4xf32>, %[[IND:.*]]: tensor<8xi32>, %[[OUT:.*]]: tensor<8x4xf32>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C15:.*]] = arith.constant 15 : index
// CHECK:         %[[R:.*]] = linalg.generic {indexing_maps = [#[[IDX]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:        ins(%[[IND]] : tensor<8xi32>) outs(%[[OUT]] : tensor<8x4xf32>)
// CHECK-NEXT:    ^bb0(%[[I:.*]]: i32, %{{.*}}: f32):
// CHECK-NEXT:      %[[ROW:.*]] = arith.index_cast %[[I]] : i32 to index
// CHECK-NEXT:      %[[LO:.*]] = arith.maxsi %[[ROW]], %[[C0]] : index
// CHECK-NEXT:      %[[OK:.*]] = arith.minsi %[[LO]], %[[C15]] : index
// CHECK-NEXT:      %[[J:.*]] = linalg.index 1 : index
// CHECK-NEXT:      %[[V:.*]] = tensor.extract %[[SRC]][%[[OK]], %[[J]]] : tensor<16x4xf32>
// CHECK-NEXT:      linalg.yield %[[V]] : f32
// CHECK:         return %[[R]] : tensor<8x4xf32>
// CHECK-NOT:     nkipy.gather

// Every created op keeps the gather's location (the nkipy.gather line, column 8).
// LOC:         #[[GLOC:loc[0-9]+]] = loc("-":[[# @LINE + 8]]:8)
// LOC-LABEL: func.func @gather_rows
// LOC:           arith.constant 0 : index loc(#[[GLOC]])
// LOC:           linalg.generic
// LOC:             arith.index_cast {{.*}} loc(#[[GLOC]])
// LOC:             linalg.index 1 : index loc(#[[GLOC]])
// LOC:             tensor.extract {{.*}} loc(#[[GLOC]])
func.func @gather_rows(%src: tensor<16x4xf32>, %idx: tensor<8xi32>, %out: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %g = "nkipy.gather"(%src, %idx, %out) : (tensor<16x4xf32>, tensor<8xi32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %g : tensor<8x4xf32>
}

// -----

// A dynamic first dimension clamps to tensor.dim - 1; rank-3 sources index every
// trailing dimension with linalg.index.

// CHECK-LABEL: func.func @gather_dynamic
// CHECK-SAME:    (%[[SRC:.*]]: tensor<?x3x5xbf16>, %[[IND:.*]]: tensor<7xi64>
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK:         %[[N:.*]] = tensor.dim %[[SRC]], %[[C0]] : tensor<?x3x5xbf16>
// CHECK:         %[[LAST:.*]] = arith.subi %[[N]], %[[C1]] : index
// CHECK:         linalg.generic
// CHECK-SAME:        iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME:        ins(%[[IND]] : tensor<7xi64>)
// CHECK:           arith.index_cast %{{.*}} : i64 to index
// CHECK:           %[[OK:.*]] = arith.minsi %{{.*}}, %[[LAST]] : index
// CHECK-NEXT:      %[[J:.*]] = linalg.index 1 : index
// CHECK-NEXT:      %[[K:.*]] = linalg.index 2 : index
// CHECK-NEXT:      tensor.extract %[[SRC]][%[[OK]], %[[J]], %[[K]]] : tensor<?x3x5xbf16>
func.func @gather_dynamic(%src: tensor<?x3x5xbf16>, %idx: tensor<7xi64>, %out: tensor<7x3x5xbf16>) -> tensor<7x3x5xbf16> {
  %g = "nkipy.gather"(%src, %idx, %out) : (tensor<?x3x5xbf16>, tensor<7xi64>, tensor<7x3x5xbf16>) -> tensor<7x3x5xbf16>
  return %g : tensor<7x3x5xbf16>
}

// -----

// Several gathers, including one feeding another, all get lowered.

// CHECK-LABEL: func.func @gather_chain
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT:     nkipy.gather
func.func @gather_chain(%src: tensor<10x2xf16>, %i: tensor<4xi32>, %j: tensor<3xi32>) -> tensor<3x2xf16> {
  %e4 = tensor.empty() : tensor<4x2xf16>
  %g1 = "nkipy.gather"(%src, %i, %e4) : (tensor<10x2xf16>, tensor<4xi32>, tensor<4x2xf16>) -> tensor<4x2xf16>
  %e3 = tensor.empty() : tensor<3x2xf16>
  %g2 = "nkipy.gather"(%g1, %j, %e3) : (tensor<4x2xf16>, tensor<3xi32>, tensor<3x2xf16>) -> tensor<3x2xf16>
  return %g2 : tensor<3x2xf16>
}
