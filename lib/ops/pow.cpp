// Pow: elementwise y = a ^ b with numpy broadcasting. Bound propagation supports a constant
// exponent; the runtime computes any exponent.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "the base"));
  Shape s = in[0].shape;
  if (in[0].shape_known && in[1].shape_known) {
    NNCERT_ASSIGN_OR_RETURN(s, broadcast_shapes(in[0].shape, in[1].shape));
  }
  out.assign(1, make_info(in[0].dtype, s));
  out[0].shape_known = in[0].shape_known && in[1].shape_known;
  return Status::ok();
}

// y = a ^ b; x^2 and x^0.5 take exact fast paths so that Pow(x, 2) == x * x bit for bit.
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  Tensor exponent = in[1].to(in[0].dtype());
  return forward_binary(
      std::vector<Tensor>{in[0], exponent},
      out,
      out_types,
      [](auto a, auto b) -> decltype(a) {
        if (b == decltype(b)(2))
          return a * a;
        if (b == decltype(b)(1))
          return a;
        if constexpr (std::is_floating_point_v<decltype(b)>) {
          if (b == decltype(b)(0.5))
            return std::sqrt(a);
        }
        return static_cast<decltype(a)>(std::pow(a, b));
      },
      ctx);
}

// [a]^p for a constant scalar exponent p:
//   integer p, even: [min(|a|)^p, max(|a|)^p] (min |a| = 0 when 0 is in [a]); odd: monotone;
//   p > 0 non-integer: monotone on a >= 0; p < 0: decreasing on a > 0; otherwise unbounded.
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  if (!is_exact(in[1]) || in[1].lo.numel() != 1)
    return unsupported("Pow bounds need a constant scalar exponent");
  const double p = in[1].lo.get(0);
  if (in[0].lo.shape() != out_types[0].shape)
    return unsupported("Pow bounds with broadcasting");
  Interval r{Tensor(out_types[0].dtype, out_types[0].shape),
             Tensor(out_types[0].dtype, out_types[0].shape)};
  const bool integer = std::floor(p) == p;
  const bool even = integer && std::fmod(std::abs(p), 2.0) == 0;
  const double inf = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < r.lo.numel(); ++i) {
    const double l = in[0].lo.get(i), h = in[0].hi.get(i);
    double ol = -inf, oh = inf;
    if (p == 0) {
      ol = oh = 1;
    } else if (even) {
      const double amin = (l <= 0 && h >= 0) ? 0.0 : std::min(std::abs(l), std::abs(h));
      const double amax = std::max(std::abs(l), std::abs(h));
      if (p > 0) {
        ol = std::pow(amin, p);
        oh = std::pow(amax, p);
      } else if (amin > 0) {
        ol = std::pow(amax, p);
        oh = std::pow(amin, p);
      }
    } else if (integer && p > 0) {
      ol = std::pow(l, p);
      oh = std::pow(h, p);
    } else if (integer && (l > 0 || h < 0)) {  // odd negative: decreasing on each side of 0
      ol = std::pow(h, p);
      oh = std::pow(l, p);
    } else if (!integer && l >= 0) {
      if (p > 0) {
        ol = std::pow(l, p);
        oh = std::pow(h, p);
      } else if (l > 0) {
        ol = std::pow(h, p);
        oh = std::pow(l, p);
      }
    }
    r.lo.set(i, ol);
    r.hi.set(i, oh);
  }
  out = {r};
  return Status::ok();
}

// y = a^b: dL/da = unbroadcast(dL/dy * b * a^(b-1)), dL/db = unbroadcast(dL/dy * y * log(a))
// (a float exponent only; the log term is 0 where y == 0)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_binary(
      ctx,
      in,
      out,
      grad_out,
      grad_in,
      [](auto a, auto b, auto) {
        using T = decltype(a);
        return b == T(0) ? T(0) : b * std::pow(a, b - T(1));
      },
      [](auto a, auto, auto y) {
        using T = decltype(a);
        return y == T(0) ? T(0) : y * std::log(a);
      });
}

// For odd p >= 3: the s in (0, 1) with (p - 1) s^p + p s^(p-1) = 1, i.e. the tangent of x^p at
// d = -s u (d < 0) passes through (u, u^p): that tangent lies above x^p exactly on (-inf, u]
// (for p = 3, s = 1/2: x^3 - T_d(x) = (x - d)^2 (x + 2d)). Bisection; the upper end of the
// bracket (s >= the root: the tangent at -s u stays valid).
double odd_tangent_ratio(double p) {
  double lo = 0, hi = 1;
  for (int it = 0; it < 200 && hi - lo > 0; ++it) {
    const double m = (lo + hi) / 2;
    if (m <= lo || m >= hi)
      break;
    if ((p - 1) * std::pow(m, p) + p * std::pow(m, p - 1) - 1 >= 0)
      hi = m;
    else
      lo = m;
  }
  return hi;
}

// The exponent of a Pow node for the relaxation: its constant second input (bound by the engine,
// bind_constant_inputs), a finite scalar.
Status pow_exponent(const Node& node, double& p) {
  auto t = node.attrs.get_tensor(constant_input_attr(1));
  if (!t)
    return unsupported("Pow relaxation needs a constant exponent (the exponent input of " +
                       node.name + " depends on the model input)");
  if (t->numel() != 1)
    return unsupported("Pow relaxation needs a scalar exponent, got shape " +
                       shape_to_string(t->shape()));
  p = t->get(0);
  if (!std::isfinite(p))
    return unsupported("Pow relaxation needs a finite exponent, got " + std::to_string(p));
  return Status::ok();
}

// y = x^p for a constant p, on [l, u], with f' = p x^(p-1); "convex" means: upper = the chord,
// lower = the tangent T_t(x) = t^p + p t^(p-1) (x - t) at any t in [l, u] (alpha_lo: t = l + a
// (u - l); default the midpoint); "concave" the reverse (alpha_hi). Infinite ends: the chord
// takes the limiting slope or becomes unbounded (convex_lines).
//   p = 0: y = 1;  p = 1: y = x.
//   even p > 0: convex on R.
//   odd p >= 3: convex for l >= 0, concave for u <= 0; for l < 0 < u (inverse S): with
//     s = odd_tangent_ratio(p) (computed once per call), upper = the chord if its slope >= f'(l),
//     else T_t for t between l and -s u (every tangent at t <= -s u lies above x^p up to u;
//     alpha_hi: t = l + a (-s u - l); default min(midpoint, -s u)); lower = the mirror: the chord
//     if its slope >= f'(u), else T_t for t between u and -s l (alpha_lo: t = u + a (-s l - u);
//     default max(midpoint, -s l)).
//   even p < 0 (x^-2, ...): convex on each side of 0; if 0 is in [l, u]: y >= min(f(l), f(u)),
//     y <= +inf.
//   odd p < 0 (x^-1, ...): convex for l > 0, concave for u < 0; unbounded if 0 is in [l, u].
//   non-integer p: real only for x >= 0, so over [max(l, 0), u] (u < 0: unbounded): p > 1
//     convex, 0 < p < 1 concave (a tangent at 0 is vertical: y <= f(u) instead), p < 0 convex
//     for l > 0; at l = 0 (y = +inf there) the upper line is +inf and the lower a tangent at
//     t in (0, u] (alpha_lo: t = a u, default u / 2).
void pow_lines(double p,
               double s,  // odd_tangent_ratio(p) for odd p >= 3
               double l,
               double u,
               const double* alo,
               const double* ahi,
               ElementLines& e) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  auto f = [p](double v) {
    return std::pow(v, p);
  };
  auto df = [p](double v) {
    return p * std::pow(v, p - 1);
  };
  if (p == 0) {
    e.lower = e.upper = {0, 1};
    return;
  }
  if (p == 1) {
    e.lower = e.upper = {1, 0};
    return;
  }
  const bool integer = std::floor(p) == p;
  const bool even = integer && std::fmod(std::abs(p), 2.0) == 0;
  const double fl = f(l), fu = f(u);
  auto convex = [&](double lo, double hi) {
    convex_lines(f, df, lo, hi, alo, e.lower, e.upper, e.alpha_lo);
  };
  auto concave = [&](double lo, double hi) {
    concave_lines(f, df, lo, hi, ahi, e.lower, e.upper, e.alpha_hi);
  };
  if (integer && p > 0) {
    if (even) {
      e.f_lo = l <= 0 && u >= 0 ? 0.0 : std::min(fl, fu);
      e.f_hi = std::max(fl, fu);
      convex(l, u);
      return;
    }
    e.f_lo = fl;
    e.f_hi = fu;
    if (l >= 0) {
      convex(l, u);
      return;
    }
    if (u <= 0) {
      concave(l, u);
      return;
    }
    const double m = lerp_point(l, u, 0.5);
    const Line chord = chord_line(l, fl, u, fu);
    auto tangent_at = [&](double t) {
      return tangent_line(t, f(t), df(t));
    };
    // upper
    if (!std::isfinite(u)) {
      e.upper = {0, inf};
    } else if (std::isfinite(l) && chord.slope >= df(l)) {
      e.upper = chord;
    } else {
      const double d = -s * u;
      double t;
      if (ahi != nullptr) {
        t = lerp_point(l, d, *ahi);
      } else {
        t = std::isfinite(l) ? std::min(m, d) : lerp_point(l, d, 0.5);
        e.alpha_hi = std::isfinite(l) ? alpha_for_point(l, d, t) : 0.5;
      }
      e.upper = tangent_at(t);
    }
    // lower
    if (!std::isfinite(l)) {
      e.lower = {0, -inf};
    } else if (std::isfinite(u) && chord.slope >= df(u)) {
      e.lower = chord;
    } else {
      const double d = -s * l;
      double t;
      if (alo != nullptr) {
        t = lerp_point(u, d, *alo);
      } else {
        t = std::isfinite(u) ? std::max(m, d) : lerp_point(u, d, 0.5);
        e.alpha_lo = std::isfinite(u) ? alpha_for_point(u, d, t) : 0.5;
      }
      e.lower = tangent_at(t);
    }
    return;
  }
  if (integer) {  // p < 0
    if (l > 0 || u < 0) {
      e.f_lo = std::min(fl, fu);
      e.f_hi = std::max(fl, fu);
      if (even || l > 0)
        convex(l, u);
      else
        concave(l, u);
      return;
    }
    if (even) {  // 0 in [l, u]: x^p >= min(f(l), f(u)) > 0, unbounded above
      e.f_lo = std::min(fl, fu);
      e.lower = {0, e.f_lo};
      e.upper = {0, inf};
      return;
    }
    e.lower = {0, -inf};
    e.upper = {0, inf};
    return;
  }
  // non-integer p: x >= 0 only
  if (u < 0) {
    e.lower = {0, -inf};
    e.upper = {0, inf};
    return;
  }
  l = std::max(l, 0.0);
  if (p > 0) {
    e.f_lo = f(l);
    e.f_hi = f(u);
    if (p > 1)
      convex(l, u);
    else
      concave(l, u);
    return;
  }
  e.f_lo = f(u);
  e.f_hi = f(l);
  if (l > 0) {
    convex(l, u);
    return;
  }
  e.upper = {0, inf};
  const double t = lerp_point(0, u, alo ? *alo : 0.5);
  e.lower = tangent_line(t, f(t), df(t));
  e.alpha_lo = 0.5;
}

Status relax(const Node& node,
             const Interval& x,
             const Interval* alpha,
             ElementRelaxation& r,
             Interval* alpha_default) {
  double p = 0;
  NNCERT_RETURN_IF_ERROR(pow_exponent(node, p));
  const bool odd = std::floor(p) == p && std::fmod(std::abs(p), 2.0) == 1;
  const double s = odd && p >= 3 ? odd_tangent_ratio(p) : 0.5;
  relax_elementwise(x,
                    alpha,
                    r,
                    alpha_default,
                    [&](double l, double u, const double* alo, const double* ahi, ElementLines& e) {
                      pow_lines(p, s, l, u, alo, ahi, e);
                    });
  return Status::ok();
}

}  // namespace

extern const OpDef kOpPow{"Pow",
                          2,
                          2,
                          &infer,
                          &forward,
                          nullptr,
                          &ibp,
                          &vjp,
                          &crown_element<&relax>,
                          /*crown_needs_bounds=*/true,
                          &relax};

}  // namespace nncert::ops
