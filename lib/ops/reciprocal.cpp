// Reciprocal: elementwise y = 1 / x.
#include <cmath>
#include <limits>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = 1 / x
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  out[0] = Tensor(out_types[0].dtype, out_types[0].shape);
  return NNCERT_FLOAT_DISPATCH(in[0].dtype(),
                               T,
                               unary_map<T>(
                                   in[0], out[0], [&](T x) -> T { return T(1) / x; }, ctx));
}

// 1/[a] = [1/a.hi, 1/a.lo] when 0 is not in [a]; unbounded otherwise
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  out = {map_interval(in[0], [](double l, double h, double* ol, double* oh) {
    if (l > 0 || h < 0) {
      *ol = 1 / h;
      *oh = 1 / l;
    } else {
      *ol = -std::numeric_limits<double>::infinity();
      *oh = std::numeric_limits<double>::infinity();
    }
  })};
  return Status::ok();
}

// dL/dx = -dL/dy * y^2
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& /*ctx*/) {
  return vjp_unary(in, out, grad_out, grad_in, [&](auto, auto y) { return -y * y; });
}

}  // namespace

extern const OpDef kOpReciprocal{
    "Reciprocal", 1, 1, &infer_same_float, &forward, nullptr, &ibp, &vjp};

}  // namespace nncert::ops
