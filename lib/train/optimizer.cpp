#include "train/optimizer.h"

#include <cmath>
#include <numbers>

namespace nncert {
namespace {

Status bad(const std::string& msg) {
  return {ErrorCode::kInvalidArgument, "optimizer: " + msg};
}

}  // namespace

Expected<OptimizerKind> parse_optimizer_kind(const std::string& name) {
  if (name == "sgd")
    return OptimizerKind::kSgd;
  if (name == "adam")
    return OptimizerKind::kAdam;
  return bad("unknown optimizer '" + name + "' (sgd, adam)");
}

const char* optimizer_kind_name(OptimizerKind kind) {
  return kind == OptimizerKind::kSgd ? "sgd" : "adam";
}

Status OptimizerOptions::validate() const {
  if (!(lr >= 0) || !std::isfinite(lr))
    return bad("lr must be finite and >= 0");
  if (!(momentum >= 0 && momentum < 1))
    return bad("momentum must be in [0, 1)");
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
    return bad("beta1 and beta2 must be in [0, 1)");
  if (!(epsilon > 0))
    return bad("epsilon must be > 0");
  if (!(weight_decay >= 0) || !(clip_grad_norm >= 0))
    return bad("weight_decay and clip_grad_norm must be >= 0");
  return Status::ok();
}

Expected<ScheduleKind> parse_schedule_kind(const std::string& name) {
  if (name == "constant")
    return ScheduleKind::kConstant;
  if (name == "step")
    return ScheduleKind::kStep;
  if (name == "cosine")
    return ScheduleKind::kCosine;
  return bad("unknown schedule '" + name + "' (constant, step, cosine)");
}

const char* schedule_kind_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kStep:
      return "step";
    case ScheduleKind::kCosine:
      return "cosine";
    default:
      return "constant";
  }
}

Status ScheduleOptions::validate() const {
  if (warmup_steps < 0)
    return bad("warmup_steps must be >= 0");
  if (!(gamma > 0) || !(min_lr >= 0))
    return bad("gamma must be > 0 and min_lr >= 0");
  return Status::ok();
}

double scheduled_lr(const ScheduleOptions& s,
                    double base,
                    int64_t step,
                    int64_t total_steps,
                    int64_t steps_per_epoch) {
  if (step < s.warmup_steps)
    return base * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps + 1);
  switch (s.kind) {
    case ScheduleKind::kStep: {
      const double epoch =
          static_cast<double>(step) / static_cast<double>(std::max<int64_t>(steps_per_epoch, 1));
      double lr = base;
      for (double m : s.milestones)
        if (epoch >= m)
          lr *= s.gamma;
      return lr;
    }
    case ScheduleKind::kCosine: {
      const auto span = static_cast<double>(std::max<int64_t>(total_steps - s.warmup_steps - 1, 1));
      const double t = std::min(static_cast<double>(step - s.warmup_steps) / span, 1.0);
      return s.min_lr + (base - s.min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * t));
    }
    default:
      return base;
  }
}

Optimizer::Optimizer(OptimizerOptions options, const std::vector<int64_t>& sizes)
    : options_(options), sizes_(sizes) {
  for (int64_t n : sizes_) {
    state_.m.emplace_back(static_cast<size_t>(n), 0.0);
    if (options_.kind == OptimizerKind::kAdam)
      state_.v.emplace_back(static_cast<size_t>(n), 0.0);
  }
}

Status Optimizer::set_state(OptimizerState state) {
  const bool adam = options_.kind == OptimizerKind::kAdam;
  if (state.m.size() != sizes_.size() || state.v.size() != (adam ? sizes_.size() : 0))
    return bad("state has " + std::to_string(state.m.size()) + " buffers for " +
               std::to_string(sizes_.size()) + " parameters");
  for (size_t i = 0; i < sizes_.size(); ++i)
    if (static_cast<int64_t>(state.m[i].size()) != sizes_[i] ||
        (adam && static_cast<int64_t>(state.v[i].size()) != sizes_[i]))
      return bad("state buffer " + std::to_string(i) + " has the wrong size");
  state_ = std::move(state);
  return Status::ok();
}

namespace {

template <class T>
double sum_squares(const Tensor& g) {
  const T* d = g.data<T>();
  double sq = 0;
  for (int64_t i = 0; i < g.numel(); ++i)
    sq += static_cast<double>(d[i]) * static_cast<double>(d[i]);
  return sq;
}

// One parameter's update. `g` null: a zero gradient.
template <class T, class G>
void update(const OptimizerOptions& o,
            double lr,
            double gscale,
            double bc1,
            double bc2,
            T* p,
            const G* g,
            int64_t n,
            double* m,
            double* v) {
  if (o.kind == OptimizerKind::kAdam && o.weight_decay == 0 && g != nullptr) {
    // The common case without branches in the loop (the same arithmetic as below).
    const double b1 = o.beta1, b2 = o.beta2, eps = o.epsilon;
    for (int64_t i = 0; i < n; ++i) {
      const double gi = static_cast<double>(g[i]) * gscale;
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      p[i] = static_cast<T>(static_cast<double>(p[i]) -
                            lr * (m[i] / bc1) / (std::sqrt(v[i] / bc2) + eps));
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    double w = static_cast<double>(p[i]);
    double gi = g ? static_cast<double>(g[i]) * gscale : 0.0;
    if (!o.decoupled_weight_decay)
      gi += o.weight_decay * w;
    else
      w -= lr * o.weight_decay * w;
    if (o.kind == OptimizerKind::kSgd) {
      // PyTorch's SGD: buf = mu buf + g; step = g + mu buf (Nesterov) or buf.
      m[i] = o.momentum * m[i] + gi;
      w -= lr * (o.nesterov ? gi + o.momentum * m[i] : m[i]);
    } else {
      // Adam (Kingma & Ba 2015) with bias correction.
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * gi;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
      w -= lr * (m[i] / bc1) / (std::sqrt(v[i] / bc2) + o.epsilon);
    }
    p[i] = static_cast<T>(w);
  }
}

template <class T>
void update_any(const OptimizerOptions& o,
                double lr,
                double gscale,
                double bc1,
                double bc2,
                T* p,
                const Tensor& g,
                int64_t n,
                double* m,
                double* v) {
  if (!g.is_valid())
    update<T, T>(o, lr, gscale, bc1, bc2, p, nullptr, n, m, v);
  else if (g.dtype() == DType::kF32)
    update(o, lr, gscale, bc1, bc2, p, g.data<float>(), n, m, v);
  else
    update(o, lr, gscale, bc1, bc2, p, g.data<double>(), n, m, v);
}

}  // namespace

StepReport Optimizer::step(std::vector<Tensor>& params,
                           const std::vector<Tensor>& grads,
                           double lr) {
  NNCERT_CHECK(params.size() == sizes_.size() && grads.size() == sizes_.size(),
               "optimizer: parameter count mismatch");
  const OptimizerOptions& o = options_;
  StepReport report;
  double sq = 0;
  for (size_t k = 0; k < grads.size(); ++k) {
    const Tensor& g = grads[k];
    if (!g.is_valid())
      continue;
    NNCERT_CHECK(is_float(g.dtype()) && g.numel() == sizes_[k], "optimizer: bad gradient");
    sq += g.dtype() == DType::kF32 ? sum_squares<float>(g) : sum_squares<double>(g);
  }
  report.grad_norm = std::sqrt(sq);
  double gscale = 1;
  if (o.clip_grad_norm > 0 && report.grad_norm > o.clip_grad_norm) {
    gscale = o.clip_grad_norm / report.grad_norm;
    report.clipped = true;
  }
  ++state_.steps;
  const auto t = static_cast<double>(state_.steps);
  const double bc1 = 1 - std::pow(o.beta1, t), bc2 = 1 - std::pow(o.beta2, t);
  for (size_t k = 0; k < params.size(); ++k) {
    Tensor& p = params[k];
    NNCERT_CHECK(p.numel() == sizes_[k] && is_float(p.dtype()), "optimizer: parameter changed");
    double* m = state_.m[k].data();
    double* v = o.kind == OptimizerKind::kAdam ? state_.v[k].data() : nullptr;
    if (p.dtype() == DType::kF32)
      update_any(o, lr, gscale, bc1, bc2, p.data<float>(), grads[k], p.numel(), m, v);
    else
      update_any(o, lr, gscale, bc1, bc2, p.data<double>(), grads[k], p.numel(), m, v);
  }
  return report;
}

}  // namespace nncert
