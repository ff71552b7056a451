// Min: elementwise min over any number of inputs, with numpy broadcasting.
// NaN propagates (a NaN input gives a NaN output), as in ONNX Runtime.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/elementwise.h"

namespace nncert::ops {
namespace {

template <class T>
T pick(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return b < a ? b : a;
}

// y = min(x_1, ..., x_n)
Status forward(const Node& node, std::span<const Tensor> in, std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out, const ExecContext& ctx) {
  Tensor acc = in[0];
  if (in.size() == 1) {
    out[0] = acc.clone();
    return Status::ok();
  }
  Shape shape = acc.shape();
  for (size_t i = 1; i < in.size(); ++i) {
    NNCERT_ASSIGN_OR_RETURN(shape, broadcast_shapes(acc.shape(), in[i].shape()));
    std::vector<Tensor> next(1);
    std::vector<TypeInfo> types{make_info(acc.dtype(), shape)};
    NNCERT_RETURN_IF_ERROR(forward_binary(std::vector<Tensor>{acc, in[i]}, next, types,
                                          [](auto a, auto b) { return pick(a, b); }, ctx));
    acc = next[0];
  }
  out[0] = acc;
  return Status::ok();
}

}  // namespace

extern const OpDef kOpMin{"Min", 1, -1, &infer_broadcast, &forward, nullptr};

}  // namespace nncert::ops
