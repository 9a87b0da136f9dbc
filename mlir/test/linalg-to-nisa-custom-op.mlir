// RUN: nkipy-kg-opt %s --linalg-to-nisa="target=trn2" --split-input-file | filecheck %s

// A custom op in return-value style: its NISA body is inlined at the call, the call
// operand (dynamic layout) is cast to the body's argument type, the body's returned
// buffer replaces the call result, and the declaration and the bodies dictionary go.
// CHECK-LABEL: module attributes {nisa.target = "trn2"}
// CHECK-NOT: nkipy.custom_op
// CHECK-LABEL: func.func @k
// CHECK: %[[C:.*]] = memref.cast %arg0 : memref<128x64xf32, strided<[?, ?], offset: ?>, 4 : i32> to memref<128x64xf32, 4 : i32>
// CHECK: %[[T:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 3 : i32>
// CHECK: "nisa.dma_copy"(%[[T]], %[[C]])
// CHECK: "nisa.activation"(%[[T]], %[[T]]) {op = "exp"
// CHECK: %[[O:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 4 : i32>
// CHECK: "nisa.dma_copy"(%[[O]], %[[T]])
// CHECK: %[[R:.*]] = memref.cast %[[O]] : memref<128x64xf32, 4 : i32> to memref<128x64xf32, strided<[?, ?], offset: ?>, 4 : i32>
// CHECK: return %[[R]]
// CHECK-NOT: __custom_op__
module attributes {nkipy.custom_op_bodies = {e = "module { func.func @e(%x: memref<128x64xf32, 4 : i32>) -> memref<128x64xf32, 4 : i32> { %t = \22nisa.alloc\22() : () -> memref<128x64xf32, 3 : i32> \22nisa.dma_copy\22(%t, %x) : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 4 : i32>) -> () \22nisa.activation\22(%t, %t) {op = \22exp\22, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (memref<128x64xf32, 3 : i32>, memref<128x64xf32, 3 : i32>) -> () %o = \22nisa.alloc\22() : () -> memref<128x64xf32, 4 : i32> \22nisa.dma_copy\22(%o, %t) : (memref<128x64xf32, 4 : i32>, memref<128x64xf32, 3 : i32>) -> () \22nisa.release\22(%t) : (memref<128x64xf32, 3 : i32>) -> () return %o : memref<128x64xf32, 4 : i32> } }"}} {
  func.func private @__custom_op__e(memref<128x64xf32, strided<[?, ?], offset: ?>, 4 : i32>) -> memref<128x64xf32, strided<[?, ?], offset: ?>, 4 : i32> attributes {nkipy.custom_op}
  func.func @k(%arg0: memref<128x64xf32, strided<[?, ?], offset: ?>, 4 : i32>) -> memref<128x64xf32, strided<[?, ?], offset: ?>, 4 : i32> {
    %0 = call @__custom_op__e(%arg0) : (memref<128x64xf32, strided<[?, ?], offset: ?>, 4 : i32>) -> memref<128x64xf32, strided<[?, ?], offset: ?>, 4 : i32>
    return %0 : memref<128x64xf32, strided<[?, ?], offset: ?>, 4 : i32>
  }
}

// -----

// Output-as-argument style: the trailing argument becomes a fresh SharedHbm buffer,
// which replaces the call result.
// CHECK-LABEL: func.func @k2
// CHECK: %[[O:.*]] = "nisa.alloc"() : () -> memref<128x64xf32, 4 : i32>
// CHECK: "nisa.dma_copy"(%[[O]], %arg0)
// CHECK: return %[[O]]
module attributes {nkipy.custom_op_bodies = {c = "module { func.func @c(%x: memref<128x64xf32, 4 : i32>, %o: memref<128x64xf32, 4 : i32>) { \22nisa.dma_copy\22(%o, %x) : (memref<128x64xf32, 4 : i32>, memref<128x64xf32, 4 : i32>) -> () return } }"}} {
  func.func private @__custom_op__c(memref<128x64xf32, 4 : i32>) -> memref<128x64xf32, 4 : i32> attributes {nkipy.custom_op}
  func.func @k2(%arg0: memref<128x64xf32, 4 : i32>) -> memref<128x64xf32, 4 : i32> {
    %0 = call @__custom_op__c(%arg0) : (memref<128x64xf32, 4 : i32>) -> memref<128x64xf32, 4 : i32>
    return %0 : memref<128x64xf32, 4 : i32>
  }
}
