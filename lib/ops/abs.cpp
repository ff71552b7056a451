// Abs: elementwise y = |x|.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = |x|
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return NNCERT_ANY_DISPATCH(in[0].dtype(),
                             T,
                             unary_map<T>(
                                 in[0],
                                 out[0],
                                 [&](T x) -> T {
                                   if constexpr (std::is_integral_v<T>)
                                     return x < 0 ? wrapping_neg(x) : x;
                                   else
                                     return x < T(0) ? -x : x;
                                 },
                                 ctx));
}

// |[a]| = [a] if a.lo >= 0; [-a.hi, -a.lo] if a.hi <= 0; else [0, max(-a.lo, a.hi)]
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  out = {map_interval(in[0], [](double l, double h, double* ol, double* oh) {
    if (l >= 0) {
      *ol = l;
      *oh = h;
    } else if (h <= 0) {
      *ol = -h;
      *oh = -l;
    } else {
      *ol = 0;
      *oh = std::max(-l, h);
    }
  })};
  return Status::ok();
}

// dL/dx = dL/dy * sign(x)  (0 at x == 0)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
  });
}

// |x| on [l, u]: l >= 0: |x| = x; u <= 0: |x| = -x; otherwise (convex, kink at 0)
//   upper: the chord  |x| <= (u + l)/(u - l) x - 2 u l / (u - l)  (unbounded if l or u is
//          infinite);
//   lower: |x| >= s x  for any s in [-1, 1] (alpha_lo: s = 2a - 1); default s = 1 if u > -l
//          else -1 (auto_LiRPA's bound_relax choice, like ReLU's adaptive slope).
Status relax(const Node& /*node*/,
             const Interval& x,
             const Interval* alpha,
             ElementRelaxation& r,
             Interval* alpha_default) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  relax_elementwise(
      x,
      alpha,
      r,
      alpha_default,
      [&](double l, double u, const double* alo, const double*, ElementLines& e) {
        if (l >= 0) {
          e.lower = e.upper = {1, 0};
          return;
        }
        if (u <= 0) {
          e.lower = e.upper = {-1, 0};
          return;
        }
        e.f_lo = 0;
        e.f_hi = std::max(-l, u);
        e.upper = std::isfinite(l) && std::isfinite(u) ? chord_line(l, -l, u, u) : Line{0, inf};
        const double s = alo ? 2 * std::clamp(*alo, 0.0, 1.0) - 1 : (u > -l ? 1.0 : -1.0);
        e.lower = {s, 0};
        e.alpha_lo = (s + 1) / 2;
      });
  return Status::ok();
}

}  // namespace

extern const OpDef kOpAbs{"Abs",
                          1,
                          1,
                          &infer_same,
                          &forward,
                          nullptr,
                          &ibp,
                          &vjp,
                          &crown_element<&relax>,
                          /*crown_needs_bounds=*/true,
                          &relax};

}  // namespace nncert::ops
