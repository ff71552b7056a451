// ReduceSum: y = sum of x over `axes` (keepdims default 1). Also holds the shared reduction
// driver used by ReduceMean (ops/reduce.h).
#include "ops/bound_forward.h"
#include "ops/interval.h"
#include "ops/reduce.h"
#include "ops/relaxation.h"

namespace nncert::ops {

Expected<std::vector<bool>> reduced_axes(const Node& node,
                                         std::span<const TypeInfo> in,
                                         size_t rank) {
  std::vector<int64_t> axes;
  if (has_input(in, 1)) {
    auto a = const_ints(in, 1);
    if (!a)
      return unsupported(node.op + " with non-constant axes");
    axes = *a;
  }
  std::vector<bool> red(rank, false);
  if (axes.empty()) {
    if (node.attrs.get_int("noop_with_empty_axes", 0) == 0)
      red.assign(rank, true);
    return red;
  }
  for (int64_t a : axes) {
    NNCERT_ASSIGN_OR_RETURN(int64_t ax, normalize_axis(a, static_cast<int64_t>(rank)));
    red[static_cast<size_t>(ax)] = true;
  }
  return red;
}

Status infer_reduce(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (!in[0].shape_known || (has_input(in, 1) && !in[1].value))
    return unknown_output(in, out);
  NNCERT_ASSIGN_OR_RETURN(auto red, reduced_axes(node, in, in[0].shape.size()));
  const bool keep = node.attrs.get_int("keepdims", 1) != 0;
  Shape s;
  for (size_t d = 0; d < red.size(); ++d) {
    if (!red[d])
      s.push_back(in[0].shape[d]);
    else if (keep)
      s.push_back(1);
  }
  out.assign(1, make_info(in[0].dtype, s));
  return Status::ok();
}

Status forward_reduce(const Node& node,
                      std::span<const Tensor> in,
                      std::span<const TypeInfo> out_types,
                      std::vector<Tensor>& out,
                      bool mean) {
  const Tensor& x = in[0];
  NNCERT_ASSIGN_OR_RETURN(auto red,
                          reduced_axes(node, infos_of(in), static_cast<size_t>(x.rank())));
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  // Map every input element to its output slot: output strides with 0 on reduced axes.
  const size_t r = red.size();
  Shape kept(r);
  for (size_t d = 0; d < r; ++d)
    kept[d] = red[d] ? 1 : x.shape()[d];
  auto ks = shape_strides(kept);
  for (size_t d = 0; d < r; ++d)
    if (red[d])
      ks[d] = 0;
  const int64_t count = x.numel() / std::max<int64_t>(out[0].numel(), 1);
  return NNCERT_ANY_DISPATCH(x.dtype(), T, {
    const T* px = x.data<T>();
    T* py = out[0].data<T>();
    std::fill(py, py + out[0].numel(), T(0));
    for_each_run(x.shape(), ks, [&](int64_t i, int64_t dst, int64_t n, int64_t s) {
      if constexpr (std::is_integral_v<T>) {
        for (int64_t k = 0; k < n; ++k)
          py[dst + k * s] = wrapping_add(py[dst + k * s], px[i + k]);
      } else if (s == 0) {
        T acc = T(0);
        for (int64_t k = 0; k < n; ++k)
          acc += px[i + k];
        py[dst] += acc;
      } else {
        for (int64_t k = 0; k < n; ++k)
          py[dst + k * s] += px[i + k];
      }
    });
    if (mean && count > 0)
      for (int64_t i = 0; i < out[0].numel(); ++i)
        py[i] = py[i] / static_cast<T>(count);
  });
}

Status vjp_reduce(const Node& node,
                  std::span<const Tensor> in,
                  std::span<const Tensor> grad_out,
                  std::vector<Tensor>& grad_in,
                  bool mean) {
  const Tensor& x = in[0];
  if (!is_float(x.dtype()) || !grad_out[0].is_valid())
    return Status::ok();
  NNCERT_ASSIGN_OR_RETURN(auto red,
                          reduced_axes(node, infos_of(in), static_cast<size_t>(x.rank())));
  const Tensor gy = grad_out[0].to(x.dtype());
  Tensor gx = Tensor::uninitialized(x.dtype(), x.shape());
  // Every input element reads its output slot: output strides with 0 on reduced axes.
  const size_t r = red.size();
  Shape kept(r);
  for (size_t d = 0; d < r; ++d)
    kept[d] = red[d] ? 1 : x.shape()[d];
  auto ks = shape_strides(kept);
  for (size_t d = 0; d < r; ++d)
    if (red[d])
      ks[d] = 0;
  const int64_t count = x.numel() / std::max<int64_t>(gy.numel(), 1);
  Status st = NNCERT_FLOAT_DISPATCH(x.dtype(), T, {
    const T scale = mean && count > 0 ? T(1) / static_cast<T>(count) : T(1);
    const T* pg = gy.data<T>();
    T* px = gx.data<T>();
    for_each_run(x.shape(), ks, [&](int64_t i, int64_t src, int64_t n, int64_t s) {
      for (int64_t k = 0; k < n; ++k)
        px[i + k] = pg[src + k * s] * scale;
    });
  });
  if (!st.is_ok())
    return st;
  grad_in[0] = gx;
  return Status::ok();
}

namespace {
// y = sum_{axes} x
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  return forward_reduce(node, in, out_types, out, false);
}

// dL/dx = broadcast(dL/dy, shape(x))
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_reduce(node, in, grad_out, grad_in, false);
}
}  // namespace

extern const OpDef kOpReduceSum{"ReduceSum",
                                1,
                                2,
                                &infer_reduce,
                                &forward,
                                nullptr,
                                &ibp_monotone<&forward>,
                                &vjp,
                                &crown_affine<&forward, &vjp>,
                                /*crown_needs_bounds=*/false,
                                /*relax=*/nullptr,
                                &bound_forward_affine<&forward, &split_monotone>};

}  // namespace nncert::ops
