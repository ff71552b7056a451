// LayerNormalization (opset 17): normalise over the axes from `axis` (default -1) to the end,
// y = (x - mean) / sqrt(var + epsilon) * scale + bias, var the biased variance. Only output Y is
// supported (Mean / InvStdDev outputs are training artefacts).
#include <algorithm>
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "the input"));
  for (size_t k = 1; k < node.outputs.size(); ++k)
    if (node.outputs[k] != kNoValue)
      return unsupported("LayerNormalization's Mean/InvStdDev outputs are not supported");
  if (in[0].shape_known) {
    const auto rank = static_cast<int64_t>(in[0].shape.size());
    NNCERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node.attrs.get_int("axis", -1), rank));
    Shape norm(in[0].shape.begin() + axis, in[0].shape.end());
    for (size_t i = 1; i < 3; ++i)
      if (has_input(in, i) && in[i].shape_known && shape_is_static(norm) &&
          shape_numel(in[i].shape) != shape_numel(norm))
        return shape_error("LayerNormalization scale/bias shape " + shape_to_string(in[i].shape) +
                           " does not match the normalised shape " + shape_to_string(norm));
  }
  NNCERT_RETURN_IF_ERROR(infer_same(node, in, out));
  out.resize(1);
  return Status::ok();
}

// y = (x - mu) / sqrt(sigma^2 + eps) * scale + bias over the trailing axes
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const Tensor& x = in[0];
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", -1), x.rank()).value();
  const double eps = node.attrs.get_float("epsilon", 1e-5);
  int64_t outer = 1, n = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.dim(d);
  for (int64_t d = axis; d < x.rank(); ++d)
    n *= x.dim(d);
  out[0] = Tensor(x.dtype(), x.shape());
  const bool has_bias = has_input(in, 2);
  return NNCERT_FLOAT_DISPATCH(x.dtype(), T, {
    const Tensor scale = in[1].to(x.dtype());
    const Tensor bias = has_bias ? in[2].to(x.dtype()) : Tensor();
    const T* px = x.data<T>();
    const T* ps = scale.data<T>();
    const T* pb = has_bias ? bias.data<T>() : nullptr;
    T* py = out[0].data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      const T* xs = px + o * n;
      T* ys = py + o * n;
      T mean = 0;
      for (int64_t i = 0; i < n; ++i)
        mean += xs[i];
      mean /= static_cast<T>(n);
      T var = 0;
      for (int64_t i = 0; i < n; ++i)
        var += (xs[i] - mean) * (xs[i] - mean);
      var /= static_cast<T>(n);
      const T inv = T(1) / std::sqrt(var + static_cast<T>(eps));
      for (int64_t i = 0; i < n; ++i)
        ys[i] = (xs[i] - mean) * inv * ps[i % scale.numel()] + (pb ? pb[i % bias.numel()] : T(0));
    }
  });
}

// With h = (x - mu) * inv, inv = 1 / sqrt(var + eps), G = dL/dy * scale:
// dL/dx = inv * (G - mean(G) - h * mean(G * h)), dL/dscale = sum dL/dy * h, dL/dbias = sum dL/dy
// (the sums over the leading, non-normalised axes).
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& /*ctx*/) {
  if (!grad_out[0].is_valid())
    return Status::ok();
  const Tensor& x = in[0];
  const DType dt = x.dtype();
  NNCERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node.attrs.get_int("axis", -1), x.rank()));
  const double eps = node.attrs.get_float("epsilon", 1e-5);
  int64_t outer = 1, n = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.dim(d);
  for (int64_t d = axis; d < x.rank(); ++d)
    n *= x.dim(d);
  const bool has_bias = has_input(in, 2);
  const Tensor gy = grad_as(grad_out[0], dt, out[0].shape());
  const Tensor scale = in[1].to(dt);
  Tensor gx(dt, x.shape());
  Tensor gs(dt, scale.shape());
  Tensor gb = has_bias ? Tensor(dt, in[2].shape()) : Tensor();
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(dt, T, {
    const T* px = x.data<T>();
    const T* ps = scale.data<T>();
    const T* pg = gy.data<T>();
    T* po = gx.data<T>();
    T* pgs = gs.data<T>();
    T* pgb = has_bias ? gb.data<T>() : nullptr;
    std::fill(pgs, pgs + gs.numel(), T(0));
    if (pgb)
      std::fill(pgb, pgb + gb.numel(), T(0));
    std::vector<T> h(static_cast<size_t>(n)), gh(static_cast<size_t>(n));
    for (int64_t o = 0; o < outer; ++o) {
      const T* xs = px + o * n;
      const T* gys = pg + o * n;
      T mean = 0;
      for (int64_t i = 0; i < n; ++i)
        mean += xs[i];
      mean /= static_cast<T>(n);
      T var = 0;
      for (int64_t i = 0; i < n; ++i)
        var += (xs[i] - mean) * (xs[i] - mean);
      var /= static_cast<T>(n);
      const T inv = T(1) / std::sqrt(var + static_cast<T>(eps));
      T mg = 0, mgh = 0;
      for (int64_t i = 0; i < n; ++i) {
        const auto u = static_cast<size_t>(i);
        h[u] = (xs[i] - mean) * inv;
        gh[u] = gys[i] * ps[i % scale.numel()];
        mg += gh[u];
        mgh += gh[u] * h[u];
        pgs[i % gs.numel()] += gys[i] * h[u];
        if (pgb)
          pgb[i % gb.numel()] += gys[i];
      }
      mg /= static_cast<T>(n);
      mgh /= static_cast<T>(n);
      for (int64_t i = 0; i < n; ++i) {
        const auto u = static_cast<size_t>(i);
        po[o * n + i] = inv * (gh[u] - mg - h[u] * mgh);
      }
    }
  }));
  grad_in[0] = gx;
  if (in[1].dtype() == dt)
    grad_in[1] = gs;
  if (has_bias && in[2].dtype() == dt)
    grad_in[2] = gb;
  return Status::ok();
}

// Interval rule, per normalised group of n values (mean / var over the group):
//   d_i = x_i - mean = (1 - 1/n) x_i - (1/n) sum_{j != i} x_j   (exact interval of a linear form)
//   var in [0, (1/n) sum_j max(d_j.lo^2, d_j.hi^2)],  r = 1/sqrt(var + eps) in [r.lo, 1/sqrt(eps)]
//   n_i = d_i * r, also |n_i| <= sqrt(n - 1) (a standardised value never exceeds it)
//   y_i = n_i * scale_i + bias_i   (scale and bias constant)
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  for (size_t i = 1; i < in.size(); ++i)
    if (in[i].lo.is_valid() && !is_exact(in[i]))
      return unsupported("LayerNormalization bounds need constant scale and bias");
  const Tensor& xl = in[0].lo;
  const Tensor& xh = in[0].hi;
  NNCERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node.attrs.get_int("axis", -1), xl.rank()));
  const double eps = node.attrs.get_float("epsilon", 1e-5);
  int64_t outer = 1, n = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= xl.dim(d);
  for (int64_t d = axis; d < xl.rank(); ++d)
    n *= xl.dim(d);
  const Tensor& scale = in[1].lo;
  const bool has_bias = in.size() > 2 && in[2].lo.is_valid();
  Interval r{Tensor(xl.dtype(), xl.shape()), Tensor(xl.dtype(), xl.shape())};
  const double nn = static_cast<double>(n);
  const double cap = std::sqrt(std::max(nn - 1, 0.0));
  std::vector<double> dl(static_cast<size_t>(n)), dh(static_cast<size_t>(n));
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t base = o * n;
    double sum_lo = 0, sum_hi = 0;
    for (int64_t j = 0; j < n; ++j) {
      sum_lo += xl.get(base + j);
      sum_hi += xh.get(base + j);
    }
    double var_hi = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double li = xl.get(base + i), hi = xh.get(base + i);
      const auto k = static_cast<size_t>(i);
      dl[k] = (1 - 1 / nn) * li - (sum_hi - hi) / nn;
      dh[k] = (1 - 1 / nn) * hi - (sum_lo - li) / nn;
      var_hi += std::max(dl[k] * dl[k], dh[k] * dh[k]) / nn;
    }
    const double r_lo = 1 / std::sqrt(var_hi + eps), r_hi = 1 / std::sqrt(eps);
    for (int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<size_t>(i);
      double lo = dl[k] >= 0 ? dl[k] * r_lo : dl[k] * r_hi;
      double hi = dh[k] >= 0 ? dh[k] * r_hi : dh[k] * r_lo;
      lo = std::max(lo, -cap);
      hi = std::min(hi, cap);
      const double sc = scale.get(i % scale.numel());
      const double b = has_bias ? in[2].lo.get(i % in[2].lo.numel()) : 0.0;
      r.lo.set(base + i, (sc >= 0 ? lo * sc : hi * sc) + b);
      r.hi.set(base + i, (sc >= 0 ? hi * sc : lo * sc) + b);
    }
  }
  out = {r};
  return Status::ok();
}

}  // namespace

extern const OpDef kOpLayerNormalization{
    "LayerNormalization", 2, 3, &infer, &forward, nullptr, &ibp, &vjp};

}  // namespace nncert::ops
