// Conv (ONNX opset 17): N-d convolution with groups, strides, dilations, explicit or automatic
// padding and an optional bias. The compute is kernels::conv_forward (im2col + GEMM).
#include "runtime/kernels/conv.h"

#include <algorithm>
#include <string>

#include "ops/bound_forward.h"
#include "ops/interval.h"
#include "ops/op_util.h"
#include "ops/relaxation.h"
#include "ops/spatial.h"
#include "ops/vjp_util.h"

namespace nncert::ops {

namespace {

const WindowSpec kSpec{.op = "Conv", .weighted = true};

struct ConvSetup {
  kernels::ConvParams p;
  Shape out;  // -1 where not known
};

// Resolves the attributes against the input, weight and bias shapes (extents may be -1;
// w / b are nullptr when unknown or absent) and derives the output shape.
Expected<ConvSetup> resolve(const Node& node, const Shape& x, const Shape* w, const Shape* b) {
  NNCERT_ASSIGN_OR_RETURN(Window win, read_window(node, kSpec, x, w));
  ConvSetup st;
  kernels::ConvParams& p = st.p;
  p.groups = win.groups;

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
  NNCERT_RETURN_IF_ERROR(window_extents(win, x, /*ceil_mode=*/false, st.out));
  set_window_params(win, p);
  return st;
}

// y[n,m,o] = b[m] + sum_{c in group(m), k} x[n,c, o*s - pb + k*d] * w[m, c mod C/g, k]
Status conv_infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (in.size() < 2)
    return attr_error("Conv needs inputs X and W");
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "Conv input X"));
  NNCERT_RETURN_IF_ERROR(expect_float(in, 1, "Conv weight W"));
  if (!known(in[0]))
    return unknown_output(in, out);
  NNCERT_ASSIGN_OR_RETURN(ConvSetup st,
                          resolve(node, shape_of(in[0]), known_shape(in, 1), known_shape(in, 2)));
  out.assign(1, make_info(in[0].dtype, std::move(st.out)));
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
  NNCERT_ASSIGN_OR_RETURN(ConvSetup st, resolve(node, x.shape(), &w.shape(), known_shape(b)));
  NNCERT_RETURN_IF_ERROR(alloc_checked_output("Conv", st.out, x.dtype(), out_types, out, false));
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

// dL/dx[n,c,i] = sum dL/dy[n,m,o] w[m,c%Cg,k] over o*s-pb+k*d = i (a transposed convolution),
// dL/dw[m,c,k] = sum_{n,o} dL/dy[n,m,o] x[n,c,o*s-pb+k*d], dL/db[m] = sum_{n,o} dL/dy[n,m,o].
Status conv_vjp(const Node& node,
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
  return conv_family_vjp(st.p, false, in, out, grad_out, grad_in, ctx);
}

// CROWN through a convolution with constant W, b and a batch-1 x: the adjoint of the conv is the
// transposed conv with the same weight, so Lambda_x = conv_transpose(Lambda_y, W) for all S rows
// at once (rows in the batch axis; output_padding restores x's extents), bias += sum Lambda_y b.
Status conv_crown(const Node& node,
                  std::span<const Interval> in_bounds,
                  std::span<const bool> is_const,
                  std::span<const TypeInfo> out_types,
                  const Tensor& a,
                  bool lower,
                  std::vector<Tensor>& a_in,
                  Tensor& bias,
                  const ExecContext& ctx) {
  const bool simple = !is_const[0] && is_const[1] && (in_bounds.size() < 3 || is_const[2]) &&
                      in_bounds[0].lo.rank() >= 3 && in_bounds[0].lo.dim(0) == 1 &&
                      a.dtype() == DType::kF64;
  if (!simple)
    return crown_affine_impl(&conv_forward,
                             &conv_vjp,
                             true,
                             node,
                             in_bounds,
                             is_const,
                             out_types,
                             a,
                             lower,
                             a_in,
                             bias,
                             ctx);
  const Shape& xs = in_bounds[0].lo.shape();
  const Tensor w = in_bounds[1].lo.to(DType::kF64);
  const bool has_b = in_bounds.size() > 2 && in_bounds[2].lo.is_valid();
  NNCERT_ASSIGN_OR_RETURN(
      ConvSetup st, resolve(node, xs, &w.shape(), has_b ? &in_bounds[2].lo.shape() : nullptr));
  const int64_t s = a.dim(0);
  const int64_t m = st.out[1];
  const int64_t per_channel = shape_numel(st.out) / m;
  if (has_b) {
    const Tensor b = in_bounds[2].lo.to(DType::kF64);
    const double* pb = b.data<double>();
    const double* pa = a.data<double>();
    for (int64_t r = 0; r < s; ++r) {
      double acc = 0;
      for (int64_t c = 0; c < m; ++c) {
        const double* row = pa + (r * m + c) * per_channel;
        double sum = 0;
        for (int64_t o = 0; o < per_channel; ++o)
          sum += row[o];
        acc += sum * pb[c];
      }
      bias.set(r, bias.get(r) + acc);
    }
  }
  kernels::ConvParams p = st.p;
  const size_t r = xs.size() - 2;
  p.output_padding.assign(r, 0);
  for (size_t i = 0; i < r; ++i) {
    const int64_t pe = p.pad_end.empty() ? p.pad_begin[i] : p.pad_end[i];
    const int64_t base = kernels::conv_transpose_out_extent(
        st.out[i + 2], p.kernel[i], p.stride[i], p.dilation[i], p.pad_begin[i], pe, 0);
    p.output_padding[i] = xs[i + 2] - base;
    if (p.output_padding[i] < 0)
      return crown_affine_impl(&conv_forward,
                               &conv_vjp,
                               true,
                               node,
                               in_bounds,
                               is_const,
                               out_types,
                               a,
                               lower,
                               a_in,
                               bias,
                               ctx);
  }
  Shape as = st.out;
  as[0] = s;
  Shape ins = xs;
  ins[0] = s;
  a_in.assign(in_bounds.size(), Tensor());
  Tensor out(DType::kF64, ins);
  kernels::conv_transpose_forward<double>(p,
                                          as,
                                          a.data<double>(),
                                          w.shape(),
                                          w.data<double>(),
                                          nullptr,
                                          ins,
                                          out.data<double>(),
                                          ctx.threads);
  a_in[0] = out.reshaped({s, shape_numel(xs)});
  return Status::ok();
}

// Forward mode: each Jacobian entry is one entry of the constant weight W: split W by sign;
// the bias only adds.
Status sign_split(const Node& node,
                  std::span<const Tensor> in,
                  std::span<const bool> is_const,
                  size_t i,
                  SignSplit& out) {
  if (i != 0)
    return unsupported("Conv with a weight depending on the model input is not affine");
  const size_t zero[] = {2};
  return split_weight(node, in, is_const, i, 1, 1.0, zero, out);
}

}  // namespace

extern const OpDef kOpConv{"Conv",
                           2,
                           3,
                           conv_infer,
                           conv_forward,
                           conv_flops,
                           &ibp_bilinear<&conv_forward>,
                           &conv_vjp,
                           &conv_crown,
                           /*crown_needs_bounds=*/false,
                           /*relax=*/nullptr,
                           &bound_forward_affine<&conv_forward, &sign_split>};

}  // namespace nncert::ops
