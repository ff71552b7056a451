// Input normalisation as part of the graph. A model trained on (x - mean) / std is verified
// against perturbations of the data x, not of the normalised values: an eps-ball in data space
// is a differently shaped set after per-channel scaling. This pass prepends the normalisation
// to the graph, so the graph's input is in data space and every method (IBP, CROWN, attacks,
// the exact encoding) sees exactly the perturbation set the property states:
//   new input x (data space) -> Sub(x, mean) -> Div(., std) -> the old input's readers.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace nncert {

struct InputNormalization {
  // One value (all elements) or one per channel; when both are per channel they have the same
  // count. A single value is broadcast over the channels of the other.
  std::vector<double> mean{0.0};
  std::vector<double> stddev{1.0};
  // The input's channel axis for per-channel values (negative counts from the end). Default:
  // 0 for rank-3 inputs ([C, H, W]; set 1 for [N, C, L]), 1 otherwise ([N, C, H, W],
  // [N, features]).
  std::optional<int64_t> channel_axis;

  // kInvalidArgument: empty lists, per-channel lists of different lengths, non-finite values,
  // a std that is not > 0.
  Status validate() const;
  bool is_identity() const;  // every mean 0 and every std 1
};

// Prepends the normalisation to graph input `input` (an index into g.inputs()): that graph input
// becomes a new value `<name>_data` (same dtype and shape) in data space; the old input value
// keeps its name and its readers and is now the output of Div. Constants are float64 (the
// executor converts them to the run's precision), per-channel ones of shape [C, 1, ..., 1] so
// they broadcast over the dimensions after the channel axis. Re-runs shape inference. Returns
// the new input's id. Errors: bad options (kInvalidArgument), no such input or an integer input
// (kInvalidArgument), a channel count that does not match the input's extent on the channel axis
// or an input of unknown rank with per-channel values (kShapeMismatch).
Expected<ValueId> prepend_input_normalization(Graph& g,
                                              const InputNormalization& norm,
                                              size_t input = 0);

}  // namespace nncert
