// Gather: y = x indexed along `axis` by an int64 index tensor (negative indices count from the
// end). Output shape: x.shape[:axis] + indices.shape + x.shape[axis+1:].
#include <cstring>

#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (!in[0].shape_known || !in[1].shape_known)
    return unknown_output(in, out);
  if (is_float(in[1].dtype))
    return shape_error("Gather indices must be integers");
  const auto rank = static_cast<int64_t>(in[0].shape.size());
  NNCERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node.attrs.get_int("axis", 0), rank));
  Shape s(in[0].shape.begin(), in[0].shape.begin() + axis);
  s.insert(s.end(), in[1].shape.begin(), in[1].shape.end());
  s.insert(s.end(), in[0].shape.begin() + axis + 1, in[0].shape.end());
  out.assign(1, make_info(in[0].dtype, s));
  const int64_t extent = in[0].shape[static_cast<size_t>(axis)];
  if (in[1].value && extent >= 0)
    for (int64_t i = 0; i < in[1].value->numel(); ++i) {
      int64_t v = in[1].value->get_int(i);
      if (v < -extent || v >= extent)
        return shape_error("Gather index " + std::to_string(v) + " is out of range for extent " +
                           std::to_string(extent));
    }
  return Status::ok();
}

// y[a, i, b] = x[a, idx[i], b]
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const Tensor& x = in[0];
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", 0), x.rank()).value();
  // Named variables, not a structured binding: lambdas capture them (clang < 16).
  const auto blocks = axis_blocks(x.shape(), axis);
  const int64_t outer = blocks.outer, inner = blocks.inner;
  const int64_t extent = x.dim(axis);
  const std::vector<int64_t> idx = in[1].to_int_vector();
  out[0] = Tensor(x.dtype(), out_types[0].shape);
  const size_t es = dtype_size(x.dtype());
  const auto n = static_cast<int64_t>(idx.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = idx[static_cast<size_t>(i)];
      if (k < 0)
        k += extent;
      if (k < 0 || k >= extent)
        return shape_error("Gather index " + std::to_string(idx[static_cast<size_t>(i)]) +
                           " is out of range for extent " + std::to_string(extent));
      std::memcpy(
          static_cast<char*>(out[0].raw()) + static_cast<size_t>((o * n + i) * inner) * es,
          static_cast<const char*>(x.raw()) + static_cast<size_t>((o * extent + k) * inner) * es,
          static_cast<size_t>(inner) * es);
    }
  return Status::ok();
}

// dL/dx[a, idx[i], b] += dL/dy[a, i, b] (scatter-add: repeated indices accumulate)
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  const Tensor& x = in[0];
  if (!is_float(x.dtype()) || !grad_out[0].is_valid())
    return Status::ok();
  NNCERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node.attrs.get_int("axis", 0), x.rank()));
  // Named variables, not a structured binding: lambdas capture them (clang < 16).
  const auto blocks = axis_blocks(x.shape(), axis);
  const int64_t outer = blocks.outer, inner = blocks.inner;
  const int64_t extent = x.dim(axis);
  const std::vector<int64_t> idx = in[1].to_int_vector();
  const auto n = static_cast<int64_t>(idx.size());
  const Tensor gy = grad_out[0].to(x.dtype());
  Tensor gx(x.dtype(), x.shape());
  Status st = NNCERT_FLOAT_DISPATCH(x.dtype(), T, {
    const T* pg = gy.data<T>();
    T* px = gx.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < n; ++i) {
        int64_t k = idx[static_cast<size_t>(i)];
        if (k < 0)
          k += extent;
        if (k < 0 || k >= extent)
          return shape_error("Gather index " + std::to_string(idx[static_cast<size_t>(i)]) +
                             " is out of range for extent " + std::to_string(extent));
        T* dst = px + (o * extent + k) * inner;
        const T* src = pg + (o * n + i) * inner;
        for (int64_t j = 0; j < inner; ++j)
          dst[j] += src[j];
      }
  });
  if (!st.is_ok())
    return st;
  grad_in[0] = gx;
  return Status::ok();
}

}  // namespace

extern const OpDef kOpGather{"Gather",
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
