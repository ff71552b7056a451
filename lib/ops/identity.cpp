// Identity: y = x (shares storage).
#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

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

// dL/dx = dL/dy
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  if (is_float(in[0].dtype()) && grad_out[0].is_valid())
    grad_in[0] = grad_out[0].to(in[0].dtype()).reshaped(in[0].shape());
  return Status::ok();
}

}  // namespace

extern const OpDef kOpIdentity{"Identity",
                               1,
                               1,
                               &infer_same,
                               &forward,
                               nullptr,
                               &ibp_monotone<&forward>,
                               &vjp,
                               &crown_affine<&forward, &vjp>,
                               /*crown_needs_bounds=*/false,
                               /*relax=*/nullptr,
                               &bound_forward_affine<&forward, &split_monotone>};

}  // namespace nncert::ops
