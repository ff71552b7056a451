#include "bounds/rounding.h"

#include <algorithm>
#include <cmath>

namespace nncert {

double rounding_gamma(const Graph& g, DType dtype) {
  int64_t n = 0;
  for (size_t v = 0; v < g.num_values(); ++v) {
    const Value& val = g.value(static_cast<ValueId>(v));
    if (val.shape_known && shape_is_static(val.shape))
      n = std::max(n, shape_numel(val.shape));
  }
  const double u = std::ldexp(1.0, dtype == DType::kF32 ? -24 : -53);
  const double k = static_cast<double>(n + 2);
  return 2 * k * u / (1 - k * u);
}

Expected<Tensor> output_magnitude(const Graph& g,
                                  const Node& n,
                                  const std::vector<Interval>& val,
                                  const ExecContext& ctx) {
  std::vector<Interval> sym = val;
  for (ValueId v : n.inputs) {
    if (v == kNoValue || g.is_constant(v))
      continue;
    const Interval& b = val[static_cast<size_t>(v)];
    if (!b.lo.is_valid() || !is_float(b.lo.dtype()))
      continue;
    const Tensor lo = b.lo.to(DType::kF64), hi = b.hi.to(DType::kF64);
    Interval s{Tensor(DType::kF64, lo.shape()), Tensor(DType::kF64, lo.shape())};
    for (int64_t i = 0; i < lo.numel(); ++i) {
      const double m = std::max(std::abs(lo.data<double>()[i]), std::abs(hi.data<double>()[i]));
      s.lo.data<double>()[i] = -m;
      s.hi.data<double>()[i] = m;
    }
    sym[static_cast<size_t>(v)] = s;
  }
  NNCERT_ASSIGN_OR_RETURN(auto out, ibp_node(g, n, sym, DType::kF64, ctx));
  Interval& o = out[0];
  Tensor m(DType::kF64, o.lo.shape());
  for (int64_t i = 0; i < m.numel(); ++i)
    m.data<double>()[i] = std::max(std::abs(o.lo.get(i)), std::abs(o.hi.get(i)));
  return m;
}

void widen_interval(Interval& v, const Tensor& m, double gamma) {
  if (!is_float(v.lo.dtype()))
    return;
  Interval w{v.lo.to(DType::kF64).clone(), v.hi.to(DType::kF64).clone()};
  double* lo = w.lo.data<double>();
  double* hi = w.hi.data<double>();
  const bool have_m = m.is_valid() && m.numel() == w.lo.numel();
  const double rel = v.lo.dtype() == DType::kF32 ? std::ldexp(1.0, -16) : kLibmSlack;
  for (int64_t i = 0; i < w.lo.numel(); ++i) {
    const double mi = have_m ? m.get(i) : 0.0;
    lo[i] -= gamma * mi + rel * std::abs(lo[i]);
    hi[i] += gamma * mi + rel * std::abs(hi[i]);
  }
  if (v.lo.dtype() != DType::kF64) {
    // Rounding to the narrower type could move an endpoint inward: step outward by one ulp.
    Tensor l = w.lo.to(v.lo.dtype()), h = w.hi.to(v.lo.dtype());
    for (int64_t i = 0; i < l.numel(); ++i) {
      if (l.get(i) > lo[i])
        l.set(i, std::nextafter(static_cast<float>(l.get(i)), -INFINITY));
      if (h.get(i) < hi[i])
        h.set(i, std::nextafter(static_cast<float>(h.get(i)), INFINITY));
    }
    v = {l, h};
  } else {
    v = w;
  }
}

void widen_lines(ElementRelaxation& r, const Interval& x) {
  const int64_t n = r.al.numel();
  const int64_t m = x.lo.numel();
  double* bl = r.bl.data<double>();
  double* bu = r.bu.data<double>();
  const double* al = r.al.data<double>();
  const double* au = r.au.data<double>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = m > 0 ? i % m : 0;
    const double mx = std::max(std::abs(x.lo.get(j)), std::abs(x.hi.get(j)));
    bl[i] -= kLibmSlack * (std::abs(bl[i]) + std::abs(al[i]) * mx);
    bu[i] += kLibmSlack * (std::abs(bu[i]) + std::abs(au[i]) * mx);
  }
}

}  // namespace nncert
