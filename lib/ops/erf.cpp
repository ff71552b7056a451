// Erf: elementwise y = erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt  (GELU = x/2 (1 + erf(x/sqrt
// 2))).
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt  (GELU = x/2 (1 + erf(x/sqrt 2)))
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
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
           const ExecContext& /*ctx*/) {
  return vjp_unary(in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return static_cast<T>(1.1283791670955126) * std::exp(-x * x);
  });
}

}  // namespace

extern const OpDef kOpErf{
    "Erf", 1, 1, &infer_same_float, &forward, nullptr, &ibp_monotone<&forward>, &vjp};

}  // namespace nncert::ops
