// Reverse-mode automatic differentiation over the graph: one forward pass that keeps every value
// (the tape), then each node's VJP rule (OpDef::vjp) in reverse topological order, summing the
// gradients of values read by several nodes. Used by alpha-CROWN (gradients w.r.t. relaxation
// parameters) and certified training (gradients w.r.t. weights).
#pragma once

#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "runtime/executor.h"

namespace nncert {

struct GradientResult {
  std::vector<Tensor> outputs;      // forward outputs, one per graph output
  std::vector<Tensor> value_grads;  // per ValueId: d loss / d value (invalid: no gradient)
};

// loss = sum_k <output_grads[k], outputs[k]>: `output_grads` holds one seed per graph output (an
// invalid tensor means zero). Gradients flow to graph inputs and float constants (weights).
Expected<GradientResult> gradient(const Graph& g,
                                  const std::vector<Tensor>& inputs,
                                  const std::vector<Tensor>& output_grads,
                                  const RunOptions& options = {});

}  // namespace nncert
