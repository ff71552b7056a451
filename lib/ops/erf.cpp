// Erf: elementwise y = erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt  (GELU = x/2 (1 + erf(x/sqrt
// 2))).
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt  (GELU = x/2 (1 + erf(x/sqrt 2)))
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(),
                               T,
                               unary_map<T>(
                                   in[0], out[0], [&](T x) -> T { return std::erf(x); }, ctx));
}

// dL/dx = dL/dy * 2 / sqrt(pi) * exp(-x^2)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return static_cast<T>(1.1283791670955126) * std::exp(-x * x);
  });
}

double erf_f(double x) {
  return std::erf(x);
}
// erf'(x) = 2 / sqrt(pi) * exp(-x^2)
double derf(double x) {
  return 1.1283791670955126 * std::exp(-x * x);
}

const SShapedTable& table() {
  static const SShapedTable t(&erf_f, &derf);
  return t;
}

// Erf is S-shaped like Tanh (increasing, convex for x <= 0, concave for x >= 0), and relaxed the
// same way (no auto_LiRPA reference: the same tangent-point table construction on erf). On
// [l, u], with the chord c through (l, f(l)), (u, f(u)) and tangents T_t (s_shaped_lines in
// relaxation.cpp):
//   u <= 0: T_t <= f <= c, t in [l, u] (default midpoint);  l >= 0: c <= f <= T_t (likewise);
//   l < 0 < u: lower = c if its slope < f'(l), else T_t at the table point d_l(u) <= 0 (or the
//   midpoint if d_l >= it); upper = c if its slope < f'(u), else T_t at d_u(-l) >= 0 (or the
//   midpoint if d_u < it).
Status relax(const Node& /*node*/,
             const Interval& x,
             const Interval* alpha,
             ElementRelaxation& r,
             Interval* alpha_default) {
  relax_elementwise(x,
                    alpha,
                    r,
                    alpha_default,
                    [](double l, double u, const double* alo, const double* ahi, ElementLines& e) {
                      s_shaped_lines(table(), l, u, alo, ahi, e);
                    });
  return Status::ok();
}

}  // namespace

extern const OpDef kOpErf{"Erf",
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
