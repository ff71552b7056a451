// .nnet frontend (ACAS Xu format, Kyle Julian 2016): fully connected ReLU networks as text.
// The graph is input -> clip to [min, max] -> (x - mean) / range -> Gemm/Relu layers -> Gemm ->
// y * range_out + mean_out, built from the same ops as ONNX models (Max, Min, Sub, Div, Gemm,
// Relu, Mul, Add). With normalize = false the clip/normalise and de-normalise steps are left out
// (VNN-COMP states ACAS Xu properties on normalised inputs and raw outputs).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace nncert {

struct NnetLoadOptions {
  bool normalize = true;
};

struct NnetModel {
  Graph graph;
  std::vector<int64_t> layer_sizes;                         // input, hidden..., output
  std::vector<double> input_min, input_max, means, ranges;  // means/ranges: inputs then output
};

// Errors: kIoError (missing file), kParseError with the line number (malformed content).
Expected<NnetModel> load_nnet(const std::string& path, const NnetLoadOptions& options = {});
Expected<NnetModel> load_nnet_text(const std::string& text, const NnetLoadOptions& options = {});

}  // namespace nncert
