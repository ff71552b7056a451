// Clip: y = min(max(x, lo), hi), lo/hi optional scalar inputs (opset >= 11 form; the ONNX
// frontend rewrites the older attribute form into inputs).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  for (size_t i = 1; i < in.size(); ++i)
    if (has_input(in, i) && in[i].shape_known && shape_numel(in[i].shape) > 1)
      return shape_error("Clip bounds must be scalars, got shape " + shape_to_string(in[i].shape));
  return infer_same(node, in, out);
}

// y = min(max(x, lo), hi)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  double lo = has_input(in, 1) && in[1].numel() > 0 ? in[1].get(0)
                                                    : -std::numeric_limits<double>::infinity();
  double hi = has_input(in, 2) && in[2].numel() > 0 ? in[2].get(0)
                                                    : std::numeric_limits<double>::infinity();
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_ANY_DISPATCH(in[0].dtype(), T, {
    const bool has_lo = has_input(in, 1) && in[1].numel() > 0;
    const bool has_hi = has_input(in, 2) && in[2].numel() > 0;
    const T l = has_lo ? value_as<T>(lo) : T(0);
    const T h = has_hi ? value_as<T>(hi) : T(0);
    unary_map<T>(
        in[0],
        out[0],
        [&](T x) -> T {
          if (has_lo && x < l)
            x = l;
          if (has_hi && x > h)
            x = h;
          return x;
        },
        ctx);
  });
}

// dL/dx = dL/dy * (lo <= x <= hi)  (the bounds are inclusive: the gradient passes at x == lo
// and x == hi, as in ONNX Runtime; the bound inputs take no gradient)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  const bool has_lo = has_input(in, 1) && in[1].numel() > 0;
  const bool has_hi = has_input(in, 2) && in[2].numel() > 0;
  const double lo = has_lo ? in[1].get(0) : 0.0;
  const double hi = has_hi ? in[2].get(0) : 0.0;
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return (has_lo && x < static_cast<T>(lo)) || (has_hi && x > static_cast<T>(hi)) ? T(0) : T(1);
  });
}

// The limit of input i (1: min, 2: max) for the relaxation: the bound constant input
// (constant_input_attr), else the older "min"/"max" attribute, else absent (-inf / +inf). A NaN
// limit never clamps (forward), so it counts as absent.
Status clip_limit(const Node& node, size_t i, double& v) {
  const bool is_min = i == 1;
  v = is_min ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  const char* what = is_min ? "min" : "max";
  if (auto t = node.attrs.get_tensor(constant_input_attr(i))) {
    if (t->numel() != 1)
      return unsupported(std::string("Clip relaxation needs a scalar ") + what);
    if (!std::isnan(t->get(0)))
      v = t->get(0);
  } else if (node.inputs.size() > i && node.inputs[i] != kNoValue) {
    return unsupported(std::string("Clip relaxation needs a constant ") + what +
                       " (its input depends on the model input)");
  } else if (node.attrs.has(what)) {
    const double a = node.attrs.get_float(what, v);
    if (!std::isnan(a))
      v = a;
  }
  return Status::ok();
}

// y = min(max(x, a), b) (a = min, b = max, either may be absent = -inf / +inf; a > b gives y = b)
// is piecewise linear; on [l, u] (a <= b):
//   u <= a: y = a;  l >= b: y = b;  a <= l, u <= b: y = x;
//   l < a < u <= b (convex, like ReLU at a):  upper: the chord through (l, a), (u, u)
//     (l = -inf: y <= u; u = +inf: y <= x + a - l);  lower: y >= a + s (x - a), any s in [0, 1]
//     (alpha_lo: s = a); default s = 1 if u - a > a - l else 0.
//   a <= l < b < u (concave, mirrored):  lower: the chord through (l, l), (u, b)
//     (u = +inf: y >= l; l = -inf: y >= x - u + b);  upper: y <= b + s (x - b), any s in [0, 1]
//     (alpha_hi: s = a); default s = 1 if b - l > u - b else 0.
//   l < a <= b < u (both kinks):  upper: y <= b + s (x - b) for s in [0, (b - a) / (b - l)]
//     (alpha_hi: s = a s_max; default s_max if u - b < b - l else 0);  lower: y >= a + s (x - a)
//     for s in [0, (b - a) / (u - a)] (alpha_lo likewise; default s_max if a - l < u - a else 0).
Status relax(const Node& node,
             const Interval& x,
             const Interval* alpha,
             ElementRelaxation& r,
             Interval* alpha_default) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  double a = 0, b = 0;
  NNCERT_RETURN_IF_ERROR(clip_limit(node, 1, a));
  NNCERT_RETURN_IF_ERROR(clip_limit(node, 2, b));
  relax_elementwise(
      x,
      alpha,
      r,
      alpha_default,
      [&](double l, double u, const double* alo, const double* ahi, ElementLines& e) {
        auto f = [&](double v) {
          return std::min(std::max(v, a), b);
        };
        e.f_lo = f(l);
        e.f_hi = f(u);
        if (a > b) {  // always b
          e.lower = e.upper = {0, b};
          return;
        }
        if (u <= a) {
          e.lower = e.upper = {0, a};
          return;
        }
        if (l >= b) {
          e.lower = e.upper = {0, b};
          return;
        }
        const bool kink_a = l<a, kink_b = u> b;  // a < u and l < b here
        if (!kink_a && !kink_b) {
          e.lower = e.upper = {1, 0};
          return;
        }
        // A line through (p, p) with slope s.
        auto through = [](double p, double s) {
          return Line{s, p - s * p};
        };
        if (kink_a && !kink_b) {
          if (std::isfinite(l) && std::isfinite(u))
            e.upper = chord_line(l, a, u, u);
          else if (std::isfinite(u))  // l = -inf
            e.upper = {0, u};
          else if (std::isfinite(l))  // u = +inf
            e.upper = {1, a - l};
          else
            e.upper = {0, inf};
          const double s = alo ? std::clamp(*alo, 0.0, 1.0) : (u - a > a - l ? 1.0 : 0.0);
          e.lower = through(a, s);
          e.alpha_lo = s;
        } else if (!kink_a && kink_b) {
          if (std::isfinite(l) && std::isfinite(u))
            e.lower = chord_line(l, l, u, b);
          else if (std::isfinite(l))  // u = +inf
            e.lower = {0, l};
          else if (std::isfinite(u))  // l = -inf
            e.lower = {1, b - u};
          else
            e.lower = {0, -inf};
          const double s = ahi ? std::clamp(*ahi, 0.0, 1.0) : (b - l > u - b ? 1.0 : 0.0);
          e.upper = through(b, s);
          e.alpha_hi = s;
        } else {  // l < a <= b < u
          const double su = std::isfinite(l) ? (b - a) / (b - l) : 0.0;
          const double sl = std::isfinite(u) ? (b - a) / (u - a) : 0.0;
          const double fu = ahi ? std::clamp(*ahi, 0.0, 1.0) : (u - b < b - l ? 1.0 : 0.0);
          const double fl = alo ? std::clamp(*alo, 0.0, 1.0) : (a - l < u - a ? 1.0 : 0.0);
          e.upper = through(b, fu * su);
          e.lower = through(a, fl * sl);
          e.alpha_hi = fu;
          e.alpha_lo = fl;
        }
      });
  return Status::ok();
}

}  // namespace

extern const OpDef kOpClip{"Clip",
                           1,
                           3,
                           &infer,
                           &forward,
                           nullptr,
                           &ibp_monotone<&forward>,
                           &vjp,
                           &crown_element<&relax>,
                           /*crown_needs_bounds=*/true,
                           &relax};

}  // namespace nncert::ops
