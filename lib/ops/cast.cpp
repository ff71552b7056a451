// Cast: converts between numeric types. Float targets keep the runtime's compute precision when
// the input is already floating point (nncert evaluates all float math in one precision); integer
// and bool targets become int64 (bool as 0/1).
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"

namespace nncert::ops {
namespace {

// ONNX TensorProto.DataType codes.
constexpr int64_t kFloat = 1, kBool = 9, kDouble = 11, kFloat16 = 10, kBFloat16 = 16;

Expected<DType> target_dtype(const Node& node, DType input) {
  if (!node.attrs.has("to"))
    return attr_error("Cast needs a 'to' attribute");
  int64_t to = node.attrs.get_int("to", 0);
  switch (to) {
    case kFloat:
    case kFloat16:
    case kBFloat16:
      return is_float(input) ? input : DType::kF32;
    case kDouble:
      return is_float(input) ? input : DType::kF64;
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 12:
    case 13:  // (u)int8..64
    case kBool:
      return DType::kI64;
    default:
      return unsupported("Cast to ONNX data type " + std::to_string(to));
  }
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  NNCERT_ASSIGN_OR_RETURN(DType dt, target_dtype(node, in[0].dtype));
  out.assign(1, make_info(dt, in[0].shape));
  out[0].shape_known = in[0].shape_known;
  return Status::ok();
}

// y = T(x); bool: y = (x != 0)
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  if (node.attrs.get_int("to", 0) == kBool) {
    out[0] = Tensor(DType::kI64, in[0].shape());
    int64_t* y = out[0].data<int64_t>();
    for (int64_t i = 0; i < in[0].numel(); ++i)
      y[i] = in[0].get(i) != 0 ? 1 : 0;
    return Status::ok();
  }
  if (out_types[0].dtype == DType::kI64 && is_float(in[0].dtype())) {
    // Float -> int: truncation, saturating out-of-range values (the spec leaves them undefined).
    out[0] = Tensor(DType::kI64, in[0].shape());
    int64_t* y = out[0].data<int64_t>();
    for (int64_t i = 0; i < in[0].numel(); ++i)
      y[i] = saturate_to_int(in[0].get(i));
    return Status::ok();
  }
  out[0] = in[0].to(out_types[0].dtype);
  return Status::ok();
}

// Casts to numbers are non-decreasing: [T(lo), T(hi)]; a cast to bool (x != 0) is not monotone.
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  if (node.attrs.get_int("to", 0) == kBool && !is_exact(in[0]))
    return unsupported("interval bounds through a Cast to bool");
  return ibp_monotone_impl(&forward, node, in, out_types, out, ctx);
}

// dL/dx = cast(dL/dy, dtype(x)) for float -> float casts; casts to or from integers pass none
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& ctx) {
  if (is_float(in[0].dtype()) && out[0].is_valid() && is_float(out[0].dtype()) &&
      grad_out[0].is_valid())
    grad_in[0] = grad_out[0].to(in[0].dtype());
  return Status::ok();
}

}  // namespace

extern const OpDef kOpCast{"Cast", 1, 1, &infer, &forward, nullptr, &ibp, &vjp};

}  // namespace nncert::ops
