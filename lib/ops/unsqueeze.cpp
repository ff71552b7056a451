// Unsqueeze: insert extent-1 axes at the listed positions of the output (opset >= 13 form).
#include <algorithm>

#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  auto axes = const_ints(in, 1);
  if (!axes || !in[0].shape_known)
    return unknown_output(in, out);
  const auto out_rank = static_cast<int64_t>(in[0].shape.size() + axes->size());
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : *axes) {
    NNCERT_ASSIGN_OR_RETURN(int64_t ax, normalize_axis(a, out_rank));
    if (inserted[static_cast<size_t>(ax)])
      return attr_error("Unsqueeze axes repeat");
    inserted[static_cast<size_t>(ax)] = true;
  }
  Shape o;
  size_t j = 0;
  for (size_t i = 0; i < inserted.size(); ++i)
    o.push_back(inserted[i] ? 1 : in[0].shape[j++]);
  out.assign(1, make_info(in[0].dtype, o));
  if (in[0].value)
    out[0].value = in[0].value->reshaped(o);
  return Status::ok();
}

// y = x with extent-1 axes inserted
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = in[0].reshaped(out_types[0].shape);
  return Status::ok();
}

// dL/dx = reshape(dL/dy, shape(x)); the axes input takes no gradient
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

extern const OpDef kOpUnsqueeze{"Unsqueeze",
                                2,
                                2,
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
