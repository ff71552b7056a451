// Mul: elementwise y = a * b, with numpy broadcasting.
#include <type_traits>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/relaxation.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// y = a * b
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
        if constexpr (std::is_integral_v<decltype(a)>)
          return wrapping_mul(a, b);
        else
          return a * b;
      },
      ctx);
}

// [a] * [b] = [min, max] of the four endpoint products (0 * inf counts as unbounded)
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  std::vector<Tensor> products;
  for (const Tensor& a : {in[0].lo, in[0].hi})
    for (const Tensor& b : {in[1].lo, in[1].hi}) {
      std::vector<Tensor> p(1);
      NNCERT_RETURN_IF_ERROR(forward(node, std::vector<Tensor>{a, b}, out_types, p, ctx));
      products.push_back(p[0]);
    }
  out = {{min_tensor(products), max_tensor(products)}};
  return Status::ok();
}

// dL/da = unbroadcast(dL/dy * b), dL/db = unbroadcast(dL/dy * a)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& /*ctx*/) {
  return vjp_binary(
      in,
      out,
      grad_out,
      grad_in,
      [](auto, auto b, auto) { return b; },
      [](auto a, auto, auto) { return a; });
}

}  // namespace

extern const OpDef kOpMul{"Mul",
                          2,
                          2,
                          &infer_broadcast,
                          &forward,
                          nullptr,
                          &ibp,
                          &vjp,
                          &crown_multilinear<&forward, &vjp>};

}  // namespace nncert::ops
