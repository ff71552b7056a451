// LeakyRelu: elementwise y = x if x >= 0 else alpha * x  (alpha defaults to 0.01).
#include <algorithm>
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = x if x >= 0 else alpha * x  (alpha defaults to 0.01)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const double alpha = node.attrs.get_float("alpha", 0.01);
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(
      in[0].dtype(),
      T,
      unary_map<T>(
          in[0], out[0], [&](T x) -> T { return x >= T(0) ? x : static_cast<T>(alpha) * x; }, ctx));
}

// LeakyRelu with alpha >= 0 is non-decreasing: [f(lo), f(hi)]; with alpha < 0 the minimum over
// an interval containing 0 is 0: [min(f(lo), f(hi), 0 if lo < 0 < hi), max(f(lo), f(hi))]
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  NNCERT_RETURN_IF_ERROR(ibp_monotone_impl(&forward, node, in, out_types, out, ctx));
  if (node.attrs.get_float("alpha", 0.01) >= 0)
    return Status::ok();
  Interval r{min_tensor({out[0].lo, out[0].hi}), max_tensor({out[0].lo, out[0].hi})};
  for (int64_t i = 0; i < r.lo.numel(); ++i)
    if (in[0].lo.get(i) < 0 && in[0].hi.get(i) > 0)
      r.lo.set(i, std::min(r.lo.get(i), 0.0));
  out = {r};
  return Status::ok();
}

// dL/dx = dL/dy * (x >= 0 ? 1 : alpha)
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& /*ctx*/) {
  const double alpha = node.attrs.get_float("alpha", 0.01);
  return vjp_unary(in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return x >= T(0) ? T(1) : static_cast<T>(alpha);
  });
}

// CROWN relaxation of LeakyRelu (0 <= alpha <= 1, convex) on [l, u]: l >= 0: y = x;
// u <= 0: y = alpha x; otherwise y <= chord through (l, alpha l), (u, u) with slope k, and
// y >= x if k > 1/2 else y >= alpha x (both lines lie below the function; auto_LiRPA's adaptive
// choice, which for alpha = 0 is ReLU's u > -l)
Status crown(const Node& node,
             std::span<const Interval> in_bounds,
             std::span<const bool> is_const,
             std::span<const TypeInfo> out_types,
             const Tensor& a,
             bool lower,
             std::vector<Tensor>& a_in,
             Tensor& bias,
             const ExecContext& ctx) {
  const double alpha = node.attrs.get_float("alpha", 0.01);
  if (alpha < 0 || alpha > 1)
    return unsupported("LeakyRelu relaxation needs 0 <= alpha <= 1 (convex), got " +
                       std::to_string(alpha));
  const Interval& x = in_bounds[0];
  const Shape s = x.lo.shape();
  ElementRelaxation r{
      Tensor(a.dtype(), s), Tensor(a.dtype(), s), Tensor(a.dtype(), s), Tensor(a.dtype(), s)};
  for (int64_t j = 0; j < x.lo.numel(); ++j) {
    const double l = x.lo.get(j), u = x.hi.get(j);
    if (l >= 0) {  // y = x
      r.al.set(j, 1);
      r.au.set(j, 1);
    } else if (u <= 0) {  // y = alpha x
      r.al.set(j, alpha);
      r.au.set(j, alpha);
    } else {  // chord above; y >= x or y >= alpha x below
      const double slope = (u - alpha * l) / (u - l);
      r.au.set(j, slope);
      r.bu.set(j, alpha * l - slope * l);
      r.al.set(j, slope > 0.5 ? 1 : alpha);
    }
  }
  a_in.assign(in_bounds.size(), Tensor());
  apply_element_relaxation(r, a, lower, a_in[0], bias);
  return Status::ok();
}

}  // namespace

extern const OpDef kOpLeakyRelu{
    "LeakyRelu", 1, 1, &infer_same_float, &forward, nullptr, &ibp, &vjp, &crown, true};

}  // namespace nncert::ops
