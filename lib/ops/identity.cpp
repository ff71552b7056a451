// Identity: y = x (shares storage).
#include "ops/elementwise.h"
#include "ops/interval.h"

namespace nncert::ops {
namespace {

// y = x
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = in[0];
  return Status::ok();
}

}  // namespace

extern const OpDef kOpIdentity{"Identity", 1, 1, &infer_same, &forward, nullptr, &ibp_monotone<&forward>};

}  // namespace nncert::ops
