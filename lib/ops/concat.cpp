// Concat: join tensors along `axis`; all other extents must agree.
#include <cstring>

#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (!node.attrs.has("axis"))
    return attr_error("Concat needs an 'axis' attribute");
  for (const auto& t : in)
    if (!t.shape_known)
      return unknown_output(in, out);
  const auto rank = static_cast<int64_t>(in[0].shape.size());
  NNCERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node.attrs.get_int("axis", 0), rank));
  Shape s = in[0].shape;
  for (size_t i = 1; i < in.size(); ++i) {
    if (static_cast<int64_t>(in[i].shape.size()) != rank)
      return shape_error("Concat inputs have different ranks: " + shape_to_string(in[0].shape) +
                         " and " + shape_to_string(in[i].shape));
    for (int64_t d = 0; d < rank; ++d) {
      int64_t a = s[static_cast<size_t>(d)], b = in[i].shape[static_cast<size_t>(d)];
      if (d == axis) {
        s[static_cast<size_t>(d)] = (a < 0 || b < 0) ? -1 : a + b;
      } else if (a >= 0 && b >= 0 && a != b) {
        return shape_error("Concat inputs " + shape_to_string(in[0].shape) + " and " +
                           shape_to_string(in[i].shape) + " differ outside axis " +
                           std::to_string(axis));
      } else if (a < 0) {
        s[static_cast<size_t>(d)] = b;
      }
    }
    if (is_float(in[i].dtype) != is_float(in[0].dtype))
      return shape_error("Concat inputs have different dtypes");
  }
  out.assign(1, make_info(in[0].dtype, s));
  return Status::ok();
}

// y = [x_1 | x_2 | ... ] along axis: copy contiguous blocks of (extent_i * inner) elements.
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const Shape& os = out_types[0].shape;
  const int64_t axis =
      normalize_axis(node.attrs.get_int("axis", 0), static_cast<int64_t>(os.size())).value();
  out[0] = Tensor(out_types[0].dtype, os);
  const auto [outer, inner] = axis_blocks(os, axis);
  const size_t es = dtype_size(out[0].dtype());
  auto* dst = static_cast<char*>(out[0].raw());
  const int64_t out_block = os[static_cast<size_t>(axis)] * inner;
  int64_t offset = 0;
  for (const Tensor& t0 : in) {
    Tensor t = t0.dtype() == out[0].dtype() ? t0 : t0.to(out[0].dtype());
    const int64_t block = t.shape()[static_cast<size_t>(axis)] * inner;
    const auto* src = static_cast<const char*>(t.raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + static_cast<size_t>(o * out_block + offset) * es,
                  src + static_cast<size_t>(o * block) * es,
                  static_cast<size_t>(block) * es);
    offset += block;
  }
  return Status::ok();
}

// dL/dx_i = the block of dL/dy along axis that x_i fills
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  if (!grad_out[0].is_valid())
    return Status::ok();
  const Tensor& gy = grad_out[0];
  const Shape& os = gy.shape();
  NNCERT_ASSIGN_OR_RETURN(
      int64_t axis, normalize_axis(node.attrs.get_int("axis", 0), static_cast<int64_t>(os.size())));
  const auto [outer, inner] = axis_blocks(os, axis);
  const size_t es = dtype_size(gy.dtype());
  const auto* src = static_cast<const char*>(gy.raw());
  const int64_t out_block = os[static_cast<size_t>(axis)] * inner;
  int64_t offset = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const int64_t block = in[i].shape()[static_cast<size_t>(axis)] * inner;
    if (is_float(in[i].dtype()) && is_float(gy.dtype())) {
      Tensor g(gy.dtype(), in[i].shape());
      auto* dst = static_cast<char*>(g.raw());
      for (int64_t o = 0; o < outer && block > 0; ++o)
        std::memcpy(dst + static_cast<size_t>(o * block) * es,
                    src + static_cast<size_t>(o * out_block + offset) * es,
                    static_cast<size_t>(block) * es);
      grad_in[i] = g.to(in[i].dtype());
    }
    offset += block;
  }
  return Status::ok();
}

}  // namespace

extern const OpDef kOpConcat{"Concat",
                             1,
                             -1,
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
