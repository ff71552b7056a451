// Softplus: elementwise y = log(1 + exp(x)), as max(x,0) + log1p(exp(-|x|)) to avoid overflow.
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = log(1 + exp(x)), as max(x,0) + log1p(exp(-|x|)) to avoid overflow
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(
      in[0].dtype(),
      T,
      unary_map<T>(
          in[0],
          out[0],
          [&](T x) -> T { return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::abs(x))); },
          ctx));
}

// y = log(1 + e^x): dL/dx = dL/dy * sigmoid(x)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return T(1) / (T(1) + std::exp(-x));
  });
}

double softplus_f(double x) {
  return (x > 0 ? x : 0) + std::log1p(std::exp(-std::abs(x)));
}
// softplus' = sigmoid
double dsoftplus(double x) {
  return 1 / (1 + std::exp(-x));
}

// softplus(x) = log(1 + e^x) is convex, with slopes in (0, 1). On [l, u]:
//   upper: the chord through (l, f(l)), (u, f(u)) (u = +inf: f(x) <= f(l) + (x - l), the limiting
//          slope 1; l = -inf: f(x) <= f(u));
//   lower: the tangent  f(x) >= f(t) + sigmoid(t) (x - t)  for any t in [l, u]
//          (alpha_lo: t = l + a (u - l); default the midpoint).
// (auto_LiRPA has no Softplus relaxation to compare with.)
Status relax(const Node& /*node*/,
             const Interval& x,
             const Interval* alpha,
             ElementRelaxation& r,
             Interval* alpha_default) {
  relax_elementwise(x,
                    alpha,
                    r,
                    alpha_default,
                    [](double l, double u, const double* alo, const double*, ElementLines& e) {
                      e.f_lo = softplus_f(l);
                      e.f_hi = softplus_f(u);
                      convex_lines(
                          &softplus_f, &dsoftplus, l, u, alo, e.lower, e.upper, e.alpha_lo);
                    });
  return Status::ok();
}

}  // namespace

extern const OpDef kOpSoftplus{"Softplus",
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
