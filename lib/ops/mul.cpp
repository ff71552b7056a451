// Mul: elementwise y = a * b, with numpy broadcasting.
#include <type_traits>

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
           const ExecContext& /*ctx*/) {
  return vjp_binary(
      in,
      out,
      grad_out,
      grad_in,
      [](auto, auto b, auto) { return b; },
      [](auto a, auto, auto) { return a; });
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
                          &crown_multilinear<&forward, &vjp>,
                          /*crown_needs_bounds=*/false,
                          /*relax=*/nullptr,
                          &bound_forward_affine<&forward, &sign_split>};

}  // namespace nncert::ops
