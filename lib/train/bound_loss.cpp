// Robust losses on the bound graphs (bound_loss.h). The loss is computed outside the graph from
// its outputs (lower margin bounds): CE with logits z = −lower, stable log-sum-exp in float64,
// and d loss / d lower seeds the graph's autodiff in the same forward pass (GradientOptions::
// seeds). Mixed bounds: lower = β·CROWN-IBP + (1 − β)·IBP, so the seeds are β·g and (1 − β)·g.
// Loss fusion: log(β UB_crown + (1 − β) UB_ibp) + m from the fused graph's outputs, likewise.
#include "train/bound_loss.h"

#include <algorithm>
#include <cmath>

#include "runtime/autodiff.h"

namespace nncert {

Status BoundLossOptions::validate() const {
  if (!(beta >= 0 && beta <= 1))
    return Status(ErrorCode::kInvalidArgument, "beta must be in [0, 1]");
  if (!(eps >= 0) || !std::isfinite(eps))
    return Status(ErrorCode::kInvalidArgument, "eps must be finite and >= 0");
  if (clip && !(clip_lo <= clip_hi))
    return Status(ErrorCode::kInvalidArgument, "clip_lo must be <= clip_hi");
  if (!is_float(dtype))
    return Status(ErrorCode::kInvalidArgument, "dtype must be float32 or float64");
  return Status::ok();
}

Expected<BoundLoss> make_bound_loss(const Graph& model, const BoundLossOptions& options) {
  NNCERT_RETURN_IF_ERROR(options.validate());
  BoundLoss loss;
  loss.options_ = options;
  BoundGraphOptions go;
  go.loss_fusion = options.loss_fusion;
  NNCERT_ASSIGN_OR_RETURN(BoundGraph ibp, build_bound_graph(model, go));
  loss.ibp_ = std::make_shared<BoundGraph>(std::move(ibp));
  if (options.method == BoundMethod::kCrownIbp) {
    go.method = BoundMethod::kCrownIbp;
    NNCERT_ASSIGN_OR_RETURN(BoundGraph crown, build_bound_graph(model, go));
    loss.crown_ = std::make_shared<BoundGraph>(std::move(crown));
  }
  return loss;
}

double robust_cross_entropy(const Tensor& lower, const std::vector<int64_t>& labels, Tensor* grad) {
  const int64_t b = lower.dim(0), k = lower.dim(1);
  if (grad)
    *grad = Tensor(DType::kF64, {b, k});
  double total = 0;
  std::vector<double> z(static_cast<size_t>(k));
  for (int64_t i = 0; i < b; ++i) {
    double zmax = -INFINITY;
    for (int64_t j = 0; j < k; ++j) {
      z[static_cast<size_t>(j)] = -lower.get(i * k + j);
      zmax = std::max(zmax, z[static_cast<size_t>(j)]);
    }
    double sum = 0;
    for (int64_t j = 0; j < k; ++j)
      sum += std::exp(z[static_cast<size_t>(j)] - zmax);
    const int64_t y = labels[static_cast<size_t>(i)];
    total += zmax + std::log(sum) - z[static_cast<size_t>(y)];
    if (grad) {
      // d CE / d z_j = softmax_j − [j = y];  d z / d lower = −1;  mean over the batch.
      for (int64_t j = 0; j < k; ++j) {
        const double p = std::exp(z[static_cast<size_t>(j)] - zmax) / sum;
        grad->set(i * k + j, -(p - (j == y ? 1.0 : 0.0)) / static_cast<double>(b));
      }
    }
  }
  return total / static_cast<double>(b);
}

namespace {

// The fused robust loss from the fused bound graph's outputs (bound_graph.h): u [B, K] (IBP
// upper bounds of z = y − y_label), m [B, 1], and with CROWN-IBP cub [B, 1] (an upper bound of
// Σ_j exp(z_j − m)). Per example, iub = Σ_j exp(u_j − m) ≥ 1 (the max term is exp(0));
// c = min(cub, iub) (both sound; c = iub when cub is not a positive finite number);
// loss = mean_b log(β c + (1 − β) iub) + m. Seeds: d loss / d (l, u, m[, cub]) with u, m and
// cub taken as independent graph outputs (the graph's autodiff adds the paths from m and u
// into cub; the loss does not depend on m, so the total gradient is the same as with m held
// constant). `verified_by_crown[i]`: cub e^m < 2 (see docs/bound-loss.md).
double fused_robust_loss(const std::vector<Tensor>& outs,
                         double beta,
                         bool crown,
                         std::vector<Tensor>* seeds,
                         std::vector<uint8_t>* verified_by_crown) {
  const Tensor& u = outs[1];
  const Tensor& m = outs[2];
  const int64_t b = u.dim(0), k = u.dim(1);
  const double inv_b = 1.0 / static_cast<double>(b);
  Tensor gu(DType::kF64, {b, k}), gm(DType::kF64, {b, 1}), gc(DType::kF64, {b, 1});
  verified_by_crown->assign(static_cast<size_t>(b), 0);
  double total = 0;
  for (int64_t i = 0; i < b; ++i) {
    const double mi = m.get(i);
    double iub = 0;
    for (int64_t j = 0; j < k; ++j)
      iub += std::exp(u.get(i * k + j) - mi);
    double c = iub;
    bool use_cub = false;
    if (crown) {
      const double cub = outs[3].get(i);
      if (std::isfinite(cub) && cub > 0 && cub < iub) {
        c = cub;
        use_cub = true;
        (*verified_by_crown)[static_cast<size_t>(i)] = std::log(cub) + mi < std::log(2.0);
      }
    }
    const double w = crown ? beta : 0.0;
    const double mix = w * c + (1 - w) * iub;
    total += std::log(mix) + mi;
    // d/d iub = (1 − w + w [c = iub]) / mix;  d iub / d u_j = exp(u_j − m);  d iub / d m = −iub.
    const double d_iub = ((1 - w) + (use_cub ? 0.0 : w)) / mix;
    const double d_cub = use_cub ? w / mix : 0.0;
    for (int64_t j = 0; j < k; ++j)
      gu.set(i * k + j, d_iub * std::exp(u.get(i * k + j) - mi) * inv_b);
    gm.set(i, (1.0 - d_iub * iub) * inv_b);
    gc.set(i, d_cub * inv_b);
  }
  if (seeds) {
    *seeds = {Tensor(), gu, gm};
    if (crown)
      seeds->push_back(gc);
  }
  return total * inv_b;
}

}  // namespace

Expected<LossValue> BoundLoss::evaluate(const Tensor& x, const std::vector<int64_t>& labels) const {
  NNCERT_RETURN_IF_ERROR(options_.validate());
  const int64_t b = x.dim(0), k = ibp_->num_classes;
  if (static_cast<int64_t>(labels.size()) != b)
    return Status(ErrorCode::kInvalidArgument, "need one label per example");
  for (int64_t y : labels)
    if (y < 0 || y >= k)
      return Status(ErrorCode::kInvalidArgument, "label out of range: " + std::to_string(y));
  // The input box: [x − ε, x + ε] ∩ [clip_lo, clip_hi].
  Tensor lo(DType::kF64, x.shape()), hi(DType::kF64, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    double l = x.get(i) - options_.eps, h = x.get(i) + options_.eps;
    if (options_.clip) {
      l = std::clamp(l, options_.clip_lo, options_.clip_hi);
      h = std::clamp(h, options_.clip_lo, options_.clip_hi);
    }
    lo.set(i, l);
    hi.set(i, h);
  }
  // C: row j = e_label − e_j (the label row is zero); loss fusion: e_j − e_label (z = C y).
  const bool fused = options_.loss_fusion;
  const double sign = fused ? -1.0 : 1.0;
  Tensor spec(DType::kF64, {b, k, k});
  double* c = spec.data<double>();
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < k; ++j) {
      c[(i * k + j) * k + labels[static_cast<size_t>(i)]] += sign;
      c[(i * k + j) * k + j] -= sign;
    }
  const bool use_crown = crown_ && options_.beta > 0;
  const BoundGraph& bg = use_crown ? *crown_ : *ibp_;
  const double beta = use_crown ? options_.beta : 0.0;
  LossValue v;
  GradientOptions go;
  go.parameter_grads = true;
  // Only the model's weights take a gradient (not the box, the spec or the graph's own constants).
  for (size_t id = 0; id < bg.graph.num_values(); ++id) {
    const Value& val = bg.graph.value(static_cast<ValueId>(id));
    if (val.constant && val.name.rfind("bound/", 0) != 0 && is_float(val.constant->dtype()))
      go.parameters.push_back(static_cast<ValueId>(id));
  }
  std::vector<uint8_t> verified_by_crown;
  go.seeds = [&](const std::vector<Tensor>& outs) -> Expected<std::vector<Tensor>> {
    if (fused) {
      std::vector<Tensor> seeds;
      v.loss = fused_robust_loss(outs, beta, use_crown, &seeds, &verified_by_crown);
      v.lower = Tensor(DType::kF64, {b, k});  // IBP's lower margins −u
      for (int64_t i = 0; i < b * k; ++i)
        v.lower.set(i, -outs[1].get(i));
      return seeds;
    }
    Tensor mixed(DType::kF64, {b, k});
    for (int64_t i = 0; i < b * k; ++i)
      mixed.set(i,
                use_crown ? beta * outs[1].get(i) + (1 - beta) * outs[0].get(i) : outs[0].get(i));
    Tensor g;
    v.loss = robust_cross_entropy(mixed, labels, &g);
    v.lower = mixed;
    std::vector<Tensor> seeds;
    if (!use_crown) {
      seeds.push_back(g);
      return seeds;
    }
    Tensor g0(DType::kF64, {b, k}), g1(DType::kF64, {b, k});
    for (int64_t i = 0; i < b * k; ++i) {
      g0.set(i, (1 - beta) * g.get(i));
      g1.set(i, beta * g.get(i));
    }
    seeds = {g0, g1};
    return seeds;
  };
  RunOptions ro;
  ro.dtype = options_.dtype;
  ro.threads = options_.threads;
  NNCERT_ASSIGN_OR_RETURN(GradientResult r, gradient(bg.graph, {lo, hi, spec}, {}, ro, go));
  v.verified.assign(static_cast<size_t>(b), 1);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < k; ++j) {
      if (j == labels[static_cast<size_t>(i)])
        continue;
      double best = fused ? v.lower.get(i * k + j) : r.outputs[0].get(i * k + j);
      if (use_crown && !fused)
        best = std::max(best, r.outputs[1].get(i * k + j));
      if (!(best > 0))
        v.verified[static_cast<size_t>(i)] = 0;
    }
  if (fused && use_crown)
    for (int64_t i = 0; i < b; ++i)
      v.verified[static_cast<size_t>(i)] |= verified_by_crown[static_cast<size_t>(i)];
  // Gradients of the model's constants: the bound graph's constants that are not its own.
  const Graph& g = bg.graph;
  for (size_t id = 0; id < g.num_values(); ++id) {
    const Value& val = g.value(static_cast<ValueId>(id));
    if (!val.constant || val.name.rfind("bound/", 0) == 0 || !is_float(val.constant->dtype()))
      continue;
    if (r.value_grads[id].is_valid())
      v.grads.emplace_back(val.name, r.value_grads[id]);
  }
  return v;
}

Status BoundLoss::set_weight(const std::string& name, const Tensor& value) {
  bool found = false;
  for (std::shared_ptr<BoundGraph>* p : {&ibp_, &crown_}) {
    if (*p == nullptr)
      continue;
    // Copies of a BoundLoss share their graphs until one of them changes a weight.
    if (p->use_count() > 1)
      *p = std::make_shared<BoundGraph>(**p);
    BoundGraph* bg = p->get();
    const ValueId id = bg->graph.find_value(name);
    if (id == kNoValue || !bg->graph.is_constant(id))
      continue;
    if (bg->graph.value(id).constant->shape() != value.shape())
      return Status(ErrorCode::kShapeMismatch, "weight " + name + " changes shape");
    bg->graph.value(id).constant = value;
    found = true;
  }
  if (!found)
    return Status(ErrorCode::kInvalidArgument, "no weight named " + name + " in the bound graph");
  return Status::ok();
}

}  // namespace nncert
