// The affine ops of the exact encoding: every output element is a fresh variable equal to an
// exact rational linear combination of its inputs, with its known interval asserted.
#include <cmath>

#include "ops/spatial.h"
#include "smt/encoder.h"

namespace nncert::smt {

namespace {

// Row-major flat index of a multi-index.
int64_t ravel(const std::vector<int64_t>& idx, const Shape& dims) {
  int64_t f = 0;
  for (size_t d = 0; d < dims.size(); ++d)
    f = f * dims[d] + idx[d];
  return f;
}

std::vector<int64_t> unravel_index(int64_t f, const Shape& dims) {
  std::vector<int64_t> idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = f % dims[d];
    f /= dims[d];
  }
  return idx;
}

// Accumulates sum_k c_k * e_k with exact coefficients, skipping zero coefficients.
struct LinSum {
  explicit LinSum(z3::context& ctx) : v(ctx) {}
  void add(double c, const z3::expr& e) {
    if (c == 0)
      return;
    v.push_back(c == 1 ? e : real_num(e.ctx(), c) * e);
  }
  void add(const z3::expr& e) { v.push_back(e); }
  z3::expr sum(z3::context& ctx) const { return v.empty() ? ctx.real_val(0) : z3::sum(v); }
  z3::expr_vector v;
};

}  // namespace

// Y = alpha * A' B' + beta * C, A' = A or A^T, B' = B or B^T; A or B constant.
Status Encoder::gemm(const Node& n) {
  const ValueId a = n.inputs[0], b = n.inputs[1];
  const ValueId c = n.inputs.size() > 2 ? n.inputs[2] : kNoValue;
  const bool ca = g_.is_constant(a), cb = g_.is_constant(b);
  if (!ca && !cb)
    return unsupported(n, "product of two variables is not linear");
  const bool ta = n.attrs.get_int("transA", 0) != 0, tb = n.attrs.get_int("transB", 0) != 0;
  const double alpha = n.attrs.get_float("alpha", 1.0), beta = n.attrs.get_float("beta", 1.0);
  const ValueId out = n.outputs[0];
  const int64_t m = shape(out)[0], nn = shape(out)[1];
  const int64_t k = shape(a)[ta ? 0 : 1];
  const Terms& xa = terms(a);
  const Terms& xb = terms(b);
  const std::vector<double> wa =
      ca ? g_.value(a).constant->to_double_vector() : std::vector<double>{};
  const std::vector<double> wb =
      cb ? g_.value(b).constant->to_double_vector() : std::vector<double>{};
  const Shape cs = c != kNoValue ? shape(c) : Shape{};
  Terms y;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < nn; ++j) {
      LinSum s(ctx_);
      for (int64_t q = 0; q < k; ++q) {
        const auto ia = static_cast<size_t>(ta ? q * m + i : i * k + q);
        const auto ib = static_cast<size_t>(tb ? j * k + q : q * nn + j);
        if (ca)
          s.add(wa[ia], xb[ib]);
        else
          s.add(wb[ib], xa[ia]);
      }
      z3::expr e = s.sum(ctx_);
      if (alpha != 1)
        e = real_num(ctx_, alpha) * e;
      if (c != kNoValue && beta != 0) {
        // C broadcasts to [M, N] (unidirectionally).
        int64_t ci = 0;
        if (cs.size() == 2)
          ci = (cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j);
        else if (cs.size() == 1)
          ci = cs[0] == 1 ? 0 : j;
        const z3::expr& ce = terms(c)[static_cast<size_t>(ci)];
        e = e + (beta == 1 ? ce : real_num(ctx_, beta) * ce);
      }
      const auto [lo, hi] = bound(out, i * nn + j);
      y.push_back(define(e, lo, hi));
    }
  vals_[static_cast<size_t>(out)] = std::move(y);
  has_[static_cast<size_t>(out)] = 1;
  return Status::ok();
}

// numpy matmul with one constant operand: [..., M, K] x [..., K, N], batch dims broadcast; a
// rank-1 operand is a row (A) or a column (B).
Status Encoder::mat_mul(const Node& n) {
  const ValueId a = n.inputs[0], b = n.inputs[1];
  const bool ca = g_.is_constant(a), cb = g_.is_constant(b);
  if (!ca && !cb)
    return unsupported(n, "product of two variables is not linear");
  Shape sa = shape(a), sb = shape(b);
  if (sa.size() == 1)
    sa.insert(sa.begin(), 1);
  if (sb.size() == 1)
    sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), nn = sb.back();
  const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  Shape bo(std::max(ba.size(), bb.size()), 1);
  for (size_t d = 0; d < bo.size(); ++d) {
    const int64_t da = d + ba.size() >= bo.size() ? ba[d + ba.size() - bo.size()] : 1;
    const int64_t db = d + bb.size() >= bo.size() ? bb[d + bb.size() - bo.size()] : 1;
    bo[d] = std::max(da, db);
  }
  const int64_t batches = shape_numel(bo);
  const Terms& xa = terms(a);
  const Terms& xb = terms(b);
  const std::vector<double> wa =
      ca ? g_.value(a).constant->to_double_vector() : std::vector<double>{};
  const std::vector<double> wb =
      cb ? g_.value(b).constant->to_double_vector() : std::vector<double>{};
  const ValueId out = n.outputs[0];
  Terms y;
  for (int64_t t = 0; t < batches; ++t) {
    const std::vector<int64_t> o = unravel_index(t, bo);
    auto batch_of = [&](const Shape& bs) {
      int64_t f = 0;
      for (size_t d = 0; d < bs.size(); ++d)
        f = f * bs[d] + (bs[d] == 1 ? 0 : o[d + bo.size() - bs.size()]);
      return f;
    };
    const int64_t oa = batch_of(ba) * m * k, ob = batch_of(bb) * k * nn;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < nn; ++j) {
        LinSum s(ctx_);
        for (int64_t q = 0; q < k; ++q) {
          const auto ia = static_cast<size_t>(oa + i * k + q);
          const auto ib = static_cast<size_t>(ob + q * nn + j);
          if (ca)
            s.add(wa[ia], xb[ib]);
          else
            s.add(wb[ib], xa[ia]);
        }
        const auto [lo, hi] = bound(out, static_cast<int64_t>(y.size()));
        y.push_back(define(s.sum(ctx_), lo, hi));
      }
  }
  vals_[static_cast<size_t>(out)] = std::move(y);
  has_[static_cast<size_t>(out)] = 1;
  return Status::ok();
}

// y[n,m,o] = b[m] + sum_{c in group(m), k} w[m, c - c0, k] * x[n, c, o*s - pb + k*d]
// (inside the input; padding reads 0).
Status Encoder::conv(const Node& n) {
  const ValueId x = n.inputs[0], w = n.inputs[1];
  const ValueId b = n.inputs.size() > 2 ? n.inputs[2] : kNoValue;
  if (!g_.is_constant(w) || (b != kNoValue && !g_.is_constant(b)))
    return unsupported(n, "weight and bias must be constant");
  static const ops::WindowSpec kSpec{"Conv", true, false};
  const Shape xs = shape(x), ws = shape(w);
  NNCERT_ASSIGN_OR_RETURN(ops::Window win, ops::read_window(n, kSpec, xs, &ws));
  Shape ys = {xs[0], ws[0]};
  NNCERT_RETURN_IF_ERROR(ops::window_extents(win, xs, false, ys));
  const ValueId out = n.outputs[0];
  if (ys != shape(out))
    return unsupported(n, "output shape disagrees with the window attributes");
  const size_t r = xs.size() - 2;
  const int64_t groups = win.groups, cin = xs[1], mout = ws[0];
  const int64_t cg = cin / groups, mg = mout / groups;
  const Shape in_sp(xs.begin() + 2, xs.end()), out_sp(ys.begin() + 2, ys.end());
  const Shape k_sp(ws.begin() + 2, ws.end());
  const int64_t n_out = shape_numel(out_sp), n_k = shape_numel(k_sp), n_in = shape_numel(in_sp);
  const std::vector<double> wv = g_.value(w).constant->to_double_vector();
  const Terms& xv = terms(x);
  Terms y;
  for (int64_t bi = 0; bi < xs[0]; ++bi)
    for (int64_t mo = 0; mo < mout; ++mo) {
      const int64_t c0 = (mo / mg) * cg;
      for (int64_t of = 0; of < n_out; ++of) {
        const std::vector<int64_t> o = unravel_index(of, out_sp);
        LinSum s(ctx_);
        for (int64_t kf = 0; kf < n_k; ++kf) {
          const std::vector<int64_t> kk = unravel_index(kf, k_sp);
          std::vector<int64_t> pos(r);
          bool inside = true;
          for (size_t d = 0; d < r && inside; ++d) {
            pos[d] = o[d] * win.stride[d] - win.pad_begin[d] + kk[d] * win.dilation[d];
            inside = pos[d] >= 0 && pos[d] < in_sp[d];
          }
          if (!inside)
            continue;
          const int64_t pf = ravel(pos, in_sp);
          for (int64_t c = 0; c < cg; ++c)
            s.add(wv[static_cast<size_t>((mo * cg + c) * n_k + kf)],
                  xv[static_cast<size_t>((bi * cin + c0 + c) * n_in + pf)]);
        }
        if (b != kNoValue)
          s.add(terms(b)[static_cast<size_t>(mo)]);
        const auto [lo, hi] = bound(out, static_cast<int64_t>(y.size()));
        y.push_back(define(s.sum(ctx_), lo, hi));
      }
    }
  vals_[static_cast<size_t>(out)] = std::move(y);
  has_[static_cast<size_t>(out)] = 1;
  return Status::ok();
}

// MaxPool: y = max over the window's cells inside the input (padding never wins).
// AveragePool: y = (sum over the cells inside) / count, count = cells inside the input, or with
// count_include_pad the cells inside input + explicit padding (kernels::avg_pool).
Status Encoder::pool(const Node& n, bool max) {
  if (max && n.outputs.size() > 1 && n.outputs[1] != kNoValue)
    return unsupported(n, "MaxPool indices output");
  static const ops::WindowSpec kMax{"MaxPool", false, false}, kAvg{"AveragePool", false, false};
  const ValueId x = n.inputs[0], out = n.outputs[0];
  const Shape xs = shape(x);
  NNCERT_ASSIGN_OR_RETURN(ops::PoolSetup st, ops::resolve_pool(n, max ? kMax : kAvg, xs));
  if (st.out != shape(out))
    return unsupported(n, "output shape disagrees with the window attributes");
  const bool include_pad = n.attrs.get_int("count_include_pad", 0) != 0;
  const size_t r = xs.size() - 2;
  const Shape in_sp(xs.begin() + 2, xs.end()), out_sp(st.out.begin() + 2, st.out.end());
  const Shape k_sp = st.p.kernel;
  const int64_t n_out = shape_numel(out_sp), n_k = shape_numel(k_sp), n_in = shape_numel(in_sp);
  const Terms& xv = terms(x);
  Terms y;
  for (int64_t plane = 0; plane < xs[0] * xs[1]; ++plane)
    for (int64_t of = 0; of < n_out; ++of) {
      const std::vector<int64_t> o = unravel_index(of, out_sp);
      std::vector<Candidate> cand;
      LinSum s(ctx_);
      int64_t counted = 0;
      for (int64_t kf = 0; kf < n_k; ++kf) {
        const std::vector<int64_t> kk = unravel_index(kf, k_sp);
        std::vector<int64_t> pos(r);
        bool inside = true, in_pad = true;
        for (size_t d = 0; d < r; ++d) {
          const int64_t dil = st.p.dilation.empty() ? 1 : st.p.dilation[d];
          pos[d] = o[d] * st.p.stride[d] - st.p.pad_begin[d] + kk[d] * dil;
          inside = inside && pos[d] >= 0 && pos[d] < in_sp[d];
          in_pad = in_pad && pos[d] >= -st.p.pad_begin[d] && pos[d] < in_sp[d] + st.p.pad_end[d];
        }
        if (include_pad ? in_pad : inside)
          ++counted;
        if (!inside)
          continue;
        const int64_t xi = plane * n_in + ravel(pos, in_sp);
        if (max) {
          const auto [lo, hi] = bound(x, xi);
          cand.push_back({xv[static_cast<size_t>(xi)], lo, hi});
        } else {
          s.add(xv[static_cast<size_t>(xi)]);
        }
      }
      const auto [lo, hi] = bound(out, static_cast<int64_t>(y.size()));
      if (max) {
        if (cand.empty())
          return unsupported(n, "a window holds only padding");
        std::optional<z3::expr> m = max_of(std::move(cand));
        if (!m)
          return unsupported(n, "an input without finite bounds");
        y.push_back(*m);
      } else {
        y.push_back(
            counted == 0
                ? ctx_.real_val(0)
                : define(s.sum(ctx_) / ctx_.real_val(static_cast<int64_t>(counted)), lo, hi));
      }
    }
  vals_[static_cast<size_t>(out)] = std::move(y);
  has_[static_cast<size_t>(out)] = 1;
  return Status::ok();
}

// y[n,c] = mean over the spatial cells of x[n,c].
Status Encoder::global_average_pool(const Node& n) {
  const ValueId x = n.inputs[0], out = n.outputs[0];
  const Shape xs = shape(x);
  const int64_t planes = xs[0] * xs[1], cells = shape_numel(xs) / std::max<int64_t>(1, planes);
  const Terms& xv = terms(x);
  Terms y;
  for (int64_t p = 0; p < planes; ++p) {
    LinSum s(ctx_);
    for (int64_t i = 0; i < cells; ++i)
      s.add(xv[static_cast<size_t>(p * cells + i)]);
    const auto [lo, hi] = bound(out, p);
    y.push_back(define(s.sum(ctx_) / ctx_.real_val(cells), lo, hi));
  }
  vals_[static_cast<size_t>(out)] = std::move(y);
  has_[static_cast<size_t>(out)] = 1;
  return Status::ok();
}

// y = s[c] * (x - mean[c]) + B[c], s = scale / sqrt(var + eps) rounded to float64 (the square
// root is irrational: this is the network whose BatchNorm is folded in float64, as
// fold_batchnorm does).
Status Encoder::batch_norm(const Node& n) {
  for (size_t i = 1; i < 5; ++i)
    if (!g_.is_constant(n.inputs[i]))
      return unsupported(n, "parameters must be constant");
  const ValueId x = n.inputs[0], out = n.outputs[0];
  const Shape xs = shape(x);
  const double eps = n.attrs.get_float("epsilon", 1e-5);
  const std::vector<double> scale = g_.value(n.inputs[1]).constant->to_double_vector();
  const std::vector<double> bias = g_.value(n.inputs[2]).constant->to_double_vector();
  const std::vector<double> mean = g_.value(n.inputs[3]).constant->to_double_vector();
  const std::vector<double> var = g_.value(n.inputs[4]).constant->to_double_vector();
  const int64_t c = xs.size() > 1 ? xs[1] : 1;
  const int64_t inner = shape_numel(xs) / std::max<int64_t>(1, xs[0] * c);
  const Terms& xv = terms(x);
  Terms y;
  for (int64_t f = 0; f < shape_numel(xs); ++f) {
    const auto ch = static_cast<size_t>((f / inner) % c);
    const double s = scale[ch] / std::sqrt(var[ch] + eps);
    const z3::expr e = real_num(ctx_, s) * (xv[static_cast<size_t>(f)] - real_num(ctx_, mean[ch])) +
                       real_num(ctx_, bias[ch]);
    const auto [lo, hi] = bound(out, f);
    y.push_back(define(e, lo, hi));
  }
  vals_[static_cast<size_t>(out)] = std::move(y);
  has_[static_cast<size_t>(out)] = 1;
  return Status::ok();
}

}  // namespace nncert::smt
