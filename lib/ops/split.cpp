// Split: cut x along `axis` into parts given by the `split` input (opset >= 13 form), or into
// equal parts (the last one smaller, opset 18 `num_outputs`) when it is absent.
#include <cstring>

#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"

namespace nncert::ops {
namespace {

// The part count comes from the sizes or num_outputs: the frontend drops unused trailing
// outputs, so node.outputs may list fewer parts than the split makes.
Expected<std::vector<int64_t>> parts(const Node& node,
                                     std::span<const TypeInfo> in,
                                     int64_t extent) {
  const int64_t count =
      node.attrs.get_int("num_outputs", static_cast<int64_t>(node.outputs.size()));
  if (count <= 0 || static_cast<size_t>(count) < node.outputs.size())
    return shape_error("Split num_outputs does not match the number of outputs");
  const auto n = static_cast<size_t>(count);
  if (has_input(in, 1)) {
    auto s = const_ints(in, 1);
    if (!s)
      return unsupported("Split with non-constant split sizes");
    if (s->size() < node.outputs.size())
      return shape_error("Split sizes do not match the number of outputs");
    int64_t sum = 0;
    for (int64_t v : *s)
      sum += v;
    if (extent >= 0 && sum != extent)
      return shape_error("Split sizes sum to " + std::to_string(sum) + ", the axis has " +
                         std::to_string(extent));
    return *s;
  }
  if (extent < 0)
    return std::vector<int64_t>(n, -1);
  const int64_t chunk = (extent + static_cast<int64_t>(n) - 1) / static_cast<int64_t>(n);
  std::vector<int64_t> out(n, chunk);
  out.back() = extent - chunk * static_cast<int64_t>(n - 1);
  if (out.back() < 0)
    return shape_error("Split cannot divide the axis into that many parts");
  return out;
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (!in[0].shape_known || (has_input(in, 1) && !in[1].value))
    return unknown_output(in, out, node.outputs.size());
  const auto rank = static_cast<int64_t>(in[0].shape.size());
  NNCERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node.attrs.get_int("axis", 0), rank));
  NNCERT_ASSIGN_OR_RETURN(auto sizes, parts(node, in, in[0].shape[static_cast<size_t>(axis)]));
  out.clear();
  for (int64_t sz : sizes) {
    Shape s = in[0].shape;
    s[static_cast<size_t>(axis)] = sz;
    out.push_back(make_info(in[0].dtype, s));
  }
  return Status::ok();
}

// y_k = x[..., off_k : off_k + size_k, ...]
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const Tensor& x = in[0];
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", 0), x.rank()).value();
  const auto [outer, inner] = axis_blocks(x.shape(), axis);
  const size_t es = dtype_size(x.dtype());
  const int64_t in_block = x.dim(axis) * inner;
  int64_t offset = 0;
  for (size_t k = 0; k < out.size(); ++k) {
    out[k] = Tensor(x.dtype(), out_types[k].shape);
    const int64_t block = out_types[k].shape[static_cast<size_t>(axis)] * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(
          static_cast<char*>(out[k].raw()) + static_cast<size_t>(o * block) * es,
          static_cast<const char*>(x.raw()) + static_cast<size_t>(o * in_block + offset) * es,
          static_cast<size_t>(block) * es);
    offset += block;
  }
  return Status::ok();
}

// dL/dx = concat_k(dL/dy_k) along axis (zero blocks for outputs without a gradient)
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  const Tensor& x = in[0];
  if (!is_float(x.dtype()))
    return Status::ok();
  NNCERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node.attrs.get_int("axis", 0), x.rank()));
  NNCERT_ASSIGN_OR_RETURN(auto sizes, parts(node, infos_of(in), x.dim(axis)));
  const auto [outer, inner] = axis_blocks(x.shape(), axis);
  const size_t es = dtype_size(x.dtype());
  const int64_t in_block = x.dim(axis) * inner;
  Tensor gx(x.dtype(), x.shape());
  int64_t offset = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    const int64_t block = sizes[k] * inner;
    if (k < grad_out.size() && grad_out[k].is_valid() && block > 0) {
      const Tensor gy = grad_out[k].to(x.dtype());
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(static_cast<char*>(gx.raw()) + static_cast<size_t>(o * in_block + offset) * es,
                    static_cast<const char*>(gy.raw()) + static_cast<size_t>(o * block) * es,
                    static_cast<size_t>(block) * es);
    }
    offset += block;
  }
  grad_in[0] = gx;
  return Status::ok();
}

}  // namespace

extern const OpDef kOpSplit{"Split",
                            1,
                            2,
                            &infer,
                            &forward,
                            nullptr,
                            &ibp_monotone<&forward>,
                            &vjp,
                            /*crown=*/nullptr,
                            /*crown_needs_bounds=*/false,
                            /*relax=*/nullptr,
                            &bound_forward_affine<&forward, &split_monotone>};

}  // namespace nncert::ops
