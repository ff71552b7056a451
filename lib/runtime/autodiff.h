// Reverse-mode automatic differentiation over the graph: one forward pass that keeps every value
// (the tape), then each node's VJP rule (OpDef::vjp) in reverse topological order, summing the
// gradients of values read by several nodes. Used by alpha-CROWN (gradients w.r.t. relaxation
// parameters) and certified training (gradients w.r.t. weights).
#pragma once

#include <functional>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "runtime/executor.h"

namespace nncert {

struct GradientOptions {
  // Gradients w.r.t. float constants (weights, biases): certified training needs them. false:
  // only values that depend on a graph input get a gradient, and each VJP rule is told
  // (ExecContext::need_grad) which of its inputs' gradients to compute, so e.g. Conv skips its
  // weight gradient (an attack only needs d loss / d input).
  bool parameter_grads = true;
  // With parameter_grads: when not empty, only these constants (and whatever depends on them)
  // take a gradient; graph inputs and other constants (shapes, scalars) get none, so e.g. the
  // first Conv skips d loss / d input. Empty: every value.
  std::vector<ValueId> parameters;
  // When set, the seeds are computed from the forward outputs (e.g. a loss's gradient w.r.t.
  // the logits, as certified training needs) instead of taken from `output_grads` (which must
  // then be empty): one forward pass instead of two.
  std::function<Expected<std::vector<Tensor>>(const std::vector<Tensor>& outputs)> seeds;
};

// Gradients w.r.t. graph inputs only (what an attack needs).
inline GradientOptions input_grads_only() {
  GradientOptions o;
  o.parameter_grads = false;
  return o;
}

struct GradientResult {
  std::vector<Tensor> outputs;      // forward outputs, one per graph output
  std::vector<Tensor> value_grads;  // per ValueId: d loss / d value (invalid: no gradient)
};

// loss = sum_k <output_grads[k], outputs[k]>: `output_grads` holds one seed per graph output (an
// invalid tensor means zero). Gradients flow to graph inputs and, with
// grad_options.parameter_grads, to float constants (weights).
Expected<GradientResult> gradient(const Graph& g,
                                  const std::vector<Tensor>& inputs,
                                  const std::vector<Tensor>& output_grads,
                                  const RunOptions& options = {},
                                  const GradientOptions& grad_options = {});

}  // namespace nncert
