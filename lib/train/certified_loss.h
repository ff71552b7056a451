// The certified losses (IBP, CROWN-IBP) as trainer `Loss`es: the bound losses of
// train/bound_loss.h with the schedules of certified training around them — natural warm-up, an
// ε ramp (linear, or the smoothed schedule of Shi et al. 2021 / auto_LiRPA), the natural/robust
// mix κ of Gowal et al. 2018 and, for CROWN-IBP, the IBP/CROWN mix β annealed with ε (Zhang et
// al. 2020). Options come from the run config's `loss` object (docs/training.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "train/bound_loss.h"
#include "train/loss.h"

namespace nncert {

enum class EpsScheduleKind { kLinear, kSmoothed };

struct CertifiedLossOptions {
  BoundMethod method = BoundMethod::kIbp;
  double eps = 0.1;  // final L-inf radius, in the units of the raw (un-normalised) input
  // Schedule, in epochs (fractions allowed; rounded to steps): ε = 0 and κ = 1 (natural
  // training, no bounds computed) for `warmup_epochs`, then ε grows to `eps` over `ramp_epochs`.
  EpsScheduleKind schedule = EpsScheduleKind::kSmoothed;
  double warmup_epochs = 0;
  double ramp_epochs = 1;
  double smooth_mid = 0.25;   // smoothed: exponential up to this fraction of the ramp, ...
  double smooth_power = 4.0;  // ... ε ∝ t^power there, then linear (auto_LiRPA's defaults)
  double kappa_start = 1.0;   // loss = κ CE(natural) + (1 − κ) CE(robust); κ goes linearly
  double kappa_end = 0.5;     // from start to end over the ramp (Gowal et al.: 1 → 0.5)
  double beta_start = 1.0;    // CROWN-IBP: β = start + (end − start) ε_t / ε (auto_LiRPA:
  double beta_end = 0.0;      // 1 → 0; β weights CROWN-IBP against IBP)
  // Loss fusion (BoundLossOptions::loss_fusion): bound the robust CE directly, one CROWN row.
  bool loss_fusion = false;
  bool clip = true;  // intersect the box with [clip_lo, clip_hi] (raw units)
  double clip_lo = 0.0, clip_hi = 1.0;
  // The data loader's normalisation x' = (x − mean) / std (one value for all features): ε and
  // the clip range are mapped into the normalised units the model sees. run_training fills it.
  double input_mean = 0.0, input_std = 1.0;
  Status validate() const;
};

// From the config's `loss` JSON object (`type` picks the method). Unknown keys: kInvalidArgument.
Expected<CertifiedLossOptions> parse_certified_loss_options(const std::string& json);

// The schedule at a global step (steps_per_epoch > 0).
struct CertifiedSchedule {
  double eps = 0;    // raw units
  double kappa = 1;  // weight of the natural loss
  double beta = 0;   // CROWN-IBP weight (0 for IBP)
};
CertifiedSchedule certified_schedule(const CertifiedLossOptions& o,
                                     int64_t step,
                                     int64_t steps_per_epoch);

// Bounds are computed on `ctx.inference_graph` when the trainer gives one (BatchNorm in
// inference form, running statistics), else on `g`: the bound graphs support BN only in that
// form, and it is the form that is exported and verified. The natural term uses `g`. The
// weights are copied into the bound graphs (by name) before every evaluation.
class CertifiedLoss : public Loss {
 public:
  explicit CertifiedLoss(CertifiedLossOptions options) : options_(std::move(options)) {}
  std::string name() const override;
  Expected<LossResult> compute(const Graph& g,
                               const std::vector<ValueId>& params,
                               const Tensor& x,
                               const std::vector<int64_t>& labels,
                               const LossContext& ctx) override;
  const CertifiedLossOptions& options() const { return options_; }

 private:
  Status sync_weights(const Graph& model);
  CertifiedLossOptions options_;
  std::unique_ptr<BoundLoss> bound_;
  const Graph* bound_source_ = nullptr;    // the graph the bound graphs were built from
  std::vector<std::string> weight_names_;  // model constants that the bound graphs hold
};

// The factory behind make_loss for kIbp / kCrownIbp (`type` decides the method, whatever the
// JSON's `type` says); loss.cpp registers it by default.
Expected<std::unique_ptr<Loss>> make_certified_loss(LossType type, const std::string& json);

}  // namespace nncert
