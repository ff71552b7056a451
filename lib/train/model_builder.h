// Trainable models for certified training (issue 6): a readable C++ builder and a JSON
// description for MLPs, CNNs with BatchNorm and small ResNet blocks, or an existing ONNX model as
// the starting point. The result is an ordinary Graph whose weights are float constants
// (Value::constant), plus the list of those constants the optimiser updates: the trainer, the
// bound losses and save_onnx all work on the same graph.
//
//   ModelBuilder b({1, 28, 28});           // per-sample input shape; the batch stays dynamic
//   b.conv(16, 4, 2, 1).batch_norm().relu().flatten().linear(100).relu().linear(10);
//   Expected<Model> m = b.build({.init = InitScheme::kIbp, .seed = 1});
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace nncert {

// Kaiming (He et al. 2015): W ~ N(0, 2 / fan_in), for ReLU networks trained on the natural loss.
// IBP (Shi et al. 2021, "Fast certified robust training with short warmup", manual_init.py):
// W ~ N(0, 2 pi / fan_in^2) for every layer but the last, which keeps the interval width
// stable with depth at initialisation; layers reading a residual sum are halved. The last layer
// keeps Kaiming. Biases and BatchNorm shifts start at 0, BatchNorm scales at 1.
enum class InitScheme { kKaiming, kIbp };
const char* init_scheme_name(InitScheme scheme);
Expected<InitScheme> parse_init_scheme(const std::string& name);  // "kaiming", "ibp"

struct InitOptions {
  InitScheme init = InitScheme::kKaiming;
  uint64_t seed = 0;
  DType dtype = DType::kF32;  // parameter dtype (kF64 for finite-difference tests)
  int64_t batch = -1;         // -1: dynamic batch; otherwise a fixed batch extent
};

struct Model {
  Graph graph;                  // prepared; one input [N, ...], one output (logits)
  std::vector<ValueId> params;  // trainable float constants, in node order
  int64_t num_parameters() const;
};

class ModelBuilder {
 public:
  explicit ModelBuilder(Shape sample_shape);  // e.g. {784} or {1, 28, 28}

  ModelBuilder& linear(int64_t out, bool bias = true);  // Gemm, transB = 1; flattens rank > 2
  ModelBuilder& conv(int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t pad = 0);
  ModelBuilder& batch_norm(double epsilon = 1e-5);  // on channels (axis 1)
  ModelBuilder& relu();
  ModelBuilder& flatten();
  // x -> conv3x3 -> BN -> ReLU -> conv3x3 -> BN -> (+ x) -> ReLU; keeps the shape.
  ModelBuilder& residual_block();

  // Builds, initialises and prepares the graph. Errors: kInvalidArgument (a layer that does not
  // fit the current shape, e.g. conv on a flat input), errors of prepare_graph.
  Expected<Model> build(const InitOptions& options = {}) const;

 private:
  struct Layer {
    std::string type;
    int64_t out = 0, kernel = 0, stride = 1, pad = 0;
    bool bias = true;
    double epsilon = 1e-5;
  };
  Shape sample_shape_;
  std::vector<Layer> layers_;
};

// The JSON model description (docs/training.md):
//   {"input": [1, 28, 28], "init": "ibp", "layers": [
//     {"type": "conv", "out": 16, "kernel": 4, "stride": 2, "pad": 1}, {"type": "batchnorm"},
//     {"type": "relu"}, {"type": "residual"}, {"type": "flatten"}, {"type": "linear", "out": 10}]}
// "init" and "seed" in the text override `options`. Errors: kParseError, kInvalidArgument.
Expected<Model> build_model_from_json(const std::string& json_text, InitOptions options = {});

// An ONNX model as the starting point (fine-tuning): the trainable parameters are the float
// constants read by Conv, ConvTranspose, Gemm and MatMul, the scale and shift of BatchNorm, and
// the constant of an Add that follows one of those (a bias); normalisation constants stay fixed.
Expected<Model> load_model_onnx(const std::string& path);
// The parameter rule above applied to any graph.
std::vector<ValueId> find_parameters(const Graph& g);

}  // namespace nncert
