// Sigmoid: elementwise y = 1 / (1 + exp(-x)), evaluated without overflow for large |x|.
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"

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

}  // namespace

extern const OpDef kOpSigmoid{"Sigmoid", 1, 1, &infer_same_float, &forward, nullptr, &ibp_monotone<&forward>};

}  // namespace nncert::ops
