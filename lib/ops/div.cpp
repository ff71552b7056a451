// Div: elementwise y = a / b  (integers: truncated toward zero, as C++ and ONNX), with numpy
// broadcasting.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/bivariate.h"
#include "ops/bound_forward.h"
#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = a / b  (integers: truncated toward zero, as C++ and ONNX)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  return forward_binary(
      in,
      out,
      out_types,
      [](auto a, auto b) {
        if constexpr (std::is_integral_v<decltype(b)>) {
          if (b == 0)
            return decltype(a)(0);  // avoid SIGFPE on malformed shape arithmetic
          if (b == -1)
            return wrapping_neg(a);  // INT64_MIN / -1 overflows
        }
        return a / b;
      },
      ctx);
}

// [a] / [b] = [a] * [1 / b.hi, 1 / b.lo] when 0 is not in [b]; unbounded otherwise
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  if (!is_float(in[0].lo.dtype()))
    return ibp_monotone_impl(&forward, node, in, out_types, out, ctx);
  Interval r;
  NNCERT_RETURN_IF_ERROR(ibp_corners_impl(&forward, node, in, out_types, r, ctx));
  // Where the divisor interval contains 0 the quotient is unbounded.
  const Shape& os = out_types[0].shape;
  const auto st = broadcast_strides(in[1].lo.shape(), os);
  std::vector<int64_t> idx(os.size(), 0);
  for (int64_t i = 0; i < r.lo.numel(); ++i) {
    int64_t j = 0;
    for (size_t d = 0; d < os.size(); ++d)
      j += idx[d] * st[d];
    if (in[1].lo.get(j) <= 0 && in[1].hi.get(j) >= 0) {
      r.lo.set(i, -std::numeric_limits<double>::infinity());
      r.hi.set(i, std::numeric_limits<double>::infinity());
    }
    for (size_t d = os.size(); d-- > 0;) {
      if (++idx[d] < os[d])
        break;
      idx[d] = 0;
    }
  }
  out = {r};
  return Status::ok();
}

// dL/da = unbroadcast(dL/dy / b), dL/db = -unbroadcast(dL/dy * a / b^2)
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
        return T(1) / b;
      },
      [](auto a, auto b, auto) { return -a / (b * b); });
}

// CROWN: x / c for a constant divisor c is linear (the VJP map). A non-constant divisor y whose
// interval excludes 0: x / y = x * r with r = 1/y in [1/yu, 1/yl], r bounded by lines in y
// (ops/bivariate.h reciprocal_lines: chord and midpoint tangent), then McCormick on x * r:
//   x*r >= rl*x + xl*r - xl*rl   with xl*r replaced by xl*(lower line of r) if xl >= 0, else by
//                                xl*(upper line of r);
//   x*r <= ru*x + xl*r - xl*ru   with xl*r replaced by xl*(upper line) if xl >= 0, else xl*(lower).
// A constant numerator c gives c * (line of 1/y). Where the divisor's interval holds 0 the planes
// are vacuous (-inf / +inf, as the interval rule), so only rows that read those elements lose
// their bound.
Plane2 div_planes(double xl, double xu, double yl, double yu) {
  Line2 r;
  if (!reciprocal_lines(yl, yu, r)) {
    // 0 in [yl, yu]: the quotient is unbounded (as in the interval rule).
    Plane2 p;
    p.lb = -std::numeric_limits<double>::infinity();
    p.ub = std::numeric_limits<double>::infinity();
    return p;
  }
  const double rl = std::isfinite(yu) ? 1 / yu : 0.0;
  const double ru = std::isfinite(yl) ? 1 / yl : 0.0;
  Plane2 m = mccormick(xl, xu, rl, ru);  // planes in (x, r)
  if (!std::isfinite(m.lb) || !std::isfinite(m.ub))
    return m;  // vacuous
  Plane2 p;
  // Lower: m.lx*x + m.ly*r + m.lb with m.ly = xl.
  p.lx = m.lx;
  p.ly = m.ly * (m.ly >= 0 ? r.ql : r.qu);
  p.lb = m.lb + m.ly * (m.ly >= 0 ? r.bl : r.bu);
  // Upper: m.ux*x + m.uy*r + m.ub with m.uy = xl.
  p.ux = m.ux;
  p.uy = m.uy * (m.uy >= 0 ? r.qu : r.ql);
  p.ub = m.ub + m.uy * (m.uy >= 0 ? r.bu : r.bl);
  return p;
}

Status crown(const Node& node,
             std::span<const Interval> in_bounds,
             std::span<const bool> is_const,
             std::span<const TypeInfo> out_types,
             const Tensor& a,
             bool lower,
             std::vector<Tensor>& a_in,
             Tensor& bias,
             const ExecContext& ctx) {
  if (is_const[1])
    return crown_affine_impl(
        &forward, &vjp, false, node, in_bounds, is_const, out_types, a, lower, a_in, bias, ctx);
  BivariateRelaxation r;
  make_bivariate(in_bounds, out_types[0].shape, &div_planes, r);
  return apply_bivariate(r, in_bounds, is_const, a, lower, a_in, bias);
}

// Forward mode: x / c for a constant c has Jacobian diag(1 / c) (broadcast), of the sign of c:
// the positive part divides by c where c > 0 and by +inf (giving 0) elsewhere, the negative part
// the reverse. A zero divisor has no finite Jacobian.
Status sign_split(const Node& /*node*/,
                  std::span<const Tensor> in,
                  std::span<const bool> is_const,
                  size_t i,
                  SignSplit& out) {
  if (i != 0 || !is_const[1])
    return unsupported("Div by a divisor depending on the model input is not affine");
  const Tensor c = in[1].to(DType::kF64);
  Tensor cp(DType::kF64, c.shape()), cn(DType::kF64, c.shape());
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < c.numel(); ++j) {
    const double v = c.get(j);
    if (v == 0 || std::isnan(v))
      return unsupported("Div by a constant with zero or NaN entries");
    cp.set(j, v > 0 ? v : kInf);
    cn.set(j, v < 0 ? v : kInf);
    out.has_pos = out.has_pos || v > 0;
    out.has_neg = out.has_neg || v < 0;
  }
  out.pos = {in[0], cp};
  out.neg = {in[0], cn};
  return Status::ok();
}

}  // namespace

extern const OpDef kOpDiv{"Div",
                          2,
                          2,
                          &infer_broadcast,
                          &forward,
                          nullptr,
                          &ibp,
                          &vjp,
                          &crown,
                          /*crown_needs_bounds=*/false,
                          /*relax=*/nullptr,
                          &bound_forward_affine<&forward, &sign_split>,
                          /*alpha_range=*/nullptr,
                          &second_input_variable};

}  // namespace nncert::ops
