// Min: elementwise min over any number of inputs, with numpy broadcasting.
// NaN propagates (a NaN input gives a NaN output), as in ONNX Runtime.
#include <functional>

#include "ops/bivariate.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = min(x_1, ..., x_n)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  return forward_pick<std::less<>>(in, out, ctx);
}

// dL/dx_k = unbroadcast(dL/dy * [x_k is the first input with x_k == y])  (y = min(x_1..x_n))
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& /*ctx*/) {
  return vjp_pick(in, out, grad_out, grad_in);
}

// CROWN: two operands (ops/bivariate.h min_planes; either may be constant) per output element;
// one input is the identity; more are refused.
Status crown(const Node& node,
             std::span<const Interval> in_bounds,
             std::span<const bool> is_const,
             std::span<const TypeInfo> out_types,
             const Tensor& a,
             bool lower,
             std::vector<Tensor>& a_in,
             Tensor& bias,
             const ExecContext& /*ctx*/) {
  return crown_pick(&min_planes, node, in_bounds, is_const, out_types, a, lower, a_in, bias);
}

}  // namespace

extern const OpDef kOpMin{"Min",
                          1,
                          -1,
                          &infer_broadcast,
                          &forward,
                          nullptr,
                          &ibp_monotone<&forward>,
                          &vjp,
                          &crown,
                          /*crown_needs_bounds=*/true,
                          /*relax=*/nullptr,
                          /*bound_forward=*/nullptr,
                          /*alpha_range=*/nullptr,
                          &several_inputs};

}  // namespace nncert::ops
