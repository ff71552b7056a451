// Reshape: same data, new shape. Target entries: -1 = inferred (at most one), 0 = copy the input
// extent (unless allowzero = 1).
#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  auto target = const_ints(in, 1);
  if (!target) {
    // Rank is known from the length of the shape input when that is static.
    const bool rank_known = in[1].shape_known && in[1].shape.size() == 1 && in[1].shape[0] >= 0;
    out.assign(1,
               make_info(in[0].dtype,
                         rank_known ? Shape(static_cast<size_t>(in[1].shape[0]), -1) : Shape{}));
    out[0].shape_known = rank_known;
    return Status::ok();
  }
  const bool allowzero = node.attrs.get_int("allowzero", 0) != 0;
  Shape s = *target;
  int infer_at = -1;
  int64_t known = 1;
  bool unknown_extent = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == 0 && !allowzero) {
      if (!in[0].shape_known || i >= in[0].shape.size())
        return shape_error("Reshape target " + shape_to_string(*target) +
                           " copies a dimension the input " + shape_to_string(in[0].shape) +
                           " does not have");
      s[i] = in[0].shape[i];
    }
    if (s[i] == -1) {
      if (infer_at >= 0)
        return shape_error("Reshape target has more than one -1");
      infer_at = static_cast<int>(i);
    } else if (s[i] < 0) {
      if (i < target->size() && (*target)[i] == 0) {
        unknown_extent = true;  // copied an unknown extent
        continue;
      }
      return shape_error("Reshape target " + shape_to_string(*target) + " has a negative extent");
    } else {
      auto product = checked_mul(known, s[i]);
      if (!product)
        return shape_error("Reshape target " + shape_to_string(*target) + " has too many elements");
      known = *product;
    }
  }
  const int64_t total = in[0].shape_known ? shape_numel(in[0].shape) : -1;
  if (infer_at >= 0) {
    if (total >= 0 && !unknown_extent) {
      if (known == 0 || total % known != 0)
        return shape_error("cannot reshape " + shape_to_string(in[0].shape) + " to " +
                           shape_to_string(*target));
      s[static_cast<size_t>(infer_at)] = total / known;
    }
  } else if (total >= 0 && !unknown_extent && total != known) {
    return shape_error("cannot reshape " + shape_to_string(in[0].shape) + " (" +
                       std::to_string(total) + " elements) to " + shape_to_string(*target));
  }
  out.assign(1, make_info(in[0].dtype, s));
  return Status::ok();
}

// y = x viewed with the target shape
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = in[0].reshaped(out_types[0].shape);
  return Status::ok();
}

// dL/dx = reshape(dL/dy, shape(x)); the shape input takes no gradient
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

extern const OpDef kOpReshape{"Reshape",
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
