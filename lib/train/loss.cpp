#include "train/loss.h"

#include <cmath>
#include <map>
#include <mutex>

#include "runtime/autodiff.h"
#include "train/certified_loss.h"

namespace nncert {

Expected<CrossEntropy> cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels) {
  if (logits.rank() != 2 || logits.dim(0) != static_cast<int64_t>(labels.size()))
    return Status(ErrorCode::kShapeMismatch,
                  "loss: logits " + shape_to_string(logits.shape()) + " for " +
                      std::to_string(labels.size()) + " labels (need [B, classes])");
  const int64_t b = logits.dim(0), c = logits.dim(1);
  CrossEntropy ce;
  ce.grad = Tensor(logits.dtype(), logits.shape());
  std::vector<double> z(static_cast<size_t>(c));
  for (int64_t i = 0; i < b; ++i) {
    const int64_t y = labels[static_cast<size_t>(i)];
    if (y < 0 || y >= c)
      return Status(
          ErrorCode::kInvalidArgument,
          "loss: label " + std::to_string(y) + " outside the " + std::to_string(c) + " classes");
    double mx = -INFINITY;
    int64_t arg = 0;
    for (int64_t j = 0; j < c; ++j) {
      z[static_cast<size_t>(j)] = logits.get(i * c + j);
      if (z[static_cast<size_t>(j)] > mx) {
        mx = z[static_cast<size_t>(j)];
        arg = j;
      }
    }
    // logsumexp shifted by the max: no overflow for any finite logits.
    double sum = 0;
    for (double v : z)
      sum += std::exp(v - mx);
    const double lse = mx + std::log(sum);
    ce.loss += lse - z[static_cast<size_t>(y)];
    ce.correct += arg == y ? 1 : 0;
    for (int64_t j = 0; j < c; ++j) {
      const double p = std::exp(z[static_cast<size_t>(j)] - lse);
      ce.grad.set(i * c + j, (p - (j == y ? 1.0 : 0.0)) / static_cast<double>(b));
    }
  }
  ce.loss /= static_cast<double>(std::max<int64_t>(b, 1));
  return ce;
}

Expected<LossResult> NaturalLoss::compute(const Graph& g,
                                          const std::vector<ValueId>& params,
                                          const Tensor& x,
                                          const std::vector<int64_t>& labels,
                                          const LossContext& ctx) {
  // One forward pass: the seeds (d CE / d logits) come from its outputs.
  CrossEntropy ce;
  GradientOptions go;
  go.parameter_grads = true;
  go.parameters = params;
  go.seeds = [&](const std::vector<Tensor>& outs) -> Expected<std::vector<Tensor>> {
    NNCERT_ASSIGN_OR_RETURN(ce, cross_entropy(outs.at(0), labels));
    std::vector<Tensor> seeds(outs.size());
    seeds[0] = ce.grad;
    return seeds;
  };
  NNCERT_ASSIGN_OR_RETURN(GradientResult gr, gradient(g, {x}, {}, ctx.run, go));
  LossResult r;
  r.loss = ce.loss;
  r.correct = ce.correct;
  for (ValueId p : params)
    r.param_grads.push_back(gr.value_grads.at(static_cast<size_t>(p)));
  return r;
}

Expected<LossType> parse_loss_type(const std::string& name) {
  if (name == "natural")
    return LossType::kNatural;
  if (name == "ibp")
    return LossType::kIbp;
  if (name == "crown-ibp")
    return LossType::kCrownIbp;
  return Status(ErrorCode::kInvalidArgument,
                "loss: unknown type '" + name + "' (natural, ibp, crown-ibp)");
}

const char* loss_type_name(LossType type) {
  switch (type) {
    case LossType::kIbp:
      return "ibp";
    case LossType::kCrownIbp:
      return "crown-ibp";
    default:
      return "natural";
  }
}

namespace {
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
// The certified losses are registered here rather than by a static initialiser in their own
// file, which a static library would drop when nothing else references it.
std::map<LossType, LossFactory>& registry() {
  static std::map<LossType, LossFactory> r = {{LossType::kIbp,
                                               [](const std::string& j) {
                                                 return make_certified_loss(LossType::kIbp, j);
                                               }},
                                              {LossType::kCrownIbp, [](const std::string& j) {
                                                 return make_certified_loss(LossType::kCrownIbp, j);
                                               }}};
  return r;
}
}  // namespace

void register_loss_factory(LossType type, LossFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[type] = std::move(factory);
}

Expected<std::unique_ptr<Loss>> make_loss(LossType type, const std::string& json) {
  if (type == LossType::kNatural)
    return std::unique_ptr<Loss>(std::make_unique<NaturalLoss>());
  LossFactory f;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(type);
    if (it != registry().end())
      f = it->second;
  }
  if (!f)
    return Status(ErrorCode::kUnsupported,
                  std::string("loss: '") + loss_type_name(type) + "' is not available yet");
  return f(json);
}

}  // namespace nncert
