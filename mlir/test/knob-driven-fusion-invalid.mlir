// RUN: nkipy-kg-opt %s --knob-driven-fusion --split-input-file --verify-diagnostics

func.func @not_tiled(%a: tensor<8xf32>, %b: tensor<8xf32>) {
  %e = tensor.empty() : tensor<8xf32>
  %0 = linalg.exp ins(%a : tensor<8xf32>) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %1 = linalg.negf ins(%b : tensor<8xf32>) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  // expected-error @below {{fuse_op target is not produced by an scf.for (was it tiled?)}}
  "nkipy.fuse_op"(%0, %1) : (tensor<8xf32>, tensor<8xf32>) -> ()
  return
}

// -----

func.func @mismatched(%a: tensor<8xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8xf32>
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    scf.yield %x : tensor<8xf32>
  }
  %r1 = scf.for %i = %c0 to %c8 step %c2 iter_args(%x = %e) -> (tensor<8xf32>) {
    scf.yield %x : tensor<8xf32>
  }
  // expected-error @below {{fuse_op targets have mismatched loop bounds (target #0 vs #1); ensure their tile_op tile_size matches}}
  "nkipy.fuse_op"(%r0, %r1) : (tensor<8xf32>, tensor<8xf32>) -> ()
  return
}

// -----

// A loop may read another target's result only inside the stripe the same
// iteration computes: here it reads elements [0, 4) in every iteration, which the
// producer finishes only in its first (the error is at the first loop).

func.func @dependent(%a: tensor<8xf32>) -> tensor<8xf32> {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8xf32>
  // expected-error @below {{cannot fuse the fuse_op targets: one loop reads the result of the other: it reads the other's result outside the tile the same iteration computes}}
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %s = tensor.extract_slice %a[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %o = tensor.extract_slice %x[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %v = linalg.exp ins(%s : tensor<4xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
    %u = tensor.insert_slice %v into %x[%i] [4] [1] : tensor<4xf32> into tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %s = tensor.extract_slice %r0[0] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %o = tensor.extract_slice %x[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %v = linalg.negf ins(%s : tensor<4xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
    %u = tensor.insert_slice %v into %x[%i] [4] [1] : tensor<4xf32> into tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  "nkipy.fuse_op"(%r0, %r1) : (tensor<8xf32>, tensor<8xf32>) -> ()
  return %r1 : tensor<8xf32>
}

// -----

// The consumer hands the producer's whole result to an op: not a tile of it.

func.func @whole_result(%a: tensor<8xf32>) -> tensor<8xf32> {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8xf32>
  // expected-error @below {{cannot fuse the fuse_op targets: one loop reads the result of the other: it passes the other's whole result to 'linalg.negf'}}
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %s = tensor.extract_slice %a[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %o = tensor.extract_slice %x[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %v = linalg.exp ins(%s : tensor<4xf32>) outs(%o : tensor<4xf32>) -> tensor<4xf32>
    %u = tensor.insert_slice %v into %x[%i] [4] [1] : tensor<4xf32> into tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %v = linalg.negf ins(%r0 : tensor<8xf32>) outs(%x : tensor<8xf32>) -> tensor<8xf32>
    scf.yield %v : tensor<8xf32>
  }
  "nkipy.fuse_op"(%r0, %r1) : (tensor<8xf32>, tensor<8xf32>) -> ()
  return %r1 : tensor<8xf32>
}

// -----

// The consumer reads a value computed from the producer by an op between the
// loops, which cannot move above the producer.

func.func @computed_between(%a: tensor<8xf32>) -> tensor<8xf32> {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8xf32>
  // expected-error @below {{cannot fuse the fuse_op targets: one loop reads a value computed from the other by 'linalg.abs' between them (fuse that op's loop too)}}
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    scf.yield %x : tensor<8xf32>
  }
  %m = linalg.abs ins(%r0 : tensor<8xf32>) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    %s = tensor.extract_slice %m[%i] [4] [1] : tensor<8xf32> to tensor<4xf32>
    %u = tensor.insert_slice %s into %x[%i] [4] [1] : tensor<4xf32> into tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  "nkipy.fuse_op"(%r0, %r1) : (tensor<8xf32>, tensor<8xf32>) -> ()
  return %r1 : tensor<8xf32>
}

// -----

func.func @side_effect_between(%a: tensor<8xf32>, %m: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8xf32>
  // expected-error @below {{cannot fuse the fuse_op targets: 'memref.store' between the loops may have side effects}}
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    scf.yield %x : tensor<8xf32>
  }
  %f = arith.constant 1.0 : f32
  memref.store %f, %m[%c0] : memref<8xf32>
  %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    scf.yield %x : tensor<8xf32>
  }
  "nkipy.fuse_op"(%r0, %r1) : (tensor<8xf32>, tensor<8xf32>) -> ()
  return
}

// -----

func.func @different_blocks(%a: tensor<8xf32>) -> tensor<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<8xf32>
  %r0 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %e) -> (tensor<8xf32>) {
    scf.yield %x : tensor<8xf32>
  }
  %o = scf.for %k = %c0 to %c1 step %c1 iter_args(%z = %e) -> (tensor<8xf32>) {
    %r1 = scf.for %i = %c0 to %c8 step %c4 iter_args(%x = %z) -> (tensor<8xf32>) {
      scf.yield %x : tensor<8xf32>
    }
    // expected-error @below {{fuse_op targets #0 and #1 are computed in different blocks}}
    "nkipy.fuse_op"(%r0, %r1) : (tensor<8xf32>, tensor<8xf32>) -> ()
    scf.yield %r1 : tensor<8xf32>
  }
  return %o : tensor<8xf32>
}
