// ConstantOfShape: y = a tensor of the given shape filled with `value` (default float 0).
#include "ops/elementwise.h"
#include "ops/interval.h"

namespace nncert::ops {
namespace {

Tensor fill_value(const Node& node) {
  if (auto t = node.attrs.get_tensor("value"); t && t->numel() >= 1)
    return *t;
  return Tensor::scalar(DType::kF32, 0.0);
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  Tensor v = fill_value(node);
  auto dims = const_ints(in, 0);
  Shape s;
  if (dims) {
    s = *dims;
    for (int64_t d : s)
      if (d < 0)
        return shape_error("ConstantOfShape with a negative extent");
  } else if (in[0].shape_known && in[0].shape.size() == 1 && in[0].shape[0] >= 0) {
    s.assign(static_cast<size_t>(in[0].shape[0]), -1);
  }
  out.assign(1, make_info(v.dtype(), s));
  out[0].shape_known = dims.has_value() || !s.empty();
  return Status::ok();
}

// y[...] = value
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  Tensor v = fill_value(node);
  out[0] = Tensor(v.dtype(), out_types[0].shape);
  return NNCERT_ANY_DISPATCH(v.dtype(), T, {
    const T x = v.data<T>()[0];
    T* y = out[0].data<T>();
    for (int64_t i = 0; i < out[0].numel(); ++i)
      y[i] = x;
  });
}

// no gradient: the shape input is an integer tensor and y does not depend on it smoothly
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return Status::ok();
}

}  // namespace

extern const OpDef kOpConstantOfShape{
    "ConstantOfShape", 1, 1, &infer, &forward, nullptr, &ibp_monotone<&forward>, &vjp};

}  // namespace nncert::ops
