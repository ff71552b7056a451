// Constant: y = the tensor in the node's attributes. The ONNX frontend turns Constant nodes into
// constant values directly; this rule serves graphs built by hand and constant folding.
#include "ops/elementwise.h"
#include "ops/interval.h"

namespace nncert::ops {
namespace {

// Reads value / value_float / value_floats / value_int / value_ints.
Expected<Tensor> constant_value(const Node& node) {
  if (auto t = node.attrs.get_tensor("value"))
    return *t;
  if (node.attrs.has("value_float"))
    return Tensor::scalar(DType::kF32, node.attrs.get_float("value_float", 0));
  if (node.attrs.has("value_int"))
    return Tensor::from_vector<int64_t>({}, {node.attrs.get_int("value_int", 0)});
  if (node.attrs.has("value_floats")) {
    auto v = node.attrs.get_floats("value_floats");
    std::vector<float> f(v.begin(), v.end());
    return Tensor::from_vector<float>({static_cast<int64_t>(f.size())}, f);
  }
  if (node.attrs.has("value_ints")) {
    auto v = node.attrs.get_ints("value_ints");
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  return unsupported(
      "Constant without a supported value attribute (value, value_float(s), "
      "value_int(s))");
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  NNCERT_ASSIGN_OR_RETURN(Tensor t, constant_value(node));
  out.assign(1, make_info(t.dtype(), t.shape()));
  out[0].value = t;
  return Status::ok();
}

// y = value
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  NNCERT_ASSIGN_OR_RETURN(out[0], constant_value(node));
  return Status::ok();
}

// no gradient: y has no inputs
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  return Status::ok();
}

}  // namespace

extern const OpDef kOpConstant{
    "Constant", 0, 0, &infer, &forward, nullptr, &ibp_monotone<&forward>, &vjp};

}  // namespace nncert::ops
