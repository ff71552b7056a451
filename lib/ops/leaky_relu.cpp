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
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
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
           const ExecContext& ctx) {
  const double alpha = node.attrs.get_float("alpha", 0.01);
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return x >= T(0) ? T(1) : static_cast<T>(alpha);
  });
}

// Relaxation of LeakyRelu (0 <= alpha <= 1, convex) on [l, u]: l >= 0: y = x;
// u <= 0: y = alpha x; otherwise y <= chord through (l, alpha l), (u, u) with slope k, and
// y >= a x for any a in [alpha, 1] (every such line lies below the function). Default: a = 1
// if k > 1/2 else alpha (auto_LiRPA's adaptive choice; for alpha = 0 it is ReLU's u > -l);
// the optimisable parameter is the slope a itself, in [alpha, 1] (alpha_range), so that an
// optimiser step means the same as in auto_LiRPA.
Status relax(const Node& node,
             const Interval& x,
             const Interval* alpha_p,
             ElementRelaxation& r,
             Interval* alpha_default) {
  const double alpha = node.attrs.get_float("alpha", 0.01);
  if (alpha < 0 || alpha > 1)
    return unsupported("LeakyRelu relaxation needs 0 <= alpha <= 1 (convex), got " +
                       std::to_string(alpha));
  r = make_relaxation(x);
  const double* lo = x.lo.data<double>();
  const double* hi = x.hi.data<double>();
  const double* tp = alpha_p ? alpha_p->lo.data<double>() : nullptr;
  double* d = nullptr;
  if (alpha_p == nullptr && alpha_default != nullptr) {
    *alpha_default = make_interval_like(x);
    d = alpha_default->lo.data<double>();
  }
  double *pal = r.al.data<double>(), *pau = r.au.data<double>(), *pbu = r.bu.data<double>();
  const int64_t n = x.lo.numel();
  for (int64_t j = 0; j < n; ++j) {
    const double l = lo[j], u = hi[j];
    if (l >= 0) {  // y = x
      pal[j] = 1;
      pau[j] = 1;
    } else if (u <= 0) {  // y = alpha x
      pal[j] = alpha;
      pau[j] = alpha;
    } else {  // chord above; a line through 0 with slope in [alpha, 1] below
      const double slope = (u - alpha * l) / (u - l);
      pau[j] = slope;
      pbu[j] = alpha * l - slope * l;
      if (tp) {
        pal[j] = std::clamp(tp[j], alpha, 1.0);
      } else {
        const bool up = slope > 0.5;
        pal[j] = up ? 1 : alpha;
        if (d)
          d[j] = pal[j];
      }
    }
  }
  return Status::ok();
}

std::pair<double, double> alpha_range(const Node& node) {
  return {std::clamp(node.attrs.get_float("alpha", 0.01), 0.0, 1.0), 1.0};
}

}  // namespace

extern const OpDef kOpLeakyRelu{"LeakyRelu",
                                1,
                                1,
                                &infer_same_float,
                                &forward,
                                nullptr,
                                &ibp,
                                &vjp,
                                &crown_element<&relax>,
                                true,
                                &relax,
                                /*bound_forward=*/nullptr,
                                &alpha_range};

}  // namespace nncert::ops
