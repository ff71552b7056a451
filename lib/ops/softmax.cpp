// Softmax: y = exp(x - max) / sum exp(x - max) along `axis` (opset >= 13, default -1). Models of
// opset < 13 get attribute legacy_2d = 1 from the ONNX frontend: the input is then coerced to 2-D
// at `axis` (default 1) and the softmax runs over all trailing dimensions together.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// The softmax groups of x: `outer` blocks, each holding `inner` interleaved groups of `n`
// values (stride `inner`). Legacy (opset < 13): one group of all trailing dims from `axis`.
struct SoftmaxLayout {
  int64_t outer = 1, n = 1, inner = 1;
};

Expected<SoftmaxLayout> softmax_layout(const Node& node, const Shape& shape) {
  const auto rank = static_cast<int64_t>(shape.size());
  const bool legacy = node.attrs.get_int("legacy_2d", 0) != 0;
  NNCERT_ASSIGN_OR_RETURN(int64_t axis,
                          normalize_axis(node.attrs.get_int("axis", legacy ? 1 : -1), rank));
  SoftmaxLayout l;
  for (int64_t d = 0; d < axis; ++d)
    l.outer *= shape[static_cast<size_t>(d)];
  if (legacy) {
    for (int64_t d = axis; d < rank; ++d)
      l.n *= shape[static_cast<size_t>(d)];
  } else {
    l.n = shape[static_cast<size_t>(axis)];
    for (int64_t d = axis + 1; d < rank; ++d)
      l.inner *= shape[static_cast<size_t>(d)];
  }
  return l;
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "the input"));
  if (in[0].shape_known) {
    const bool legacy = node.attrs.get_int("legacy_2d", 0) != 0;
    const auto rank = static_cast<int64_t>(in[0].shape.size());
    NNCERT_RETURN_IF_ERROR(
        normalize_axis(node.attrs.get_int("axis", legacy ? 1 : -1), rank).status());
  }
  return infer_same(node, in, out);
}

// y_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const Tensor& x = in[0];
  NNCERT_ASSIGN_OR_RETURN(const SoftmaxLayout lay, softmax_layout(node, x.shape()));
  const int64_t outer = lay.outer, n = lay.n, inner = lay.inner;
  out[0] = Tensor(x.dtype(), x.shape());
  if (x.numel() == 0)
    return Status::ok();  // nothing to normalise (and no xs[0] to read)
  return NNCERT_FLOAT_DISPATCH(x.dtype(), T, {
    const T* px = x.data<T>();
    T* py = out[0].data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < inner; ++k) {
        const T* xs = px + o * n * inner + k;
        T* ys = py + o * n * inner + k;
        T m = xs[0];
        for (int64_t i = 1; i < n; ++i)
          m = std::max(m, xs[i * inner]);
        T sum = 0;
        for (int64_t i = 0; i < n; ++i)
          sum += (ys[i * inner] = std::exp(xs[i * inner] - m));
        for (int64_t i = 0; i < n; ++i)
          ys[i * inner] /= sum;
      }
  });
}

// y_i = 1 / (1 + sum_{j != i} exp(x_j - x_i)) is increasing in x_i and decreasing in x_j, so
//   lo_i = 1 / (1 + sum_{j != i} exp(hi_j - lo_i)),  hi_i = 1 / (1 + sum_{j != i} exp(lo_j - hi_i))
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  const Tensor& xl = in[0].lo;
  const Tensor& xh = in[0].hi;
  NNCERT_ASSIGN_OR_RETURN(const SoftmaxLayout lay, softmax_layout(node, xl.shape()));
  const int64_t outer = lay.outer, n = lay.n, inner = lay.inner;
  Interval r{Tensor(xl.dtype(), xl.shape()), Tensor(xl.dtype(), xl.shape())};
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) {
      const int64_t base = o * n * inner + k;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t ii = base + i * inner;
        double sl = 0, sh = 0;
        for (int64_t j = 0; j < n; ++j) {
          if (j == i)
            continue;
          const int64_t jj = base + j * inner;
          sl += std::exp(xh.get(jj) - xl.get(ii));
          sh += std::exp(xl.get(jj) - xh.get(ii));
        }
        r.lo.set(ii, 1 / (1 + sl));
        r.hi.set(ii, 1 / (1 + sh));
      }
    }
  out = {r};
  return Status::ok();
}

// dL/dx_i = y_i * (dL/dy_i - sum_j dL/dy_j y_j) along the softmax axis (axes, legacy_2d)
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
  NNCERT_ASSIGN_OR_RETURN(const SoftmaxLayout lay, softmax_layout(node, x.shape()));
  const int64_t outer = lay.outer, n = lay.n, inner = lay.inner;
  const Tensor gy = grad_as(grad_out[0], dt, x.shape());
  const Tensor y = out[0].dtype() == dt ? out[0] : out[0].to(dt);
  Tensor gx(dt, x.shape());
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(dt, T, {
    const T* py = y.data<T>();
    const T* pg = gy.data<T>();
    T* po = gx.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < inner; ++k) {
        const int64_t base = o * n * inner + k;
        T dot = 0;
        for (int64_t i = 0; i < n; ++i)
          dot += pg[base + i * inner] * py[base + i * inner];
        for (int64_t i = 0; i < n; ++i)
          po[base + i * inner] = py[base + i * inner] * (pg[base + i * inner] - dot);
      }
  }));
  grad_in[0] = gx;
  return Status::ok();
}

// CROWN: the LSE relaxation of Wei et al. (AISTATS 2023), as auto_LiRPA's BoundSoftmax (option
// 'lse'), per softmax group x_1..x_n in [l, u] with tangent point x0 = (l + u) / 2:
//  * lower: e^{x_j} <= k_j x_j + b_j (chord of exp on [l_j, u_j]), so with SE(x) = sum_j k_j x_j +
//  b_j
//    y_k >= L_k(x) = e^{x_k} / SE(x), which is convex (exp of x_k - log SE(x)); its tangent at x0:
//      y_k >= L_k(x0) + sum_j (L_k(x0) [j = k] - L_k(x0) k_j / SE(x0)) (x_j - x0_j);
//  * upper: y_k = e^{-t}, t = LSE(x) - x_k, with y_k in [p_k, P_k] (the interval rule), and e^{-t}
//    convex in t, so y_k <= a_k - c_k t (chord through (-log P_k, P_k), (-log p_k, p_k):
//    c_k = (P_k - p_k) / (log P_k - log p_k)), concave in x; its tangent at x0:
//      y_k <= a_k - c_k (LSE(x0) - x0_k) + sum_j c_k ([j = k] - softmax_j(x0)) (x_j - x0_j).
//    c_k = 0 (y_k <= P_k) where P_k = p_k or p_k underflows to 0.
// Everything is computed after shifting x by max_j u_j (the relaxation's slopes do not change).
// A group with a non-finite bound gets the constant bounds 0 <= y_k <= 1.
Status crown(const Node& node,
             std::span<const Interval> in_bounds,
             std::span<const bool> /*is_const*/,
             std::span<const TypeInfo> /*out_types*/,
             const Tensor& a,
             bool lower,
             std::vector<Tensor>& a_in,
             Tensor& bias,
             const ExecContext& /*ctx*/) {
  const Tensor xl = in_bounds[0].lo.to(DType::kF64);
  const Tensor xh = in_bounds[0].hi.to(DType::kF64);
  NNCERT_ASSIGN_OR_RETURN(const SoftmaxLayout lay, softmax_layout(node, xl.shape()));
  const int64_t outer = lay.outer, n = lay.n, inner = lay.inner;
  const int64_t total = xl.numel();
  const int64_t s = a.dim(0);
  if (a.numel() != s * total)
    return shape_error("Softmax coefficient rows do not match the output");
  const double* pl = xl.data<double>();
  const double* ph = xh.data<double>();
  // Per element: the lower tangent L (diagonal), V = L / SE(x0), the chord slope k; the upper
  // c, softmax(x0) sm; the two planes' constant terms bl, bu (absolute, at x = 0); `flat` marks
  // groups with constant bounds.
  const auto nt = static_cast<size_t>(total);
  std::vector<double> vl(nt), vv(nt), vk(nt), vc(nt), vs(nt), vbl(nt), vbu(nt);
  std::vector<char> flat(nt, 0);
  const auto un = static_cast<size_t>(n);
  std::vector<double> ls(un), us(un), x0(un), ex(un), p_lo(un), p_hi(un);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t q = 0; q < inner; ++q) {
      const int64_t base = o * n * inner + q;
      auto at = [&](int64_t i) {
        return static_cast<size_t>(base + i * inner);
      };
      bool finite = true;
      double mu = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < n; ++i) {
        finite = finite && std::isfinite(pl[at(i)]) && std::isfinite(ph[at(i)]);
        mu = std::max(mu, ph[at(i)]);
      }
      if (!finite) {
        for (int64_t i = 0; i < n; ++i) {
          flat[at(i)] = 1;
          vbl[at(i)] = 0;
          vbu[at(i)] = 1;
        }
        continue;
      }
      // Shifted bounds and tangent point; the chord of exp on [ls, us].
      double se0 = 0, x0max = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < n; ++i) {
        const auto u = static_cast<size_t>(i);
        ls[u] = pl[at(i)] - mu;
        us[u] = ph[at(i)] - mu;
        x0[u] = (ls[u] + us[u]) / 2;
        x0max = std::max(x0max, x0[u]);
        const double el = std::exp(ls[u]);
        const double d = us[u] - ls[u];
        // (e^u - e^l) / (u - l) = e^l expm1(d) / d, exact as d -> 0
        const double k = d > 0 ? el * std::expm1(d) / d : el;
        vk[at(i)] = k;
        const double b = el - k * ls[u];  // through (l, e^l)
        se0 += k * x0[u] + b;
      }
      double sum0 = 0;
      for (int64_t i = 0; i < n; ++i) {
        const auto u = static_cast<size_t>(i);
        ex[u] = std::exp(x0[u] - x0max);
        sum0 += ex[u];
      }
      const double lse0 = x0max + std::log(sum0);  // shifted LSE(x0)
      // Interval bounds p (lower) and P (upper) of each y_k.
      double sum_u = 0, sum_l = 0;
      for (int64_t i = 0; i < n; ++i) {
        sum_u += std::exp(us[static_cast<size_t>(i)]);
        sum_l += std::exp(ls[static_cast<size_t>(i)]);
      }
      for (int64_t i = 0; i < n; ++i) {
        const auto u = static_cast<size_t>(i);
        const double eu = std::exp(us[u]), el = std::exp(ls[u]);
        p_lo[u] = el / (el + std::max(sum_u - eu, 0.0));
        p_hi[u] = eu / (eu + std::max(sum_l - el, 0.0));
      }
      // Dot products with the (shifted) tangent point for the constant terms.
      double kx0 = 0, smx0 = 0, ksum = 0;
      for (int64_t i = 0; i < n; ++i) {
        const auto u = static_cast<size_t>(i);
        kx0 += vk[at(i)] * x0[u];
        ksum += vk[at(i)];
        smx0 += ex[u] / sum0 * x0[u];
      }
      for (int64_t i = 0; i < n; ++i) {
        const auto u = static_cast<size_t>(i);
        const size_t e = at(i);
        // Lower plane: J_L = diag(L) - V k^T at x0; constant (shifted) L(x0) - J_L x0.
        const double lk = std::exp(x0[u]) / se0;
        vl[e] = lk;
        vv[e] = lk / se0;
        const double bl_shift = lk - lk * x0[u] + vv[e] * kx0;
        // Upper plane: J_U = c (e_k - softmax(x0))^T; constant U(x0) - J_U x0.
        const double pd = p_hi[u] - p_lo[u];
        const double logd = std::log(p_hi[u]) - std::log(p_lo[u]);
        const double c = (pd > 0 && std::isfinite(logd) && logd > 0) ? pd / logd : 0.0;
        const double ak = c == 0 ? p_hi[u] : p_hi[u] - c * std::log(p_hi[u]);
        vc[e] = c;
        vs[e] = ex[u] / sum0;
        const double u0 = ak - c * (lse0 - x0[u]);
        const double bu_shift = u0 - c * x0[u] + c * smx0;
        // Planes in shifted x_s = x - mu: J x_s + b = J x + (b - mu * sum_j J_kj).
        //   sum_j J_L[k][j] = L_k - V_k sum_j k_j;  sum_j J_U[k][j] = c_k (1 - 1) = 0.
        vbl[e] = bl_shift - mu * (lk - vv[e] * ksum);
        vbu[e] = bu_shift;
      }
    }
  a_in.assign(1, Tensor(DType::kF64, {s, total}));
  const Tensor ad = a.to(DType::kF64);
  const double* pa = ad.data<double>();
  double* po = a_in[0].data<double>();
  for (int64_t r = 0; r < s; ++r) {
    const double* c = pa + r * total;
    double* g = po + r * total;
    double acc = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t q = 0; q < inner; ++q) {
        const int64_t base = o * n * inner + q;
        // Coefficients meeting the lower plane (cl) and the upper plane (cu) of each output.
        double sum_lv = 0, sum_uc = 0;
        for (int64_t i = 0; i < n; ++i) {
          const auto e = static_cast<size_t>(base + i * inner);
          const double ci = c[e];
          const bool use_lower = (ci >= 0) == lower;
          acc += ci * (use_lower ? vbl[e] : vbu[e]);
          if (flat[e])
            continue;
          if (use_lower) {
            g[e] += ci * vl[e];
            sum_lv += ci * vv[e];
          } else {
            g[e] += ci * vc[e];
            sum_uc += ci * vc[e];
          }
        }
        if (sum_lv == 0 && sum_uc == 0)
          continue;
        for (int64_t j = 0; j < n; ++j) {
          const auto e = static_cast<size_t>(base + j * inner);
          if (!flat[e])
            g[e] -= sum_lv * vk[e] + sum_uc * vs[e];
        }
      }
    bias.set(r, bias.get(r) + acc);
  }
  return Status::ok();
}

}  // namespace

extern const OpDef kOpSoftmax{"Softmax", 1, 1, &infer, &forward, nullptr, &ibp, &vjp, &crown, true};

}  // namespace nncert::ops
