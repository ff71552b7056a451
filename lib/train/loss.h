// Training losses. A Loss maps the model graph and one batch to the batch-mean loss and its
// gradient w.r.t. every trainable parameter; the trainer only sees this interface, so the
// certified losses (IBP, CROWN-IBP in train/bound_loss.*) plug in beside the natural one.
// `LossType` names the losses a config can ask for; make_loss builds the natural one and the
// bound-loss work registers its own through register_loss_factory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "runtime/executor.h"

namespace nncert {

// Where training stands, for losses with schedules (e.g. an epsilon ramp, a warmup mix).
struct LossContext {
  RunOptions run;     // dtype and threads of every forward/backward pass
  int64_t epoch = 0;  // 0-based
  int64_t step = 0;   // global optimiser step, 0-based
  int64_t total_steps = 0;
  int64_t steps_per_epoch = 0;
  // The model in inference form (BatchNorm with running statistics), when `g` differs from it
  // (g has BatchNorm in batch-statistics form, train/batch_norm_train.h); else null.
  const Graph* inference_graph = nullptr;
};

struct LossResult {
  double loss = 0;                  // mean over the batch
  int64_t correct = 0;              // clean top-1 hits in the batch (for the progress line)
  std::vector<Tensor> param_grads;  // d loss / d params[k]; invalid: zero
  // Extra scalars for the JSON-lines log (e.g. "robust_loss", "eps"), in a fixed order.
  std::vector<std::pair<std::string, double>> metrics;
};

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // `g`: the model (one input [B, ...], one output of logits [B, classes]); `params`: its
  // trainable constants; `x`: the batch, already shaped as the graph input; `labels`: B classes.
  virtual Expected<LossResult> compute(const Graph& g,
                                       const std::vector<ValueId>& params,
                                       const Tensor& x,
                                       const std::vector<int64_t>& labels,
                                       const LossContext& ctx) = 0;
};

// Cross-entropy of softmax(logits): loss = mean_b (logsumexp(z_b) - z_b[y_b]). The logits come
// from a forward pass; the seed d loss / d z = (softmax(z) - onehot(y)) / B is then pushed back
// through gradient() (a second pass that recomputes the forward on its tape).
class NaturalLoss : public Loss {
 public:
  std::string name() const override { return "natural"; }
  Expected<LossResult> compute(const Graph& g,
                               const std::vector<ValueId>& params,
                               const Tensor& x,
                               const std::vector<int64_t>& labels,
                               const LossContext& ctx) override;
};

// Mean cross-entropy, top-1 hits and d loss / d logits of a [B, C] logits tensor (in its dtype).
struct CrossEntropy {
  double loss = 0;
  int64_t correct = 0;
  Tensor grad;
};
Expected<CrossEntropy> cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels);

// The config's `loss.type`. The bound-loss work adds its kinds here and registers a factory.
enum class LossType { kNatural, kIbp, kCrownIbp };
Expected<LossType> parse_loss_type(const std::string& name);  // "natural", "ibp", "crown-ibp"
const char* loss_type_name(LossType type);

// Loss options from the config's `loss` object, as JSON text (kept opaque here).
using LossFactory = std::function<Expected<std::unique_ptr<Loss>>(const std::string& json)>;
void register_loss_factory(LossType type, LossFactory factory);
// kUnsupported for a type nobody registered.
Expected<std::unique_ptr<Loss>> make_loss(LossType type, const std::string& json = "{}");

}  // namespace nncert
