// Clip: y = min(max(x, lo), hi), lo/hi optional scalar inputs (opset >= 11 form; the ONNX
// frontend rewrites the older attribute form into inputs).
#include <limits>

#include "ops/elementwise.h"
#include "ops/interval.h"
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
           const ExecContext& /*ctx*/) {
  const bool has_lo = has_input(in, 1) && in[1].numel() > 0;
  const bool has_hi = has_input(in, 2) && in[2].numel() > 0;
  const double lo = has_lo ? in[1].get(0) : 0.0;
  const double hi = has_hi ? in[2].get(0) : 0.0;
  return vjp_unary(in, out, grad_out, grad_in, [&](auto x, auto) {
    using T = decltype(x);
    return (has_lo && x < static_cast<T>(lo)) || (has_hi && x > static_cast<T>(hi)) ? T(0) : T(1);
  });
}

}  // namespace

extern const OpDef kOpClip{"Clip", 1, 3, &infer, &forward, nullptr, &ibp_monotone<&forward>, &vjp};

}  // namespace nncert::ops
