#include "verify/relu_bab_branch.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace nncert::relu_bab_detail {

namespace {

struct Scored {
  double intercept = 0, gap = 0, width = 0, lambda_width = 0;
};

Scored score(const Neuron& nu, const std::vector<Interval>& b, const std::vector<Tensor>& coef) {
  const Interval& bx = b[static_cast<size_t>(nu.v)];
  const double l = bx.lo.get(nu.j), u = bx.hi.get(nu.j);
  const auto vi = static_cast<size_t>(nu.v);
  const double lambda =
      vi < coef.size() && coef[vi].is_valid() && nu.j < coef[vi].numel() ? coef[vi].get(nu.j) : 0;
  const double chord = (-u * l) / (u - l);  // -u l / (u - l) > 0
  Scored s{
      std::max(0.0, -lambda) * chord, std::abs(lambda) * chord, u - l, std::abs(lambda) * (u - l)};
  for (double* v : {&s.intercept, &s.gap, &s.width, &s.lambda_width})
    if (!std::isfinite(*v))
      *v = 0;
  return s;
}

}  // namespace

std::vector<Neuron> unstable_neurons(const Graph& g,
                                     const std::vector<NodeId>& order,
                                     const std::vector<Interval>& b) {
  std::vector<Neuron> out;
  for (NodeId id : order) {
    const Node& n = g.node(id);
    if ((n.op != "Relu" && n.op != "LeakyRelu") || n.inputs.empty())
      continue;
    const ValueId x = n.inputs[0];
    const Interval& bx = b[static_cast<size_t>(x)];
    if (!bx.lo.is_valid())
      continue;
    for (int64_t j = 0; j < bx.lo.numel(); ++j)
      if (bx.lo.get(j) < 0 && bx.hi.get(j) > 0)
        out.push_back({x, j});
  }
  return out;
}

Neuron babsr_choice(const std::vector<Neuron>& cands,
                    const std::vector<Interval>& b,
                    const std::vector<Tensor>& coef) {
  double best[3] = {0, 0, 0};
  size_t pick[3] = {0, 0, 0};
  for (size_t i = 0; i < cands.size(); ++i) {
    const Scored sc = score(cands[i], b, coef);
    const double s[3] = {sc.intercept, sc.lambda_width, sc.width};
    for (int k = 0; k < 3; ++k)
      if (s[k] > best[k]) {
        best[k] = s[k];
        pick[k] = i;
      }
  }
  for (int k = 0; k < 3; ++k)
    if (best[k] > 0)
      return cands[pick[k]];
  return cands.front();
}

std::vector<Neuron> fsb_candidates(const std::vector<Neuron>& cands,
                                   const std::vector<Interval>& b,
                                   const std::vector<Tensor>& coef,
                                   int k) {
  std::vector<Scored> sc;
  sc.reserve(cands.size());
  for (const Neuron& nu : cands)
    sc.push_back(score(nu, b, coef));
  std::vector<size_t> idx(cands.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::vector<char> taken(cands.size(), 0);
  std::vector<Neuron> out;
  for (int which = 0; which < 2; ++which) {
    auto key = [&](size_t i) {
      return which == 0 ? sc[i].intercept : sc[i].gap;
    };
    // Stable: ties keep node order (deterministic).
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t c) { return key(a) > key(c); });
    int n = 0;
    for (size_t i : idx) {
      if (n >= k || key(i) <= 0)
        break;
      if (taken[i])
        continue;
      taken[i] = 1;
      out.push_back(cands[i]);
      ++n;
    }
  }
  if (out.empty() && !cands.empty())
    out.push_back(babsr_choice(cands, b, coef));
  return out;
}

}  // namespace nncert::relu_bab_detail
