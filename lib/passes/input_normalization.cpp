// x_model = (x_data - mean) / std, prepended to the graph (input_normalization.h). Division (not
// multiplication by 1/std) so that the graph computes exactly what a PyTorch Normalize does.
#include "passes/input_normalization.h"

#include <algorithm>
#include <cmath>

#include "passes/passes.h"

namespace nncert {

Status InputNormalization::validate() const {
  if (mean.empty() || stddev.empty())
    return {ErrorCode::kInvalidArgument, "normalisation: mean and std need at least one value"};
  if (mean.size() > 1 && stddev.size() > 1 && mean.size() != stddev.size())
    return {ErrorCode::kInvalidArgument,
            "normalisation: " + std::to_string(mean.size()) + " mean values but " +
                std::to_string(stddev.size()) + " std values"};
  for (double m : mean)
    if (!std::isfinite(m))
      return {ErrorCode::kInvalidArgument, "normalisation: mean values must be finite"};
  for (double s : stddev)
    if (!(std::isfinite(s) && s > 0))
      return {ErrorCode::kInvalidArgument,
              "normalisation: std values must be finite and > 0, got " + std::to_string(s)};
  return Status::ok();
}

bool InputNormalization::is_identity() const {
  return std::all_of(mean.begin(), mean.end(), [](double m) { return m == 0; }) &&
         std::all_of(stddev.begin(), stddev.end(), [](double s) { return s == 1; });
}

namespace {

// The shape of the per-channel constants: [] for a single value, else [C, 1, ..., 1].
Expected<Shape> constant_shape(const Value& v, const InputNormalization& norm, int64_t c) {
  if (c == 1)
    return Shape{};
  const std::string where = "normalisation of input '" + v.name + "'";
  if (!v.shape_known)
    return Status(ErrorCode::kShapeMismatch,
                  where + ": per-channel values need the input's rank, which is unknown");
  const auto rank = static_cast<int64_t>(v.shape.size());
  int64_t axis = norm.channel_axis.value_or(rank == 3 ? 0 : 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return Status(ErrorCode::kInvalidArgument,
                  where + ": channel axis " + std::to_string(norm.channel_axis.value_or(axis)) +
                      " is out of range for shape " + shape_to_string(v.shape));
  const int64_t extent = v.shape[static_cast<size_t>(axis)];
  if (extent != -1 && extent != c)
    return Status(ErrorCode::kShapeMismatch,
                  where + ": " + std::to_string(c) + " per-channel values, but the input " +
                      shape_to_string(v.shape) + " has " + std::to_string(extent) +
                      " elements on axis " + std::to_string(axis) +
                      " (set the channel axis if that is not the channel axis)");
  Shape s(static_cast<size_t>(rank - axis), 1);
  s[0] = c;
  return s;
}

Tensor channel_constant(const std::vector<double>& values, int64_t c, const Shape& shape) {
  std::vector<double> v(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i)
    v[static_cast<size_t>(i)] = values.size() == 1 ? values[0] : values[static_cast<size_t>(i)];
  return Tensor::from_vector<double>(shape, v);
}

}  // namespace

Expected<ValueId> prepend_input_normalization(Graph& g,
                                              const InputNormalization& norm,
                                              size_t input) {
  NNCERT_RETURN_IF_ERROR(norm.validate());
  if (input >= g.inputs().size())
    return Status(ErrorCode::kInvalidArgument,
                  "normalisation: the graph has " + std::to_string(g.inputs().size()) +
                      " inputs, no input " + std::to_string(input));
  const ValueId old = g.inputs()[input];
  const Value v = g.value(old);  // a copy: adding values below may move the storage
  if (!is_float(v.dtype))
    return Status(
        ErrorCode::kInvalidArgument,
        "normalisation: input '" + v.name + "' is " + dtype_name(v.dtype) + ", not a float tensor");
  const auto c = static_cast<int64_t>(std::max(norm.mean.size(), norm.stddev.size()));
  NNCERT_ASSIGN_OR_RETURN(Shape cshape, constant_shape(v, norm, c));

  const ValueId x = g.add_value(g.unique_name(v.name + "_data"), v.dtype, v.shape, v.shape_known);
  const ValueId mean =
      g.add_constant(g.unique_name(v.name + "_norm_mean"), channel_constant(norm.mean, c, cshape));
  const ValueId stddev =
      g.add_constant(g.unique_name(v.name + "_norm_std"), channel_constant(norm.stddev, c, cshape));
  const ValueId centered =
      g.add_value(g.unique_name(v.name + "_centered"), v.dtype, v.shape, v.shape_known);
  Node sub;
  sub.name = v.name + "_normalize_sub";
  sub.op = "Sub";
  sub.inputs = {x, mean};
  sub.outputs = {centered};
  g.add_node(std::move(sub));
  Node div;
  div.name = v.name + "_normalize_div";
  div.op = "Div";
  div.inputs = {centered, stddev};
  div.outputs = {old};
  g.add_node(std::move(div));
  g.inputs()[input] = x;
  NNCERT_RETURN_IF_ERROR(infer_shapes(g));
  return x;
}

}  // namespace nncert
