// RUN: nkipy-kg-opt %s --canonicalize-loop-step --split-input-file --verify-diagnostics

// The reference silently skips such a loop; here it is an error.

func.func @partial_tile(%s: i64) -> i64 {
  %c0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  // expected-error @below {{tile size does not divide the dimension: the loop runs 0 to 8 in steps of 3 (8 is not a multiple of 3)}}
  %r = scf.for %i = %c0 to %c8 step %c3 iter_args(%acc = %s) -> (i64) {
    scf.yield %acc : i64
  }
  return %r : i64
}
