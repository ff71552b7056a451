// AveragePool (ONNX opset 17, plus opset 19's dilations): mean over each window, with explicit
// or automatic padding, ceil_mode and count_include_pad. The compute is kernels::avg_pool.
#include <algorithm>

#include "ops/bound_forward.h"
#include "ops/interval.h"
#include "ops/op_util.h"
#include "ops/relaxation.h"
#include "ops/spatial.h"
#include "ops/vjp_util.h"
#include "runtime/kernels/pool.h"

namespace nncert::ops {

namespace {

const WindowSpec kSpec{.op = "AveragePool"};

// Resolves the window attributes and count_include_pad against the input shape (extents may be
// -1) and derives the output shape.
Expected<PoolSetup> resolve(const Node& node, const Shape& x) {
  NNCERT_ASSIGN_OR_RETURN(PoolSetup st, resolve_pool(node, kSpec, x));
  st.p.count_include_pad = node.attrs.get_int("count_include_pad", 0) != 0;
  return st;
}

// y[n,c,o] = sum_{k in window(o)} x[n,c,o*s - pb + k*d] / count(o)
Status average_pool_infer(const Node& node,
                          std::span<const TypeInfo> in,
                          std::vector<TypeInfo>& out) {
  if (in.empty())
    return attr_error("AveragePool needs input X");
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "AveragePool input X"));
  if (!known(in[0]))
    return unknown_output(in, out);
  NNCERT_ASSIGN_OR_RETURN(PoolSetup st, resolve(node, shape_of(in[0])));
  out.assign(1, make_info(in[0].dtype, std::move(st.out)));
  return Status::ok();
}

Status average_pool_forward(const Node& node,
                            std::span<const Tensor> in,
                            std::span<const TypeInfo> out_types,
                            std::vector<Tensor>& out,
                            const ExecContext& ctx) {
  if (in.empty() || !in[0].is_valid())
    return attr_error("AveragePool needs input X");
  const Tensor& x = in[0];
  NNCERT_ASSIGN_OR_RETURN(PoolSetup st, resolve(node, x.shape()));
  NNCERT_RETURN_IF_ERROR(alloc_checked_output("AveragePool", st.out, x.dtype(), out_types, out));
  Tensor& y = out[0];
  return NNCERT_FLOAT_DISPATCH(
      x.dtype(),
      T,
      kernels::avg_pool<T>(st.p, x.shape(), x.data<T>(), y.shape(), y.data<T>(), ctx.threads));
}

// One add per window tap, one divide per output: numel(y) * (prod(kernel) + 1)
double average_pool_flops(const Node& node, std::span<const Shape> in, std::span<const Shape> out) {
  if (out.empty())
    return 0.0;
  double window = 1.0;
  for (int64_t k : node.attrs.get_ints("kernel_shape"))
    window *= static_cast<double>(k);
  return static_cast<double>(std::max<int64_t>(shape_numel(out[0]), 0)) * (window + 1.0);
}

// dL/dx[i] = sum over the windows o holding x[i] of dL/dy[o] / count(o) (count(o) as in the
// forward: recovered from the kernel's average of ones, = cells inside x / count(o))
Status average_pool_vjp(const Node& node,
                        std::span<const Tensor> in,
                        std::span<const Tensor> out,
                        std::span<const Tensor> grad_out,
                        std::vector<Tensor>& grad_in,
                        const ExecContext& ctx) {
  if (!grad_out[0].is_valid())
    return Status::ok();
  const Tensor& x = in[0];
  const DType dt = x.dtype();
  NNCERT_ASSIGN_OR_RETURN(PoolSetup st, resolve(node, x.shape()));
  const Tensor gy = grad_as(grad_out[0], dt, out[0].shape());
  Tensor gx(dt, x.shape());
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(dt, T, {
    Tensor ones(dt, x.shape());
    std::fill(ones.data<T>(), ones.data<T>() + ones.numel(), T(1));
    Tensor frac(dt, gy.shape());
    kernels::avg_pool<T>(st.p, x.shape(), ones.data<T>(), gy.shape(), frac.data<T>(), ctx.threads);
    std::vector<int64_t> inside(static_cast<size_t>(gy.numel()), 0);
    for_each_pool_cell(st.p, x.shape(), gy.shape(), [&](int64_t yi, int64_t) {
      ++inside[static_cast<size_t>(yi)];
    });
    const T* pf = frac.data<T>();
    const T* pg = gy.data<T>();
    T* po = gx.data<T>();
    std::fill(po, po + gx.numel(), T(0));
    for_each_pool_cell(st.p, x.shape(), gy.shape(), [&](int64_t yi, int64_t xi) {
      po[xi] += pg[yi] * pf[yi] / static_cast<T>(inside[static_cast<size_t>(yi)]);
    });
  }));
  grad_in[0] = gx;
  return Status::ok();
}

}  // namespace

extern const OpDef kOpAveragePool{"AveragePool",
                                  1,
                                  1,
                                  average_pool_infer,
                                  average_pool_forward,
                                  average_pool_flops,
                                  &ibp_monotone<&average_pool_forward>,
                                  &average_pool_vjp,
                                  &crown_affine<&average_pool_forward, &average_pool_vjp>,
                                  /*crown_needs_bounds=*/false,
                                  /*relax=*/nullptr,
                                  &bound_forward_affine<&average_pool_forward, &split_monotone>};

}  // namespace nncert::ops
