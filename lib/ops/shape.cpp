// Shape: y = the input's shape as an int64 vector, optionally sliced by start/end (opset 15).
#include <algorithm>

#include "ops/elementwise.h"
#include "ops/interval.h"

namespace nncert::ops {
namespace {

std::pair<int64_t, int64_t> range(const Node& node, int64_t rank) {
  int64_t start = node.attrs.get_int("start", 0);
  int64_t end = node.attrs.get_int("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  return {start, end};
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (!in[0].shape_known) {
    out.assign(1, make_info(DType::kI64, {-1}));
    return Status::ok();
  }
  auto rank = static_cast<int64_t>(in[0].shape.size());
  auto [start, end] = range(node, rank);
  Shape dims(in[0].shape.begin() + start, in[0].shape.begin() + end);
  out.assign(1, make_info(DType::kI64, {end - start}));
  // The value is known when every selected extent is static (e.g. all but a dynamic batch).
  if (shape_is_static(dims))
    out[0].value = Tensor::from_vector<int64_t>({end - start}, dims);
  return Status::ok();
}

// y = shape(x)[start:end]
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  auto [start, end] = range(node, in[0].rank());
  Shape dims(in[0].shape().begin() + start, in[0].shape().begin() + end);
  out[0] = Tensor::from_vector<int64_t>({end - start}, dims);
  return Status::ok();
}

// no gradient: y depends on shape(x) only, not on its values
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return Status::ok();
}

}  // namespace

extern const OpDef kOpShape{
    "Shape", 1, 1, &infer, &forward, nullptr, &ibp_monotone<&forward>, &vjp};

}  // namespace nncert::ops
