// Relu: elementwise y = max(x, 0).
#include <algorithm>
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = max(x, 0)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return NNCERT_ANY_DISPATCH(
      in[0].dtype(),
      T,
      unary_map<T>(
          in[0], out[0], [&](T x) -> T { return x > T(0) ? x : T(0); }, ctx));
}

// dL/dx = dL/dy * (x > 0)  (subgradient 0 at x == 0)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_unary(ctx, in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return x > T(0) ? T(1) : T(0);
  });
}

// Relaxation of y = max(x, 0) on [l, u]: l >= 0: y = x; u <= 0: y = 0; otherwise
//   y <= u (x - l) / (u - l)  (chord)  and  y >= a x with any a in [0, 1];
// the default a is 1 if u > -l else 0 (auto_LiRPA's adaptive slope); alpha->lo is a itself.
Status relax(const Node& /*node*/,
             const Interval& x,
             const Interval* alpha,
             ElementRelaxation& r,
             Interval* alpha_default) {
  r = make_relaxation(x);
  const double* lo = x.lo.data<double>();
  const double* hi = x.hi.data<double>();
  const double* al = alpha ? alpha->lo.data<double>() : nullptr;
  double* d = nullptr;
  if (alpha == nullptr && alpha_default != nullptr) {
    *alpha_default = make_interval_like(x);
    d = alpha_default->lo.data<double>();
  }
  double *pal = r.al.data<double>(), *pau = r.au.data<double>(), *pbu = r.bu.data<double>();
  const int64_t n = x.lo.numel();
  for (int64_t j = 0; j < n; ++j) {
    const double l = lo[j], u = hi[j];
    if (l >= 0) {  // active: y = x
      pal[j] = 1;
      pau[j] = 1;
    } else if (u > 0) {  // unstable: chord above, a line through 0 below
      const double slope = u / (u - l);
      pau[j] = slope;
      pbu[j] = -slope * l;
      const double a = al ? std::clamp(al[j], 0.0, 1.0) : (u > -l ? 1.0 : 0.0);
      pal[j] = a;
      if (d)
        d[j] = a;
    }  // inactive (u <= 0): y = 0, all zero
  }
  return Status::ok();
}

}  // namespace

extern const OpDef kOpRelu{"Relu",
                           1,
                           1,
                           &infer_same,
                           &forward,
                           nullptr,
                           &ibp_monotone<&forward>,
                           &vjp,
                           &crown_element<&relax>,
                           true,
                           &relax};

}  // namespace nncert::ops
