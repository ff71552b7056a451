// BatchNormalization (ONNX opset 17), inference mode only: per-channel affine map from the
// stored statistics. training_mode = 1 and the training outputs (running mean / var) are
// refused as unsupported.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/parallel.h"
#include "ops/bound_forward.h"
#include "ops/interval.h"
#include "ops/op_util.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {

namespace {

const char* const kParamNames[] = {"X", "scale", "B", "input_mean", "input_var"};

Status check_mode(const Node& node) {
  if (node.attrs.get_int("training_mode", 0) != 0)
    return unsupported("BatchNormalization with training_mode = 1 is not supported");
  if (node.attrs.get_int("spatial", 1) == 0)
    return unsupported("BatchNormalization with spatial = 0 (opset < 9) is not supported");
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (node.outputs[i] != kNoValue)
      return unsupported(
          "BatchNormalization training outputs (running mean / var) are not "
          "supported");
  return Status::ok();
}

// Checks that each of scale, B, mean, var is [C] (unknown extents pass).
Status check_params(const Shape& x, std::span<const Shape* const> params) {
  if (x.size() < 2)
    return shape_error("BatchNormalization input must be [N, C, ...], got " + shape_to_string(x));
  for (size_t i = 0; i < params.size(); ++i) {
    const Shape* s = params[i];
    if (!s)
      continue;
    if (s->size() != 1 || (x[1] >= 0 && (*s)[0] >= 0 && (*s)[0] != x[1]))
      return shape_error(std::string("BatchNormalization ") + kParamNames[i + 1] + " " +
                         shape_to_string(*s) + " must be [C] with C = " + std::to_string(x[1]) +
                         " for input " + shape_to_string(x));
  }
  return Status::ok();
}

// y = scale[c] * (x - mean[c]) / sqrt(var[c] + epsilon) + B[c]
Status batch_normalization_infer(const Node& node,
                                 std::span<const TypeInfo> in,
                                 std::vector<TypeInfo>& out) {
  NNCERT_RETURN_IF_ERROR(check_mode(node));
  if (in.size() != 5)
    return attr_error("BatchNormalization needs 5 inputs");
  for (size_t i = 0; i < 5; ++i)
    NNCERT_RETURN_IF_ERROR(expect_float(in, i, kParamNames[i]));
  if (!known(in[0]))
    return unknown_output(in, out);
  const Shape* params[4];
  for (size_t i = 0; i < 4; ++i)
    params[i] = known_shape(in, i + 1);
  NNCERT_RETURN_IF_ERROR(check_params(shape_of(in[0]), params));
  out.assign(1, make_info(in[0].dtype, shape_of(in[0])));
  return Status::ok();
}

template <class T>
void normalize(const Tensor& x,
               const std::vector<double>& a,
               const std::vector<double>& b,
               Tensor& y,
               int threads) {
  const int64_t channels = x.dim(1);
  const int64_t planes = x.dim(0) * channels;
  const int64_t size = planes == 0 ? 0 : x.numel() / planes;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(size, 1));
  parallel_for(planes, threads, grain, [&](int64_t first, int64_t last) {
    for (int64_t pl = first; pl < last; ++pl) {
      const T ac = static_cast<T>(a[static_cast<size_t>(pl % channels)]);
      const T bc = static_cast<T>(b[static_cast<size_t>(pl % channels)]);
      const T* src = px + pl * size;
      T* dst = py + pl * size;
      for (int64_t i = 0; i < size; ++i)
        dst[i] = src[i] * ac + bc;
    }
  });
}

Status batch_normalization_forward(const Node& node,
                                   std::span<const Tensor> in,
                                   std::span<const TypeInfo> out_types,
                                   std::vector<Tensor>& out,
                                   const ExecContext& ctx) {
  NNCERT_RETURN_IF_ERROR(check_mode(node));
  if (in.size() != 5)
    return attr_error("BatchNormalization needs 5 inputs");
  for (const Tensor& t : in)
    if (!t.is_valid())
      return attr_error("BatchNormalization needs 5 inputs");
  const Tensor& x = in[0];
  const Shape* params[4] = {&in[1].shape(), &in[2].shape(), &in[3].shape(), &in[4].shape()};
  NNCERT_RETURN_IF_ERROR(check_params(x.shape(), params));
  if (out_types.empty() || out_types[0].shape != x.shape() || out_types[0].dtype != x.dtype())
    return shape_error("BatchNormalization output does not match input " +
                       shape_to_string(x.shape()));
  // Fold into y = a[c] * x + b[c], a = scale / sqrt(var + eps), b = B - mean * a (in double).
  const double eps = node.attrs.get_float("epsilon", 1e-5);
  const std::vector<double> scale = in[1].to_double_vector();
  const std::vector<double> bias = in[2].to_double_vector();
  const std::vector<double> mean = in[3].to_double_vector();
  const std::vector<double> var = in[4].to_double_vector();
  std::vector<double> a(scale.size());
  std::vector<double> b(scale.size());
  for (size_t c = 0; c < scale.size(); ++c) {
    a[c] = scale[c] / std::sqrt(var[c] + eps);
    b[c] = bias[c] - mean[c] * a[c];
  }
  if (out.empty())
    out.resize(1);
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(x.dtype(), T, normalize<T>(x, a, b, out[0], ctx.threads));
}

// One multiply-add per element after folding: 2 * numel(x)
double batch_normalization_flops(const Node& node,
                                 std::span<const Shape> in,
                                 std::span<const Shape> out) {
  return in.empty() ? 0.0 : 2.0 * static_cast<double>(std::max<int64_t>(shape_numel(in[0]), 0));
}

// y = (x - mean) * s + B with s = scale / sqrt(var + eps) per channel (constant statistics):
//   mid_y = BN(mid_x),  rad_y = rad_x * |s|  (BN of the radius with mean = B = 0, scale = |scale|)
Status batch_normalization_ibp(const Node& node,
                               std::span<const Interval> in,
                               std::span<const TypeInfo> out_types,
                               std::vector<Interval>& out,
                               const ExecContext& ctx) {
  for (size_t i = 1; i < in.size(); ++i)
    if (!is_exact(in[i]))
      return unsupported("BatchNormalization bounds need constant scale, bias, mean and var");
  std::vector<Tensor> mid(1), rad(1);
  std::vector<Tensor> mid_in{interval_mid(in[0]), in[1].lo, in[2].lo, in[3].lo, in[4].lo};
  NNCERT_RETURN_IF_ERROR(batch_normalization_forward(node, mid_in, out_types, mid, ctx));
  Tensor zeros(in[2].lo.dtype(), in[2].lo.shape());
  std::vector<Tensor> rad_in{interval_rad(in[0]), abs_tensor(in[1].lo), zeros, zeros, in[4].lo};
  NNCERT_RETURN_IF_ERROR(batch_normalization_forward(node, rad_in, out_types, rad, ctx));
  Interval r{mid[0].clone(), mid[0].clone()};
  for (int64_t i = 0; i < r.lo.numel(); ++i) {
    r.lo.set(i, mid[0].get(i) - rad[0].get(i));
    r.hi.set(i, mid[0].get(i) + rad[0].get(i));
  }
  out = {r};
  return Status::ok();
}

// Inference mode, y = scale (x - mean) r + B with r = (var + eps)^(-1/2) per channel:
// dL/dx = dL/dy * scale r, dL/dscale = sum dL/dy (x - mean) r, dL/dB = sum dL/dy,
// dL/dmean = -sum dL/dy * scale r, dL/dvar = -1/2 sum dL/dy * scale (x - mean) r^3.
Status batch_normalization_vjp(const Node& node,
                               std::span<const Tensor> in,
                               std::span<const Tensor> out,
                               std::span<const Tensor> grad_out,
                               std::vector<Tensor>& grad_in,
                               const ExecContext& /*ctx*/) {
  if (!grad_out[0].is_valid())
    return Status::ok();
  if (in.size() != 5)
    return attr_error("BatchNormalization needs 5 inputs");
  const Tensor& x = in[0];
  const DType dt = x.dtype();
  const Tensor gy = grad_as(grad_out[0], dt, out[0].shape());
  const double eps = node.attrs.get_float("epsilon", 1e-5);
  const std::vector<double> scale = in[1].to_double_vector();
  const std::vector<double> mean = in[3].to_double_vector();
  const std::vector<double> var = in[4].to_double_vector();
  const int64_t channels = x.dim(1);
  const int64_t planes = x.dim(0) * channels;
  const int64_t size = planes == 0 ? 0 : x.numel() / planes;
  const auto nc = static_cast<size_t>(channels);
  std::vector<double> gscale(nc, 0.0), gbias(nc, 0.0), gmean(nc, 0.0), gvar(nc, 0.0);
  Tensor gx(dt, x.shape());
  for (int64_t pl = 0; pl < planes; ++pl) {
    const auto c = static_cast<size_t>(pl % channels);
    const double r = 1.0 / std::sqrt(var[c] + eps);
    for (int64_t i = 0; i < size; ++i) {
      const int64_t j = pl * size + i;
      const double g = gy.get(j);
      const double d = x.get(j) - mean[c];
      gx.set(j, g * scale[c] * r);
      gscale[c] += g * d * r;
      gbias[c] += g;
      gmean[c] -= g * scale[c] * r;
      gvar[c] -= 0.5 * g * scale[c] * d * r * r * r;
    }
  }
  grad_in[0] = gx;
  const std::vector<double>* grads[4] = {&gscale, &gbias, &gmean, &gvar};
  for (size_t k = 1; k < 5; ++k) {
    if (!is_float(in[k].dtype()))
      continue;
    Tensor t(in[k].dtype(), in[k].shape());
    for (int64_t i = 0; i < t.numel(); ++i)
      t.set(i, (*grads[k - 1])[static_cast<size_t>(i)]);
    grad_in[k] = t;
  }
  return Status::ok();
}

// Forward mode: the Jacobian is diag(scale[c] / sqrt(var[c] + epsilon)), of the sign of scale:
// split scale by sign; B and the mean only add.
Status sign_split(const Node& node,
                  std::span<const Tensor> in,
                  std::span<const bool> is_const,
                  size_t i,
                  SignSplit& out) {
  if (i != 0)
    return unsupported("BatchNormalization with parameters depending on the model input");
  const size_t zero[] = {2, 3};
  return split_weight(node, in, is_const, i, 1, 1.0, zero, out);
}

}  // namespace

extern const OpDef kOpBatchNormalization{
    "BatchNormalization",
    5,
    5,
    batch_normalization_infer,
    batch_normalization_forward,
    batch_normalization_flops,
    &batch_normalization_ibp,
    &batch_normalization_vjp,
    &crown_multilinear<&batch_normalization_forward, &batch_normalization_vjp>,
    /*crown_needs_bounds=*/false,
    /*relax=*/nullptr,
    &bound_forward_affine<&batch_normalization_forward, &sign_split>};

}  // namespace nncert::ops
