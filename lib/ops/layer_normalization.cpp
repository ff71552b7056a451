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

// CROWN, per normalised group of n values with input intervals [l, u] (scale g and bias b
// constant): y_i = z_i g_i + b_i with z_i = d_i r, d_i = x_i - mean(x) (linear in x, interval
// [dl_i, dh_i] as in the interval rule), r = (v + eps)^(-1/2), v = (1/n) sum_j d_j^2 in [v_lo,
// v_hi] (v_lo = (1/n) sum_j min d_j^2 over [dl_j, dh_j]), so r in [r_lo, r_hi] = [R(v_hi),
// R(v_lo)].
//  * v between two planes in d with the same slopes c_j = (dl_j + dh_j) / n (chord above, tangent
//    at the midpoint below, of each d_j^2):  D + kL <= v <= D + kU,  D = sum_j c_j d_j,
//    kU = -(1/n) sum_j dl_j dh_j,  kL = -(1/n) sum_j ((dl_j + dh_j)/2)^2;
//  * R is convex and decreasing: r >= R(v0) + R'(v0) (D + kU - v0) (tangent at v0 = mid of
//    [v_lo, v_hi]) and r <= R(v_lo) + s (D + kL - v_lo) (chord slope s <= 0 on [v_lo, v_hi]);
//  * z_i = d_i r by McCormick: z_i >= r_lo d_i + dl_i r - dl_i r_lo and
//    z_i <= r_hi d_i + dl_i r - dl_i r_hi, with dl_i r replaced by dl_i times the lower line of r
//    (lower plane, dl_i >= 0) or its upper line (otherwise), and the reverse for the upper plane.
// A plane whose worst value over the input box passes the constant bound |z_i| <= sqrt(n - 1)
// (a standardised value never exceeds it) is replaced by that constant; so is every plane of a
// group with a non-finite bound.
Status crown(const Node& node,
             std::span<const Interval> in_bounds,
             std::span<const bool> is_const,
             std::span<const TypeInfo> /*out_types*/,
             const Tensor& a,
             bool lower,
             std::vector<Tensor>& a_in,
             Tensor& bias,
             const ExecContext& /*ctx*/) {
  for (size_t i = 1; i < in_bounds.size(); ++i)
    if (in_bounds[i].lo.is_valid() && !is_const[i])
      return unsupported("CROWN through LayerNormalization needs constant scale and bias");
  const Tensor xl = in_bounds[0].lo.to(DType::kF64);
  const Tensor xh = in_bounds[0].hi.to(DType::kF64);
  NNCERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node.attrs.get_int("axis", -1), xl.rank()));
  const double eps = node.attrs.get_float("epsilon", 1e-5);
  int64_t outer = 1, n = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= xl.dim(d);
  for (int64_t d = axis; d < xl.rank(); ++d)
    n *= xl.dim(d);
  const int64_t total = xl.numel();
  const int64_t s = a.dim(0);
  if (a.numel() != s * total)
    return shape_error("LayerNormalization coefficient rows do not match the output");
  const Tensor scale = in_bounds[1].lo.to(DType::kF64);
  const bool has_bias = in_bounds.size() > 2 && in_bounds[2].lo.is_valid();
  const Tensor shift = has_bias ? in_bounds[2].lo.to(DType::kF64) : Tensor();
  const double* pl = xl.data<double>();
  const double* ph = xh.data<double>();
  const double nn = static_cast<double>(n);
  const double cap = std::sqrt(std::max(nn - 1, 0.0));
  auto rfun = [eps](double v) {
    return 1 / std::sqrt(v + eps);
  };
  // Per element: the planes z_i >= al_i d_i + bl_i D + kl_i and z_i <= au_i d_i + bu_i D + ku_i,
  // and per element the slope c_i of D (D's coefficient on x_k is c_k - mean(c)).
  const auto nt = static_cast<size_t>(total);
  std::vector<double> al(nt), bl(nt), kl(nt), au(nt), bu(nt), ku(nt), c(nt), cbar(nt);
  std::vector<double> dl(static_cast<size_t>(n)), dh(static_cast<size_t>(n));
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t base = o * n;
    const auto b0 = static_cast<size_t>(base);
    bool finite = true;
    double sum_l = 0, sum_h = 0;
    for (int64_t j = 0; j < n; ++j) {
      finite = finite && std::isfinite(pl[base + j]) && std::isfinite(ph[base + j]);
      sum_l += pl[base + j];
      sum_h += ph[base + j];
    }
    if (!finite) {
      for (int64_t i = 0; i < n; ++i) {
        kl[b0 + static_cast<size_t>(i)] = -cap;
        ku[b0 + static_cast<size_t>(i)] = cap;
      }
      continue;
    }
    double v_lo = 0, v_hi = 0, k_up = 0, k_lo = 0, c_mean = 0;
    for (int64_t j = 0; j < n; ++j) {
      const auto u = static_cast<size_t>(j);
      const double lj = pl[base + j], hj = ph[base + j];
      dl[u] = (1 - 1 / nn) * lj - (sum_h - hj) / nn;
      dh[u] = (1 - 1 / nn) * hj - (sum_l - lj) / nn;
      v_hi += std::max(dl[u] * dl[u], dh[u] * dh[u]) / nn;
      v_lo += (dl[u] > 0 ? dl[u] * dl[u] : dh[u] < 0 ? dh[u] * dh[u] : 0.0) / nn;
      const double cj = (dl[u] + dh[u]) / nn;
      c[b0 + u] = cj;
      c_mean += cj / nn;
      k_up -= dl[u] * dh[u] / nn;
      const double t = (dl[u] + dh[u]) / 2;
      k_lo -= t * t / nn;
    }
    const double r_lo = rfun(v_hi), r_hi = rfun(v_lo);
    // Lines of r in D: r >= rho_l D + sig_l, r <= rho_u D + sig_u.
    const double v0 = (v_lo + v_hi) / 2;
    const double g0 = rfun(v0), dg0 = -0.5 * g0 / (v0 + eps);
    const double rho_l = dg0, sig_l = g0 + dg0 * (k_up - v0);
    const double slope = v_hi > v_lo ? (r_lo - r_hi) / (v_hi - v_lo) : 0.0;
    const double rho_u = slope, sig_u = r_hi + slope * (k_lo - v_lo);
    for (int64_t i = 0; i < n; ++i) {
      const auto u = static_cast<size_t>(i);
      const size_t e = b0 + u;
      cbar[e] = c_mean;
      const double m = dl[u];
      // Lower: r_lo d + m r - m r_lo, m r >= m (lower line) if m >= 0 else m (upper line).
      al[e] = r_lo;
      bl[e] = m * (m >= 0 ? rho_l : rho_u);
      kl[e] = m * (m >= 0 ? sig_l : sig_u) - m * r_lo;
      // Upper: r_hi d + m r - m r_hi, m r <= m (upper line) if m >= 0 else m (lower line).
      au[e] = r_hi;
      bu[e] = m * (m >= 0 ? rho_u : rho_l);
      ku[e] = m * (m >= 0 ? sig_u : sig_l) - m * r_hi;
    }
    // Where a plane, at its worst over the input box, is looser than the constant bound
    // |z_i| <= sqrt(n - 1), take the constant instead.
    for (int64_t i = 0; i < n; ++i) {
      const size_t e = b0 + static_cast<size_t>(i);
      double lo = kl[e], hi = ku[e];
      for (int64_t k = 0; k < n; ++k) {
        const double dk = (k == i ? 1.0 : 0.0) - 1 / nn,
                     ck = c[b0 + static_cast<size_t>(k)] - c_mean;
        const double ql = al[e] * dk + bl[e] * ck, qu = au[e] * dk + bu[e] * ck;
        lo += ql >= 0 ? ql * pl[base + k] : ql * ph[base + k];
        hi += qu >= 0 ? qu * ph[base + k] : qu * pl[base + k];
      }
      if (!(lo >= -cap)) {
        al[e] = bl[e] = 0;
        kl[e] = -cap;
      }
      if (!(hi <= cap)) {
        au[e] = bu[e] = 0;
        ku[e] = cap;
      }
    }
  }
  a_in.assign(in_bounds.size(), Tensor());
  a_in[0] = Tensor(DType::kF64, {s, total});
  const Tensor ad = a.to(DType::kF64);
  const double* pa = ad.data<double>();
  double* po = a_in[0].data<double>();
  const double* psc = scale.data<double>();
  const double* psh = has_bias ? shift.data<double>() : nullptr;
  const int64_t nsc = scale.numel(), nsh = has_bias ? shift.numel() : 1;
  std::vector<double> w(static_cast<size_t>(n));
  for (int64_t r = 0; r < s; ++r) {
    double acc = 0;
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t base = o * n;
      double sum_a = 0, sum_b = 0;
      for (int64_t i = 0; i < n; ++i) {
        const auto e = static_cast<size_t>(base + i);
        const double ci = pa[r * total + base + i];
        if (psh != nullptr)
          acc += ci * psh[i % nsh];
        const double cz = ci * psc[i % nsc];  // the coefficient on z_i
        const bool use_lower = (cz >= 0) == lower;
        const double alpha = use_lower ? al[e] : au[e];
        acc += cz * (use_lower ? kl[e] : ku[e]);
        w[static_cast<size_t>(i)] = cz * alpha;
        sum_a += cz * alpha;
        sum_b += cz * (use_lower ? bl[e] : bu[e]);
      }
      // d_i = x_i - mean(x);  D = sum_k (c_k - mean(c)) x_k.
      for (int64_t k = 0; k < n; ++k) {
        const auto e = static_cast<size_t>(base + k);
        po[r * total + base + k] +=
            w[static_cast<size_t>(k)] - sum_a / nn + sum_b * (c[e] - cbar[e]);
      }
    }
    bias.set(r, bias.get(r) + acc);
  }
  return Status::ok();
}

}  // namespace

extern const OpDef kOpLayerNormalization{
    "LayerNormalization", 2, 3, &infer, &forward, nullptr, &ibp, &vjp, &crown, true};

}  // namespace nncert::ops
