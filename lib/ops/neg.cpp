// Neg: elementwise y = -x.
#include <cmath>
#include <type_traits>

#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = -x
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
                                     return wrapping_neg(x);
                                   else
                                     return -x;
                                 },
                                 ctx));
}

// -[a] = [-a.hi, -a.lo]
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  std::vector<Tensor> lo(1), hi(1);
  NNCERT_RETURN_IF_ERROR(forward(node, std::vector<Tensor>{in[0].hi}, out_types, lo, ctx));
  NNCERT_RETURN_IF_ERROR(forward(node, std::vector<Tensor>{in[0].lo}, out_types, hi, ctx));
  out = {{lo[0], hi[0]}};
  return Status::ok();
}

// dL/dx = -dL/dy
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return T(-1);
  });
}

// Forward mode: y = -x is -I.
Status sign_split(const Node& /*node*/,
                  std::span<const Tensor> in,
                  std::span<const bool> is_const,
                  size_t i,
                  SignSplit& out) {
  return split_identity(in, is_const, i, false, out);
}

}  // namespace

extern const OpDef kOpNeg{"Neg",
                          1,
                          1,
                          &infer_same,
                          &forward,
                          nullptr,
                          &ibp,
                          &vjp,
                          &crown_affine<&forward, &vjp>,
                          /*crown_needs_bounds=*/false,
                          /*relax=*/nullptr,
                          &bound_forward_affine<&forward, &sign_split>};

}  // namespace nncert::ops
