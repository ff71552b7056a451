// Sigmoid: elementwise y = 1 / (1 + exp(-x)), evaluated without overflow for large |x|.
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = 1 / (1 + exp(-x)), evaluated without overflow for large |x|
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
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
           const ExecContext& /*ctx*/) {
  return vjp_unary(in, out, grad_out, grad_in, [&](auto x, auto y) {
    using T = decltype(x);
    return y * (T(1) - y);
  });
}

}  // namespace

extern const OpDef kOpSigmoid{
    "Sigmoid", 1, 1, &infer_same_float, &forward, nullptr, &ibp_monotone<&forward>, &vjp};

}  // namespace nncert::ops
