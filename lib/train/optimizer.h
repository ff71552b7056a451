// Optimisers for training: SGD with (Nesterov) momentum and Adam, L2 or decoupled (AdamW) weight
// decay, gradient clipping by global norm, and learning-rate schedules (constant, step, cosine,
// with linear warmup). Updates are computed in double and written back in each parameter's own
// dtype; the state is plain vectors (OptimizerState) so a checkpoint restores it exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace nncert {

enum class OptimizerKind { kSgd, kAdam };
Expected<OptimizerKind> parse_optimizer_kind(const std::string& name);  // "sgd", "adam"
const char* optimizer_kind_name(OptimizerKind kind);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kAdam;
  double lr = 1e-3;
  double momentum = 0.9;                              // SGD
  bool nesterov = false;                              // SGD
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // Adam
  double weight_decay = 0;
  // false: L2 (weight_decay * p added to the gradient); true: decoupled, p -= lr * wd * p
  // (AdamW, Loshchilov & Hutter 2019).
  bool decoupled_weight_decay = false;
  double clip_grad_norm = 0;  // > 0: scale the gradients so that their global L2 norm <= this
  Status validate() const;
};

enum class ScheduleKind { kConstant, kStep, kCosine };
Expected<ScheduleKind> parse_schedule_kind(
    const std::string& name);  // "constant", "step", "cosine"
const char* schedule_kind_name(ScheduleKind kind);

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::kConstant;
  int64_t warmup_steps = 0;        // linear ramp from 0 to the base rate
  std::vector<double> milestones;  // step: epochs (fractional allowed) where lr *= gamma
  double gamma = 0.1;              // step
  double min_lr = 0;               // cosine: the rate at the last step
  Status validate() const;
};

// The rate at `step` (0-based) of `total_steps`, `steps_per_epoch` steps an epoch.
// cosine: min + (base - min) (1 + cos(pi t / T)) / 2 over the steps after the warmup.
double scheduled_lr(const ScheduleOptions& schedule,
                    double base_lr,
                    int64_t step,
                    int64_t total_steps,
                    int64_t steps_per_epoch);

struct OptimizerState {
  int64_t steps = 0;
  std::vector<std::vector<double>> m;  // SGD: momentum buffer; Adam: first moment
  std::vector<std::vector<double>> v;  // Adam: second moment
};

struct StepReport {
  double grad_norm = 0;  // global L2 norm before clipping
  bool clipped = false;
};

class Optimizer {
 public:
  // `sizes`: the element count of each parameter.
  Optimizer(OptimizerOptions options, const std::vector<int64_t>& sizes);

  // One update of `params` (float tensors, changed in place) with `grads` (same shapes; an
  // invalid tensor is a zero gradient) at learning rate `lr`.
  StepReport step(std::vector<Tensor>& params, const std::vector<Tensor>& grads, double lr);

  const OptimizerOptions& options() const { return options_; }
  const OptimizerState& state() const { return state_; }
  // kInvalidArgument when the buffers do not match the parameter sizes.
  Status set_state(OptimizerState state);

 private:
  OptimizerOptions options_;
  std::vector<int64_t> sizes_;
  OptimizerState state_;
};

}  // namespace nncert
