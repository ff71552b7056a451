// Exp: elementwise y = exp(x).
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = exp(x)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(),
                               T,
                               unary_map<T>(
                                   in[0], out[0], [&](T x) -> T { return std::exp(x); }, ctx));
}

// dL/dx = dL/dy * y
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& /*ctx*/) {
  return vjp_unary(in, out, grad_out, grad_in, [&](auto, auto y) { return y; });
}

}  // namespace

extern const OpDef kOpExp{
    "Exp", 1, 1, &infer_same_float, &forward, nullptr, &ibp_monotone<&forward>, &vjp};

}  // namespace nncert::ops
