// Real PyTorch exports (tests/data/models/make_torch_models.py): a transformer-style block (GELU
// via Erf, LayerNormalization native at opset 17 and decomposed at 11/13, Softmax, MatMul of two
// activations) and a CNN (Conv, ConvTranspose, MaxPool, concat, GlobalAveragePool), each with a
// dynamic batch axis and PyTorch's shape chains, against PyTorch's float64 outputs on a batch of 3.
#include <cmath>
#include <random>

#include <catch2/catch.hpp>

#include "bounds/ibp.h"
#include "frontends/onnx/onnx_loader.h"
#include "passes/passes.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/test_paths.h"

using namespace nncert;

TEST_CASE("PyTorch exports at several opsets match PyTorch's outputs", "[onnx][torch]") {
  const auto refs = test::read_json(test::data_path("models/torch_models_reference.json"));
  REQUIRE(refs.size() == 5);
  for (const auto& [file, ref] : refs.items()) {
    INFO(file);
    auto m = load_onnx(test::data_path("models/" + file));
    REQUIRE(m.has_value());
    const Graph& g = m->graph;
    REQUIRE(g.value(g.inputs()[0]).shape[0] == -1);  // dynamic batch survived
    Tensor x = Tensor::from_vector<double>(ref["input_shape"].get<Shape>(),
                                           ref["input"].get<std::vector<double>>());
    const auto want = ref["output"].get<std::vector<double>>();
    for (DType dt : {DType::kF64, DType::kF32}) {
      auto out = test::run_graph(g, {x}, dt);
      REQUIRE(out[0].shape() == ref["output_shape"].get<Shape>());
      double worst = 0;
      for (size_t i = 0; i < want.size(); ++i)
        worst = std::max(worst,
                         std::abs(out[0].get(static_cast<int64_t>(i)) - want[i]) /
                             std::max(1.0, std::abs(want[i])));
      INFO(dtype_name(dt) << " worst relative error " << worst);
      CHECK(worst < (dt == DType::kF64 ? 1e-6 : 1e-4));
    }
    // Fixing the batch folds the shape chains away entirely.
    Graph spec = g;
    REQUIRE(specialize_inputs(spec, {x.shape()}).is_ok());
    for (const auto& n : spec.nodes())
      CHECK(n.op != "Shape");
    auto out = test::run_graph(spec, {x});
    for (size_t i = 0; i < want.size(); ++i)
      CHECK(std::abs(out[0].get(static_cast<int64_t>(i)) - want[i]) <=
            1e-6 * std::max(1.0, std::abs(want[i])));
  }
}

TEST_CASE("IBP bounds of real PyTorch exports contain sampled outputs", "[onnx][torch][ibp]") {
  // Graph-level soundness on real exports: LayerNorm, Softmax, activation x activation MatMul,
  // GELU (Erf), residual adds, Conv/ConvTranspose/MaxPool/concat.
  const auto refs = test::read_json(test::data_path("models/torch_models_reference.json"));
  std::mt19937 rng(3);
  for (const auto& [file, ref] : refs.items()) {
    INFO(file);
    auto m = load_onnx(test::data_path("models/" + file));
    REQUIRE(m.has_value());
    Shape shape = ref["input_shape"].get<Shape>();
    shape[0] = 1;
    const auto all = ref["input"].get<std::vector<double>>();
    std::vector<double> x0(all.begin(), all.begin() + shape_numel(shape));
    Graph g = m->graph;
    REQUIRE(specialize_inputs(g, {shape}).is_ok());
    const double eps = 0.05;
    Tensor lo(DType::kF64, shape), hi(DType::kF64, shape);
    for (int64_t i = 0; i < lo.numel(); ++i) {
      lo.set(i, x0[static_cast<size_t>(i)] - eps);
      hi.set(i, x0[static_cast<size_t>(i)] + eps);
    }
    auto b = ibp_outputs(g, {{lo, hi}});
    REQUIRE(b.has_value());
    std::uniform_real_distribution<double> u(-eps, eps);
    for (int s = 0; s < 300; ++s) {
      Tensor x(DType::kF64, shape);
      for (int64_t i = 0; i < x.numel(); ++i)
        x.set(i, x0[static_cast<size_t>(i)] + u(rng));
      auto y = test::run_graph(g, {x});
      for (int64_t k = 0; k < y[0].numel(); ++k) {
        REQUIRE(y[0].get(k) >= (*b)[0].lo.get(k) - 1e-9);
        REQUIRE(y[0].get(k) <= (*b)[0].hi.get(k) + 1e-9);
      }
    }
  }
}
