// Add: elementwise y = a + b, with numpy broadcasting.
#include <type_traits>

#include "ops/elementwise.h"
#include "ops/interval.h"

namespace nncert::ops {
namespace {

// y = a + b
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
          return wrapping_add(a, b);
        else
          return a + b;
      },
      ctx);
}

}  // namespace

extern const OpDef kOpAdd{"Add", 2, 2, &infer_broadcast, &forward, nullptr, &ibp_monotone<&forward>};

}  // namespace nncert::ops
