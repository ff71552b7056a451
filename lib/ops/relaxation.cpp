#include "ops/relaxation.h"

#include <algorithm>
#include <memory>

#include "ops/op_util.h"

namespace nncert::ops {

namespace {
// [S, numel(shape)]: one row of coefficients per specification.
Shape rows_shape(int64_t s, const Shape& shape) {
  return {s, shape_numel(shape)};
}
}  // namespace

Status crown_affine_impl(ForwardFn fwd,
                         VjpFn vjp,
                         bool multilinear,
                         const Node& node,
                         std::span<const Interval> in_bounds,
                         std::span<const bool> is_const,
                         std::span<const TypeInfo> out_types,
                         const Tensor& a,
                         bool lower,
                         std::vector<Tensor>& a_in,
                         Tensor& bias,
                         const ExecContext& ctx) {
  if (fwd == nullptr || vjp == nullptr)
    return unsupported(node.op + " has no backward map");
  const int64_t s = a.dim(0);
  size_t variables = 0;
  for (size_t i = 0; i < in_bounds.size(); ++i)
    if (in_bounds[i].lo.is_valid() && !is_const[i])
      ++variables;
  if (multilinear && variables > 1)
    return unsupported(node.op + " of two non-constant operands has no linear relaxation yet");
  // Constant part: f with every variable input at zero (batch 1), dotted with each row of a.
  std::vector<Tensor> zero_in;
  for (size_t i = 0; i < in_bounds.size(); ++i) {
    if (!in_bounds[i].lo.is_valid()) {
      zero_in.emplace_back();
    } else if (is_const[i]) {
      zero_in.push_back(in_bounds[i].lo);
    } else {
      zero_in.emplace_back(in_bounds[i].lo.dtype(), in_bounds[i].lo.shape());
    }
  }
  std::vector<Tensor> f0(out_types.size());
  NNCERT_RETURN_IF_ERROR(fwd(node, zero_in, out_types, f0, ctx));
  // This rule handles one output (the engine bounds single-output nodes).
  const Tensor& y0 = f0[0];
  const int64_t n_out = y0.numel();
  {
    const Tensor ad = a.to(DType::kF64), yd = y0.to(DType::kF64);
    const double* pa = ad.data<double>();
    const double* py = yd.data<double>();
    for (int64_t r = 0; r < s; ++r) {
      double acc = 0;
      for (int64_t j = 0; j < n_out; ++j)
        if (py[j] != 0)
          acc += pa[r * n_out + j] * py[j];
      bias.set(r, bias.get(r) + acc);
    }
  }
  // Linear part: the VJP of each coefficient row (batch-1 shapes, so ops that reduce or move the
  // batch axis stay exact; batching rows through the batch axis is a later optimisation).
  std::vector<Tensor> vin, vout(out_types.size()), gout(out_types.size());
  for (size_t i = 0; i < in_bounds.size(); ++i) {
    if (!in_bounds[i].lo.is_valid()) {
      vin.emplace_back();
    } else if (is_const[i]) {
      vin.push_back(in_bounds[i].lo);
    } else {
      vin.emplace_back(a.dtype(), in_bounds[i].lo.shape());
    }
  }
  for (size_t k = 0; k < out_types.size(); ++k)
    vout[k] = Tensor(a.dtype(), out_types[k].shape);
  a_in.assign(in_bounds.size(), Tensor());
  for (size_t i = 0; i < in_bounds.size(); ++i)
    if (in_bounds[i].lo.is_valid() && !is_const[i])
      a_in[i] = Tensor(DType::kF64, rows_shape(s, in_bounds[i].lo.shape()));
  const Tensor a64 = a.to(DType::kF64);
  // Only the variable inputs' coefficients are read: the VJP may skip the constants' gradients.
  std::unique_ptr<bool[]> need(new bool[in_bounds.size()]);
  for (size_t i = 0; i < in_bounds.size(); ++i)
    need[i] = a_in[i].is_valid();
  ExecContext vctx = ctx;
  vctx.need_grad = std::span<const bool>(need.get(), in_bounds.size());
  for (int64_t r = 0; r < s; ++r) {
    Tensor row(DType::kF64, out_types[0].shape);
    std::copy_n(a64.data<double>() + r * n_out, n_out, row.data<double>());
    gout[0] = row;
    std::vector<Tensor> gin(in_bounds.size());
    NNCERT_RETURN_IF_ERROR(vjp(node, vin, vout, gout, gin, vctx));
    for (size_t i = 0; i < in_bounds.size(); ++i) {
      if (!a_in[i].is_valid())
        continue;
      if (!gin[i].is_valid())
        return unsupported(node.op + ": no coefficients for an input");
      const int64_t n_in = gin[i].numel();
      const Tensor g64 = gin[i].to(DType::kF64);
      std::copy_n(g64.data<double>(), n_in, a_in[i].data<double>() + r * n_in);
    }
  }
  (void)lower;  // exact: the same map bounds from both sides
  return Status::ok();
}

void apply_element_relaxation(
    const ElementRelaxation& r, const Tensor& a, bool lower, Tensor& a_in, Tensor& bias) {
  const int64_t n = r.al.numel();
  const int64_t s = a.dim(0);
  // Typed float64 views (the bound engines work in float64).
  const Tensor al = r.al.to(DType::kF64), bl = r.bl.to(DType::kF64);
  const Tensor au = r.au.to(DType::kF64), bu = r.bu.to(DType::kF64);
  const Tensor ad = a.to(DType::kF64);
  a_in = Tensor(DType::kF64, a.shape());
  const double* pa = ad.data<double>();
  double* po = a_in.data<double>();
  const double *sl = al.data<double>(), *il = bl.data<double>();
  const double *su = au.data<double>(), *iu = bu.data<double>();
  for (int64_t row = 0; row < s; ++row) {
    double acc = 0;
    const double* c = pa + row * n;
    double* o = po + row * n;
    for (int64_t j = 0; j < n; ++j) {
      if (c[j] == 0) {  // no contribution (and no 0 * inf = NaN from an unbounded line)
        o[j] = 0;
        continue;
      }
      // lower bound: c >= 0 takes the lower line, c < 0 the upper; an upper bound the reverse.
      const bool use_lower = (c[j] >= 0) == lower;
      o[j] = c[j] * (use_lower ? sl[j] : su[j]);
      acc += c[j] * (use_lower ? il[j] : iu[j]);
    }
    bias.set(row, bias.get(row) + acc);
  }
}

std::string constant_input_attr(size_t i) {
  return "nncert.constant_input." + std::to_string(i);
}

Node bind_constant_inputs(const Node& node,
                          std::span<const Interval> in_bounds,
                          std::span<const bool> is_const) {
  Node n = node;
  for (size_t i = 1; i < in_bounds.size() && i < is_const.size(); ++i)
    if (is_const[i] && in_bounds[i].lo.is_valid())
      n.attrs.set(constant_input_attr(i), in_bounds[i].lo);
  return n;
}

Status crown_element_impl(RelaxFn relax,
                          const Node& node,
                          std::span<const Interval> in_bounds,
                          std::span<const bool> is_const,
                          const Tensor& a,
                          bool lower,
                          std::vector<Tensor>& a_in,
                          Tensor& bias) {
  const Interval x{in_bounds[0].lo.to(DType::kF64), in_bounds[0].hi.to(DType::kF64)};
  ElementRelaxation r;
  if (in_bounds.size() > 1) {
    NNCERT_RETURN_IF_ERROR(
        relax(bind_constant_inputs(node, in_bounds, is_const), x, nullptr, r, nullptr));
  } else {
    NNCERT_RETURN_IF_ERROR(relax(node, x, nullptr, r, nullptr));
  }
  a_in.assign(in_bounds.size(), Tensor());
  apply_element_relaxation(r, a, lower, a_in[0], bias);
  return Status::ok();
}

ElementRelaxation make_relaxation(const Interval& in) {
  const Shape& s = in.lo.shape();
  return {Tensor(DType::kF64, s),
          Tensor(DType::kF64, s),
          Tensor(DType::kF64, s),
          Tensor(DType::kF64, s)};
}

Interval make_interval_like(const Interval& in) {
  const Shape& s = in.lo.shape();
  return {Tensor(DType::kF64, s), Tensor(DType::kF64, s)};
}

double lerp_point(double p, double q, double a) {
  if (!(a > 0))
    return p;
  if (a >= 1 || p == q)
    return a >= 1 ? q : p;
  const bool pf = std::isfinite(p), qf = std::isfinite(q);
  if (pf && qf)
    return std::clamp((1 - a) * p + a * q, std::min(p, q), std::max(p, q));
  if (!pf && !qf) {  // opposite infinities: a -> (2a - 1) / (a (1 - a)), increasing, 0 at 1/2
    const double t = (2 * a - 1) / (a * (1 - a));
    return p < q ? t : -t;
  }
  if (pf)  // q infinite
    return p + std::copysign((1 + std::abs(p)) * (a / (1 - a)), q);
  return q + std::copysign((1 + std::abs(q)) * ((1 - a) / a), p);  // p infinite
}

double alpha_for_point(double p, double q, double t) {
  if (!std::isfinite(p) || !std::isfinite(q) || p == q)
    return 0.5;
  return std::clamp((t - p) / (q - p), 0.0, 1.0);
}

Line chord_line(double l, double fl, double u, double fu) {
  if (!(u > l))
    return {0, fl};
  const double k = (fu - fl) / (u - l);
  // Anchored at the end with the smaller |f|: the intercept then carries no rounding error of
  // the larger value (e.g. x^5 on [-8.8, -1e-5]: anchored at -8.8 the line misses f(-1e-5) ~ 0
  // by ~1e-11, the rounding of f(-8.8) ~ -5e4).
  return std::abs(fu) < std::abs(fl) ? Line{k, -u * k + fu} : Line{k, -l * k + fl};
}

Line sanitize_lower(Line line, double fallback) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (std::isnan(line.slope) || std::isinf(line.slope) || std::isnan(line.bias) || line.bias == inf)
    return {0, std::isnan(fallback) || fallback == inf ? -inf : fallback};
  if (line.bias == -inf)
    return {0, -inf};
  return line;
}

Line sanitize_upper(Line line, double fallback) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (std::isnan(line.slope) || std::isinf(line.slope) || std::isnan(line.bias) ||
      line.bias == -inf)
    return {0, std::isnan(fallback) || fallback == -inf ? inf : fallback};
  if (line.bias == inf)
    return {0, inf};
  return line;
}

// ---- S-shaped functions ---------------------------------------------------------------------

SShapedTable::SShapedTable(double (*fn)(double), double (*dfn)(double))
    : f_(fn), df_(dfn), lower_(kSize), upper_(kSize) {}

// auto_LiRPA's precompute_relaxation for one grid point g = 0.01 i: starting from d = -1 (doubled
// until the tangent at d lies below f at g), 100 bisection steps on [d, 0] keep the left end
// valid: k (g - d) + f(d) <= f(g) with k = f'(d).
double SShapedTable::lower(int64_t i) const {
  const double cached = lower_[static_cast<size_t>(i)].load(std::memory_order_relaxed);
  if (cached != 0)
    return cached;
  const double g = kStep * static_cast<double>(i);
  const double fg = f_(g);
  auto valid = [&](double d) {
    return df_(d) * (g - d) + f_(d) <= fg;
  };
  double l = -1, r = 0;
  while (!valid(l) && std::isfinite(l))
    l *= 2;
  for (int it = 0; it < 100; ++it) {
    const double m = (l + r) / 2;
    if (valid(m))
      l = m;
    else
      r = m;
  }
  lower_[static_cast<size_t>(i)].store(l, std::memory_order_relaxed);
  return l;
}

// The mirror: g = -0.01 i, from d = 1 (doubled until the tangent at d lies above f at g), 100
// bisection steps on [0, d] keep the right end valid: k (g - d) + f(d) >= f(g).
double SShapedTable::upper(int64_t i) const {
  const double cached = upper_[static_cast<size_t>(i)].load(std::memory_order_relaxed);
  if (cached != 0)
    return cached;
  const double g = -kStep * static_cast<double>(i);
  const double fg = f_(g);
  auto valid = [&](double d) {
    return df_(d) * (g - d) + f_(d) >= fg;
  };
  double l = 0, r = 1;
  while (!valid(r) && std::isfinite(r))
    r *= 2;
  for (int it = 0; it < 100; ++it) {
    const double m = (l + r) / 2;
    if (valid(m))
      r = m;
    else
      l = m;
  }
  upper_[static_cast<size_t>(i)].store(r, std::memory_order_relaxed);
  return r;
}

namespace {
// auto_LiRPA's retrieve_from_precompute: the entry at index max(0, trunc(bound / 0.01)) + 1, i.e.
// the first grid point above `bound` (so the tangent stays valid at bound); `fallback` when the
// index leaves the table (|bound| >= ~500).
template <class Get>
double table_point(double bound, double fallback, Get get) {
  const double q = bound / SShapedTable::kStep;
  if (!(q < static_cast<double>(SShapedTable::kSize)))
    return fallback;
  const int64_t idx = q > 0 ? static_cast<int64_t>(q) + 1 : 1;
  return idx < SShapedTable::kSize ? get(idx) : fallback;
}
}  // namespace

// Relaxation of an S-shaped f (increasing, convex on x <= 0, concave on x >= 0) on [l, u], with
// k = (f(u) - f(l)) / (u - l) (0 when l == u) and the chord c(x) = k (x - l) + f(l),
// T_t(x) = f'(t) (x - t) + f(t) the tangent at t, m = (l + u) / 2:
//   u <= 0 (convex):  c >= f;  f >= T_t for t in [l, u] (alpha_lo: t = l + a (u - l); default m)
//   l >= 0 (concave): c <= f;  f <= T_t for t in [l, u] (alpha_hi; default m)
//   l < 0 < u:
//     lower: c if k < f'(l) (then c lies below f); otherwise T_t, t between l and
//            d_l = table.lower(u) (alpha_lo: t = l + a (d_l - l)): every tangent point in the
//            convex part left of the true touching point d*(u) is valid, the table's d_l <= d*(u)
//            and, when k >= f'(l), also l <= d*(u). Default t = d_l, or m if d_l >= m.
//     upper: c if k < f'(u); otherwise T_t, t between u and d_u = table.upper(-l) (alpha_hi: t =
//            u + a (d_u - u)). Default t = d_u, or m if d_u < m.
// These are auto_LiRPA's CROWN lines (BoundSShaped.bound_relax_impl with its default smoothness
// rule: tangent at m when the table point lies beyond m), except that (a) auto_LiRPA divides by
// max(u - l, 1e-8), which for 0 < u - l < 1e-8 tilts an upper chord below f, and (b) in the
// crossing case when f(l) == f(u) in floating point (u - l ~ 1e-16) it switches both lines to
// the tangent at m (its "flipped S" rule); both only matter at rounding level, and here the
// exact chord and the table lines are kept. Its optimisable tangent points range over
// (-inf, d_l] and [d_u, +inf); the tangents beyond l (resp. u) are dominated on [l, u] by the one
// at l (resp. u), so alpha covers the useful part. Infinite ends fall back to horizontal lines
// (sanitize_*).
void s_shaped_lines(const SShapedTable& t,
                    double l,
                    double u,
                    const double* alpha_lo,
                    const double* alpha_hi,
                    ElementLines& e) {
  const double yl = t.f(l), yu = t.f(u);
  e.f_lo = yl;
  e.f_hi = yu;
  const double k = u > l ? (yu - yl) / (u - l) : 0.0;
  const Line chord{k, -l * k + yl};
  const bool pos = l >= 0, neg = u <= 0;
  const double m = lerp_point(l, u, 0.5);  // (l + u) / 2
  auto tangent_at = [&](double x) {
    return tangent_line(x, t.f(x), t.df(x));
  };
  // auto_LiRPA's order: chords first, then tangents (l == u == 0 ends with tangents at 0).
  if (neg)
    e.upper = chord;
  if (pos)
    e.lower = chord;
  if (neg) {
    e.lower = tangent_at(alpha_lo ? lerp_point(l, u, *alpha_lo) : m);
    e.alpha_lo = 0.5;
  }
  if (pos) {
    e.upper = tangent_at(alpha_hi ? lerp_point(l, u, *alpha_hi) : m);
    e.alpha_hi = 0.5;
  }
  if (pos || neg)
    return;
  // auto_LiRPA's smoothness rule needs f(l) < f(u); with an infinite end its midpoint is not a
  // number, so the rule is left out there.
  const bool smooth = yl < yu && std::isfinite(l) && std::isfinite(u);
  const double dl = table_point(u, l, [&](int64_t i) { return t.lower(i); });
  const double du = table_point(-l, u, [&](int64_t i) { return t.upper(i); });
  if (k < t.df(l)) {
    e.lower = chord;
  } else {
    double p = dl;
    e.alpha_lo = 1;
    if (alpha_lo != nullptr) {
      p = lerp_point(l, dl, *alpha_lo);
    } else if (smooth && dl >= m) {
      p = m;
      e.alpha_lo = alpha_for_point(l, dl, m);
    }
    e.lower = tangent_at(p);
  }
  if (k < t.df(u)) {
    e.upper = chord;
  } else {
    double p = du;
    e.alpha_hi = 1;
    if (alpha_hi != nullptr) {
      p = lerp_point(u, du, *alpha_hi);
    } else if (smooth && du < m) {
      p = m;
      e.alpha_hi = alpha_for_point(u, du, m);
    }
    e.upper = tangent_at(p);
  }
}

}  // namespace nncert::ops
