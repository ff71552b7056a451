// Max: elementwise max over any number of inputs, with numpy broadcasting.
// NaN propagates (a NaN input gives a NaN output), as in ONNX Runtime.
#include <functional>

#include "ops/elementwise.h"
#include "ops/interval.h"

namespace nncert::ops {
namespace {

// y = max(x_1, ..., x_n)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  return forward_pick<std::greater<>>(in, out, ctx);
}

}  // namespace

extern const OpDef kOpMax{"Max", 1, -1, &infer_broadcast, &forward, nullptr, &ibp_monotone<&forward>};

}  // namespace nncert::ops
