// Sqrt: elementwise y = sqrt(x).
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = sqrt(x)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(),
                               T,
                               unary_map<T>(
                                   in[0], out[0], [&](T x) -> T { return std::sqrt(x); }, ctx));
}

// dL/dx = dL/dy / (2 y)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto y) {
    using T = decltype(x);
    return T(0.5) / y;
  });
}

double sqrt_f(double x) {
  return std::sqrt(x);
}
double dsqrt(double x) {
  return 0.5 / std::sqrt(x);
}

// sqrt is concave on x >= 0 (no real value below 0, so the relaxation is over [max(l, 0), u]).
// On [l, u] with 0 <= l:
//   lower: the chord  sqrt x >= (x + sqrt(l u)) / (sqrt l + sqrt u)  (this form has no
//          cancellation; u = +inf: sqrt x >= sqrt l);
//   upper: the tangent  sqrt x <= x / (2 sqrt t) + sqrt(t) / 2  for any t in [l, u]
//          (alpha_hi: t = l + a (u - l); default the midpoint; t = 0 gives sqrt x <= sqrt u).
//   u < 0: no real value: both lines unbounded.
Status relax(const Node& /*node*/,
             const Interval& x,
             const Interval* alpha,
             ElementRelaxation& r,
             Interval* alpha_default) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  relax_elementwise(x,
                    alpha,
                    r,
                    alpha_default,
                    [&](double l, double u, const double*, const double* ahi, ElementLines& e) {
                      if (u < 0) {
                        e.lower = {0, -inf};
                        e.upper = {0, inf};
                        return;
                      }
                      l = std::max(l, 0.0);
                      e.f_lo = std::sqrt(l);
                      e.f_hi = std::sqrt(u);
                      concave_lines(&sqrt_f, &dsqrt, l, u, ahi, e.lower, e.upper, e.alpha_hi);
                      const double s = e.f_lo + e.f_hi;
                      if (std::isfinite(u) && u > l && s > 0)
                        e.lower = {1 / s, e.f_lo * e.f_hi / s};
                    });
  return Status::ok();
}

}  // namespace

extern const OpDef kOpSqrt{"Sqrt",
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
