#include "ops/bivariate.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/elementwise.h"
#include "ops/op_util.h"

namespace nncert::ops {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

bool finite4(double a, double b, double c, double d) {
  return std::isfinite(a) && std::isfinite(b) && std::isfinite(c) && std::isfinite(d);
}
}  // namespace

Plane2 mccormick(double xl, double xu, double yl, double yu) {
  Plane2 p;
  if (!finite4(xl, xu, yl, yu)) {
    p.lb = -kInf;
    p.ub = kInf;
    return p;
  }
  // (x - xl)(y - yl) >= 0  and  (x - xl)(y - yu) <= 0
  p.lx = yl;
  p.ly = xl;
  p.lb = -xl * yl;
  p.ux = yu;
  p.uy = xl;
  p.ub = -xl * yu;
  return p;
}

Plane2 max_planes(double xl, double xu, double yl, double yu) {
  Plane2 p;
  if (!finite4(xl, xu, yl, yu)) {
    p.lb = -kInf;
    p.ub = kInf;
    return p;
  }
  if (xl >= yu) {  // z = x
    p.lx = p.ux = 1;
    return p;
  }
  if (yl >= xu) {  // z = y
    p.ly = p.uy = 1;
    return p;
  }
  // A: the operand with the larger upper bound (x on ties), B: the other.
  const bool swap = xu < yu;
  const double la = swap ? yl : xl, ua = swap ? yu : xu;
  const double lb = swap ? xl : yl, ub = swap ? xu : yu;
  double da = 0, db = 0, c = 0;  // upper plane: da*A + db*B + c
  if (ua > ub) {
    const double k = (ua - ub) / (ua - la);
    da = k;
    c = ua - k * ua;
  } else {
    const double m = std::max(la, lb);
    da = (ua - m) / (ua - la);
    db = (ua - m) / (ua - lb);
    c = ua - da * la - db * ua;
  }
  // Lower plane: z >= B.
  if (swap) {
    p.lx = 1;
    p.uy = da;
    p.ux = db;
  } else {
    p.ly = 1;
    p.ux = da;
    p.uy = db;
  }
  p.ub = c;
  return p;
}

Plane2 min_planes(double xl, double xu, double yl, double yu) {
  // min(x, y) = -max(-x, -y): a plane of the max in (-x, -y) maps to the opposite side.
  const Plane2 m = max_planes(-xu, -xl, -yu, -yl);
  Plane2 p;
  p.lx = m.ux;
  p.ly = m.uy;
  p.lb = -m.ub;
  p.ux = m.lx;
  p.uy = m.ly;
  p.ub = -m.lb;
  return p;
}

bool reciprocal_lines(double yl, double yu, Line2& out) {
  if (!(yl > 0 || yu < 0))
    return false;
  const bool neg = yu < 0;
  // Work on |y| in [a, b] (0 < a <= b), where 1/y is convex, then mirror: 1/y = -1/|y|.
  const double a = neg ? -yu : yl;
  const double b = neg ? -yl : yu;
  double cq = 0, cb = 0, tq = 0, tb = 0;  // chord (above) and tangent (below) of 1/t on [a, b]
  if (!std::isfinite(b)) {
    cq = 0;
    cb = 1 / a;  // 1/t <= 1/a
    tq = 0;
    tb = 0;  // 1/t >= 0
  } else if (a == b) {
    cq = tq = -1 / (a * a);
    cb = tb = 2 / a;  // the tangent at a; exact at the only point
  } else {
    cq = -1 / (a * b);
    cb = 1 / a + 1 / b;
    const double m = (a + b) / 2;
    tq = -1 / (m * m);
    tb = 2 / m;
  }
  if (!neg) {
    out = {tq, tb, cq, cb};
  } else {
    // 1/y = -1/t with t = -y: the lower line of 1/y is minus the chord in t, i.e.
    // -(cq*(-y) + cb) = cq*y - cb; the upper line is minus the tangent.
    out = {cq, -cb, tq, -tb};
  }
  return true;
}

std::vector<int64_t> broadcast_index(const Shape& in, const Shape& out) {
  const int64_t n = shape_numel(out);
  std::vector<int64_t> idx(static_cast<size_t>(n), 0);
  if (in == out) {
    for (int64_t i = 0; i < n; ++i)
      idx[static_cast<size_t>(i)] = i;
    return idx;
  }
  const std::vector<int64_t> st = broadcast_strides(in, out);
  const size_t r = out.size();
  std::vector<int64_t> pos(r, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d)
      off += pos[d] * st[d];
    idx[static_cast<size_t>(i)] = off;
    for (size_t d = r; d-- > 0;) {
      if (++pos[d] < out[d])
        break;
      pos[d] = 0;
    }
  }
  return idx;
}

Status apply_bivariate(const BivariateRelaxation& r,
                       std::span<const Interval> in_bounds,
                       std::span<const bool> is_const,
                       const Tensor& a,
                       bool lower,
                       std::vector<Tensor>& a_in,
                       Tensor& bias) {
  const int64_t s = a.dim(0);
  const auto n_out = static_cast<int64_t>(r.planes.size());
  if (a.numel() != s * n_out)
    return shape_error("coefficient rows do not match the output");
  const Tensor ad = a.to(DType::kF64);
  const double* pa = ad.data<double>();
  a_in.assign(in_bounds.size(), Tensor());
  std::vector<int64_t> idx[2];
  Tensor val[2];
  const double* pv[2] = {nullptr, nullptr};
  double* po[2] = {nullptr, nullptr};
  int64_t n_in[2] = {0, 0};
  for (size_t k = 0; k < 2; ++k) {
    const Tensor& lo = in_bounds[k].lo;
    idx[k] = broadcast_index(lo.shape(), r.out);
    n_in[k] = lo.numel();
    if (is_const[k]) {
      val[k] = lo.to(DType::kF64);
      pv[k] = val[k].data<double>();
    } else {
      a_in[k] = Tensor(DType::kF64, {s, n_in[k]});
      po[k] = a_in[k].data<double>();
    }
  }
  for (int64_t row = 0; row < s; ++row) {
    const double* c = pa + row * n_out;
    double acc = 0;
    for (int64_t j = 0; j < n_out; ++j) {
      const double cj = c[j];
      if (cj == 0)
        continue;
      const Plane2& p = r.planes[static_cast<size_t>(j)];
      const bool use_lower = (cj >= 0) == lower;
      const double d[2] = {use_lower ? p.lx : p.ux, use_lower ? p.ly : p.uy};
      acc += cj * (use_lower ? p.lb : p.ub);
      for (size_t k = 0; k < 2; ++k) {
        if (d[k] == 0)
          continue;
        const int64_t i = idx[k][static_cast<size_t>(j)];
        if (pv[k] != nullptr)
          acc += cj * d[k] * pv[k][i];
        else
          po[k][row * n_in[k] + i] += cj * d[k];
      }
    }
    bias.set(row, bias.get(row) + acc);
  }
  return Status::ok();
}

Status crown_pick(Plane2 (*planes)(double, double, double, double),
                  const Node& node,
                  std::span<const Interval> in_bounds,
                  std::span<const bool> is_const,
                  std::span<const TypeInfo> out_types,
                  const Tensor& a,
                  bool lower,
                  std::vector<Tensor>& a_in,
                  Tensor& bias) {
  if (in_bounds.size() == 1) {  // the identity
    a_in.assign(1, a.to(DType::kF64));
    return Status::ok();
  }
  if (in_bounds.size() > 2)
    return unsupported(node.op + " of more than two inputs has no linear relaxation");
  BivariateRelaxation r;
  make_bivariate(in_bounds, out_types[0].shape, planes, r);
  return apply_bivariate(r, in_bounds, is_const, a, lower, a_in, bias);
}

bool several_inputs(const Node& node, std::span<const bool> /*is_const*/) {
  return node.inputs.size() >= 2;
}

bool two_variable_inputs(const Node& /*node*/, std::span<const bool> is_const) {
  int variables = 0;
  for (bool c : is_const)
    variables += c ? 0 : 1;
  return variables >= 2;
}

bool second_input_variable(const Node& /*node*/, std::span<const bool> is_const) {
  return is_const.size() >= 2 && !is_const[1];
}

}  // namespace nncert::ops
