// Shared pieces of the verify-model subcommands: loading a model of any supported format,
// reading input tensors from JSON, reporting errors with their exit code.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "passes/passes.h"

namespace nncert::cli {

enum class ModelFormat { kOnnx, kNnet };

struct ModelLoadOptions {
  bool prepare = true;
  bool nnet_normalize = true;
  bool fold_batchnorm = false;
};

struct LoadedModel {
  Graph graph;
  ModelFormat format = ModelFormat::kOnnx;
  std::vector<std::string> warnings;
  PrepareReport report;
};

// Chooses the frontend by extension (.nnet, otherwise ONNX).
Expected<LoadedModel> load_model(const std::string& path, const ModelLoadOptions& options);

// Reads a JSON array (flat row-major or nested) of numbers. For a flat array, `shape` is
// the model input's shape: a dynamic first extent (or a static 1) becomes the batch size implied
// by the element count. A nested array must match the model shape with or without the batch axis.
Expected<Tensor> read_input_json(const std::string& path, const Shape& model_shape);

// Prints "verify-model: <error>" to stderr and returns the exit code for it.
int report_error(const Status& status);
void print_warnings(const std::vector<std::string>& warnings);

}  // namespace nncert::cli
