// Certified losses for the trainer (certified_loss.h). Per step: the schedule gives (ε, κ, β);
// the natural term is NaturalLoss on the training graph, the robust term BoundLoss on the
// inference graph; gradients are mixed by parameter name:
//   loss = κ CE(f(x), y) + (1 − κ) CE(−lower(x, ε, β), y).
#include "train/certified_loss.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

namespace nncert {
namespace {

using json = nlohmann::json;

Status bad(const std::string& what) {
  return Status(ErrorCode::kInvalidArgument, "loss: " + what);
}

int64_t to_steps(double epochs, int64_t steps_per_epoch) {
  return static_cast<int64_t>(std::llround(epochs * static_cast<double>(steps_per_epoch)));
}

}  // namespace

Status CertifiedLossOptions::validate() const {
  if (!(eps >= 0) || !std::isfinite(eps))
    return bad("eps must be finite and >= 0");
  if (!(warmup_epochs >= 0) || !(ramp_epochs >= 0))
    return bad("warmup_epochs and ramp_epochs must be >= 0");
  if (!(smooth_mid >= 0 && smooth_mid < 1) || !(smooth_power >= 1))
    return bad("smoothed schedule: mid in [0, 1), power >= 1");
  for (double v : {kappa_start, kappa_end, beta_start, beta_end})
    if (!(v >= 0 && v <= 1))
      return bad("kappa and beta must be in [0, 1]");
  if (clip && !(clip_lo <= clip_hi))
    return bad("clip_lo must be <= clip_hi");
  if (!(input_std > 0) || !std::isfinite(input_mean))
    return bad("input_std must be > 0");
  return Status::ok();
}

Expected<CertifiedLossOptions> parse_certified_loss_options(const std::string& text) {
  CertifiedLossOptions o;
  try {
    const json j = json::parse(text);
    if (!j.is_object())
      return bad("expected an object");
    static const char* kKeys[] = {"type",
                                  "eps",
                                  "schedule",
                                  "warmup_epochs",
                                  "ramp_epochs",
                                  "smooth_mid",
                                  "smooth_power",
                                  "kappa_start",
                                  "kappa_end",
                                  "beta_start",
                                  "beta_end",
                                  "loss_fusion",
                                  "clip",
                                  "clip_lo",
                                  "clip_hi",
                                  "input_mean",
                                  "input_std"};
    for (const auto& [k, v] : j.items())
      if (std::find(std::begin(kKeys), std::end(kKeys), k) == std::end(kKeys))
        return bad("unknown key '" + k + "'");
    NNCERT_ASSIGN_OR_RETURN(LossType type, parse_loss_type(j.value("type", "ibp")));
    if (type == LossType::kNatural)
      return bad("not a certified loss: natural");
    o.method = type == LossType::kCrownIbp ? BoundMethod::kCrownIbp : BoundMethod::kIbp;
    o.eps = j.value("eps", o.eps);
    const std::string s = j.value("schedule", "smoothed");
    if (s == "linear")
      o.schedule = EpsScheduleKind::kLinear;
    else if (s == "smoothed")
      o.schedule = EpsScheduleKind::kSmoothed;
    else
      return bad("schedule must be linear or smoothed, not '" + s + "'");
    o.warmup_epochs = j.value("warmup_epochs", o.warmup_epochs);
    o.ramp_epochs = j.value("ramp_epochs", o.ramp_epochs);
    o.smooth_mid = j.value("smooth_mid", o.smooth_mid);
    o.smooth_power = j.value("smooth_power", o.smooth_power);
    o.kappa_start = j.value("kappa_start", o.kappa_start);
    o.kappa_end = j.value("kappa_end", o.kappa_end);
    o.beta_start = j.value("beta_start", o.beta_start);
    o.beta_end = j.value("beta_end", o.beta_end);
    o.loss_fusion = j.value("loss_fusion", o.loss_fusion);
    o.clip = j.value("clip", o.clip);
    o.clip_lo = j.value("clip_lo", o.clip_lo);
    o.clip_hi = j.value("clip_hi", o.clip_hi);
    o.input_mean = j.value("input_mean", o.input_mean);
    o.input_std = j.value("input_std", o.input_std);
  } catch (const json::exception& e) {
    return bad(e.what());
  }
  NNCERT_RETURN_IF_ERROR(o.validate());
  return o;
}

// u = step + 1 − warm-up steps counts ramp steps from 1 (the first ramp step already has ε > 0).
// Smoothed (auto_LiRPA's SmoothedScheduler): ε = α u^p up to the mid step m, then linear to the
// end R, α chosen so that both pieces have the same slope at m: α = ε / (m^(p−1) (p (R − m) + m)).
CertifiedSchedule certified_schedule(const CertifiedLossOptions& o,
                                     int64_t step,
                                     int64_t steps_per_epoch) {
  CertifiedSchedule s;
  const int64_t warm = to_steps(o.warmup_epochs, steps_per_epoch);
  const int64_t ramp = std::max<int64_t>(1, to_steps(o.ramp_epochs, steps_per_epoch));
  const double u = static_cast<double>(step + 1 - warm);
  if (u <= 0) {
    s.beta = o.method == BoundMethod::kCrownIbp ? o.beta_start : 0.0;
    return s;  // warm-up: natural training
  }
  const double r = static_cast<double>(ramp), frac = std::min(1.0, u / r);
  const double mid = std::floor(r * o.smooth_mid);
  if (o.schedule == EpsScheduleKind::kLinear || mid < 1 || u >= r) {
    s.eps = o.eps * frac;
  } else {
    const double p = o.smooth_power, t = std::pow(mid, p - 1);
    const double alpha = o.eps / ((r - mid) * p * t + mid * t);
    const double mid_value = alpha * std::pow(mid, p);
    s.eps = u < mid ? alpha * std::pow(u, p)
                    : std::min(o.eps, mid_value + (o.eps - mid_value) * (u - mid) / (r - mid));
  }
  s.kappa = o.kappa_start + (o.kappa_end - o.kappa_start) * frac;
  if (o.method == BoundMethod::kCrownIbp)
    s.beta = o.beta_start + (o.beta_end - o.beta_start) * (o.eps > 0 ? s.eps / o.eps : frac);
  return s;
}

std::string CertifiedLoss::name() const {
  return options_.method == BoundMethod::kCrownIbp ? "crown-ibp" : "ibp";
}

Status CertifiedLoss::sync_weights(const Graph& model) {
  if (weight_names_.empty()) {
    for (size_t id = 0; id < model.num_values(); ++id) {
      const Value& v = model.value(static_cast<ValueId>(id));
      if (!v.constant || !is_float(v.constant->dtype()) || v.name.empty())
        continue;
      const Status st = bound_->set_weight(v.name, *v.constant);
      if (st.is_ok())
        weight_names_.push_back(v.name);
      else if (st.code() != ErrorCode::kInvalidArgument)
        return st;
    }
    return Status::ok();
  }
  for (const std::string& n : weight_names_)
    NNCERT_RETURN_IF_ERROR(bound_->set_weight(n, *model.value(model.find_value(n)).constant));
  return Status::ok();
}

Expected<LossResult> CertifiedLoss::compute(const Graph& g,
                                            const std::vector<ValueId>& params,
                                            const Tensor& x,
                                            const std::vector<int64_t>& labels,
                                            const LossContext& ctx) {
  const int64_t per_epoch = std::max<int64_t>(1, ctx.steps_per_epoch);
  const CertifiedSchedule s = certified_schedule(options_, ctx.step, per_epoch);
  NaturalLoss natural;
  NNCERT_ASSIGN_OR_RETURN(LossResult r, natural.compute(g, params, x, labels, ctx));
  const double natural_loss = r.loss;
  r.metrics = {{"eps", s.eps}, {"kappa", s.kappa}};
  if (options_.method == BoundMethod::kCrownIbp)
    r.metrics.emplace_back("beta", s.beta);
  r.metrics.emplace_back("natural_loss", natural_loss);
  if (s.kappa >= 1)
    return r;  // warm-up (or κ = 1 throughout): no bounds needed
  const Graph& src = ctx.inference_graph ? *ctx.inference_graph : g;
  if (!bound_ || bound_source_ != &src) {
    BoundLossOptions bo;
    bo.method = options_.method;
    bo.loss_fusion = options_.loss_fusion;
    bo.clip = options_.clip;
    bo.clip_lo = (options_.clip_lo - options_.input_mean) / options_.input_std;
    bo.clip_hi = (options_.clip_hi - options_.input_mean) / options_.input_std;
    bo.dtype = ctx.run.dtype;
    bo.threads = ctx.run.threads;
    NNCERT_ASSIGN_OR_RETURN(BoundLoss bl, make_bound_loss(src, bo));
    bound_ = std::make_unique<BoundLoss>(std::move(bl));
    bound_source_ = &src;
    weight_names_.clear();
  }
  NNCERT_RETURN_IF_ERROR(sync_weights(src));
  bound_->set_eps(s.eps / options_.input_std);
  bound_->set_beta(s.beta);
  NNCERT_ASSIGN_OR_RETURN(LossValue v, bound_->evaluate(x, labels));
  std::map<std::string, const Tensor*> robust;
  for (const auto& [n, t] : v.grads)
    robust[n] = &t;
  for (size_t k = 0; k < params.size(); ++k) {
    const Value& pv = g.value(params[k]);
    Tensor& out = r.param_grads[k];
    if (!out.is_valid()) {
      out = Tensor(pv.constant->dtype(), pv.constant->shape());
    } else {
      out = out.clone();  // the natural gradient may share storage with the tape
    }
    auto it = robust.find(pv.name);
    const Tensor* rg = it == robust.end() ? nullptr : it->second;
    if (out.dtype() == DType::kF32 && (!rg || rg->dtype() == DType::kF32)) {
      float* po = out.data<float>();
      const float* pr = rg ? rg->data<float>() : nullptr;
      const float kn = static_cast<float>(s.kappa), k1 = static_cast<float>(1 - s.kappa);
      for (int64_t i = 0; i < out.numel(); ++i)
        po[i] = kn * po[i] + (pr ? k1 * pr[i] : 0.0f);
    } else {
      for (int64_t i = 0; i < out.numel(); ++i)
        out.set(i, s.kappa * out.get(i) + (rg ? (1 - s.kappa) * rg->get(i) : 0.0));
    }
  }
  int64_t verified = 0;
  for (uint8_t b : v.verified)
    verified += b;
  r.loss = s.kappa * natural_loss + (1 - s.kappa) * v.loss;
  r.metrics.emplace_back("robust_loss", v.loss);
  r.metrics.emplace_back("verified",
                         static_cast<double>(verified) / static_cast<double>(labels.size()));
  return r;
}

Expected<std::unique_ptr<Loss>> make_certified_loss(LossType type, const std::string& json_text) {
  if (type == LossType::kNatural)
    return bad("not a certified loss: natural");
  NNCERT_ASSIGN_OR_RETURN(CertifiedLossOptions o, parse_certified_loss_options(json_text));
  o.method = type == LossType::kCrownIbp ? BoundMethod::kCrownIbp : BoundMethod::kIbp;
  return std::unique_ptr<Loss>(std::make_unique<CertifiedLoss>(std::move(o)));
}

}  // namespace nncert
