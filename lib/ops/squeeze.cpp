// Squeeze: drop the listed axes of extent 1 (all extent-1 axes when no axes input is given).
// Opset >= 13 form (axes as input); the ONNX frontend rewrites the attribute form.
#include <algorithm>

#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (!in[0].shape_known || (has_input(in, 1) && !in[1].value))
    return unknown_output(in, out);
  const Shape& s = in[0].shape;
  const auto rank = static_cast<int64_t>(s.size());
  std::vector<bool> drop(s.size(), false);
  if (has_input(in, 1)) {
    auto axes = const_ints(in, 1);
    if (!axes)
      return unsupported("Squeeze with non-constant axes");
    for (int64_t a : *axes) {
      NNCERT_ASSIGN_OR_RETURN(int64_t ax, normalize_axis(a, rank));
      if (s[static_cast<size_t>(ax)] != 1 && s[static_cast<size_t>(ax)] != -1)
        return shape_error("Squeeze axis " + std::to_string(a) + " has extent " +
                           std::to_string(s[static_cast<size_t>(ax)]) + ", not 1");
      drop[static_cast<size_t>(ax)] = true;
    }
  } else {
    for (size_t i = 0; i < s.size(); ++i)
      drop[i] = s[i] == 1;
  }
  Shape o;
  for (size_t i = 0; i < s.size(); ++i)
    if (!drop[i])
      o.push_back(s[i]);
  out.assign(1, make_info(in[0].dtype, o));
  return Status::ok();
}

// y = x without the squeezed axes
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

extern const OpDef kOpSqueeze{"Squeeze",
                              1,
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
