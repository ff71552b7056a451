// Shared CROWN (backward linear relaxation) rules for op files.
//  * affine ops (every shape op, Add/Sub/Neg, pooling by averaging, reductions, BatchNorm, and
//    Gemm/MatMul/Conv/ConvTranspose/Mul/Div when at most one operand is not constant): the exact
//    backward map is the op's vector-Jacobian product, applied to each of the S coefficient rows
//    (batch-1 shapes; batching the rows is the obvious speed-up); the constant part is f(0) with
//    the variables at zero.
//  * piecewise-linear activations: per-neuron linear bounds chosen from the input interval.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ops/op_def.h"

namespace nncert::ops {

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
                         const ExecContext& ctx);

// Affine in all of its inputs jointly (Add, Sub, Concat, shape ops, ...).
template <ForwardFn Fwd, VjpFn Vjp>
Status crown_affine(const Node& node,
                    std::span<const Interval> in_bounds,
                    std::span<const bool> is_const,
                    std::span<const TypeInfo> out_types,
                    const Tensor& a,
                    bool lower,
                    std::vector<Tensor>& a_in,
                    Tensor& bias,
                    const ExecContext& ctx) {
  return crown_affine_impl(
      Fwd, Vjp, false, node, in_bounds, is_const, out_types, a, lower, a_in, bias, ctx);
}

// Multilinear (Gemm, MatMul, Conv, Mul, ...): affine when at most one input is not constant.
template <ForwardFn Fwd, VjpFn Vjp>
Status crown_multilinear(const Node& node,
                         std::span<const Interval> in_bounds,
                         std::span<const bool> is_const,
                         std::span<const TypeInfo> out_types,
                         const Tensor& a,
                         bool lower,
                         std::vector<Tensor>& a_in,
                         Tensor& bias,
                         const ExecContext& ctx) {
  return crown_affine_impl(
      Fwd, Vjp, true, node, in_bounds, is_const, out_types, a, lower, a_in, bias, ctx);
}

// Applies an element-wise relaxation backward: with c = a (per row),
//   lower: a_in = c+ * al + c- * au, bias += c+ * bl + c- * bu;  upper: the roles swap.
// Coefficients that are exactly 0 contribute nothing (so an infinite intercept never meets 0).
void apply_element_relaxation(
    const ElementRelaxation& r, const Tensor& a, bool lower, Tensor& a_in, Tensor& bias);

// Element-wise ops whose relaxation depends on constant inputs besides x (Pow's exponent, Clip's
// min/max) read them from the node's tensor attribute constant_input_attr(i). A RelaxFn only sees
// the node and x's interval, so an engine calls it on bind_constant_inputs(node, ...): a copy of
// the node with every constant input i >= 1 (is_const[i] and a valid in_bounds[i]) stored there.
// Nodes with a single input come back unchanged.
std::string constant_input_attr(size_t i);
Node bind_constant_inputs(const Node& node,
                          std::span<const Interval> in_bounds,
                          std::span<const bool> is_const);

// The CROWN rule of an element-wise activation with a RelaxFn: its default relaxation (on the node
// with its constant inputs bound) applied backward to the coefficient rows.
Status crown_element_impl(RelaxFn relax,
                          const Node& node,
                          std::span<const Interval> in_bounds,
                          std::span<const bool> is_const,
                          const Tensor& a,
                          bool lower,
                          std::vector<Tensor>& a_in,
                          Tensor& bias);
template <RelaxFn Relax>
Status crown_element(const Node& node,
                     std::span<const Interval> in_bounds,
                     std::span<const bool> is_const,
                     std::span<const TypeInfo> /*out_types*/,
                     const Tensor& a,
                     bool lower,
                     std::vector<Tensor>& a_in,
                     Tensor& bias,
                     const ExecContext& /*ctx*/) {
  return crown_element_impl(Relax, node, in_bounds, is_const, a, lower, a_in, bias);
}

// A zero relaxation shaped like `in` (float64), for RelaxFn implementations to fill.
ElementRelaxation make_relaxation(const Interval& in);
// A zero float64 interval shaped like `in` (e.g. for alpha_default).
Interval make_interval_like(const Interval& in);

// ---- Per-element building blocks for RelaxFn implementations (lib/ops/<op>.cpp) -------------
// A line y = slope * x + bias.
struct Line {
  double slope = 0, bias = 0;
};

// The lines of one element. f_lo/f_hi: interval bounds of f over [l, u] (the IBP bounds; -inf /
// +inf when unknown), used as horizontal fallback lines when a computed line is unusable.
struct ElementLines {
  Line lower, upper;
  double f_lo = -std::numeric_limits<double>::infinity();
  double f_hi = std::numeric_limits<double>::infinity();
  double alpha_lo = 0, alpha_hi = 0;  // the alpha that reproduces the default choice
};

// The point (1 - a) p + a q, kept between p and q; a <= 0 (or NaN) gives p, a >= 1 gives q.
// When p or q is infinite, a in (0, 1) maps monotonically to a finite point in between.
double lerp_point(double p, double q, double a);
// Chord through (l, fl) and (u, fu) (l < u finite), its intercept taken at the end with the
// smaller |f|; the horizontal line through fl when l == u.
Line chord_line(double l, double fl, double u, double fu);
// Tangent at t: slope dft, through (t, ft). Computed as auto_LiRPA does (bias = -t * dft + ft).
inline Line tangent_line(double t, double ft, double dft) {
  return {dft, -t * dft + ft};
}
// A line that may bound f over [l, u]: finite slope, no NaN, and the intercept infinite only
// on the harmless side (-inf for a lower line, +inf for an upper one; then the slope is 0).
// Anything else becomes the horizontal line at `fallback` (f_lo / f_hi).
Line sanitize_lower(Line line, double fallback);
Line sanitize_upper(Line line, double fallback);

// Drives a per-element rule fn(l, u, alpha_lo, alpha_hi, lines) over the interval x: the alpha
// pointers are null for the default choice; the rule fills `lines` (and, for the default, the
// alpha values that reproduce it). Swapped bounds (l > u, rounding) are ordered; NaN bounds give
// unbounded lines. Lines are sanitised, then written to r (and alpha_default).
template <class Fn>
void relax_elementwise(const Interval& x,
                       const Interval* alpha,
                       ElementRelaxation& r,
                       Interval* alpha_default,
                       Fn&& fn) {
  r = make_relaxation(x);
  const Tensor lo_t = x.lo.to(DType::kF64), hi_t = x.hi.to(DType::kF64);
  const double* lo = lo_t.data<double>();
  const double* hi = hi_t.data<double>();
  Tensor alo_t, ahi_t;
  const double *alo = nullptr, *ahi = nullptr;
  if (alpha != nullptr) {
    alo_t = alpha->lo.to(DType::kF64);
    ahi_t = alpha->hi.to(DType::kF64);
    alo = alo_t.data<double>();
    ahi = ahi_t.data<double>();
  }
  double *dlo = nullptr, *dhi = nullptr;
  if (alpha == nullptr && alpha_default != nullptr) {
    *alpha_default = make_interval_like(x);
    dlo = alpha_default->lo.data<double>();
    dhi = alpha_default->hi.data<double>();
  }
  double *pal = r.al.data<double>(), *pbl = r.bl.data<double>();
  double *pau = r.au.data<double>(), *pbu = r.bu.data<double>();
  const int64_t n = lo_t.numel();
  for (int64_t j = 0; j < n; ++j) {
    double l = lo[j], u = hi[j];
    ElementLines e;
    if (std::isnan(l) || std::isnan(u)) {
      e.lower = {0, -std::numeric_limits<double>::infinity()};
      e.upper = {0, std::numeric_limits<double>::infinity()};
    } else {
      if (l > u)
        std::swap(l, u);
      fn(l, u, alo ? alo + j : nullptr, ahi ? ahi + j : nullptr, e);
    }
    const Line lw = sanitize_lower(e.lower, e.f_lo);
    const Line up = sanitize_upper(e.upper, e.f_hi);
    pal[j] = lw.slope;
    pbl[j] = lw.bias;
    pau[j] = up.slope;
    pbu[j] = up.bias;
    if (dlo != nullptr) {
      dlo[j] = std::clamp(e.alpha_lo, 0.0, 1.0);
      dhi[j] = std::clamp(e.alpha_hi, 0.0, 1.0);
    }
  }
}

// The alpha in [0, 1] with lerp_point(p, q, alpha) ~= t (0.5 when p == q or not finite).
double alpha_for_point(double p, double q, double t);

// Relaxation of a function convex on [l, u] (l <= u, either end may be infinite; f and df take
// the limits there): upper = the chord (at an infinite end: the line through the finite end
// point with the limiting slope df(+-inf), unbounded if that slope is infinite or both ends are
// infinite); lower = the tangent at t = lerp_point(l, u, a) for a = *alpha (any t in [l, u] is
// valid), by default t_default (the midpoint if NaN). Writes the default alpha to *alpha_default.
// e.f_lo / e.f_hi are left to the caller.
template <class F, class DF>
void convex_lines(F f,
                  DF df,
                  double l,
                  double u,
                  const double* alpha,
                  Line& lower,
                  Line& upper,
                  double& alpha_default,
                  double t_default = std::numeric_limits<double>::quiet_NaN()) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  const bool lf = std::isfinite(l), uf = std::isfinite(u);
  if (lf && uf) {
    upper = chord_line(l, f(l), u, f(u));
  } else if (lf) {  // u = +inf
    const double s = df(inf);
    upper = std::isfinite(s) ? tangent_line(l, f(l), s) : Line{0, inf};
  } else if (uf) {  // l = -inf
    const double s = df(-inf);
    upper = std::isfinite(s) ? tangent_line(u, f(u), s) : Line{0, inf};
  } else {
    upper = {0, inf};
  }
  double t;
  if (alpha != nullptr) {
    t = lerp_point(l, u, *alpha);
  } else {
    t = std::isnan(t_default) ? lerp_point(l, u, 0.5) : t_default;
    alpha_default = std::isnan(t_default) ? 0.5 : alpha_for_point(l, u, t);
  }
  lower = tangent_line(t, f(t), df(t));
}

// The concave counterpart: lower = chord, upper = tangent at t = lerp_point(l, u, *alpha).
template <class F, class DF>
void concave_lines(F f,
                   DF df,
                   double l,
                   double u,
                   const double* alpha,
                   Line& lower,
                   Line& upper,
                   double& alpha_default,
                   double t_default = std::numeric_limits<double>::quiet_NaN()) {
  Line nl, nu;  // lines of -f, which is convex
  convex_lines([&](double v) { return -f(v); },
               [&](double v) { return -df(v); },
               l,
               u,
               alpha,
               nl,
               nu,
               alpha_default,
               t_default);
  lower = {-nu.slope, -nu.bias};
  upper = {-nl.slope, -nl.bias};
}

// S-shaped functions (Sigmoid, Tanh, Erf: increasing, convex for x < 0, concave for x > 0):
// auto_LiRPA's tables of tangent points (s_shaped.py, precompute_relaxation): on the grid
// g_i = 0.01 i, i < 50005, lower(i) is the tangent point d <= 0 found by 100 bisection steps
// whose tangent still lies below f at g_i, upper(i) the point d >= 0 whose tangent lies above f
// at -g_i. Entries are computed on first use (thread-safe).
class SShapedTable {
 public:
  static constexpr int64_t kSize = 50005;  // int(500 / 0.01) + 5
  static constexpr double kStep = 0.01;
  SShapedTable(double (*fn)(double), double (*dfn)(double));
  double f(double x) const { return f_(x); }
  double df(double x) const { return df_(x); }
  double lower(int64_t i) const;
  double upper(int64_t i) const;

 private:
  double (*f_)(double);
  double (*df_)(double);
  // 0 = not computed yet (no entry is ever exactly 0).
  mutable std::vector<std::atomic<double>> lower_, upper_;
};

// The relaxation of an S-shaped function from its table: auto_LiRPA's CROWN choices and its
// optimisable tangent points (the inequalities are spelled out in relaxation.cpp).
void s_shaped_lines(const SShapedTable& t,
                    double l,
                    double u,
                    const double* alpha_lo,
                    const double* alpha_hi,
                    ElementLines& e);

}  // namespace nncert::ops
