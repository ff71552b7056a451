// Pow: elementwise y = a ^ b with numpy broadcasting. Bound propagation supports a constant
// exponent; the runtime computes any exponent.
#include <cmath>
#include <type_traits>

#include "ops/elementwise.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "the base"));
  Shape s = in[0].shape;
  if (in[0].shape_known && in[1].shape_known) {
    NNCERT_ASSIGN_OR_RETURN(s, broadcast_shapes(in[0].shape, in[1].shape));
  }
  out.assign(1, make_info(in[0].dtype, s));
  out[0].shape_known = in[0].shape_known && in[1].shape_known;
  return Status::ok();
}

// y = a ^ b; x^2 and x^0.5 take exact fast paths so that Pow(x, 2) == x * x bit for bit.
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  Tensor exponent = in[1].to(in[0].dtype());
  return forward_binary(
      std::vector<Tensor>{in[0], exponent},
      out,
      out_types,
      [](auto a, auto b) -> decltype(a) {
        if (b == decltype(b)(2))
          return a * a;
        if (b == decltype(b)(1))
          return a;
        if constexpr (std::is_floating_point_v<decltype(b)>) {
          if (b == decltype(b)(0.5))
            return std::sqrt(a);
        }
        return static_cast<decltype(a)>(std::pow(a, b));
      },
      ctx);
}

}  // namespace

extern const OpDef kOpPow{"Pow", 2, 2, &infer, &forward, nullptr};

}  // namespace nncert::ops
