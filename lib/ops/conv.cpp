// Conv (ONNX opset 17): N-d convolution with groups, strides, dilations, explicit or automatic
// padding and an optional bias. The compute is kernels::conv_forward (im2col + GEMM).
#include "runtime/kernels/conv.h"

#include <algorithm>
#include <string>

#include "ops/op_util.h"

namespace nncert::ops {

namespace {

constexpr int64_t kMaxAttr = int64_t{1} << 30;    // kernel / stride / dilation / pad values
constexpr int64_t kMaxExtent = int64_t{1} << 31;  // spatial input extents

bool known(const TypeInfo& t) {
  return t.shape_known || t.value.has_value();
}
const Shape& shape_of(const TypeInfo& t) {
  return t.value ? t.value->shape() : t.shape;
}

struct ConvSetup {
  kernels::ConvParams p;
  Shape out;  // -1 where not known
};

// Resolves the attributes against the input, weight and bias shapes (extents may be -1;
// w / b are nullptr when unknown or absent) and derives the output shape.
Expected<ConvSetup> resolve(const Node& node, const Shape& x, const Shape* w, const Shape* b) {
  if (x.size() < 3 || x.size() > 5)
    return shape_error("Conv input must be [N, C, 1 to 3 spatial dims], got " + shape_to_string(x));
  const size_t r = x.size() - 2;
  if (w && w->size() != x.size())
    return shape_error("Conv weight " + shape_to_string(*w) + " must have the input's rank " +
                       std::to_string(x.size()));
  ConvSetup st;
  kernels::ConvParams& p = st.p;
  p.groups = node.attrs.get_int("group", 1);
  if (p.groups < 1)
    return attr_error("Conv group must be >= 1");
  p.kernel = node.attrs.get_ints("kernel_shape");
  if (p.kernel.empty()) {
    p.kernel = w ? Shape(w->begin() + 2, w->end()) : Shape(r, -1);
  } else if (p.kernel.size() != r) {
    return attr_error("Conv kernel_shape has " + std::to_string(p.kernel.size()) + " entries for " +
                      std::to_string(r) + " spatial dims");
  } else if (w) {
    for (size_t i = 0; i < r; ++i)
      if ((*w)[i + 2] >= 0 && (*w)[i + 2] != p.kernel[i])
        return shape_error("Conv kernel_shape " + shape_to_string(p.kernel) +
                           " does not match weight " + shape_to_string(*w));
  }
  p.stride = node.attrs.get_ints("strides", std::vector<int64_t>(r, 1));
  p.dilation = node.attrs.get_ints("dilations", std::vector<int64_t>(r, 1));
  std::vector<int64_t> pads = node.attrs.get_ints("pads", std::vector<int64_t>(2 * r, 0));
  if (p.stride.size() != r || p.dilation.size() != r || pads.size() != 2 * r)
    return attr_error("Conv strides / dilations / pads do not match " + std::to_string(r) +
                      " spatial dims");
  for (size_t i = 0; i < r; ++i) {
    if (p.stride[i] < 1 || p.dilation[i] < 1)
      return attr_error("Conv strides and dilations must be >= 1");
    if (p.kernel[i] == 0 || p.kernel[i] < -1)
      return attr_error("Conv kernel extents must be >= 1");
  }
  for (int64_t v : pads)
    if (v < 0)
      return attr_error("Conv pads must be >= 0");

  // Bounds that keep the extent arithmetic below far from int64 overflow.
  const std::vector<int64_t>* const bounded[] = {&p.kernel, &p.stride, &p.dilation, &pads};
  for (const std::vector<int64_t>* v : bounded)
    for (int64_t e : *v)
      if (e > kMaxAttr)
        return attr_error("Conv kernel, stride, dilation and padding values must be below 2^30");
  for (size_t i = 2; i < x.size(); ++i)
    if (x[i] > kMaxExtent)
      return shape_error("Conv spatial extents above 2^31 are not supported, got " +
                         shape_to_string(x));
  const std::string auto_pad = node.attrs.get_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER")
    return attr_error("Conv auto_pad '" + auto_pad +
                      "' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");

  // Channels: x [N, C, ...], w [M, C/group, ...], b [M].
  const int64_t c = x[1];
  const int64_t m = w ? (*w)[0] : -1;
  if (c >= 0 && c % p.groups != 0)
    return shape_error("Conv input channels " + std::to_string(c) + " not divisible by group " +
                       std::to_string(p.groups));
  if (m >= 0 && m % p.groups != 0)
    return shape_error("Conv output channels " + std::to_string(m) + " not divisible by group " +
                       std::to_string(p.groups));
  if (w && c >= 0 && (*w)[1] >= 0 && c / p.groups != (*w)[1])
    return shape_error("Conv input has " + std::to_string(c) + " channels (" +
                       std::to_string(c / p.groups) + " per group, group " +
                       std::to_string(p.groups) + ") but weight " + shape_to_string(*w) +
                       " expects " + std::to_string((*w)[1]) + " per group");
  if (b && (b->size() != 1 || (m >= 0 && (*b)[0] >= 0 && (*b)[0] != m)))
    return shape_error("Conv bias " + shape_to_string(*b) + " must be [" + std::to_string(m) + "]");

  st.out = {x[0], m >= 0 ? m : (b && !b->empty() ? (*b)[0] : -1)};
  p.pad_begin.assign(r, 0);
  p.pad_end.assign(r, 0);
  for (size_t i = 0; i < r; ++i) {
    const int64_t in = x[i + 2];
    const int64_t k = p.kernel[i];
    const int64_t s = p.stride[i];
    const int64_t d = p.dilation[i];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      // out = ceil(in / s); total padding = max(0, (out-1)*s + d*(k-1) + 1 - in).
      const int64_t o = in < 0 ? -1 : (in + s - 1) / s;
      if (in >= 0 && k >= 0) {
        const int64_t total = std::max<int64_t>(0, (o - 1) * s + d * (k - 1) + 1 - in);
        const int64_t half = total / 2;
        p.pad_begin[i] = auto_pad == "SAME_UPPER" ? half : total - half;
        p.pad_end[i] = total - p.pad_begin[i];
      }
      st.out.push_back(o);
      continue;
    }
    if (auto_pad == "NOTSET") {
      p.pad_begin[i] = pads[i];
      p.pad_end[i] = pads[i + r];
    }
    if (in < 0 || k < 0) {
      st.out.push_back(-1);
      continue;
    }
    if (in + p.pad_begin[i] + p.pad_end[i] < d * (k - 1) + 1)
      return shape_error("Conv input " + shape_to_string(x) +
                         " is smaller than the dilated kernel " + shape_to_string(p.kernel) +
                         " plus padding along spatial dim " + std::to_string(i));
    st.out.push_back(kernels::conv_out_extent(in, k, s, d, p.pad_begin[i], p.pad_end[i]));
  }
  return st;
}

// y[n,m,o] = b[m] + sum_{c in group(m), k} x[n,c, o*s - pb + k*d] * w[m, c mod C/g, k]
Status conv_infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (in.size() < 2)
    return attr_error("Conv needs inputs X and W");
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "Conv input X"));
  NNCERT_RETURN_IF_ERROR(expect_float(in, 1, "Conv weight W"));
  out.assign(1, TypeInfo{});
  out[0].dtype = in[0].dtype;
  if (!known(in[0])) {
    out[0].shape_known = false;
    return Status::ok();
  }
  const Shape* w = known(in[1]) ? &shape_of(in[1]) : nullptr;
  const Shape* b = has_input(in, 2) ? &shape_of(in[2]) : nullptr;
  NNCERT_ASSIGN_OR_RETURN(ConvSetup st, resolve(node, shape_of(in[0]), w, b));
  out[0].shape = std::move(st.out);
  return Status::ok();
}

Status conv_forward(const Node& node,
                    std::span<const Tensor> in,
                    std::span<const TypeInfo> out_types,
                    std::vector<Tensor>& out,
                    const ExecContext& ctx) {
  if (in.size() < 2 || !in[0].is_valid() || !in[1].is_valid())
    return attr_error("Conv needs inputs X and W");
  const Tensor& x = in[0];
  const Tensor w = in[1].to(x.dtype());
  const Tensor b = has_input(in, 2) ? in[2].to(x.dtype()) : Tensor();
  NNCERT_ASSIGN_OR_RETURN(
      ConvSetup st, resolve(node, x.shape(), &w.shape(), b.is_valid() ? &b.shape() : nullptr));
  if (out_types.empty() || out_types[0].shape != st.out || out_types[0].dtype != x.dtype())
    return shape_error("Conv output " + shape_to_string(st.out) +
                       " does not match the inferred output type");
  if (out.empty())
    out.resize(1);
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  Tensor& y = out[0];
  return NNCERT_FLOAT_DISPATCH(x.dtype(),
                               T,
                               kernels::conv_forward<T>(st.p,
                                                        x.shape(),
                                                        x.data<T>(),
                                                        w.shape(),
                                                        w.data<T>(),
                                                        b.is_valid() ? b.data<T>() : nullptr,
                                                        y.shape(),
                                                        y.data<T>(),
                                                        ctx.threads));
}

// 2 * N * M * prod(out_spatial) * (C/group) * prod(kernel)
double conv_flops(const Node& node, std::span<const Shape> in, std::span<const Shape> out) {
  if (in.size() < 2 || out.empty() || in[1].size() < 2)
    return 0.0;
  double f = 2.0 * static_cast<double>(std::max<int64_t>(shape_numel(out[0]), 0));
  for (size_t i = 1; i < in[1].size(); ++i)
    f *= static_cast<double>(std::max<int64_t>(in[1][i], 0));
  return f;
}

}  // namespace

extern const OpDef kOpConv{"Conv", 2, 3, conv_infer, conv_forward, conv_flops};

}  // namespace nncert::ops
