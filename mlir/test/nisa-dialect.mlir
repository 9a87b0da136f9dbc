// RUN: nkipy-kg-opt %s | filecheck %s
// Every nisa instruction parses, verifies and round-trips (generic form).

// CHECK: module attributes {nisa.target = "trn2"}
module attributes {nisa.target = "trn2"} {
  // CHECK-LABEL: func.func @all_instructions
  func.func @all_instructions(%a: memref<256x512xbf16, 1 : i32>, %table: memref<512x64xf32, 1 : i32>,
                              %out: memref<256x512xf32, 4 : i32>) {
    %c0 = arith.constant 0 : index
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    %two = arith.constant 2.0 : f32
    // CHECK: "nisa.alloc"() {alignment = 64 : i64} : () -> memref<128x512xbf16, 3 : i32>
    %x = "nisa.alloc"() {alignment = 64 : i64} : () -> memref<128x512xbf16, 3 : i32>
    %w = "nisa.alloc"() : () -> memref<128x128xbf16, 3 : i32>
    %acc = "nisa.alloc"() : () -> memref<128x512xf32, 2 : i32>
    %y = "nisa.alloc"() : () -> memref<128x512xf32, 3 : i32>
    %col = "nisa.alloc"() : () -> memref<128x1xf32, 3 : i32>
    %row = "nisa.alloc"() : () -> memref<1x512xf32, 3 : i32>
    %idx = "nisa.alloc"() : () -> memref<8x1xi32, 3 : i32>
    %rows = "nisa.alloc"() : () -> memref<8x64xf32, 3 : i32>
    %tp = "nisa.alloc"() : () -> memref<128x128xf32, 2 : i32>
    // CHECK: scf.for
    scf.for %i = %c0 to %c256 step %c128 {
      %tile = memref.subview %a[%i, 0] [128, 512] [1, 1] : memref<256x512xbf16, 1 : i32> to memref<128x512xbf16, strided<[512, 1], offset: ?>, 1 : i32>
      // CHECK: "nisa.dma_copy"
      "nisa.dma_copy"(%x, %tile) : (memref<128x512xbf16, 3 : i32>, memref<128x512xbf16, strided<[512, 1], offset: ?>, 1 : i32>) -> ()
      %sq = memref.subview %a[%i, 0] [128, 128] [1, 1] : memref<256x512xbf16, 1 : i32> to memref<128x128xbf16, strided<[512, 1], offset: ?>, 1 : i32>
      // CHECK: "nisa.dma_transpose"({{.*}}) {permutation = array<i64: 1, 0>}
      "nisa.dma_transpose"(%w, %sq) {permutation = array<i64: 1, 0>} : (memref<128x128xbf16, 3 : i32>, memref<128x128xbf16, strided<[512, 1], offset: ?>, 1 : i32>) -> ()
      // CHECK: "nisa.matmul"({{.*}}) {accumulate = false}
      "nisa.matmul"(%acc, %w, %x) {accumulate = false} : (memref<128x512xf32, 2 : i32>, memref<128x128xbf16, 3 : i32>, memref<128x512xbf16, 3 : i32>) -> ()
      // CHECK: "nisa.tensor_copy"
      "nisa.tensor_copy"(%y, %acc) : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 2 : i32>) -> ()
      // CHECK: "nisa.tensor_tensor_arith"({{.*}}) {op = "add"}
      "nisa.tensor_tensor_arith"(%y, %y, %acc) {op = "add"} : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>, memref<128x512xf32, 2 : i32>) -> ()
      // CHECK: "nisa.tensor_scalar_arith"({{.*}}) {op0 = "multiply", op1 = "add", operandSegmentSizes = array<i32: 1, 1, 1, 1>, reverse0 = false}
      "nisa.tensor_scalar_arith"(%y, %y, %two, %col) {op0 = "multiply", reverse0 = false, op1 = "add", operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>, f32, memref<128x1xf32, 3 : i32>) -> ()
      // CHECK: "nisa.tensor_reduce_arith"({{.*}}) {negate = true, num_r_dim = 1 : i64, op = "max"}
      "nisa.tensor_reduce_arith"(%col, %y) {op = "max", num_r_dim = 1 : i64, negate = true} : (memref<128x1xf32, 3 : i32>, memref<128x512xf32, 3 : i32>) -> ()
      // CHECK: "nisa.activation"({{.*}}) {op = "exp", operandSegmentSizes = array<i32: 1, 1, 1, 1>}
      "nisa.activation"(%y, %y, %col, %two) {op = "exp", operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>, memref<128x1xf32, 3 : i32>, f32) -> ()
      // CHECK: "nisa.reciprocal"
      "nisa.reciprocal"(%col, %col) : (memref<128x1xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) -> ()
      // CHECK: "nisa.cross_partition_reduce"({{.*}}) {op = "add"}
      "nisa.cross_partition_reduce"(%row, %y) {op = "add"} : (memref<1x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>) -> ()
      %so = memref.subview %out[%i, 0] [128, 512] [1, 1] : memref<256x512xf32, 4 : i32> to memref<128x512xf32, strided<[512, 1], offset: ?>, 4 : i32>
      "nisa.dma_copy"(%so, %y) : (memref<128x512xf32, strided<[512, 1], offset: ?>, 4 : i32>, memref<128x512xf32, 3 : i32>) -> ()
    }
    // CHECK: "nisa.memset"({{.*}}) {engine = "GpSimd", value = 0.000000e+00 : f32}
    "nisa.memset"(%y) {value = 0.0 : f32, engine = "GpSimd"} : (memref<128x512xf32, 3 : i32>) -> ()
    // CHECK: "nisa.iota"({{.*}}) {channel_multiplier = 0 : i64, pattern = array<i64: 0, 1>}
    "nisa.iota"(%idx) {pattern = array<i64: 0, 1>, channel_multiplier = 0 : i64} : (memref<8x1xi32, 3 : i32>) -> ()
    // CHECK: "nisa.dma_copy_indirect"
    "nisa.dma_copy_indirect"(%rows, %table, %idx) : (memref<8x64xf32, 3 : i32>, memref<512x64xf32, 1 : i32>, memref<8x1xi32, 3 : i32>) -> ()
    %sub = memref.subview %y[0, 0] [128, 128] [1, 1] : memref<128x512xf32, 3 : i32> to memref<128x128xf32, strided<[512, 1]>, 3 : i32>
    // CHECK: "nisa.transpose"
    "nisa.transpose"(%tp, %sub) : (memref<128x128xf32, 2 : i32>, memref<128x128xf32, strided<[512, 1]>, 3 : i32>) -> ()
    // CHECK: "nisa.select"
    "nisa.select"(%y, %y, %y, %y) : (memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>, memref<128x512xf32, 3 : i32>) -> ()
    // CHECK: "nisa.release"
    "nisa.release"(%x) : (memref<128x512xbf16, 3 : i32>) -> ()
    return
  }
}
