// AveragePool (ONNX opset 17, plus opset 19's dilations): mean over each window, with explicit
// or automatic padding, ceil_mode and count_include_pad. The compute is kernels::avg_pool.
#include <algorithm>

#include "ops/op_util.h"
#include "ops/spatial.h"
#include "ops/interval.h"
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

}  // namespace

extern const OpDef kOpAveragePool{
    "AveragePool", 1, 1, average_pool_infer, average_pool_forward, average_pool_flops, &ibp_monotone<&average_pool_forward>};

}  // namespace nncert::ops
