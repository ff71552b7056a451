// Add: elementwise y = a + b, with numpy broadcasting.
#include <type_traits>

#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = a + b
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
          return wrapping_add(a, b);
        else
          return a + b;
      },
      ctx);
}

// dL/da = unbroadcast(dL/dy), dL/db = unbroadcast(dL/dy)
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
      [](auto a, auto, auto) {
        using T = decltype(a);
        return T(1);
      },
      [](auto a, auto, auto) {
        using T = decltype(a);
        return T(1);
      });
}

// Forward mode: y = a + b is +I in each non-constant operand (constants only add).
Status sign_split(const Node& /*node*/,
                  std::span<const Tensor> in,
                  std::span<const bool> is_const,
                  size_t i,
                  SignSplit& out) {
  return split_identity(in, is_const, i, true, out);
}

}  // namespace

extern const OpDef kOpAdd{"Add",
                          2,
                          2,
                          &infer_broadcast,
                          &forward,
                          nullptr,
                          &ibp_monotone<&forward>,
                          &vjp,
                          &crown_affine<&forward, &vjp>,
                          /*crown_needs_bounds=*/false,
                          /*relax=*/nullptr,
                          &bound_forward_affine<&forward, &sign_split>};

}  // namespace nncert::ops
