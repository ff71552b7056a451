#include "ops/interval.h"

#include <algorithm>
#include <cmath>

#include "ops/op_util.h"

namespace nncert::ops {

namespace {
std::vector<Tensor> call(ForwardFn fwd,
                         const Node& node,
                         const std::vector<Tensor>& in,
                         std::span<const TypeInfo> out_types,
                         const ExecContext& ctx,
                         Status* st) {
  std::vector<Tensor> out(out_types.size());
  *st = fwd(node, in, out_types, out, ctx);
  return out;
}

// o[i] = f(a[i], b[i]) in double, on typed pointers when a and b share a float dtype (the common
// case; element access through Tensor::get/set is several times slower).
template <class F>
Tensor zip(const Tensor& a, const Tensor& b, F f) {
  Tensor o(a.dtype(), a.shape());
  const int64_t n = a.numel();
  if (a.dtype() == b.dtype() && a.dtype() == DType::kF64) {
    const double* pa = a.data<double>();
    const double* pb = b.data<double>();
    double* po = o.data<double>();
    for (int64_t i = 0; i < n; ++i)
      po[i] = f(pa[i], pb[i]);
  } else if (a.dtype() == b.dtype() && a.dtype() == DType::kF32) {
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* po = o.data<float>();
    for (int64_t i = 0; i < n; ++i)
      po[i] = static_cast<float>(f(pa[i], pb[i]));
  } else {
    for (int64_t i = 0; i < n; ++i)
      o.set(i, f(a.get(i), b.get(i)));
  }
  return o;
}
}  // namespace

bool is_exact(const Interval& v) {
  if (!v.lo.is_valid())
    return true;
  if (v.lo.raw() == v.hi.raw())
    return true;
  for (int64_t i = 0; i < v.lo.numel(); ++i)
    if (v.lo.get(i) != v.hi.get(i))
      return false;
  return true;
}

Tensor interval_mid(const Interval& v) {
  return zip(v.lo, v.hi, [](double l, double h) { return l + (h - l) / 2; });
}

Tensor interval_rad(const Interval& v) {
  return zip(v.lo, v.hi, [](double l, double h) { return (h - l) / 2; });
}

Tensor abs_tensor(const Tensor& t) {
  return zip(t, t, [](double x, double) { return std::abs(x); });
}

Tensor min_tensor(const std::vector<Tensor>& ts) {
  Tensor o = ts[0];
  for (size_t k = 1; k < ts.size(); ++k)
    o = zip(o, ts[k], [](double a, double b) {
      return std::isnan(a) || std::isnan(b) ? std::nan("") : std::min(a, b);
    });
  return ts.size() == 1 ? o.clone() : o;
}

Tensor max_tensor(const std::vector<Tensor>& ts) {
  Tensor o = ts[0];
  for (size_t k = 1; k < ts.size(); ++k)
    o = zip(o, ts[k], [](double a, double b) {
      return std::isnan(a) || std::isnan(b) ? std::nan("") : std::max(a, b);
    });
  return ts.size() == 1 ? o.clone() : o;
}

Interval map_interval(const Interval& v,
                      void (*f)(double lo, double hi, double* out_lo, double* out_hi)) {
  Interval o{Tensor(v.lo.dtype(), v.lo.shape()), Tensor(v.lo.dtype(), v.lo.shape())};
  for (int64_t i = 0; i < v.lo.numel(); ++i) {
    double l = 0, h = 0;
    f(v.lo.get(i), v.hi.get(i), &l, &h);
    o.lo.set(i, l);
    o.hi.set(i, h);
  }
  return o;
}

// [f(lo...), f(hi...)]: exact for ops non-decreasing in every input.
Status ibp_monotone_impl(ForwardFn fwd,
                         const Node& node,
                         std::span<const Interval> in,
                         std::span<const TypeInfo> out_types,
                         std::vector<Interval>& out,
                         const ExecContext& ctx) {
  std::vector<Tensor> lo, hi;
  for (const auto& v : in) {
    lo.push_back(v.lo);
    hi.push_back(v.hi);
  }
  Status st;
  auto ylo = call(fwd, node, lo, out_types, ctx, &st);
  NNCERT_RETURN_IF_ERROR(st);
  auto yhi = call(fwd, node, hi, out_types, ctx, &st);
  NNCERT_RETURN_IF_ERROR(st);
  out.resize(ylo.size());
  for (size_t k = 0; k < ylo.size(); ++k)
    out[k] = {ylo[k], yhi[k]};
  return Status::ok();
}

Status ibp_corners_impl(ForwardFn fwd,
                        const Node& node,
                        std::span<const Interval> in,
                        std::span<const TypeInfo> out_types,
                        Interval& out,
                        const ExecContext& ctx) {
  std::vector<Tensor> corners;
  Status st;
  for (const Tensor& a : {in[0].lo, in[0].hi})
    for (const Tensor& b : {in[1].lo, in[1].hi}) {
      auto y = call(fwd, node, {a, b}, out_types, ctx, &st);
      NNCERT_RETURN_IF_ERROR(st);
      corners.push_back(y[0]);
    }
  out = {min_tensor(corners), max_tensor(corners)};
  return Status::ok();
}

// mid = f(a_m, b_m) + bias, rad = f(|a_m|, b_r) + f(a_r, |b_m|) + f(a_r, b_r) (Rump's
// centre-radius product, which contains every product of points of the two intervals).
Status ibp_bilinear_impl(ForwardFn fwd,
                         const Node& node,
                         std::span<const Interval> in,
                         std::span<const TypeInfo> out_types,
                         std::vector<Interval>& out,
                         const ExecContext& ctx) {
  if (in.size() > 2 && in[2].lo.is_valid() && !is_exact(in[2]))
    return unsupported(node.op + " with an input-dependent bias has no interval rule");
  const bool a_exact = is_exact(in[0]), b_exact = is_exact(in[1]);
  const Tensor am = a_exact ? in[0].lo : interval_mid(in[0]);
  const Tensor bm = b_exact ? in[1].lo : interval_mid(in[1]);
  std::vector<Tensor> mid_in{am, bm};
  if (in.size() > 2)
    mid_in.push_back(in[2].lo);
  Status st;
  auto mid = call(fwd, node, mid_in, out_types, ctx, &st);
  NNCERT_RETURN_IF_ERROR(st);
  // The radius terms use |alpha| and no bias (alpha only exists on Gemm).
  Node rnode = node;
  if (rnode.attrs.has("alpha"))
    rnode.attrs.set("alpha", std::abs(rnode.attrs.get_float("alpha", 1)));
  Tensor rad;
  auto add_term = [&](const Tensor& x, const Tensor& y) -> Status {
    auto t = call(fwd, rnode, {x, y}, out_types, ctx, &st);
    NNCERT_RETURN_IF_ERROR(st);
    if (!rad.is_valid()) {
      rad = t[0];
    } else {
      rad = zip(rad, t[0], [](double p, double q) { return p + q; });
    }
    return Status::ok();
  };
  if (!b_exact)
    NNCERT_RETURN_IF_ERROR(add_term(abs_tensor(am), interval_rad(in[1])));
  if (!a_exact)
    NNCERT_RETURN_IF_ERROR(add_term(interval_rad(in[0]), abs_tensor(bm)));
  if (!a_exact && !b_exact)
    NNCERT_RETURN_IF_ERROR(add_term(interval_rad(in[0]), interval_rad(in[1])));
  out.resize(1);
  if (!rad.is_valid()) {
    out[0] = {mid[0], mid[0]};
    return Status::ok();
  }
  out[0] = {zip(mid[0], rad, [](double m, double r) { return m - r; }),
            zip(mid[0], rad, [](double m, double r) { return m + r; })};
  return Status::ok();
}

}  // namespace nncert::ops
