// GlobalAveragePool (ONNX opset 17): mean over all spatial dims, kept as extent-1 dims.
#include <algorithm>

#include "core/parallel.h"
#include "ops/bound_forward.h"
#include "ops/interval.h"
#include "ops/op_util.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {

namespace {

// y[n,c,1,...,1] = mean_{spatial i} x[n,c,i]
Status global_average_pool_infer(const Node& node,
                                 std::span<const TypeInfo> in,
                                 std::vector<TypeInfo>& out) {
  if (in.empty())
    return attr_error("GlobalAveragePool needs input X");
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "GlobalAveragePool input X"));
  if (!known(in[0]))
    return unknown_output(in, out);
  const Shape& x = shape_of(in[0]);
  if (x.size() < 3)
    return shape_error("GlobalAveragePool input must be [N, C, spatial...], got " +
                       shape_to_string(x));
  Shape y = x;
  std::fill(y.begin() + 2, y.end(), 1);
  out.assign(1, make_info(in[0].dtype, std::move(y)));
  return Status::ok();
}

template <class T>
void global_average(const Tensor& x, Tensor& y, int threads) {
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t size = planes == 0 ? 0 : x.numel() / planes;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(size, 1));
  parallel_for(planes, threads, grain, [&](int64_t first, int64_t last) {
    for (int64_t pl = first; pl < last; ++pl) {
      const T* src = px + pl * size;
      double sum = 0.0;  // double accumulator: exact enough for float planes of any size
      for (int64_t i = 0; i < size; ++i)
        sum += static_cast<double>(src[i]);
      py[pl] = size > 0 ? static_cast<T>(sum / static_cast<double>(size)) : T(0);
    }
  });
}

Status global_average_pool_forward(const Node& node,
                                   std::span<const Tensor> in,
                                   std::span<const TypeInfo> out_types,
                                   std::vector<Tensor>& out,
                                   const ExecContext& ctx) {
  if (in.empty() || !in[0].is_valid())
    return attr_error("GlobalAveragePool needs input X");
  const Tensor& x = in[0];
  if (x.rank() < 3 || out_types.empty() || out_types[0].dtype != x.dtype() ||
      shape_numel(out_types[0].shape) != x.dim(0) * x.dim(1))
    return shape_error("GlobalAveragePool output does not match input " +
                       shape_to_string(x.shape()));
  if (out.empty())
    out.resize(1);
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(x.dtype(), T, global_average<T>(x, out[0], ctx.threads));
}

// One add per input element: numel(x)
double global_average_pool_flops(const Node& node,
                                 std::span<const Shape> in,
                                 std::span<const Shape> out) {
  return in.empty() ? 0.0 : static_cast<double>(std::max<int64_t>(shape_numel(in[0]), 0));
}

// dL/dx[n,c,i] = dL/dy[n,c] / (number of spatial cells)
Status global_average_pool_vjp(const Node& /*node*/,
                               std::span<const Tensor> in,
                               std::span<const Tensor> out,
                               std::span<const Tensor> grad_out,
                               std::vector<Tensor>& grad_in,
                               const ExecContext& /*ctx*/) {
  if (!grad_out[0].is_valid())
    return Status::ok();
  const Tensor& x = in[0];
  const DType dt = x.dtype();
  const Tensor gy = grad_as(grad_out[0], dt, out[0].shape());
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t size = planes == 0 ? 0 : x.numel() / planes;
  Tensor gx(dt, x.shape());
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(dt, T, {
    const T* pg = gy.data<T>();
    T* po = gx.data<T>();
    for (int64_t pl = 0; pl < planes; ++pl)
      for (int64_t i = 0; i < size; ++i)
        po[pl * size + i] = pg[pl] / static_cast<T>(size);
  }));
  grad_in[0] = gx;
  return Status::ok();
}

}  // namespace

extern const OpDef kOpGlobalAveragePool{
    "GlobalAveragePool",
    1,
    1,
    global_average_pool_infer,
    global_average_pool_forward,
    global_average_pool_flops,
    &ibp_monotone<&global_average_pool_forward>,
    &global_average_pool_vjp,
    &crown_affine<&global_average_pool_forward, &global_average_pool_vjp>,
    /*crown_needs_bounds=*/false,
    /*relax=*/nullptr,
    &bound_forward_affine<&global_average_pool_forward, &split_monotone>};

}  // namespace nncert::ops
