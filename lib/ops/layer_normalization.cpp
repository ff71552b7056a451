// LayerNormalization (opset 17): normalise over the axes from `axis` (default -1) to the end,
// y = (x - mean) / sqrt(var + epsilon) * scale + bias, var the biased variance. Only output Y is
// supported (Mean / InvStdDev outputs are training artefacts).
#include <cmath>

#include "ops/elementwise.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "the input"));
  for (size_t k = 1; k < node.outputs.size(); ++k)
    if (node.outputs[k] != kNoValue)
      return unsupported("LayerNormalization's Mean/InvStdDev outputs are not supported");
  if (in[0].shape_known) {
    const auto rank = static_cast<int64_t>(in[0].shape.size());
    NNCERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node.attrs.get_int("axis", -1), rank));
    Shape norm(in[0].shape.begin() + axis, in[0].shape.end());
    for (size_t i = 1; i < 3; ++i)
      if (has_input(in, i) && in[i].shape_known && shape_is_static(norm) &&
          shape_numel(in[i].shape) != shape_numel(norm))
        return shape_error("LayerNormalization scale/bias shape " + shape_to_string(in[i].shape) +
                           " does not match the normalised shape " + shape_to_string(norm));
  }
  NNCERT_RETURN_IF_ERROR(infer_same(node, in, out));
  out.resize(1);
  return Status::ok();
}

// y = (x - mu) / sqrt(sigma^2 + eps) * scale + bias over the trailing axes
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const Tensor& x = in[0];
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", -1), x.rank()).value();
  const double eps = node.attrs.get_float("epsilon", 1e-5);
  int64_t outer = 1, n = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.dim(d);
  for (int64_t d = axis; d < x.rank(); ++d)
    n *= x.dim(d);
  out[0] = Tensor(x.dtype(), x.shape());
  const bool has_bias = has_input(in, 2);
  return NNCERT_FLOAT_DISPATCH(x.dtype(), T, {
    const Tensor scale = in[1].to(x.dtype());
    const Tensor bias = has_bias ? in[2].to(x.dtype()) : Tensor();
    const T* px = x.data<T>();
    const T* ps = scale.data<T>();
    const T* pb = has_bias ? bias.data<T>() : nullptr;
    T* py = out[0].data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      const T* xs = px + o * n;
      T* ys = py + o * n;
      T mean = 0;
      for (int64_t i = 0; i < n; ++i)
        mean += xs[i];
      mean /= static_cast<T>(n);
      T var = 0;
      for (int64_t i = 0; i < n; ++i)
        var += (xs[i] - mean) * (xs[i] - mean);
      var /= static_cast<T>(n);
      const T inv = T(1) / std::sqrt(var + static_cast<T>(eps));
      for (int64_t i = 0; i < n; ++i)
        ys[i] = (xs[i] - mean) * inv * ps[i % scale.numel()] + (pb ? pb[i % bias.numel()] : T(0));
    }
  });
}

}  // namespace

extern const OpDef kOpLayerNormalization{"LayerNormalization", 2, 3, &infer, &forward, nullptr};

}  // namespace nncert::ops
