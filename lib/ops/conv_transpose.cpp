// ConvTranspose (ONNX opset 17): the gradient of Conv with respect to its input, with groups,
// strides, dilations, pads or auto_pad, output_padding and output_shape. The compute is
// kernels::conv_transpose_forward (GEMM + col2im).
#include <algorithm>
#include <string>

#include "ops/op_util.h"
#include "runtime/kernels/conv.h"

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

// Resolves the attributes against the input, weight and bias shapes (extents may be -1; w / b
// are nullptr when unknown or absent) and derives the output shape and the padding.
Expected<ConvSetup> resolve(const Node& node, const Shape& x, const Shape* w, const Shape* b) {
  if (x.size() < 3 || x.size() > 5)
    return shape_error("ConvTranspose input must be [N, C, 1 to 3 spatial dims], got " +
                       shape_to_string(x));
  const size_t r = x.size() - 2;
  if (w && w->size() != x.size())
    return shape_error("ConvTranspose weight " + shape_to_string(*w) +
                       " must have the input's rank " + std::to_string(x.size()));
  ConvSetup st;
  kernels::ConvParams& p = st.p;
  p.groups = node.attrs.get_int("group", 1);
  if (p.groups < 1)
    return attr_error("ConvTranspose group must be >= 1");
  p.kernel = node.attrs.get_ints("kernel_shape");
  if (p.kernel.empty()) {
    p.kernel = w ? Shape(w->begin() + 2, w->end()) : Shape(r, -1);
  } else if (p.kernel.size() != r) {
    return attr_error("ConvTranspose kernel_shape has " + std::to_string(p.kernel.size()) +
                      " entries for " + std::to_string(r) + " spatial dims");
  } else if (w) {
    for (size_t i = 0; i < r; ++i)
      if ((*w)[i + 2] >= 0 && (*w)[i + 2] != p.kernel[i])
        return shape_error("ConvTranspose kernel_shape " + shape_to_string(p.kernel) +
                           " does not match weight " + shape_to_string(*w));
  }
  p.stride = node.attrs.get_ints("strides", std::vector<int64_t>(r, 1));
  p.dilation = node.attrs.get_ints("dilations", std::vector<int64_t>(r, 1));
  p.output_padding = node.attrs.get_ints("output_padding", std::vector<int64_t>(r, 0));
  const std::vector<int64_t> pads = node.attrs.get_ints("pads", std::vector<int64_t>(2 * r, 0));
  if (p.stride.size() != r || p.dilation.size() != r || p.output_padding.size() != r ||
      pads.size() != 2 * r)
    return attr_error("ConvTranspose strides / dilations / output_padding / pads do not match " +
                      std::to_string(r) + " spatial dims");
  for (size_t i = 0; i < r; ++i) {
    if (p.stride[i] < 1 || p.dilation[i] < 1)
      return attr_error("ConvTranspose strides and dilations must be >= 1");
    if (p.output_padding[i] < 0)
      return attr_error("ConvTranspose output_padding must be >= 0");
    if (p.kernel[i] == 0 || p.kernel[i] < -1)
      return attr_error("ConvTranspose kernel extents must be >= 1");
  }
  for (int64_t v : pads)
    if (v < 0)
      return attr_error("ConvTranspose pads must be >= 0");
  const std::string auto_pad = node.attrs.get_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER")
    return attr_error("ConvTranspose auto_pad '" + auto_pad +
                      "' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
  // output_shape: the spatial output extents (a full [N, M, ...] shape is accepted too).
  std::vector<int64_t> out_shape = node.attrs.get_ints("output_shape");
  if (out_shape.size() == r + 2)
    out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (!out_shape.empty() && out_shape.size() != r)
    return attr_error("ConvTranspose output_shape has " + std::to_string(out_shape.size()) +
                      " entries for " + std::to_string(r) + " spatial dims");
  for (int64_t e : out_shape)
    if (e < 1)
      return attr_error("ConvTranspose output_shape extents must be >= 1");

  // Bounds that keep the extent arithmetic below far from int64 overflow.
  const std::vector<int64_t>* const bounded[] = {
      &p.kernel, &p.stride, &p.dilation, &p.output_padding, &pads, &out_shape};
  for (const std::vector<int64_t>* v : bounded)
    for (int64_t e : *v)
      if (e > kMaxAttr)
        return attr_error(
            "ConvTranspose kernel, stride, dilation and padding values must be below 2^30");
  for (size_t i = 2; i < x.size(); ++i)
    if (x[i] > kMaxExtent)
      return shape_error("ConvTranspose spatial extents above 2^31 are not supported, got " +
                         shape_to_string(x));

  // Channels: x [N, C, ...], w [C, M/group, ...], b [M].
  const int64_t c = x[1];
  if (c >= 0 && c % p.groups != 0)
    return shape_error("ConvTranspose input channels " + std::to_string(c) +
                       " not divisible by group " + std::to_string(p.groups));
  if (w && c >= 0 && (*w)[0] >= 0 && (*w)[0] != c)
    return shape_error("ConvTranspose input has " + std::to_string(c) + " channels but weight " +
                       shape_to_string(*w) + " expects " + std::to_string((*w)[0]));
  int64_t m = -1;  // output channels: w[1] * group
  if (w && (*w)[1] >= 0 && __builtin_mul_overflow((*w)[1], p.groups, &m))
    return shape_error("ConvTranspose output channel count overflows: weight " +
                       shape_to_string(*w) + ", group " + std::to_string(p.groups));
  if (b && (b->size() != 1 || (m >= 0 && (*b)[0] >= 0 && (*b)[0] != m)))
    return shape_error("ConvTranspose bias " + shape_to_string(*b) + " must be [" +
                       std::to_string(m) + "]");

  st.out = {x[0], m >= 0 ? m : (b ? (*b)[0] : -1)};
  p.pad_begin.assign(r, 0);
  p.pad_end.assign(r, 0);
  for (size_t i = 0; i < r; ++i) {
    const int64_t in = x[i + 2];
    const int64_t k = p.kernel[i];
    const int64_t s = p.stride[i];
    const int64_t d = p.dilation[i];
    const int64_t op = p.output_padding[i];
    const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    if (!out_shape.empty() || same) {
      // Target extent: output_shape, or in * s for SAME; the padding follows from
      // total = s*(in-1) + op + d*(k-1) + 1 - target, extra cell at the end for SAME_UPPER.
      const int64_t target = !out_shape.empty() ? out_shape[i] : (in < 0 ? -1 : in * s);
      if (in >= 0 && k >= 0 && target >= 0) {
        const int64_t total = s * (in - 1) + op + d * (k - 1) + 1 - target;
        p.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        p.pad_end[i] = total - p.pad_begin[i];
      }
      st.out.push_back(target);
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
    const int64_t o =
        kernels::conv_transpose_out_extent(in, k, s, d, p.pad_begin[i], p.pad_end[i], op);
    if (o < 1)
      return shape_error("ConvTranspose pads leave no output along spatial dim " +
                         std::to_string(i) + " of input " + shape_to_string(x));
    st.out.push_back(o);
  }
  return st;
}

// y[n,m, i*s - pb + k*d] += x[n,c,i] * w[c, m mod M/g, k] over c in group(m); then + b[m]
Status conv_transpose_infer(const Node& node,
                            std::span<const TypeInfo> in,
                            std::vector<TypeInfo>& out) {
  if (in.size() < 2)
    return attr_error("ConvTranspose needs inputs X and W");
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "ConvTranspose input X"));
  NNCERT_RETURN_IF_ERROR(expect_float(in, 1, "ConvTranspose weight W"));
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

Status conv_transpose_forward(const Node& node,
                              std::span<const Tensor> in,
                              std::span<const TypeInfo> out_types,
                              std::vector<Tensor>& out,
                              const ExecContext& ctx) {
  if (in.size() < 2 || !in[0].is_valid() || !in[1].is_valid())
    return attr_error("ConvTranspose needs inputs X and W");
  const Tensor& x = in[0];
  const Tensor w = in[1].to(x.dtype());
  const Tensor b = has_input(in, 2) ? in[2].to(x.dtype()) : Tensor();
  NNCERT_ASSIGN_OR_RETURN(
      ConvSetup st, resolve(node, x.shape(), &w.shape(), b.is_valid() ? &b.shape() : nullptr));
  if (out_types.empty() || out_types[0].shape != st.out || out_types[0].dtype != x.dtype())
    return shape_error("ConvTranspose output " + shape_to_string(st.out) +
                       " does not match the inferred output type");
  if (out.empty())
    out.resize(1);
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  Tensor& y = out[0];
  return NNCERT_FLOAT_DISPATCH(
      x.dtype(),
      T,
      kernels::conv_transpose_forward<T>(st.p,
                                         x.shape(),
                                         x.data<T>(),
                                         w.shape(),
                                         w.data<T>(),
                                         b.is_valid() ? b.data<T>() : nullptr,
                                         y.shape(),
                                         y.data<T>(),
                                         ctx.threads));
}

// 2 * N * C * prod(in_spatial) * (M/group) * prod(kernel)
double conv_transpose_flops(const Node& node,
                            std::span<const Shape> in,
                            std::span<const Shape> out) {
  if (in.size() < 2 || in[1].size() < 2)
    return 0.0;
  double f = 2.0 * static_cast<double>(std::max<int64_t>(shape_numel(in[0]), 0));
  for (size_t i = 1; i < in[1].size(); ++i)
    f *= static_cast<double>(std::max<int64_t>(in[1][i], 0));
  return f;
}

}  // namespace

extern const OpDef kOpConvTranspose{
    "ConvTranspose", 2, 3, conv_transpose_infer, conv_transpose_forward, conv_transpose_flops};

}  // namespace nncert::ops
