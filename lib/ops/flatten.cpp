// Flatten: reshape to 2-D [prod(dims[:axis]), prod(dims[axis:])] (shares storage).
#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {

int64_t prod_or_unknown(const Shape& s, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t i = b; i < e; ++i) {
    if (s[i] < 0)
      return -1;
    p *= s[i];
  }
  return p;
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (!in[0].shape_known) {
    out.assign(1, make_info(in[0].dtype, {-1, -1}));
    return Status::ok();
  }
  const auto rank = static_cast<int64_t>(in[0].shape.size());
  int64_t axis = node.attrs.get_int("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return shape_error("Flatten axis " + std::to_string(node.attrs.get_int("axis", 1)) +
                       " is out of range for rank " + std::to_string(rank));
  const Shape& s = in[0].shape;
  out.assign(1,
             make_info(in[0].dtype,
                       {prod_or_unknown(s, 0, static_cast<size_t>(axis)),
                        prod_or_unknown(s, static_cast<size_t>(axis), s.size())}));
  return Status::ok();
}

// y = reshape(x, [prod(x.shape[:axis]), prod(x.shape[axis:])])
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = in[0].reshaped(out_types[0].shape);
  return Status::ok();
}

// dL/dx = reshape(dL/dy, shape(x))
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

extern const OpDef kOpFlatten{"Flatten",
                              1,
                              1,
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
