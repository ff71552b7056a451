// Log: elementwise y = log(x)  (-inf at 0, NaN below, as IEEE).
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"

namespace nncert::ops {
namespace {

// y = log(x)  (-inf at 0, NaN below, as IEEE)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(),
                               T,
                               unary_map<T>(
                                   in[0], out[0], [&](T x) -> T { return std::log(x); }, ctx));
}

}  // namespace

extern const OpDef kOpLog{"Log", 1, 1, &infer_same_float, &forward, nullptr, &ibp_monotone<&forward>};

}  // namespace nncert::ops
