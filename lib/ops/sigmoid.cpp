// Sigmoid: elementwise y = 1 / (1 + exp(-x)), evaluated without overflow for large |x|.
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = 1 / (1 + exp(-x)), evaluated without overflow for large |x|
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(),
                               T,
                               unary_map<T>(
                                   in[0],
                                   out[0],
                                   [&](T x) -> T {
                                     return x >= T(0) ? T(1) / (T(1) + std::exp(-x))
                                                      : std::exp(x) / (T(1) + std::exp(x));
                                   },
                                   ctx));
}

// dL/dx = dL/dy * y (1 - y)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto y) {
    using T = decltype(x);
    return y * (T(1) - y);
  });
}

// The relaxation uses sigma(x) = 1 / (1 + e^-x) and sigma' = sigma (1 - sigma), as auto_LiRPA
// (torch.sigmoid, dsigmoid), so that its tangent-point table is the same.
double sigmoid(double x) {
  return 1 / (1 + std::exp(-x));
}
double dsigmoid(double x) {
  const double s = sigmoid(x);
  return s * (1 - s);
}

const SShapedTable& table() {
  static const SShapedTable t(&sigmoid, &dsigmoid);
  return t;
}

// Sigmoid is S-shaped (increasing, convex for x <= 0, concave for x >= 0). On [l, u], with the
// chord c through (l, f(l)), (u, f(u)) and tangents T_t (auto_LiRPA's CROWN relaxation, see
// s_shaped_lines in relaxation.cpp for the details and the alpha ranges):
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

extern const OpDef kOpSigmoid{"Sigmoid",
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
