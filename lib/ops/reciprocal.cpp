// Reciprocal: elementwise y = 1 / x.
#include <cmath>
#include <limits>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = 1 / x
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(),
                               T,
                               unary_map<T>(
                                   in[0], out[0], [&](T x) -> T { return T(1) / x; }, ctx));
}

// 1/[a] = [1/a.hi, 1/a.lo] when 0 is not in [a]; unbounded otherwise
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  out = {map_interval(in[0], [](double l, double h, double* ol, double* oh) {
    if (l > 0 || h < 0) {
      *ol = 1 / h;
      *oh = 1 / l;
    } else {
      *ol = -std::numeric_limits<double>::infinity();
      *oh = std::numeric_limits<double>::infinity();
    }
  })};
  return Status::ok();
}

// dL/dx = -dL/dy * y^2
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto, auto y) { return -y * y; });
}

double recip(double x) {
  return 1 / x;
}
double drecip(double x) {
  return -(1 / x) * (1 / x);
}

// 1/x is convex and decreasing on x > 0, concave and decreasing on x < 0, unbounded at 0.
//   l > 0:  upper: the chord  1/x <= (l + u - x) / (l u) = 1/l + 1/u - x / (l u)  (u = +inf:
//           1/x <= 1/l);  lower: the tangent  1/x >= (2 t - x) / t^2  for any t in [l, u]
//           (alpha_lo: t = l + a (u - l); default the midpoint).
//   u < 0:  the mirror image: lower = the same chord, upper = the tangent at t in [l, u]
//           (alpha_hi; default the midpoint).
//   l <= 0 <= u: unbounded on both sides.
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
                    [&](double l, double u, const double* alo, const double* ahi, ElementLines& e) {
                      if (!(l > 0 || u < 0)) {
                        e.lower = {0, -inf};
                        e.upper = {0, inf};
                        return;
                      }
                      e.f_lo = 1 / u;
                      e.f_hi = 1 / l;
                      // The chord through (l, 1/l), (u, 1/u), without the cancellation of 1/u -
                      // 1/l.
                      const bool finite = std::isfinite(l) && std::isfinite(u);
                      const Line chord{-(1 / l) * (1 / u), 1 / l + 1 / u};
                      if (l > 0) {
                        convex_lines(&recip, &drecip, l, u, alo, e.lower, e.upper, e.alpha_lo);
                        if (finite)
                          e.upper = chord;
                      } else {
                        concave_lines(&recip, &drecip, l, u, ahi, e.lower, e.upper, e.alpha_hi);
                        if (finite)
                          e.lower = chord;
                      }
                    });
  return Status::ok();
}

}  // namespace

extern const OpDef kOpReciprocal{"Reciprocal",
                                 1,
                                 1,
                                 &infer_same_float,
                                 &forward,
                                 nullptr,
                                 &ibp,
                                 &vjp,
                                 &crown_element<&relax>,
                                 /*crown_needs_bounds=*/true,
                                 &relax};

}  // namespace nncert::ops
