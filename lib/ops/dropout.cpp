// Dropout in inference mode: y = x. Training mode (a true training_mode input) and the mask
// output are not supported: nncert analyses trained models.
#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (node.outputs.size() > 1 && node.outputs[1] != kNoValue)
    return unsupported("the mask output of Dropout is not supported (inference only)");
  if (in.size() > 2 && in[2].value && in[2].value->numel() > 0 && in[2].value->get(0) != 0)
    return unsupported("Dropout with training_mode = true is not supported");
  return infer_same(node, in, out);
}

// y = x
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = in[0];
  return Status::ok();
}

// dL/dx = dL/dy (inference mode)
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

extern const OpDef kOpDropout{"Dropout",
                              1,
                              3,
                              &infer,
                              &forward,
                              nullptr,
                              &ibp_monotone<&forward>,
                              &vjp,
                              &crown_affine<&forward, &vjp>,
                              /*crown_needs_bounds=*/false,
                              /*relax=*/nullptr,
                              &bound_forward_affine<&forward, &split_monotone>};

}  // namespace nncert::ops
