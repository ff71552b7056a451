// Helpers for the ops' vector-Jacobian product rules (OpDef::vjp): the output gradient in the
// compute dtype, elementwise unary / broadcasting binary drivers and numpy broadcast expansion.
// Internal to lib/ops; header-only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "core/parallel.h"
#include "ops/elementwise.h"
#include "ops/op_def.h"
#include "ops/op_util.h"
#include "runtime/kernels/conv.h"
#include "runtime/kernels/pool.h"

namespace nncert::ops {

// `g` in `dtype`, or zeros of `shape` when g is invalid (zero gradient).
inline Tensor grad_as(const Tensor& g, DType dtype, const Shape& shape) {
  if (!g.is_valid()) {
    Tensor z(dtype, shape);
    for (int64_t i = 0; i < z.numel(); ++i)
      z.set(i, 0.0);
    return z;
  }
  return g.dtype() == dtype ? g : g.to(dtype);
}

// `t` (in `dtype`) materialised at the broadcast shape `shape`.
inline Tensor expand_to(const Tensor& t, DType dtype, const Shape& shape) {
  const Tensor s = t.dtype() == dtype ? t : t.to(dtype);
  if (s.shape() == shape)
    return s;
  Tensor r = Tensor::uninitialized(dtype, shape);
  const std::vector<int64_t> st = broadcast_strides(s.shape(), shape);
  (void)NNCERT_FLOAT_DISPATCH(dtype, T, {
    const T* ps = s.data<T>();
    T* pr = r.data<T>();
    for_each_run(shape, st, [&](int64_t i, int64_t off, int64_t n, int64_t stride) {
      if (stride == 0)
        std::fill(pr + i, pr + i + n, ps[off]);
      else
        for (int64_t k = 0; k < n; ++k)
          pr[i + k] = ps[off + k * stride];
    });
  });
  return r;
}

// Unary elementwise VJP: grad_in[0][i] = grad_out[0][i] * df(x[i], y[i]) (float input only).
template <class DF>
Status vjp_unary(const ExecContext& ctx,
                 std::span<const Tensor> in,
                 std::span<const Tensor> out,
                 std::span<const Tensor> grad_out,
                 std::vector<Tensor>& grad_in,
                 DF df) {
  if (!grad_out[0].is_valid() || !is_float(in[0].dtype()))
    return Status::ok();
  const DType dt = in[0].dtype();
  const Tensor gy = grad_as(grad_out[0], dt, in[0].shape());
  const Tensor y = out[0].dtype() == dt ? out[0] : out[0].to(dt);
  Tensor gx = Tensor::uninitialized(dt, in[0].shape());
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(dt, T, {
    const T* px = in[0].data<T>();
    const T* py = y.data<T>();
    const T* pg = gy.data<T>();
    T* po = gx.data<T>();
    parallel_for(gx.numel(), ctx.threads, 1 << 15, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        po[i] = pg[i] * df(px[i], py[i]);
    });
  }));
  grad_in[0] = gx;
  return Status::ok();
}

// Broadcasting binary VJP: with a, b expanded to y's shape, grad a = unbroadcast(gy * da(a, b, y))
// and grad b = unbroadcast(gy * db(a, b, y)); only float inputs of y's dtype take a gradient.
template <class DA, class DB>
Status vjp_binary(const ExecContext& ctx,
                  std::span<const Tensor> in,
                  std::span<const Tensor> out,
                  std::span<const Tensor> grad_out,
                  std::vector<Tensor>& grad_in,
                  DA da,
                  DB db) {
  if (!grad_out[0].is_valid() || !is_float(out[0].dtype()))
    return Status::ok();
  const DType dt = out[0].dtype();
  const Shape& ys = out[0].shape();
  const Tensor gy = grad_as(grad_out[0], dt, ys);
  const Tensor a = expand_to(in[0], dt, ys);
  const Tensor b = expand_to(in[1], dt, ys);
  for (size_t k = 0; k < 2; ++k) {
    if (in[k].dtype() != dt)
      continue;
    Tensor g = Tensor::uninitialized(dt, ys);
    NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(dt, T, {
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      const T* py = out[0].data<T>();
      const T* pg = gy.data<T>();
      T* po = g.data<T>();
      parallel_for(g.numel(), ctx.threads, 1 << 15, [&](int64_t b0, int64_t e0) {
        for (int64_t i = b0; i < e0; ++i)
          po[i] = pg[i] * (k == 0 ? da(pa[i], pb[i], py[i]) : db(pa[i], pb[i], py[i]));
      });
    }));
    grad_in[k] = sum_to_shape(g, in[k].shape());
  }
  return Status::ok();
}

}  // namespace nncert::ops

namespace nncert::ops {

// Variadic Max / Min VJP: each output element's gradient goes to the first input (in order) whose
// broadcast value equals the output (the input that forward_pick kept), unbroadcast to its shape.
inline Status vjp_pick(std::span<const Tensor> in,
                       std::span<const Tensor> out,
                       std::span<const Tensor> grad_out,
                       std::vector<Tensor>& grad_in) {
  if (!grad_out[0].is_valid() || !is_float(out[0].dtype()))
    return Status::ok();
  const DType dt = out[0].dtype();
  const Shape& ys = out[0].shape();
  const Tensor gy = grad_as(grad_out[0], dt, ys);
  std::vector<Tensor> xs;
  for (const Tensor& t : in)
    xs.push_back(expand_to(t, dt, ys));
  std::vector<Tensor> gs;
  for (size_t k = 0; k < in.size(); ++k)
    gs.push_back(grad_as(Tensor(), dt, ys));
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(dt, T, {
    const T* py = out[0].data<T>();
    const T* pg = gy.data<T>();
    for (int64_t i = 0; i < gy.numel(); ++i)
      for (size_t k = 0; k < xs.size(); ++k)
        if (xs[k].data<T>()[i] == py[i]) {
          gs[k].data<T>()[i] = pg[i];
          break;
        }
  }));
  for (size_t k = 0; k < in.size(); ++k)
    if (in[k].dtype() == dt)
      grad_in[k] = sum_to_shape(gs[k], in[k].shape());
  return Status::ok();
}

}  // namespace nncert::ops

namespace nncert::ops {

// Direct-loop VJP of Conv (transpose = false: y[n,m,o] += x[n,c,o*s-pb+k*d] * w[m,c%Cg,k]) and
// ConvTranspose (transpose = true: y[n,m,i*s-pb+k*d] += x[n,c,i] * w[c,m%Mg,k]); fills gx, gw
// (same shapes as x, w) and gb ([channels of y], or nullptr) from gy. Up to 3 spatial dims.
template <class T>
void conv_vjp_loops(const kernels::ConvParams& p,
                    bool transpose,
                    const Tensor& x,
                    const Tensor& w,
                    const Tensor& gy,
                    Tensor& gx,
                    Tensor& gw,
                    T* gb) {
  const Shape& xs = x.shape();
  const Shape& ys = gy.shape();
  const Shape& ws = w.shape();
  const size_t r = xs.size() - 2;
  // Spatial geometry padded to 3 dims; "lo" is the side the kernel index maps from (conv: y,
  // transpose: x), "hi" the side it reads / writes at o*s - pb + k*d.
  int64_t lo[3] = {1, 1, 1}, hi[3] = {1, 1, 1}, ker[3] = {1, 1, 1}, st[3] = {1, 1, 1},
          dil[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
  for (size_t i = 0; i < r; ++i) {
    lo[i] = transpose ? xs[2 + i] : ys[2 + i];
    hi[i] = transpose ? ys[2 + i] : xs[2 + i];
    ker[i] = ws[2 + i];
    st[i] = p.stride[i];
    dil[i] = p.dilation[i];
    pb[i] = p.pad_begin[i];
  }
  const int64_t batch = xs[0];
  const int64_t cx = xs[1];
  const int64_t cy = ys[1];
  const int64_t g = p.groups;
  const int64_t cxg = cx / g;
  const int64_t cyg = cy / g;
  const int64_t lo_n = lo[0] * lo[1] * lo[2];
  const int64_t hi_n = hi[0] * hi[1] * hi[2];
  const int64_t k_n = ker[0] * ker[1] * ker[2];
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  const T* pg = gy.data<T>();
  T* pgx = gx.data<T>();
  T* pgw = gw.data<T>();
  std::fill(pgx, pgx + gx.numel(), T(0));
  std::fill(pgw, pgw + gw.numel(), T(0));
  if (gb)
    std::fill(gb, gb + cy, T(0));
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t grp = 0; grp < g; ++grp)
      for (int64_t mo = 0; mo < cyg; ++mo)
        for (int64_t ci = 0; ci < cxg; ++ci) {
          const int64_t m = grp * cyg + mo;
          const int64_t c = grp * cxg + ci;
          // Weight slice: conv w[m, ci, k], transpose w[c, mo, k].
          const int64_t w0 = transpose ? (c * cyg + mo) * k_n : (m * cxg + ci) * k_n;
          const int64_t x0 = (n * cx + c) * (transpose ? lo_n : hi_n);
          const int64_t y0 = (n * cy + m) * (transpose ? hi_n : lo_n);
          for (int64_t a0 = 0; a0 < lo[0]; ++a0)
            for (int64_t a1 = 0; a1 < lo[1]; ++a1)
              for (int64_t a2 = 0; a2 < lo[2]; ++a2)
                for (int64_t k0 = 0; k0 < ker[0]; ++k0)
                  for (int64_t k1 = 0; k1 < ker[1]; ++k1)
                    for (int64_t k2 = 0; k2 < ker[2]; ++k2) {
                      const int64_t h0 = a0 * st[0] - pb[0] + k0 * dil[0];
                      const int64_t h1 = a1 * st[1] - pb[1] + k1 * dil[1];
                      const int64_t h2 = a2 * st[2] - pb[2] + k2 * dil[2];
                      if (h0 < 0 || h0 >= hi[0] || h1 < 0 || h1 >= hi[1] || h2 < 0 || h2 >= hi[2])
                        continue;
                      const int64_t li = (a0 * lo[1] + a1) * lo[2] + a2;
                      const int64_t hix = (h0 * hi[1] + h1) * hi[2] + h2;
                      const int64_t wi = w0 + (k0 * ker[1] + k1) * ker[2] + k2;
                      const int64_t xi = x0 + (transpose ? li : hix);
                      const int64_t yi = y0 + (transpose ? hix : li);
                      pgx[xi] += pg[yi] * pw[wi];
                      pgw[wi] += pg[yi] * px[xi];
                    }
        }
  if (gb)
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t m = 0; m < cy; ++m)
        for (int64_t i = 0; i < (transpose ? hi_n : lo_n); ++i)
          gb[m] += pg[(n * cy + m) * (transpose ? hi_n : lo_n) + i];
}

}  // namespace nncert::ops

namespace nncert::ops {

// Calls f(yi, xi) for every pooling window cell inside x: yi the flat output index, xi the flat
// input index of the cell at o*s - pb + k*d. Up to 3 spatial dims.
template <class F>
void for_each_pool_cell(const kernels::PoolParams& p, const Shape& xs, const Shape& ys, F f) {
  const size_t r = xs.size() - 2;
  int64_t in[3] = {1, 1, 1}, on[3] = {1, 1, 1}, ker[3] = {1, 1, 1}, st[3] = {1, 1, 1},
          dil[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
  for (size_t i = 0; i < r; ++i) {
    in[i] = xs[2 + i];
    on[i] = ys[2 + i];
    ker[i] = p.kernel[i];
    st[i] = p.stride[i];
    dil[i] = i < p.dilation.size() ? p.dilation[i] : 1;
    pb[i] = p.pad_begin[i];
  }
  const int64_t planes = xs[0] * xs[1];
  const int64_t in_n = in[0] * in[1] * in[2];
  const int64_t on_n = on[0] * on[1] * on[2];
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t o0 = 0; o0 < on[0]; ++o0)
      for (int64_t o1 = 0; o1 < on[1]; ++o1)
        for (int64_t o2 = 0; o2 < on[2]; ++o2)
          for (int64_t k0 = 0; k0 < ker[0]; ++k0)
            for (int64_t k1 = 0; k1 < ker[1]; ++k1)
              for (int64_t k2 = 0; k2 < ker[2]; ++k2) {
                const int64_t h0 = o0 * st[0] - pb[0] + k0 * dil[0];
                const int64_t h1 = o1 * st[1] - pb[1] + k1 * dil[1];
                const int64_t h2 = o2 * st[2] - pb[2] + k2 * dil[2];
                if (h0 < 0 || h0 >= in[0] || h1 < 0 || h1 >= in[1] || h2 < 0 || h2 >= in[2])
                  continue;
                f(pl * on_n + (o0 * on[1] + o1) * on[2] + o2,
                  pl * in_n + (h0 * in[1] + h1) * in[2] + h2);
              }
}

// The whole VJP of Conv / ConvTranspose once the op has resolved its parameters: gradients for X,
// W (when float like X) and the optional bias B from the output gradient, each only when
// ctx.wants_grad. The input gradient of one is the other's forward pass with the same weight and
// parameters (the adjoint map; extents come from x's shape, so output_padding needs no care):
//   Conv:          dL/dx = conv_transpose(dL/dy, W),   ConvTranspose: dL/dx = conv(dL/dy, W);
// the weight gradient is kernels::conv_weight_grad (im2col + GEMM), dL/db[m] = sum_{n,o} dL/dy.
// conv_vjp_loops above is the direct-loop reference the tests compare against.
inline Status conv_family_vjp(const kernels::ConvParams& p,
                              bool transpose,
                              std::span<const Tensor> in,
                              std::span<const Tensor> out,
                              std::span<const Tensor> grad_out,
                              std::vector<Tensor>& grad_in,
                              const ExecContext& ctx) {
  const Tensor& x = in[0];
  const DType dt = x.dtype();
  const Tensor w = in[1].to(dt);
  const Tensor gy = grad_as(grad_out[0], dt, out[0].shape());
  const bool want_x = ctx.wants_grad(0);
  const bool want_w = ctx.wants_grad(1) && in[1].dtype() == dt;
  const bool want_b = has_input(in, 2) && ctx.wants_grad(2) && in[2].dtype() == dt;
  const int threads = ctx.threads;
  return NNCERT_FLOAT_DISPATCH(dt, T, {
    const T* pg = gy.data<T>();
    if (want_x) {
      Tensor gx(dt, x.shape());
      if (transpose)
        kernels::conv_forward<T>(
            p, gy.shape(), pg, w.shape(), w.data<T>(), nullptr, x.shape(), gx.data<T>(), threads);
      else
        kernels::conv_transpose_forward<T>(
            p, gy.shape(), pg, w.shape(), w.data<T>(), nullptr, x.shape(), gx.data<T>(), threads);
      grad_in[0] = gx;
    }
    if (want_w) {
      Tensor gw(dt, w.shape());
      if (transpose)
        kernels::conv_weight_grad<T>(
            p, gy.shape(), pg, x.shape(), x.data<T>(), w.shape(), gw.data<T>(), threads);
      else
        kernels::conv_weight_grad<T>(
            p, x.shape(), x.data<T>(), gy.shape(), pg, w.shape(), gw.data<T>(), threads);
      grad_in[1] = gw;
    }
    if (want_b) {
      // dL/db[m] = sum over batch and positions of dL/dy[n, m, .]
      const int64_t batch = gy.dim(0);
      const int64_t m = gy.dim(1);
      const int64_t per = batch * m == 0 ? 0 : gy.numel() / (batch * m);
      Tensor gb(dt, in[2].shape());
      T* pb = gb.data<T>();
      std::fill(pb, pb + m, T(0));
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t c = 0; c < m; ++c) {
          const T* row = pg + (n * m + c) * per;
          T acc = 0;
          for (int64_t i = 0; i < per; ++i)
            acc += row[i];
          pb[c] += acc;
        }
      grad_in[2] = gb;
    }
  });
}

}  // namespace nncert::ops
