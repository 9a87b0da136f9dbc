// RUN: nkipy-kg-opt %s --knob-driven-tiling --split-input-file | filecheck %s
// RUN: nkipy-kg-opt %s --knob-driven-tiling --apply-and-strip-transforms --split-input-file \
// RUN:   | filecheck %s --check-prefix=TILED

// Elementwise: one tile per result dim, every input and the init promoted to
// Sbuf, except an input whose producer is already in Sbuf (the reference's
// promote_tensor early exit, decided when the schedule is built). Each op is
// matched by name and nkipy.op_id.

// CHECK:       module attributes {transform.with_named_sequence}
// CHECK-LABEL: func.func @elementwise
// CHECK:       transform.named_sequence @__transform_main(%[[ROOT:.*]]: !transform.any_op {transform.readonly}) {
// CHECK-NEXT:    %[[EXP:.*]] = transform.structured.match ops{["linalg.exp"]} attributes {nkipy.op_id = 0 : i64} in %[[ROOT]]
// CHECK-NEXT:    %[[T0:.*]], %{{.*}}:2 = transform.structured.tile_using_for %[[EXP]] tile_sizes [128, 512]
// CHECK-NEXT:    %[[I0:.*]] = transform.get_operand %[[T0]][0]
// CHECK-NEXT:    transform.structured.promote_tensor to 3 : i32 %[[I0]]
// CHECK-NEXT:    %[[I1:.*]] = transform.get_operand %[[T0]][1]
// CHECK-NEXT:    transform.structured.promote_tensor to 3 : i32 %[[I1]]
// CHECK-NEXT:    %[[ADD:.*]] = transform.structured.match ops{["linalg.add"]} attributes {nkipy.op_id = 1 : i64} in %[[ROOT]]
// CHECK-NEXT:    %[[T1:.*]], %{{.*}}:2 = transform.structured.tile_using_for %[[ADD]] tile_sizes [128, 256]
// CHECK-NOT:     transform.get_operand %[[T1]][0]
// CHECK-NEXT:    %[[J1:.*]] = transform.get_operand %[[T1]][1]
// CHECK-NEXT:    transform.structured.promote_tensor to 3 : i32 %[[J1]]
// CHECK-NEXT:    %[[J2:.*]] = transform.get_operand %[[T1]][2]
// CHECK-NEXT:    transform.structured.promote_tensor to 3 : i32 %[[J2]]
// CHECK-NEXT:    transform.yield
func.func @elementwise(%a: tensor<256x512xf32>, %b: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %e = tensor.empty() : tensor<256x512xf32>
  %0 = linalg.exp {nkipy.op_id = 0 : i64} ins(%a : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  "nkipy.tile_op"(%0) {loop_tile_size = array<i64: 128, 512>} : (tensor<256x512xf32>) -> ()
  "nkipy.layout"(%0) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 512>} : (tensor<256x512xf32>) -> ()
  %1 = linalg.add {nkipy.op_id = 1 : i64} ins(%0, %b : tensor<256x512xf32>, tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  "nkipy.tile_op"(%1) {loop_tile_size = array<i64: 128, 256>} : (tensor<256x512xf32>) -> ()
  "nkipy.layout"(%1) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 256>} : (tensor<256x512xf32>) -> ()
  return %1 : tensor<256x512xf32>
}

// -----

// Reduction: one tile per iterator (the reduction dim is tiled too); the input
// and the init (operand 1) go to Sbuf. The fill has no tile_op: not scheduled.

// CHECK-LABEL: func.func @reduction
// CHECK:       transform.named_sequence @__transform_main
// CHECK-NOT:     linalg.fill
// CHECK:         %[[R:.*]] = transform.structured.match ops{["linalg.generic"]} attributes {nkipy.op_id = 1 : i64}
// CHECK-NEXT:    %[[T:.*]], %{{.*}}:2 = transform.structured.tile_using_for %[[R]] tile_sizes [128, 256]
// CHECK-NEXT:    %[[I0:.*]] = transform.get_operand %[[T]][0]
// CHECK-NEXT:    transform.structured.promote_tensor to 3 : i32 %[[I0]]
// CHECK-NEXT:    %[[I1:.*]] = transform.get_operand %[[T]][1]
// CHECK-NEXT:    transform.structured.promote_tensor to 3 : i32 %[[I1]]
// CHECK-NEXT:    transform.yield
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func @reduction(%a: tensor<256x512xf32>) -> tensor<256x1xf32> {
  %e = tensor.empty() : tensor<256x1xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill {nkipy.op_id = 0 : i64} ins(%z : f32) outs(%e : tensor<256x1xf32>) -> tensor<256x1xf32>
  %r = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%a : tensor<256x512xf32>) outs(%f : tensor<256x1xf32>) attrs = {nkipy.op_id = 1 : i64} {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<256x1xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128, 256>} : (tensor<256x1xf32>) -> ()
  "nkipy.layout"(%r) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 1>} : (tensor<256x1xf32>) -> ()
  return %r : tensor<256x1xf32>
}

// -----

// Matmul [Mt, Nt, Kt] = [64, 128, 32] on 256x512 (K = 128). The blocking plan
// (`matmul_blocking.py`) keeps the whole A^T [128, 256] in Sbuf (BLOCK_M = M, so A is
// loaded once) and streams B blocks of one tile (BLOCK_N = 128): A + B bytes, where
// the reference's fixed 2-tile blocks (128 x 256) load B twice. The A^T block is
// not promoted again (its transpose init already is in Sbuf); B block to Sbuf, C
// tile to PSUM. (transpose_matmul prints without `<lhs>`: it is the default.)

// CHECK-LABEL: func.func @matmul
// CHECK:       transform.named_sequence @__transform_main
// CHECK-NEXT:    %[[M:.*]] = transform.structured.match ops{["linalg.matmul"]} attributes {nkipy.op_id = 0 : i64}
// CHECK-NEXT:    %[[BM:.*]], %{{.*}} = transform.structured.tile_using_for %[[M]] tile_sizes [256, 0, 0]
// CHECK-NEXT:    %[[TM:.*]] = transform.structured.transpose_matmul %[[BM]] : (!transform.any_op)
// CHECK-NEXT:    %[[TR:.*]] = transform.get_producer_of_operand %[[TM]][0]
// CHECK-NEXT:    %[[TI:.*]] = transform.get_operand %[[TR]][1]
// CHECK-NEXT:    transform.structured.promote_tensor to 3 : i32 %[[TI]]
// CHECK-NEXT:    %[[BN:.*]], %{{.*}} = transform.structured.tile_using_for %[[TM]] tile_sizes [0, 128, 0]
// CHECK-NEXT:    %[[B:.*]] = transform.get_operand %[[BN]][1]
// CHECK-NEXT:    transform.structured.promote_tensor to 3 : i32 %[[B]]
// CHECK-NEXT:    %[[TMT:.*]], %{{.*}} = transform.structured.tile_using_for %[[BN]] tile_sizes [64, 0, 0]
// CHECK-NEXT:    %[[TNT:.*]], %{{.*}} = transform.structured.tile_using_for %[[TMT]] tile_sizes [0, 128, 0]
// CHECK-NEXT:    %[[C:.*]] = transform.get_operand %[[TNT]][2]
// CHECK-NEXT:    transform.structured.promote_tensor to 2 : i32 %[[C]]
// CHECK-NEXT:    transform.structured.tile_using_for %[[TNT]] tile_sizes [0, 0, 32]
// CHECK-NEXT:    transform.yield
// The nest it produces (TILED): block M (A^T block into Sbuf) -> block N (B
// block into Sbuf) -> tile M -> tile N (C tile in PSUM) -> K, and innermost a
// transposed-A matmul on tensor<Kt x Mt> x tensor<Kt x Nt> -> tensor<Mt x Nt>.

// TILED-DAG:   #[[MAP_A:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// TILED-DAG:   #[[MAP_B:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// TILED-DAG:   #[[MAP_C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// TILED-LABEL: func.func @matmul
// TILED-SAME:    (%[[A:.*]]: tensor<256x128xf32>, %[[B:.*]]: tensor<128x512xf32>)
// TILED:         arith.constant 256 : index
// TILED-NEXT:    %[[S256:.*]] = arith.constant 256 : index
// TILED-NEXT:    scf.for %[[BM:.*]] = %{{.*}} to %{{.*}} step %[[S256]] iter_args
// TILED:           %[[A_BLK:.*]] = tensor.extract_slice %[[A]][%[[BM]], 0] [256, 128] [1, 1]
// TILED:           %[[AT_BUF:.*]] = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<128x256xf32>
// TILED-NEXT:      %[[AT:.*]] = linalg.transpose ins(%[[A_BLK]] : tensor<256x128xf32>) outs(%[[AT_BUF]] : tensor<128x256xf32>) permutation = [1, 0]
// TILED-NOT:       materialize_in_destination %[[AT]]
// TILED:           %[[C128B:.*]] = arith.constant 128 : index
// TILED-NEXT:      scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C128B]] iter_args
// TILED:             %[[B_BLK:.*]] = tensor.extract_slice %{{.*}}[0, %{{.*}}] [128, 128] [1, 1]
// TILED-NEXT:        %[[B_BUF:.*]] = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<128x128xf32>
// TILED-NEXT:        bufferization.materialize_in_destination %[[B_BLK]] in %[[B_BUF]]
// TILED:             %[[C64:.*]] = arith.constant 64 : index
// TILED-NEXT:        scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C64]] iter_args
// TILED:               arith.constant 128 : index
// TILED-NEXT:          %[[C128:.*]] = arith.constant 128 : index
// TILED-NEXT:          scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C128]] iter_args
// TILED:                 %[[C_BUF:.*]] = bufferization.alloc_tensor() {memory_space = 2 : i32} : tensor<64x128xf32>
// TILED-NEXT:            %[[C_TILE:.*]] = bufferization.materialize_in_destination %{{.*}} in %[[C_BUF]]
// TILED:                 %[[C32:.*]] = arith.constant 32 : index
// TILED-NEXT:            scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C32]] iter_args(%{{.*}} = %[[C_TILE]])
// TILED:                   linalg.matmul indexing_maps = [#[[MAP_A]], #[[MAP_B]], #[[MAP_C]]]
// TILED-SAME:                ins(%{{.*}}, %{{.*}} : tensor<32x64xf32>, tensor<32x128xf32>) outs(%{{.*}} : tensor<64x128xf32>)
// TILED-NOT:     linalg.matmul
// TILED:         return
func.func @matmul(%a: tensor<256x128xf32>, %b: tensor<128x512xf32>) -> tensor<256x512xf32> {
  %c = tensor.empty() : tensor<256x512xf32>
  %r = linalg.matmul {nkipy.op_id = 0 : i64} ins(%a, %b : tensor<256x128xf32>, tensor<128x512xf32>) outs(%c : tensor<256x512xf32>) -> tensor<256x512xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 64, 128, 32>} : (tensor<256x512xf32>) -> ()
  "nkipy.layout"(%r) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 64, 128>} : (tensor<256x512xf32>) -> ()
  return %r : tensor<256x512xf32>
}

// -----

// No blocking where a block of 2 tiles would not fit (M = 128 < 2 x 128) or not
// divide the dim (N = 384 with Nt = 128); an already transposed-A matmul is not
// transposed again and has its A block promoted; a B produced in Sbuf is not copied.

// CHECK-LABEL: func.func @matmul_transposed_a
// CHECK:       transform.named_sequence @__transform_main
// CHECK-NEXT:    %[[M:.*]] = transform.structured.match ops{["linalg.matmul"]} attributes {nkipy.op_id = 1 : i64}
// CHECK-NEXT:    %[[BM:.*]], %{{.*}} = transform.structured.tile_using_for %[[M]] tile_sizes [128, 0, 0]
// CHECK-NOT:     transpose_matmul
// CHECK-NEXT:    %[[A:.*]] = transform.get_operand %[[BM]][0]
// CHECK-NEXT:    transform.structured.promote_tensor to 3 : i32 %[[A]]
// CHECK-NEXT:    %[[BN:.*]], %{{.*}} = transform.structured.tile_using_for %[[BM]] tile_sizes [0, 128, 0]
// CHECK-NEXT:    %[[TMT:.*]], %{{.*}} = transform.structured.tile_using_for %[[BN]] tile_sizes [128, 0, 0]
#a_t = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @matmul_transposed_a(%a: tensor<64x128xf32>, %b: tensor<64x384xf32>) -> tensor<128x384xf32> {
  %eb = tensor.empty() : tensor<64x384xf32>
  %bs = linalg.exp {nkipy.op_id = 0 : i64} ins(%b : tensor<64x384xf32>) outs(%eb : tensor<64x384xf32>) -> tensor<64x384xf32>
  "nkipy.layout"(%bs) {mem_space = 3 : i32} : (tensor<64x384xf32>) -> ()
  %c = tensor.empty() : tensor<128x384xf32>
  %r = linalg.matmul indexing_maps = [#a_t, #b, #c] {nkipy.op_id = 1 : i64} ins(%a, %bs : tensor<64x128xf32>, tensor<64x384xf32>) outs(%c : tensor<128x384xf32>) -> tensor<128x384xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128, 128, 64>} : (tensor<128x384xf32>) -> ()
  return %r : tensor<128x384xf32>
}

// -----

// No knobs: an empty schedule.

// CHECK:       module attributes {transform.with_named_sequence}
// CHECK-LABEL: func.func @no_knobs
// CHECK:       transform.named_sequence @__transform_main(%{{.*}}: !transform.any_op {transform.readonly}) {
// CHECK-NEXT:    transform.yield
// CHECK-NEXT:  }
func.func @no_knobs(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %0 = linalg.exp {nkipy.op_id = 0 : i64} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// When A is the bigger operand the plan keeps a whole-K B block in Sbuf instead and
// streams A^T blocks past it (B blocks outermost): 2048 x 512 x 8192 bf16 with
// [128, 512, 128] loads B once and A once; with M outer the A^T block fits at most
// 512 columns next to two B blocks, so B would be loaded 4 times.

// CHECK-LABEL: func.func @matmul_b_stays
// CHECK:       %[[M:.*]] = transform.structured.match ops{["linalg.matmul"]}
// CHECK-NEXT:  %[[BN:.*]], %{{.*}} = transform.structured.tile_using_for %[[M]] tile_sizes [0, 512, 0]
// CHECK-NEXT:  %[[B:.*]] = transform.get_operand %[[BN]][1]
// CHECK-NEXT:  transform.structured.promote_tensor to 3 : i32 %[[B]]
// CHECK-NEXT:  %[[BM:.*]], %{{.*}} = transform.structured.tile_using_for %[[BN]] tile_sizes [128, 0, 0]
// CHECK-NEXT:  %[[TM:.*]] = transform.structured.transpose_matmul %[[BM]]
// CHECK:       transform.structured.tile_using_for %{{.*}} tile_sizes [128, 0, 0]
// CHECK-NEXT:  transform.structured.tile_using_for %{{.*}} tile_sizes [0, 512, 0]
func.func @matmul_b_stays(%a: tensor<2048x8192xbf16>, %b: tensor<8192x512xbf16>) -> tensor<2048x512xf32> {
  %c = tensor.empty() : tensor<2048x512xf32>
  %r = linalg.matmul {nkipy.op_id = 0 : i64} ins(%a, %b : tensor<2048x8192xbf16>, tensor<8192x512xbf16>) outs(%c : tensor<2048x512xf32>) -> tensor<2048x512xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128, 512, 128>} : (tensor<2048x512xf32>) -> ()
  return %r : tensor<2048x512xf32>
}

// -----

// at.T @ b: a matmul whose A is a 2-D linalg.transpose becomes transposed-A on the
// transpose's source (the schedule would otherwise transpose A back), so the
// schedule has no transpose_matmul, only a copy of at's [K, BLOCK_M] block into
// Sbuf; the transpose, its layout and its init are erased.

// CHECK-LABEL: func.func @transposed_lhs
// CHECK-SAME:    (%[[AT:.*]]: tensor<128x256xbf16>, %[[B:.*]]: tensor<128x512xbf16>)
// CHECK-NOT:     linalg.transpose
// CHECK:         linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] {nkipy.op_id = 1 : i64} ins(%[[AT]], %[[B]] : tensor<128x256xbf16>, tensor<128x512xbf16>)
// CHECK-NOT:     transform.structured.transpose_matmul
// CHECK:         transform.structured.match ops{["linalg.matmul"]} attributes {nkipy.op_id = 1 : i64}
// CHECK-NEXT:    %[[BM:.*]], %{{.*}} = transform.structured.tile_using_for %{{.*}} tile_sizes [256, 0, 0]
// CHECK-NEXT:    %[[A:.*]] = transform.get_operand %[[BM]][0]
// CHECK-NEXT:    transform.structured.promote_tensor to 3 : i32 %[[A]]
// CHECK-NOT:     transform.structured.transpose_matmul
// CHECK:         transform.yield

// The tiled nest reads at's blocks directly (no transpose anywhere).
// TILED-LABEL: func.func @transposed_lhs
// TILED-NOT:     linalg.transpose
// TILED:         tensor.extract_slice %{{.*}}[0, %{{.*}}] [128, 256] [1, 1] : tensor<128x256xbf16> to tensor<128x256xbf16>
// TILED:         linalg.matmul indexing_maps
// TILED-SAME:      ins(%{{.*}}, %{{.*}} : tensor<128x128xbf16>, tensor<128x512xbf16>) outs(%{{.*}} : tensor<128x512xf32>)
// TILED-NOT:     linalg.transpose
// TILED:         return
func.func @transposed_lhs(%at: tensor<128x256xbf16>, %b: tensor<128x512xbf16>) -> tensor<256x512xf32> {
  %e = tensor.empty() : tensor<256x128xbf16>
  %t = linalg.transpose ins(%at : tensor<128x256xbf16>) outs(%e : tensor<256x128xbf16>) permutation = [1, 0] {nkipy.op_id = 0 : i64}
  "nkipy.layout"(%t) {mem_space = 3 : i32, partition_dim = 0 : ui32} : (tensor<256x128xbf16>) -> ()
  %c = tensor.empty() : tensor<256x512xf32>
  %r = linalg.matmul {nkipy.op_id = 1 : i64} ins(%t, %b : tensor<256x128xbf16>, tensor<128x512xbf16>) outs(%c : tensor<256x512xf32>) -> tensor<256x512xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128, 512, 128>} : (tensor<256x512xf32>) -> ()
  "nkipy.layout"(%r) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 512>} : (tensor<256x512xf32>) -> ()
  return %r : tensor<256x512xf32>
}

// -----

// A transpose that something else also reads stays (the matmul still folds).

// CHECK-LABEL: func.func @transposed_lhs_shared
// CHECK:         %[[T:.*]] = linalg.transpose
// CHECK:         linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] {nkipy.op_id = 1 : i64} ins(%arg0, %arg1 :
// CHECK:         return %{{.*}}, %[[T]]
func.func @transposed_lhs_shared(%at: tensor<128x256xf32>, %b: tensor<128x512xf32>) -> (tensor<256x512xf32>, tensor<256x128xf32>) {
  %e = tensor.empty() : tensor<256x128xf32>
  %t = linalg.transpose ins(%at : tensor<128x256xf32>) outs(%e : tensor<256x128xf32>) permutation = [1, 0] {nkipy.op_id = 0 : i64}
  %c = tensor.empty() : tensor<256x512xf32>
  %r = linalg.matmul {nkipy.op_id = 1 : i64} ins(%t, %b : tensor<256x128xf32>, tensor<128x512xf32>) outs(%c : tensor<256x512xf32>) -> tensor<256x512xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128, 512, 128>} : (tensor<256x512xf32>) -> ()
  return %r, %t : tensor<256x512xf32>, tensor<256x128xf32>
}

// -----

// Matmul blocks fit next to the Sbuf values live across the matmul: alone, the
// whole-M A^T block [2048, 2048] f32 (128 KiB per partition) is chosen; next to a
// 64 KiB Sbuf value used after the matmul, the blocks shrink to one tile.

// CHECK-LABEL: func.func @matmul_next_to_sbuf
// CHECK-LABEL: func.func @matmul_alone
// CHECK:         transform.structured.match ops{["linalg.matmul"]} attributes {nkipy.op_id = 1 : i64}
// CHECK-NEXT:    transform.structured.tile_using_for %{{.*}} tile_sizes [0, 128, 0]
// CHECK:         transform.structured.tile_using_for %{{.*}} tile_sizes [128, 0, 0]
// CHECK:         transform.structured.match ops{["linalg.matmul"]} attributes {nkipy.op_id = 3 : i64}
// CHECK-NEXT:    transform.structured.tile_using_for %{{.*}} tile_sizes [2048, 0, 0]
func.func @matmul_next_to_sbuf(%p: tensor<2048x2048xf32>, %v: tensor<2048x128xf32>, %w: tensor<1024x2048xf32>) -> (tensor<2048x128xf32>, tensor<1024x2048xf32>) {
  %ew = tensor.empty() : tensor<1024x2048xf32>
  %s = linalg.exp {nkipy.op_id = 0 : i64} ins(%w : tensor<1024x2048xf32>) outs(%ew : tensor<1024x2048xf32>) -> tensor<1024x2048xf32>
  "nkipy.layout"(%s) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 2048>} : (tensor<1024x2048xf32>) -> ()
  %c = tensor.empty() : tensor<2048x128xf32>
  %r = linalg.matmul {nkipy.op_id = 1 : i64} ins(%p, %v : tensor<2048x2048xf32>, tensor<2048x128xf32>) outs(%c : tensor<2048x128xf32>) -> tensor<2048x128xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128, 128, 128>} : (tensor<2048x128xf32>) -> ()
  "nkipy.layout"(%r) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (tensor<2048x128xf32>) -> ()
  %t = linalg.exp {nkipy.op_id = 2 : i64} ins(%s : tensor<1024x2048xf32>) outs(%ew : tensor<1024x2048xf32>) -> tensor<1024x2048xf32>
  return %r, %t : tensor<2048x128xf32>, tensor<1024x2048xf32>
}
func.func @matmul_alone(%p: tensor<2048x2048xf32>, %v: tensor<2048x128xf32>) -> tensor<2048x128xf32> {
  %c = tensor.empty() : tensor<2048x128xf32>
  %r = linalg.matmul {nkipy.op_id = 3 : i64} ins(%p, %v : tensor<2048x2048xf32>, tensor<2048x128xf32>) outs(%c : tensor<2048x128xf32>) -> tensor<2048x128xf32>
  "nkipy.tile_op"(%r) {loop_tile_size = array<i64: 128, 128, 128>} : (tensor<2048x128xf32>) -> ()
  "nkipy.layout"(%r) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 128>} : (tensor<2048x128xf32>) -> ()
  return %r : tensor<2048x128xf32>
}
