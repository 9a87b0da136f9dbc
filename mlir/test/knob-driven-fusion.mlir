// RUN: nkipy-kg-opt %s --knob-driven-fusion --split-input-file | filecheck %s

// Two tiled 2-D elementwise nests with equal bounds: one outer and one inner
// loop carrying both accumulators. The ops between the loops are moved: the
// second op's init (independent) above the fused loop, the first result's
// layout (dependent) below it. The fuse_op is gone.

// CHECK-LABEL: func.func @two_nests
// CHECK-SAME:    (%[[A:.*]]: tensor<8x16xf32>, %[[B:.*]]: tensor<8x16xf32>)
// CHECK-DAG:     %[[E0:.*]] = tensor.empty() : tensor<8x16xf32>
// CHECK-DAG:     %[[E1:.*]] = tensor.empty() : tensor<8x16xf32>
// CHECK:         %[[R:.*]]:2 = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[X:.*]] = %[[E0]], %[[Y:.*]] = %[[E1]]) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
// CHECK-NEXT:      %[[IN:.*]]:2 = scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[X2:.*]] = %[[X]], %[[Y2:.*]] = %[[Y]]) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
// CHECK-NEXT:        tensor.extract_slice %[[A]][%[[I]], %[[J]]] [4, 8] [1, 1]
// CHECK-NEXT:        tensor.extract_slice %[[X2]][%[[I]], %[[J]]]
// CHECK-NEXT:        linalg.exp
// CHECK-NEXT:        %[[U0:.*]] = tensor.insert_slice %{{.*}} into %[[X2]][%[[I]], %[[J]]]
// CHECK-NEXT:        tensor.extract_slice %[[B]][%[[I]], %[[J]]] [4, 8] [1, 1]
// CHECK-NEXT:        tensor.extract_slice %[[Y2]][%[[I]], %[[J]]]
// CHECK-NEXT:        linalg.negf
// CHECK-NEXT:        %[[U1:.*]] = tensor.insert_slice %{{.*}} into %[[Y2]][%[[I]], %[[J]]]
// CHECK-NEXT:        scf.yield %[[U0]], %[[U1]] : tensor<8x16xf32>, tensor<8x16xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.yield %[[IN]]#0, %[[IN]]#1 : tensor<8x16xf32>, tensor<8x16xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    "nkipy.layout"(%[[R]]#0) {mem_space = 3 : i32}
// CHECK-NEXT:    "nkipy.layout"(%[[R]]#1) {mem_space = 4 : i32}
// CHECK-NOT:     nkipy.fuse_op
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1
func.func @two_nests(%a: tensor<8x16xf32>, %b: tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %e0 = tensor.empty() : tensor<8x16xf32>
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e0) -> (tensor<8x16xf32>) {
    %in = scf.for %j = %c0 to %c16 step %c8 iter_args(%x2 = %x) -> (tensor<8x16xf32>) {
      %s = tensor.extract_slice %a[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %o = tensor.extract_slice %x2[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %v = linalg.exp ins(%s : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
      %u = tensor.insert_slice %v into %x2[%i, %j] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<8x16xf32>
      scf.yield %u : tensor<8x16xf32>
    }
    scf.yield %in : tensor<8x16xf32>
  }
  "nkipy.layout"(%r0) {mem_space = 3 : i32} : (tensor<8x16xf32>) -> ()
  %e1 = tensor.empty() : tensor<8x16xf32>
  %c4b = arith.constant 4 : index
  %r1 = scf.for %i = %c0 to %c8 step %c4b iter_args(%y = %e1) -> (tensor<8x16xf32>) {
    %in = scf.for %j = %c0 to %c16 step %c8 iter_args(%y2 = %y) -> (tensor<8x16xf32>) {
      %s = tensor.extract_slice %b[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %o = tensor.extract_slice %y2[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %v = linalg.negf ins(%s : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
      %u = tensor.insert_slice %v into %y2[%i, %j] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<8x16xf32>
      scf.yield %u : tensor<8x16xf32>
    }
    scf.yield %in : tensor<8x16xf32>
  }
  "nkipy.layout"(%r1) {mem_space = 4 : i32} : (tensor<8x16xf32>) -> ()
  "nkipy.fuse_op"(%r0, %r1) : (tensor<8x16xf32>, tensor<8x16xf32>) -> ()
  return %r0, %r1 : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// Three 1-D loops, fused left to right in program order (the fuse_op lists them
// out of order); the inner bodies keep their order.

// CHECK-LABEL: func.func @three_loops
// CHECK:         %[[R:.*]]:3 = scf.for {{.*}} -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
// CHECK:           linalg.exp
// CHECK:           linalg.negf
// CHECK:           linalg.abs
// CHECK:           scf.yield
// CHECK-NEXT:    }
// CHECK-NOT:     scf.for
// CHECK:         return %[[R]]#0, %[[R]]#1, %[[R]]#2
func.func @three_loops(%a: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8xf32>
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %s = tensor.extract_slice %a[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %o = tensor.extract_slice %x[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %v = linalg.exp ins(%s : tensor<4xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
    %u = tensor.insert_slice %v into %x[%i] [4] [1] : tensor<4xf32> into tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %s = tensor.extract_slice %a[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %o = tensor.extract_slice %x[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %v = linalg.negf ins(%s : tensor<4xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
    %u = tensor.insert_slice %v into %x[%i] [4] [1] : tensor<4xf32> into tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  %r2 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %s = tensor.extract_slice %a[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %o = tensor.extract_slice %x[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %v = linalg.abs ins(%s : tensor<4xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
    %u = tensor.insert_slice %v into %x[%i] [4] [1] : tensor<4xf32> into tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  "nkipy.fuse_op"(%r2, %r0, %r1) : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> ()
  return %r0, %r1, %r2 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// Producer -> consumer: the second loop reads, in each iteration, the rows the
// first computes in that iteration. It reads the tile the first part of the fused
// body computed (extract_slice(insert_slice) folds), and the first loop's carried
// tensor, now never read, is dropped with its inserts and its knobs.

// CHECK-LABEL: func.func @producer_consumer
// CHECK-SAME:    (%[[A:.*]]: tensor<8x16xf32>)
// CHECK:         %[[R:.*]] = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[Y:.*]] = %{{.*}}) -> (tensor<8x16xf32>) {
// CHECK-NEXT:      %[[S:.*]] = tensor.extract_slice %[[A]][%[[I]], 0] [4, 16] [1, 1]
// CHECK-NEXT:      %[[T:.*]] = tensor.empty() : tensor<4x16xf32>
// CHECK-NEXT:      %[[V:.*]] = linalg.exp ins(%[[S]] : tensor<4x16xf32>) outs(%[[T]] : tensor<4x16xf32>)
// CHECK-NEXT:      %[[O:.*]] = tensor.extract_slice %[[Y]][%[[I]], 0] [4, 16] [1, 1]
// CHECK-NEXT:      %[[W:.*]] = linalg.negf ins(%[[V]] : tensor<4x16xf32>) outs(%[[O]] : tensor<4x16xf32>)
// CHECK-NEXT:      %[[U:.*]] = tensor.insert_slice %[[W]] into %[[Y]][%[[I]], 0] [4, 16] [1, 1]
// CHECK-NEXT:      scf.yield %[[U]] : tensor<8x16xf32>
// CHECK-NEXT:    }
// CHECK-NOT:     nkipy.
// CHECK-NEXT:    return %[[R]]
func.func @producer_consumer(%a: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8x16xf32>
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8x16xf32>) {
    %s = tensor.extract_slice %a[%i, 0] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
    %t = tensor.empty() : tensor<4x16xf32>
    %v = linalg.exp ins(%s : tensor<4x16xf32>) outs(%t : tensor<4x16xf32>) -> tensor<4x16xf32>
    %u = tensor.insert_slice %v into %x[%i, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<8x16xf32>
    scf.yield %u : tensor<8x16xf32>
  }
  "nkipy.layout"(%r0) {mem_space = 3 : i32} : (tensor<8x16xf32>) -> ()
  %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%y = %e) -> (tensor<8x16xf32>) {
    %s = tensor.extract_slice %r0[%i, 0] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
    %o = tensor.extract_slice %y[%i, 0] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
    %w = linalg.negf ins(%s : tensor<4x16xf32>) outs(%o : tensor<4x16xf32>) -> tensor<4x16xf32>
    %u = tensor.insert_slice %w into %y[%i, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<8x16xf32>
    scf.yield %u : tensor<8x16xf32>
  }
  "nkipy.fuse_op"(%r0, %r1) : (tensor<8x16xf32>, tensor<8x16xf32>) -> ()
  return %r1 : tensor<8x16xf32>
}

// -----

// A row max and `x - max` (different types: one fuse_op per type, tied by
// `group`). Each nest has an inner loop over the whole row (one trip), which is
// inlined so both bodies fuse at the row level; the subtraction reads the max
// tile, and the [8, 1] accumulator is contracted to a 4-row stripe filled afresh
// in each iteration (an SBUF tile, not a slice of a full-size fill).

// CHECK-LABEL: func.func @row_max_group
// CHECK-NOT:     linalg.fill
// CHECK:         %[[R:.*]] = scf.for %[[I:.*]] = {{.*}} iter_args(%[[Y:.*]] = %{{.*}}) -> (tensor<8x16xf32>) {
// CHECK-NOT:       scf.for
// CHECK:           %[[T:.*]] = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<4x1xf32>
// CHECK-NEXT:      %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[T]] : tensor<4x1xf32>)
// CHECK:           %[[ACC:.*]] = tensor.extract_slice %[[INIT]][%{{.*}}, 0] [4, 1] [1, 1]
// CHECK:           %[[MAX:.*]] = linalg.generic {{.*}} outs(%[[ACC]] : tensor<4x1xf32>)
// CHECK:           linalg.generic {{.*}} ins(%{{.*}}, %[[MAX]] : tensor<4x16xf32>, tensor<4x1xf32>)
// CHECK:           scf.yield %{{.*}} : tensor<8x16xf32>
// CHECK-NEXT:    }
// CHECK-NOT:     nkipy.fuse_op
// CHECK:         return %[[R]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func @row_max_group(%a: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %ninf = arith.constant 0xFF800000 : f32
  %e1 = tensor.empty() : tensor<8x1xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<8x1xf32>) -> tensor<8x1xf32>
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%m = %init) -> (tensor<8x1xf32>) {
    %in = scf.for %j = %c0 to %c16 step %c16 iter_args(%m2 = %m) -> (tensor<8x1xf32>) {
      %s = tensor.extract_slice %a[%i, %j] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
      %acc = tensor.extract_slice %m2[%i, 0] [4, 1] [1, 1] : tensor<8x1xf32> to tensor<4x1xf32>
      %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
          ins(%s : tensor<4x16xf32>) outs(%acc : tensor<4x1xf32>) {
      ^bb0(%p: f32, %q: f32):
        %z = arith.maximumf %p, %q : f32
        linalg.yield %z : f32
      } -> tensor<4x1xf32>
      %u = tensor.insert_slice %mx into %m2[%i, 0] [4, 1] [1, 1] : tensor<4x1xf32> into tensor<8x1xf32>
      scf.yield %u : tensor<8x1xf32>
    }
    scf.yield %in : tensor<8x1xf32>
  }
  %e = tensor.empty() : tensor<8x16xf32>
  %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%y = %e) -> (tensor<8x16xf32>) {
    %in = scf.for %j = %c0 to %c16 step %c16 iter_args(%y2 = %y) -> (tensor<8x16xf32>) {
      %s = tensor.extract_slice %a[%i, %j] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
      %mm = tensor.extract_slice %r0[%i, 0] [4, 1] [1, 1] : tensor<8x1xf32> to tensor<4x1xf32>
      %o = tensor.extract_slice %y2[%i, %j] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
      %d = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
          ins(%s, %mm : tensor<4x16xf32>, tensor<4x1xf32>) outs(%o : tensor<4x16xf32>) {
      ^bb0(%p: f32, %q: f32, %r: f32):
        %z = arith.subf %p, %q : f32
        linalg.yield %z : f32
      } -> tensor<4x16xf32>
      %u = tensor.insert_slice %d into %y2[%i, %j] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<8x16xf32>
      scf.yield %u : tensor<8x16xf32>
    }
    scf.yield %in : tensor<8x16xf32>
  }
  "nkipy.fuse_op"(%r0) {group = 0 : i64} : (tensor<8x1xf32>) -> ()
  "nkipy.fuse_op"(%r1) {group = 0 : i64} : (tensor<8x16xf32>) -> ()
  return %r1 : tensor<8x16xf32>
}

// -----

// Stripe contraction: the producer writes each 4-row block in two column tiles
// (an inner loop), so its reads cannot fold; the consumer reads only the block the
// same iteration wrote, and nothing else reads the carried 8x16 tensor: each
// iteration starts from a fresh 4x16 stripe instead (an SBUF tile; offset 0 along
// the rows).

// CHECK-LABEL: func.func @contract
// CHECK:         scf.for %[[I:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<8x16xf32>) {
// CHECK-NEXT:      %[[S:.*]] = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<4x16xf32>
// CHECK-NEXT:      %[[Z:.*]] = arith.constant 0 : index
// CHECK-NEXT:      %[[B:.*]] = scf.for %[[J:.*]] = {{.*}} iter_args(%[[X:.*]] = %[[S]]) -> (tensor<4x16xf32>) {
// CHECK:             linalg.exp
// CHECK-NEXT:        tensor.insert_slice %{{.*}} into %[[X]][%[[Z]], %[[J]]] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<4x16xf32>
// CHECK:           %[[T:.*]] = tensor.extract_slice %[[B]][%[[Z]], 0] [4, 16] [1, 1]
// CHECK:           linalg.negf ins(%[[T]] : tensor<4x16xf32>)
func.func @contract(%a: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %e = tensor.empty() : tensor<8x16xf32>
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8x16xf32>) {
    %in = scf.for %j = %c0 to %c16 step %c8 iter_args(%x2 = %x) -> (tensor<8x16xf32>) {
      %s = tensor.extract_slice %a[%i, %j] [4, 8] [1, 1] : tensor<8x16xf32> to tensor<4x8xf32>
      %t = tensor.empty() : tensor<4x8xf32>
      %v = linalg.exp ins(%s : tensor<4x8xf32>) outs(%t : tensor<4x8xf32>) -> tensor<4x8xf32>
      %u = tensor.insert_slice %v into %x2[%i, %j] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<8x16xf32>
      scf.yield %u : tensor<8x16xf32>
    }
    scf.yield %in : tensor<8x16xf32>
  }
  %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%y = %e) -> (tensor<8x16xf32>) {
    %s = tensor.extract_slice %r0[%i, 0] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
    %o = tensor.extract_slice %y[%i, 0] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
    %w = linalg.negf ins(%s : tensor<4x16xf32>) outs(%o : tensor<4x16xf32>) -> tensor<4x16xf32>
    %u = tensor.insert_slice %w into %y[%i, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<8x16xf32>
    scf.yield %u : tensor<8x16xf32>
  }
  "nkipy.fuse_op"(%r0, %r1) : (tensor<8x16xf32>, tensor<8x16xf32>) -> ()
  return %r1 : tensor<8x16xf32>
}

// -----

// A per-head block (a 2-D [8, 16] result inserted at head h, as decompose-batch-
// matmul makes) read by rank-reduced rows: the read goes through the insert to the
// block's own row tiles, so the row loops fuse too and the rows are read as the exp tile.

// CHECK-LABEL: func.func @per_head_block
// CHECK:         scf.for %[[H:[a-z0-9]+]] = {{.*}} -> (tensor<2x8x16xf32>) {
// CHECK:           scf.for %[[R:[a-z0-9]+]] = {{.*}} -> (tensor<2x8x16xf32>) {
// CHECK:             %[[E:.*]] = linalg.exp
// CHECK-NEXT:        tensor.extract_slice %{{.*}}[%[[H]], %[[R]], 0] [1, 4, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<4x16xf32>
// CHECK-NEXT:        linalg.negf ins(%[[E]] : tensor<4x16xf32>)
// CHECK-NOT:     scf.for

func.func @per_head_block(%a: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<2x8x16xf32>
  %r0 = scf.for %h = %c0 to %c2 step %c1 iter_args(%x = %e) -> (tensor<2x8x16xf32>) {
    %blk0 = tensor.extract_slice %x[%h, 0, 0] [1, 8, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<8x16xf32>
    %blk = scf.for %r = %c0 to %c8 step %c4 iter_args(%b = %blk0) -> (tensor<8x16xf32>) {
      %s = tensor.extract_slice %a[%h, %r, 0] [1, 4, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<4x16xf32>
      %t = tensor.empty() : tensor<4x16xf32>
      %v = linalg.exp ins(%s : tensor<4x16xf32>) outs(%t : tensor<4x16xf32>) -> tensor<4x16xf32>
      %u = tensor.insert_slice %v into %b[%r, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<8x16xf32>
      scf.yield %u : tensor<8x16xf32>
    }
    %u = tensor.insert_slice %blk into %x[%h, 0, 0] [1, 8, 16] [1, 1, 1] : tensor<8x16xf32> into tensor<2x8x16xf32>
    scf.yield %u : tensor<2x8x16xf32>
  }
  %r1 = scf.for %h = %c0 to %c2 step %c1 iter_args(%y = %e) -> (tensor<2x8x16xf32>) {
    %in = scf.for %r = %c0 to %c8 step %c4 iter_args(%y2 = %y) -> (tensor<2x8x16xf32>) {
      %s = tensor.extract_slice %r0[%h, %r, 0] [1, 4, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<4x16xf32>
      %o = tensor.extract_slice %y2[%h, %r, 0] [1, 4, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<4x16xf32>
      %w = linalg.negf ins(%s : tensor<4x16xf32>) outs(%o : tensor<4x16xf32>) -> tensor<4x16xf32>
      %u = tensor.insert_slice %w into %y2[%h, %r, 0] [1, 4, 16] [1, 1, 1] : tensor<4x16xf32> into tensor<2x8x16xf32>
      scf.yield %u : tensor<2x8x16xf32>
    }
    scf.yield %in : tensor<2x8x16xf32>
  }
  "nkipy.fuse_op"(%r0, %r1) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> ()
  return %r1 : tensor<2x8x16xf32>
}

// -----

// A matmul fused with the op reading its rows: the reader takes the tile the matmul
// computed in the same iteration, and the matmul accumulates into a per-row-block SBUF
// tile (its stripe contracted), not into a slice of the whole result.

// CHECK-LABEL: func.func @matmul_then_reader
// CHECK:       scf.for
// CHECK-NEXT:    %[[T:.*]] = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<4x16xf32>
// CHECK:         %[[MM:.*]] = linalg.matmul ins({{.*}}) outs({{.*}} : tensor<4x16xf32>)
// CHECK:         linalg.negf ins(%[[MM]] : tensor<4x16xf32>)
// CHECK-NOT:   scf.for

func.func @matmul_then_reader(%a: tensor<8x4xf32>, %b: tensor<4x16xf32>) -> tensor<8x16xf32> {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8x16xf32>
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8x16xf32>) {
    %s = tensor.extract_slice %a[%i, 0] [4, 4] [1, 1] : tensor<8x4xf32> to tensor<4x4xf32>
    %o = tensor.extract_slice %x[%i, 0] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
    %v = linalg.matmul ins(%s, %b : tensor<4x4xf32>, tensor<4x16xf32>) outs(%o : tensor<4x16xf32>) -> tensor<4x16xf32>
    %u = tensor.insert_slice %v into %x[%i, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<8x16xf32>
    scf.yield %u : tensor<8x16xf32>
  }
  %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%y = %e) -> (tensor<8x16xf32>) {
    %s = tensor.extract_slice %r0[%i, 0] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
    %o = tensor.extract_slice %y[%i, 0] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
    %w = linalg.negf ins(%s : tensor<4x16xf32>) outs(%o : tensor<4x16xf32>) -> tensor<4x16xf32>
    %u = tensor.insert_slice %w into %y[%i, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<8x16xf32>
    scf.yield %u : tensor<8x16xf32>
  }
  "nkipy.fuse_op"(%r0, %r1) : (tensor<8x16xf32>, tensor<8x16xf32>) -> ()
  return %r1 : tensor<8x16xf32>
}

// -----

// A reader of rows of a whole per-head block (an identity slice in between, as the
// tiled `p @ v` reads the head's `p`): when the block needs more than 3/4 of SBUF per
// partition (here 8 x 2^20 fp32 / 128 partitions = 256 KiB, trn2 has 208 KiB) the
// read is composed into one slice of the producer's result and the row loops fuse, so
// the block is never whole; a block that fits keeps its block-level reader loop.

// CHECK-LABEL: func.func @whole_block_reader
// CHECK:         scf.for
// CHECK-NEXT:      arith.constant
// CHECK-NEXT:      scf.for
// CHECK:             %[[E:.*]] = linalg.exp
// CHECK:             linalg.negf ins(%[[E]] : tensor<4x1048576xf32>)
// CHECK-NOT:     scf.for

func.func @whole_block_reader(%a: tensor<2x8x1048576xf32>) -> tensor<2x8x1048576xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<2x8x1048576xf32>
  %r0 = scf.for %h = %c0 to %c2 step %c1 iter_args(%x = %e) -> (tensor<2x8x1048576xf32>) {
    %blk0 = tensor.extract_slice %x[%h, 0, 0] [1, 8, 1048576] [1, 1, 1] : tensor<2x8x1048576xf32> to tensor<8x1048576xf32>
    %blk = scf.for %r = %c0 to %c8 step %c4 iter_args(%b = %blk0) -> (tensor<8x1048576xf32>) {
      %s = tensor.extract_slice %a[%h, %r, 0] [1, 4, 1048576] [1, 1, 1] : tensor<2x8x1048576xf32> to tensor<4x1048576xf32>
      %t = tensor.empty() : tensor<4x1048576xf32>
      %v = linalg.exp ins(%s : tensor<4x1048576xf32>) outs(%t : tensor<4x1048576xf32>) -> tensor<4x1048576xf32>
      %u = tensor.insert_slice %v into %b[%r, 0] [4, 1048576] [1, 1] : tensor<4x1048576xf32> into tensor<8x1048576xf32>
      scf.yield %u : tensor<8x1048576xf32>
    }
    %u = tensor.insert_slice %blk into %x[%h, 0, 0] [1, 8, 1048576] [1, 1, 1] : tensor<8x1048576xf32> into tensor<2x8x1048576xf32>
    scf.yield %u : tensor<2x8x1048576xf32>
  }
  %r1 = scf.for %h = %c0 to %c2 step %c1 iter_args(%y = %e) -> (tensor<2x8x1048576xf32>) {
    %whole = tensor.extract_slice %r0[%h, 0, 0] [1, 8, 1048576] [1, 1, 1] : tensor<2x8x1048576xf32> to tensor<8x1048576xf32>
    %full = tensor.extract_slice %whole[0, 0] [8, 1048576] [1, 1] : tensor<8x1048576xf32> to tensor<8x1048576xf32>
    %in = scf.for %r = %c0 to %c8 step %c4 iter_args(%y2 = %y) -> (tensor<2x8x1048576xf32>) {
      %s = tensor.extract_slice %full[%r, 0] [4, 1048576] [1, 1] : tensor<8x1048576xf32> to tensor<4x1048576xf32>
      %o = tensor.extract_slice %y2[%h, %r, 0] [1, 4, 1048576] [1, 1, 1] : tensor<2x8x1048576xf32> to tensor<4x1048576xf32>
      %w = linalg.negf ins(%s : tensor<4x1048576xf32>) outs(%o : tensor<4x1048576xf32>) -> tensor<4x1048576xf32>
      %u = tensor.insert_slice %w into %y2[%h, %r, 0] [1, 4, 1048576] [1, 1, 1] : tensor<4x1048576xf32> into tensor<2x8x1048576xf32>
      scf.yield %u : tensor<2x8x1048576xf32>
    }
    scf.yield %in : tensor<2x8x1048576xf32>
  }
  "nkipy.fuse_op"(%r0, %r1) : (tensor<2x8x1048576xf32>, tensor<2x8x1048576xf32>) -> ()
  return %r1 : tensor<2x8x1048576xf32>
}

// -----

// CHECK-LABEL: func.func @small_block_reader
// CHECK:         scf.for
// CHECK:           %[[BLK:.*]] = scf.for
// CHECK:             linalg.exp
// CHECK:           %[[WHOLE:.*]] = tensor.extract_slice %[[BLK]][0, 0] [8, 16] [1, 1]
// CHECK:           scf.for
// CHECK-NEXT:        tensor.extract_slice %[[WHOLE]]
// CHECK:             linalg.negf

func.func @small_block_reader(%a: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<2x8x16xf32>
  %r0 = scf.for %h = %c0 to %c2 step %c1 iter_args(%x = %e) -> (tensor<2x8x16xf32>) {
    %blk0 = tensor.extract_slice %x[%h, 0, 0] [1, 8, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<8x16xf32>
    %blk = scf.for %r = %c0 to %c8 step %c4 iter_args(%b = %blk0) -> (tensor<8x16xf32>) {
      %s = tensor.extract_slice %a[%h, %r, 0] [1, 4, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<4x16xf32>
      %t = tensor.empty() : tensor<4x16xf32>
      %v = linalg.exp ins(%s : tensor<4x16xf32>) outs(%t : tensor<4x16xf32>) -> tensor<4x16xf32>
      %u = tensor.insert_slice %v into %b[%r, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<8x16xf32>
      scf.yield %u : tensor<8x16xf32>
    }
    %u = tensor.insert_slice %blk into %x[%h, 0, 0] [1, 8, 16] [1, 1, 1] : tensor<8x16xf32> into tensor<2x8x16xf32>
    scf.yield %u : tensor<2x8x16xf32>
  }
  %r1 = scf.for %h = %c0 to %c2 step %c1 iter_args(%y = %e) -> (tensor<2x8x16xf32>) {
    %whole = tensor.extract_slice %r0[%h, 0, 0] [1, 8, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<8x16xf32>
    %full = tensor.extract_slice %whole[0, 0] [8, 16] [1, 1] : tensor<8x16xf32> to tensor<8x16xf32>
    %in = scf.for %r = %c0 to %c8 step %c4 iter_args(%y2 = %y) -> (tensor<2x8x16xf32>) {
      %s = tensor.extract_slice %full[%r, 0] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
      %o = tensor.extract_slice %y2[%h, %r, 0] [1, 4, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<4x16xf32>
      %w = linalg.negf ins(%s : tensor<4x16xf32>) outs(%o : tensor<4x16xf32>) -> tensor<4x16xf32>
      %u = tensor.insert_slice %w into %y2[%h, %r, 0] [1, 4, 16] [1, 1, 1] : tensor<4x16xf32> into tensor<2x8x16xf32>
      scf.yield %u : tensor<2x8x16xf32>
    }
    scf.yield %in : tensor<2x8x16xf32>
  }
  "nkipy.fuse_op"(%r0, %r1) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> ()
  return %r1 : tensor<2x8x16xf32>
}
