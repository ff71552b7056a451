// Mul: elementwise y = a * b, with numpy broadcasting.
#include <type_traits>

#include "ops/bivariate.h"
#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = a * b
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  return forward_binary(
      in,
      out,
      out_types,
      [](auto a, auto b) {
        if constexpr (std::is_integral_v<decltype(a)>)
          return wrapping_mul(a, b);
        else
          return a * b;
      },
      ctx);
}

// [a] * [b] = [min, max] of the four endpoint products (0 * inf counts as unbounded)
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  out.resize(1);
  return ibp_corners_impl(&forward, node, in, out_types, out[0], ctx);
}

// dL/da = unbroadcast(dL/dy * b), dL/db = unbroadcast(dL/dy * a)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_binary(
      ctx,
      in,
      out,
      grad_out,
      grad_in,
      [](auto, auto b, auto) { return b; },
      [](auto a, auto, auto) { return a; });
}

// CROWN: with a constant factor the product is linear (the VJP map); a product of two non-constant
// factors x*y (inputs 0, 1, broadcast) takes McCormick planes per element (ops/bivariate.h:
// x*y >= yl*x + xl*y - xl*yl, x*y <= yu*x + xl*y - xl*yu, auto_LiRPA's BoundMul). When both
// inputs are the same value (x*x) the engine adds the two coefficient sets, giving the tangent at
// xl below and the chord above.
Status crown(const Node& node,
             std::span<const Interval> in_bounds,
             std::span<const bool> is_const,
             std::span<const TypeInfo> out_types,
             const Tensor& a,
             bool lower,
             std::vector<Tensor>& a_in,
             Tensor& bias,
             const ExecContext& ctx) {
  if (is_const[0] || is_const[1])
    return crown_affine_impl(
        &forward, &vjp, true, node, in_bounds, is_const, out_types, a, lower, a_in, bias, ctx);
  BivariateRelaxation r;
  make_bivariate(in_bounds, out_types[0].shape, &mccormick, r);
  return apply_bivariate(r, in_bounds, is_const, a, lower, a_in, bias);
}

// Forward mode: y = a * c for a constant c has Jacobian diag(c) (broadcast): split c by sign.
Status sign_split(const Node& node,
                  std::span<const Tensor> in,
                  std::span<const bool> is_const,
                  size_t i,
                  SignSplit& out) {
  return split_weight(node, in, is_const, i, 1 - i, 1.0, {}, out);
}

}  // namespace

extern const OpDef kOpMul{"Mul",
                          2,
                          2,
                          &infer_broadcast,
                          &forward,
                          nullptr,
                          &ibp,
                          &vjp,
                          &crown,
                          /*crown_needs_bounds=*/false,
                          /*relax=*/nullptr,
                          &bound_forward_affine<&forward, &sign_split>,
                          /*alpha_range=*/nullptr,
                          &two_variable_inputs};

}  // namespace nncert::ops
