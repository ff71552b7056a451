// Sign: elementwise y = -1, 0 or 1 by the sign of x.
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = -1, 0 or 1 by the sign of x
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return NNCERT_ANY_DISPATCH(
      in[0].dtype(),
      T,
      unary_map<T>(
          in[0], out[0], [&](T x) -> T { return static_cast<T>((x > T(0)) - (x < T(0))); }, ctx));
}

// dL/dx = 0 (piecewise constant; 0 also at x == 0)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return T(0);
  });
}

}  // namespace

extern const OpDef kOpSign{
    "Sign", 1, 1, &infer_same, &forward, nullptr, &ibp_monotone<&forward>, &vjp};

}  // namespace nncert::ops
