// RUN: not nkipy-kg-opt %s 2>&1 | filecheck %s
// RUN: not nkipy-kg-opt %s --strip-nkipy-annotations -o %t 2>&1 | filecheck %s
// RUN: not nkipy-kg-opt %s --pass-pipeline='builtin.module(no-such-pass)' 2>&1 | filecheck %s --check-prefix=UNKNOWN

// A parse error exits nonzero with `file:line:col: error:`, the source line and a
// caret, and no Python traceback. The pipeline is never run.

// CHECK: cli-invalid.mlir:[[# @LINE + 5]]:10: error: use of undeclared SSA value name
// CHECK-NEXT: return %undefined : tensor<4xf32>
// CHECK-NEXT: {{^}}         ^
// CHECK-NOT: Traceback
func.func @broken(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %undefined : tensor<4xf32>
}

// An unknown pass is a usage error (exit 2) that lists the registered passes.
// UNKNOWN: nkipy-kg-opt: error: unknown pass 'no-such-pass'; registered passes:
// UNKNOWN-DAG: strip-nkipy-annotations
// UNKNOWN-DAG: lower-nkipy-gather
// UNKNOWN-DAG: zero-init-empty-tensors
// UNKNOWN-NOT: Traceback
