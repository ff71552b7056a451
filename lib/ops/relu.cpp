// Relu: elementwise y = max(x, 0).
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
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
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
           const ExecContext& /*ctx*/) {
  return vjp_unary(in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return x > T(0) ? T(1) : T(0);
  });
}

// CROWN relaxation of y = max(x, 0) on [l, u]: l >= 0: y = x; u <= 0: y = 0; otherwise
//   y <= u (x - l) / (u - l)  (chord)  and  y >= a x, a = 1 if u > -l else 0 (adaptive slope)
Status crown(const Node& node,
             std::span<const Interval> in_bounds,
             std::span<const bool> is_const,
             std::span<const TypeInfo> out_types,
             const Tensor& a,
             bool lower,
             std::vector<Tensor>& a_in,
             Tensor& bias,
             const ExecContext& ctx) {
  const Interval& x = in_bounds[0];
  const Shape s = x.lo.shape();
  ElementRelaxation r{
      Tensor(a.dtype(), s), Tensor(a.dtype(), s), Tensor(a.dtype(), s), Tensor(a.dtype(), s)};
  for (int64_t j = 0; j < x.lo.numel(); ++j) {
    const double l = x.lo.get(j), u = x.hi.get(j);
    if (l >= 0) {  // active: y = x
      r.al.set(j, 1);
      r.au.set(j, 1);
    } else if (u > 0) {  // unstable: chord above, adaptive slope below
      const double slope = u / (u - l);
      r.au.set(j, slope);
      r.bu.set(j, -slope * l);
      r.al.set(j, u > -l ? 1 : 0);
    }  // inactive (u <= 0): y = 0, all zero
  }
  a_in.assign(in_bounds.size(), Tensor());
  apply_element_relaxation(r, a, lower, a_in[0], bias);
  return Status::ok();
}

}  // namespace

extern const OpDef kOpRelu{
    "Relu", 1, 1, &infer_same, &forward, nullptr, &ibp_monotone<&forward>, &vjp, &crown, true};

}  // namespace nncert::ops
