// BatchNormalization folding: for y = BN(conv(x)) with per-channel
//   s = scale / sqrt(var + eps),  W' = W * s (per output channel),  b' = (b - mean) * s + beta,
// and the same for Gemm over its output columns. Arithmetic in double, stored in the weights'
// dtype.
#include <algorithm>
#include <cmath>

#include "ops/op_def.h"
#include "passes/passes.h"

namespace nncert {

namespace {

struct BnParams {
  std::vector<double> s, shift;  // y = x * s + shift
};

std::optional<BnParams> bn_params(const Graph& g, const Node& bn) {
  if (bn.inputs.size() != 5)
    return std::nullopt;
  for (size_t i = 1; i < 5; ++i)
    if (!g.is_constant(bn.inputs[i]))
      return std::nullopt;
  for (size_t k = 1; k < bn.outputs.size(); ++k)
    if (bn.outputs[k] != kNoValue)
      return std::nullopt;
  if (bn.attrs.get_int("training_mode", 0) != 0)
    return std::nullopt;
  auto scale = g.value(bn.inputs[1]).constant->to_double_vector();
  auto beta = g.value(bn.inputs[2]).constant->to_double_vector();
  auto mean = g.value(bn.inputs[3]).constant->to_double_vector();
  auto var = g.value(bn.inputs[4]).constant->to_double_vector();
  const double eps = bn.attrs.get_float("epsilon", 1e-5);
  const size_t c = scale.size();
  if (beta.size() != c || mean.size() != c || var.size() != c)
    return std::nullopt;
  BnParams p;
  for (size_t i = 0; i < c; ++i) {
    const double s = scale[i] / std::sqrt(var[i] + eps);
    p.s.push_back(s);
    p.shift.push_back(beta[i] - mean[i] * s);
  }
  return p;
}

// Scales W along `axis` (the output-channel axis) and returns the new bias b*s + shift.
Tensor scaled(const Tensor& w, int64_t axis, const std::vector<double>& s) {
  Tensor out = w.clone();
  const auto st = shape_strides(w.shape());
  for (int64_t i = 0; i < w.numel(); ++i) {
    const auto c = static_cast<size_t>((i / st[static_cast<size_t>(axis)]) % w.dim(axis));
    out.set(i, w.get(i) * s[c]);
  }
  return out;
}

}  // namespace

Expected<int> fold_batchnorm(Graph& g) {
  int folded = 0;
  std::vector<NodeId> dead;
  for (size_t bi = 0; bi < g.num_nodes(); ++bi) {
    const Node& bn = g.node(static_cast<NodeId>(bi));
    if (bn.op != "BatchNormalization")
      continue;
    const ValueId x = bn.inputs[0];
    const NodeId pid = g.value(x).producer;
    if (pid == kNoNode)
      continue;
    Node& prev = g.node(pid);
    if ((prev.op != "Conv" && prev.op != "Gemm") || g.consumers(x).size() != 1)
      continue;
    if (std::find(g.outputs().begin(), g.outputs().end(), x) != g.outputs().end())
      continue;
    auto p = bn_params(g, bn);
    if (!p || prev.inputs.size() < 2 || !g.is_constant(prev.inputs[1]))
      continue;
    const Tensor& w = *g.value(prev.inputs[1]).constant;
    const auto c = static_cast<int64_t>(p->s.size());
    int64_t axis = 0;
    std::vector<double> bias(static_cast<size_t>(c), 0.0);
    if (prev.op == "Conv") {
      if (w.rank() < 3 || w.dim(0) != c)
        continue;
      if (prev.inputs.size() > 2 && prev.inputs[2] != kNoValue) {
        if (!g.is_constant(prev.inputs[2]))
          continue;
        bias = g.value(prev.inputs[2]).constant->to_double_vector();
      }
    } else {
      // Gemm: Y = alpha * A op(B) + beta * C; BN over the N output columns (input [M, N]).
      if (prev.attrs.get_int("transA", 0) != 0 || w.rank() != 2)
        continue;
      const bool tb = prev.attrs.get_int("transB", 0) != 0;
      axis = tb ? 0 : 1;
      if (w.dim(axis) != c)
        continue;
      const double beta = prev.attrs.get_float("beta", 1.0);
      // s * (alpha A B + beta C) + shift = alpha A (B s) + (beta C s + shift)
      if (prev.inputs.size() > 2 && prev.inputs[2] != kNoValue) {
        if (!g.is_constant(prev.inputs[2]))
          continue;
        const Tensor& cb = *g.value(prev.inputs[2]).constant;
        if (cb.numel() != c && cb.numel() != 1)
          continue;
        for (int64_t i = 0; i < c; ++i)
          bias[static_cast<size_t>(i)] = beta * cb.get(cb.numel() == 1 ? 0 : i);
      }
      prev.attrs.set("beta", 1.0);
    }
    Tensor new_w = scaled(w, axis, p->s);
    Tensor new_b(w.dtype(), {c});
    for (int64_t i = 0; i < c; ++i) {
      const auto k = static_cast<size_t>(i);
      new_b.set(i, bias[k] * p->s[k] + p->shift[k]);
    }
    // Fresh constants (the old ones may be shared with other nodes).
    const ValueId wid =
        g.add_constant(g.unique_name(g.value(prev.inputs[1]).name + "_bnfold"), new_w);
    const ValueId bid = g.add_constant(g.unique_name(g.node(pid).name + "_bnfold_bias"), new_b);
    Node& conv = g.node(pid);  // re-fetch: add_constant does not move nodes, but be explicit
    conv.inputs[1] = wid;
    if (conv.inputs.size() < 3)
      conv.inputs.resize(3, kNoValue);
    conv.inputs[2] = bid;
    // The conv now produces the BN output directly.
    const ValueId y = g.node(static_cast<NodeId>(bi)).outputs[0];
    conv.outputs[0] = y;
    dead.push_back(static_cast<NodeId>(bi));
    ++folded;
  }
  if (!dead.empty())
    g.remove_nodes(dead);
  NNCERT_RETURN_IF_ERROR(infer_shapes(g));
  return folded;
}

}  // namespace nncert
