// ReduceMean: y = mean of x over `axes` (keepdims default 1); axes as an input (opset 18 form;
// the ONNX frontend rewrites the attribute form of older opsets).
#include "ops/bound_forward.h"
#include "ops/interval.h"
#include "ops/reduce.h"
#include "ops/relaxation.h"

namespace nncert::ops {
namespace {
// y = (1/n) sum_{axes} x
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  return forward_reduce(node, in, out_types, out, true);
}
// dL/dx = broadcast(dL/dy, shape(x)) / n, n = number of elements reduced into each output
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return vjp_reduce(node, in, grad_out, grad_in, true);
}

}  // namespace

extern const OpDef kOpReduceMean{"ReduceMean",
                                 1,
                                 2,
                                 &infer_reduce,
                                 &forward,
                                 nullptr,
                                 &ibp_monotone<&forward>,
                                 &vjp,
                                 &crown_affine<&forward, &vjp>,
                                 /*crown_needs_bounds=*/false,
                                 /*relax=*/nullptr,
                                 &bound_forward_affine<&forward, &split_monotone>};

}  // namespace nncert::ops
