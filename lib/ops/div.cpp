// Div: elementwise y = a / b  (integers: truncated toward zero, as C++ and ONNX), with numpy
// broadcasting.
#include <type_traits>

#include "ops/elementwise.h"

namespace nncert::ops {
namespace {

// y = a / b  (integers: truncated toward zero, as C++ and ONNX)
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
        if constexpr (std::is_integral_v<decltype(b)>) {
          if (b == 0)
            return decltype(a)(0);  // avoid SIGFPE on malformed shape arithmetic
          if (b == -1)
            return wrapping_neg(a);  // INT64_MIN / -1 overflows
        }
        return a / b;
      },
      ctx);
}

}  // namespace

extern const OpDef kOpDiv{"Div", 2, 2, &infer_broadcast, &forward, nullptr};

}  // namespace nncert::ops
