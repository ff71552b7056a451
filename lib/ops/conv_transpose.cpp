// ConvTranspose (ONNX opset 17): the gradient of Conv with respect to its input, with groups,
// strides, dilations, pads or auto_pad, output_padding and output_shape. The compute is
// kernels::conv_transpose_forward (GEMM + col2im).
#include <string>
#include <tuple>

#include "ops/bound_forward.h"
#include "ops/interval.h"
#include "ops/op_util.h"
#include "ops/relaxation.h"
#include "ops/spatial.h"
#include "ops/vjp_util.h"
#include "runtime/kernels/conv.h"

namespace nncert::ops {

namespace {

const WindowSpec kSpec{.op = "ConvTranspose", .weighted = true, .output_padding = true};

struct ConvSetup {
  kernels::ConvParams p;
  Shape out;  // -1 where not known
};

// Resolves the attributes against the input, weight and bias shapes (extents may be -1; w / b
// are nullptr when unknown or absent) and derives the output shape and the padding.
Expected<ConvSetup> resolve(const Node& node, const Shape& x, const Shape* w, const Shape* b) {
  NNCERT_ASSIGN_OR_RETURN(Window win, read_window(node, kSpec, x, w));
  const size_t r = win.rank();
  ConvSetup st;
  kernels::ConvParams& p = st.p;
  p.groups = win.groups;
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
  for (int64_t e : out_shape)
    if (e > kMaxWindowAttr)
      return attr_error(
          "ConvTranspose kernel, stride, dilation and padding values must be below 2^30");

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
  for (size_t i = 0; i < r; ++i) {
    const int64_t in = x[i + 2];
    const int64_t k = win.kernel[i];
    const int64_t s = win.stride[i];
    const int64_t d = win.dilation[i];
    const int64_t op = win.output_padding[i];
    if (!out_shape.empty() || win.same()) {
      // Target extent: output_shape, or in * s for SAME; the padding follows from
      // total = s*(in-1) + op + d*(k-1) + 1 - target, extra cell at the end for SAME_UPPER.
      const int64_t target = !out_shape.empty() ? out_shape[i] : (in < 0 ? -1 : in * s);
      if (in >= 0 && k >= 0 && target >= 0)
        win.split_padding(i, s * (in - 1) + op + d * (k - 1) + 1 - target);
      st.out.push_back(target);
      continue;
    }
    std::tie(win.pad_begin[i], win.pad_end[i]) = win.explicit_pads(i);
    if (in < 0 || k < 0) {
      st.out.push_back(-1);
      continue;
    }
    const int64_t o =
        kernels::conv_transpose_out_extent(in, k, s, d, win.pad_begin[i], win.pad_end[i], op);
    if (o < 1)
      return shape_error("ConvTranspose pads leave no output along spatial dim " +
                         std::to_string(i) + " of input " + shape_to_string(x));
    st.out.push_back(o);
  }
  set_window_params(win, p);
  p.output_padding = win.output_padding;
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
  if (!known(in[0]))
    return unknown_output(in, out);
  NNCERT_ASSIGN_OR_RETURN(ConvSetup st,
                          resolve(node, shape_of(in[0]), known_shape(in, 1), known_shape(in, 2)));
  out.assign(1, make_info(in[0].dtype, std::move(st.out)));
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
  NNCERT_ASSIGN_OR_RETURN(ConvSetup st, resolve(node, x.shape(), &w.shape(), known_shape(b)));
  NNCERT_RETURN_IF_ERROR(alloc_checked_output("ConvTranspose", st.out, x.dtype(), out_types, out));
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

// y[n,m,i*s-pb+k*d] += x[n,c,i] w[c,m%Mg,k]: dL/dx[n,c,i] = sum_{m,k} dL/dy[n,m,i*s-pb+k*d]
// w[c,m%Mg,k] (a convolution of dL/dy), dL/dw[c,m,k] = sum_{n,i} dL/dy[n,m,i*s-pb+k*d] x[n,c,i],
// dL/db[m] = sum_{n,o} dL/dy[n,m,o].
Status conv_transpose_vjp(const Node& node,
                          std::span<const Tensor> in,
                          std::span<const Tensor> out,
                          std::span<const Tensor> grad_out,
                          std::vector<Tensor>& grad_in,
                          const ExecContext& ctx) {
  if (!grad_out[0].is_valid())
    return Status::ok();
  NNCERT_ASSIGN_OR_RETURN(
      ConvSetup st,
      resolve(node, in[0].shape(), &in[1].shape(), has_input(in, 2) ? &in[2].shape() : nullptr));
  return conv_family_vjp(st.p, true, in, out, grad_out, grad_in, ctx);
}

// Forward mode: each Jacobian entry is one entry of the constant weight W: split W by sign;
// the bias only adds.
Status sign_split(const Node& node,
                  std::span<const Tensor> in,
                  std::span<const bool> is_const,
                  size_t i,
                  SignSplit& out) {
  if (i != 0)
    return unsupported("ConvTranspose with a weight depending on the model input is not affine");
  const size_t zero[] = {2};
  return split_weight(node, in, is_const, i, 1, 1.0, zero, out);
}

}  // namespace

extern const OpDef kOpConvTranspose{
    "ConvTranspose",
    2,
    3,
    conv_transpose_infer,
    conv_transpose_forward,
    conv_transpose_flops,
    &ibp_bilinear<&conv_transpose_forward>,
    &conv_transpose_vjp,
    &crown_multilinear<&conv_transpose_forward, &conv_transpose_vjp>,
    /*crown_needs_bounds=*/false,
    /*relax=*/nullptr,
    &bound_forward_affine<&conv_transpose_forward, &sign_split>};

}  // namespace nncert::ops
