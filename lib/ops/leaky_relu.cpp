// LeakyRelu: elementwise y = x if x >= 0 else alpha * x  (alpha defaults to 0.01).
#include <algorithm>
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = x if x >= 0 else alpha * x  (alpha defaults to 0.01)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const double alpha = node.attrs.get_float("alpha", 0.01);
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(
      in[0].dtype(),
      T,
      unary_map<T>(
          in[0], out[0], [&](T x) -> T { return x >= T(0) ? x : static_cast<T>(alpha) * x; }, ctx));
}

// LeakyRelu with alpha >= 0 is non-decreasing: [f(lo), f(hi)]; with alpha < 0 the minimum over
// an interval containing 0 is 0: [min(f(lo), f(hi), 0 if lo < 0 < hi), max(f(lo), f(hi))]
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  NNCERT_RETURN_IF_ERROR(ibp_monotone_impl(&forward, node, in, out_types, out, ctx));
  if (node.attrs.get_float("alpha", 0.01) >= 0)
    return Status::ok();
  Interval r{min_tensor({out[0].lo, out[0].hi}), max_tensor({out[0].lo, out[0].hi})};
  for (int64_t i = 0; i < r.lo.numel(); ++i)
    if (in[0].lo.get(i) < 0 && in[0].hi.get(i) > 0)
      r.lo.set(i, std::min(r.lo.get(i), 0.0));
  out = {r};
  return Status::ok();
}

// dL/dx = dL/dy * (x >= 0 ? 1 : alpha)
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& /*ctx*/) {
  const double alpha = node.attrs.get_float("alpha", 0.01);
  return vjp_unary(in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return x >= T(0) ? T(1) : static_cast<T>(alpha);
  });
}

}  // namespace

extern const OpDef kOpLeakyRelu{
    "LeakyRelu", 1, 1, &infer_same_float, &forward, nullptr, &ibp, &vjp};

}  // namespace nncert::ops
