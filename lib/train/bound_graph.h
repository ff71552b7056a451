// Bound graphs for certified training: IBP and CROWN-IBP bounds of a model's margins written AS A
// GRAPH of ordinary ops, so that the runtime runs them and its autodiff (runtime/autodiff.h) gives
// d bound / d weight. The bound graph holds the model's float constants under their own names, so
// a gradient w.r.t. a bound-graph constant is the gradient w.r.t. the model weight of that name.
// lib/bounds computes the same bounds in its own C++ code (not differentiable); the tests check
// that both agree. Math: docs/bounds.md ("IBP", "CROWN") and docs/bound-loss.md.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "graph/graph.h"

namespace nncert {

enum class BoundMethod {
  kIbp,       // interval bound propagation (Gowal et al. 2018)
  kCrownIbp,  // IBP intermediate bounds + one CROWN backward pass (Zhang et al., ICLR 2020)
};

struct BoundGraphOptions {
  BoundMethod method = BoundMethod::kIbp;
  // Rows S of the specification matrix C (graph input "spec" [B, S, K]); 0: S = K (the margins
  // y_label - y_j for every class j, the label row being zero).
  int64_t spec_rows = 0;
  // Loss fusion (auto_LiRPA's --loss_fusion; docs/bound-loss.md "Loss fusion"): the graph bounds
  // Σ_j exp(z_j − m) with z = C y (C rows e_j − e_label, so z_label = 0) instead of the rows of
  // C y one by one; its CROWN backward pass has ONE row whatever S is. Outputs below.
  bool loss_fusion = false;
  Status validate() const;
};

// The bound graph of a model f with one input x and one output y = f(x) [B, K].
//   inputs:  "x_lo", "x_hi" (the input box, the model input's shape with a free batch) and
//            "spec" C [B, S, K];
//   outputs: output 0: IBP lower bounds of C y [B, S]; with kCrownIbp, output 1: the CROWN-IBP
//            lower bounds [B, S] (IBP intermediate bounds, CROWN backward pass from C).
//   with loss_fusion: output 0: IBP lower bounds l of z = C y [B, S]; output 1: IBP upper
//            bounds u of z [B, S]; output 2: the shift m = max_j u_j [B, 1]; with kCrownIbp,
//            output 3: the CROWN-IBP upper bound of Σ_j exp(z_j − m) [B, 1] (exp's chord on
//            [l_j, u_j], then one CROWN backward row a^T C). IBP's upper bound of that sum,
//            Σ_j exp(u_j − m), is computed by the caller from outputs 1 and 2.
// When y comes from Gemm / MatMul (+ constant Add) with constant weights, C is folded into that
// layer (auto_LiRPA's elision): bounds of (C W) h + C b from h's bounds.
// Supported (IBP): Gemm, MatMul, Conv with constant weights, Add / Sub, BatchNormalization
// (inference form, running statistics), Relu, Sigmoid, Tanh, MaxPool, AveragePool,
// GlobalAveragePool, Flatten, Reshape, Identity, Dropout. CROWN-IBP: a chain of Gemm, MatMul,
// Add (constant), Conv, BatchNormalization, Relu, Flatten / Reshape / Identity / Dropout.
// Other nodes: kUnsupported naming them. The model must be prepared (static shapes apart from
// the batch).
struct BoundGraph {
  Graph graph;
  int64_t num_classes = 0;  // K
  int64_t spec_rows = 0;    // S
  bool elided = false;      // C was folded into the last linear layer
};

Expected<BoundGraph> build_bound_graph(const Graph& model, const BoundGraphOptions& options = {});

}  // namespace nncert
