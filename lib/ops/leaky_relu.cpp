// LeakyRelu: elementwise y = x if x >= 0 else alpha * x  (alpha defaults to 0.01).
#include <cmath>

#include "ops/elementwise.h"

namespace nncert::ops {
namespace {

// y = x if x >= 0 else alpha * x  (alpha defaults to 0.01)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const double alpha = node.attrs.get_float("alpha", 0.01);
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(
      in[0].dtype(),
      T,
      unary_map<T>(
          in[0], out[0], [&](T x) -> T { return x >= T(0) ? x : static_cast<T>(alpha) * x; }, ctx));
}

}  // namespace

extern const OpDef kOpLeakyRelu{"LeakyRelu", 1, 1, &infer_same_float, &forward, nullptr};

}  // namespace nncert::ops
