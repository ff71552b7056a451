// Min: elementwise min over any number of inputs, with numpy broadcasting.
// NaN propagates (a NaN input gives a NaN output), as in ONNX Runtime.
#include <functional>

#include "ops/elementwise.h"
#include "ops/interval.h"

namespace nncert::ops {
namespace {

// y = min(x_1, ..., x_n)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  return forward_pick<std::less<>>(in, out, ctx);
}

}  // namespace

extern const OpDef kOpMin{"Min", 1, -1, &infer_broadcast, &forward, nullptr, &ibp_monotone<&forward>};

}  // namespace nncert::ops
