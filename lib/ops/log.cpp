// Log: elementwise y = log(x)  (-inf at 0, NaN below, as IEEE).
#include <cmath>
#include <limits>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = log(x)  (-inf at 0, NaN below, as IEEE)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(),
                               T,
                               unary_map<T>(
                                   in[0], out[0], [&](T x) -> T { return std::log(x); }, ctx));
}

// dL/dx = dL/dy / x
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return T(1) / x;
  });
}

double log_f(double x) {
  return std::log(x);
}
double dlog(double x) {
  return 1 / x;
}

// log is concave on x > 0 (log 0 = -inf; no real value below 0). On [l, u]:
//   l > 0:  lower: the chord  log x >= log l + k (x - l),  k = log1p((u - l) / l) / (u - l)
//           (u = +inf: log x >= log l);  upper: the tangent  log x <= x / t + log t - 1  for any
//           t in [l, u] (alpha_hi: t = l + a (u - l); default the midpoint).
//   l <= 0 < u: log x -> -inf at 0, so the lower line is  log x >= -inf  (slope 0); the upper is a
//           tangent at t in (0, u] (alpha_hi: t = a u; default u / 2; t = 0 gives log x <= log u).
//   u <= 0: no finite value: both lines unbounded.
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
                      if (u <= 0) {
                        e.lower = {0, -inf};
                        e.upper = {0, inf};
                        return;
                      }
                      e.f_hi = std::log(u);
                      if (l <= 0) {
                        e.f_lo = -inf;
                        e.lower = {0, -inf};
                        const double t = lerp_point(0, u, ahi ? *ahi : 0.5);
                        e.upper = tangent_line(t, std::log(t), 1 / t);
                        e.alpha_hi = 0.5;
                        return;
                      }
                      e.f_lo = std::log(l);
                      concave_lines(&log_f, &dlog, l, u, ahi, e.lower, e.upper, e.alpha_hi);
                      if (std::isfinite(u) && u > l)
                        e.lower = tangent_line(l, e.f_lo, std::log1p((u - l) / l) / (u - l));
                    });
  return Status::ok();
}

}  // namespace

extern const OpDef kOpLog{"Log",
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
