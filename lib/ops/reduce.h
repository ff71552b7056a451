// Shared rule for ReduceSum / ReduceMean (axes as an optional input, keepdims,
// noop_with_empty_axes).
#pragma once

#include "ops/elementwise.h"

namespace nncert::ops {

// Which axes are reduced; an empty `axes` means all (or none with noop_with_empty_axes).
Expected<std::vector<bool>> reduced_axes(const Node& node,
                                         std::span<const TypeInfo> in,
                                         size_t rank);
Status infer_reduce(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out);
// y = sum over reduced axes of x, times `scale_by_count ? 1/count : 1`.
Status forward_reduce(const Node& node,
                      std::span<const Tensor> in,
                      std::span<const TypeInfo> out_types,
                      std::vector<Tensor>& out,
                      bool mean);
// dL/dx = broadcast(dL/dy, shape(x)), divided by the reduced count when `mean`.
Status vjp_reduce(const Node& node,
                  std::span<const Tensor> in,
                  std::span<const Tensor> grad_out,
                  std::vector<Tensor>& grad_in,
                  bool mean);

}  // namespace nncert::ops
