// Exp: elementwise y = exp(x).
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = exp(x)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(),
                               T,
                               unary_map<T>(
                                   in[0], out[0], [&](T x) -> T { return std::exp(x); }, ctx));
}

// dL/dx = dL/dy * y
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto, auto y) { return y; });
}

double exp_f(double x) {
  return std::exp(x);
}

// e^x is convex. On [l, u]:
//   upper: the chord  e^x <= e^l + k (x - l),  k = (e^u - e^l) / (u - l), computed as
//          e^l expm1(u - l) / (u - l) when u - l < 1 (no cancellation); u = +inf: unbounded;
//          l = -inf: e^x <= e^u;
//   lower: the tangent  e^x >= e^t (x - t + 1)  for any t in [l, u] (alpha_lo: t = l + a (u - l));
//          default t = min((l + u) / 2, l + 0.99) (auto_LiRPA's choice, which keeps the tangent
//          point near l on wide intervals).
Status relax(const Node& /*node*/,
             const Interval& x,
             const Interval* alpha,
             ElementRelaxation& r,
             Interval* alpha_default) {
  relax_elementwise(
      x,
      alpha,
      r,
      alpha_default,
      [](double l, double u, const double* alo, const double*, ElementLines& e) {
        e.f_lo = std::exp(l);
        e.f_hi = std::exp(u);
        const bool finite = std::isfinite(l) && std::isfinite(u);
        const double t_default = finite ? std::min(lerp_point(l, u, 0.5), l + 0.99)
                                        : std::numeric_limits<double>::quiet_NaN();
        convex_lines(&exp_f, &exp_f, l, u, alo, e.lower, e.upper, e.alpha_lo, t_default);
        if (finite && u > l && u - l < 1) {  // narrow: the chord slope without cancellation
          const double k = e.f_lo * (std::expm1(u - l) / (u - l));
          e.upper = tangent_line(l, e.f_lo, k);  // the line through (l, e^l) with slope k
        }
      });
  return Status::ok();
}

}  // namespace

extern const OpDef kOpExp{"Exp",
                          1,
                          1,
                          &infer_same_float,
                          &forward,
                          nullptr,
                          &ibp_monotone<&forward>,
                          &vjp,
                          &crown_element<&relax>,
                          /*crown_needs_bounds=*/true,
                          &relax};

}  // namespace nncert::ops
