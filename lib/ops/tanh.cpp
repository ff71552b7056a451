// Tanh: elementwise y = tanh(x).
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = tanh(x)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(),
                               T,
                               unary_map<T>(
                                   in[0], out[0], [&](T x) -> T { return std::tanh(x); }, ctx));
}

// dL/dx = dL/dy * (1 - y^2)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& /*ctx*/) {
  return vjp_unary(in, out, grad_out, grad_in, [&](auto x, auto y) {
    using T = decltype(x);
    return T(1) - y * y;
  });
}

}  // namespace

extern const OpDef kOpTanh{
    "Tanh", 1, 1, &infer_same_float, &forward, nullptr, &ibp_monotone<&forward>, &vjp};

}  // namespace nncert::ops
