// Abs: elementwise y = |x|.
#include <cmath>
#include <type_traits>

#include "ops/elementwise.h"

namespace nncert::ops {
namespace {

// y = |x|
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_ANY_DISPATCH(in[0].dtype(),
                             T,
                             unary_map<T>(
                                 in[0],
                                 out[0],
                                 [&](T x) -> T {
                                   if constexpr (std::is_integral_v<T>)
                                     return x < 0 ? wrapping_neg(x) : x;
                                   else
                                     return x < T(0) ? -x : x;
                                 },
                                 ctx));
}

}  // namespace

extern const OpDef kOpAbs{"Abs", 1, 1, &infer_same, &forward, nullptr};

}  // namespace nncert::ops
