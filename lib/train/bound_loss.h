// Certified-training losses on the bound graphs of train/bound_graph.h: the robust cross-entropy
// of IBP, CROWN-IBP or their mix, with its gradient w.r.t. every model weight by the runtime's
// autodiff (one runtime, one autodiff: what is trained is what the runtime runs).
//
//   auto loss = make_bound_loss(model, {.method = BoundMethod::kCrownIbp, .eps = 0.1});
//   loss->set_eps(eps_t); loss->set_beta(beta_t);        // schedules, per step
//   auto v = loss->evaluate(x, labels);                   // v->loss, v->verified, v->grads
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "train/bound_graph.h"

namespace nncert {

struct BoundLossOptions {
  // kIbp: IBP bounds. kCrownIbp: beta * CROWN-IBP + (1 - beta) * IBP lower bounds (Zhang et al.
  // 2020; auto_LiRPA anneals beta from 1 to 0 as eps grows to its target).
  BoundMethod method = BoundMethod::kIbp;
  double beta = 1.0;
  double eps = 0.0;  // L-inf radius (the only norm for now)
  // The box is intersected with [clip_lo, clip_hi] (inputs in [0, 1]); clip = false: no clipping.
  bool clip = true;
  double clip_lo = 0.0, clip_hi = 1.0;
  // Loss fusion (auto_LiRPA's --loss_fusion, docs/bound-loss.md "Loss fusion"): bound the robust
  // CE directly, log UB[Σ_j exp(y_j − y_label)], with ONE CROWN backward row instead of K. With
  // kIbp it equals the unfused IBP loss (IBP is exact through exp, sum and log).
  bool loss_fusion = false;
  DType dtype = DType::kF32;  // run precision of the bound graph
  int threads = 0;            // 0: all hardware threads
  Status validate() const;
};

struct LossValue {
  // Mean over the batch of CE(-lower margins, label); loss fusion: of
  // log(β UB_crown + (1 − β) UB_ibp) + m (the same as CE(-IBP lower margins) for IBP).
  double loss = 0;
  // Per example: every margin y_label - y_j (j != label) has a positive lower bound, by the
  // better of the bounds computed (both are sound). Loss fusion: IBP's margin bounds, or the
  // fused CROWN-IBP bound UB[Σ_j exp(y_j − y_label)] < 2 (docs/bound-loss.md).
  std::vector<uint8_t> verified;
  // [B, K] mixed lower bounds of y_label - y_j (0 in the label column), float64; loss fusion:
  // IBP's (no per-margin CROWN-IBP bounds are computed).
  Tensor lower;
  // d loss / d weight, one entry per model float constant that the loss depends on (name, grad).
  std::vector<std::pair<std::string, Tensor>> grads;
};

class BoundLoss {
 public:
  // x: [B, ...] (the model input's shape with batch B), labels: B class indices.
  Expected<LossValue> evaluate(const Tensor& x, const std::vector<int64_t>& labels) const;
  // Updates the weights the bound graphs hold (after an optimiser step), by model value name.
  Status set_weight(const std::string& name, const Tensor& value);
  void set_eps(double eps) { options_.eps = eps; }
  void set_beta(double beta) { options_.beta = beta; }
  const BoundLossOptions& options() const { return options_; }
  int64_t num_classes() const { return ibp_->num_classes; }

 private:
  friend Expected<BoundLoss> make_bound_loss(const Graph& model, const BoundLossOptions& options);
  BoundLossOptions options_;
  std::shared_ptr<BoundGraph> ibp_;    // IBP only (used when beta == 0)
  std::shared_ptr<BoundGraph> crown_;  // IBP + CROWN-IBP outputs (kCrownIbp)
};

// Builds the bound graphs of `model` (prepared; one input, one output [B, K]).
Expected<BoundLoss> make_bound_loss(const Graph& model, const BoundLossOptions& options = {});

// The robust cross-entropy of lower margin bounds `lower` [B, K] (auto_LiRPA: logits z = -lower,
// z_label = 0): mean_b (logsumexp(z_b) - z_b,label); `grad` (if not null) gets d loss / d lower.
double robust_cross_entropy(const Tensor& lower, const std::vector<int64_t>& labels, Tensor* grad);

}  // namespace nncert
