// .nnet frontend: hand-computed values on the tiny 2-2-3 network, ACAS Xu normalisation
// semantics (clip, (x - mean) / range, output * range + mean) against a direct evaluation.
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include <catch2/catch.hpp>

#include "frontends/nnet/nnet_loader.h"
#include "passes/passes.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/test_paths.h"

using namespace nncert;

namespace {
Graph prepared(NnetModel m) {
  auto rep = prepare_graph(m.graph);
  REQUIRE(rep.has_value());
  return std::move(m.graph);
}
}  // namespace

TEST_CASE("fc_2-2-3.nnet computes the documented function", "[nnet]") {
  auto m = load_nnet(test::data_path("nnet/fc_2-2-3.nnet"));
  REQUIRE(m.has_value());
  REQUIRE(m->layer_sizes == std::vector<int64_t>{2, 2, 3});
  Graph g = prepared(std::move(*m));
  // Hidden: h = relu([x0 + x1, -x0 - x1]); out = [2 h0 - h1, -h0 + h1, h0 - h1] (all biases 0,
  // means 0, ranges 1, so normalisation is the identity inside the huge clip box).
  for (auto [x0, x1] : {std::pair{1.0, 2.0}, std::pair{-3.0, 0.5}, std::pair{0.0, 0.0}}) {
    auto out = test::run_graph(g, {Tensor::from_vector<double>({1, 2}, {x0, x1})});
    const double h0 = std::max(0.0, x0 + x1), h1 = std::max(0.0, -x0 - x1);
    REQUIRE(out[0].to_double_vector() == std::vector<double>{2 * h0 - h1, -h0 + h1, h0 - h1});
  }
}

TEST_CASE("ACAS Xu .nnet: normalisation on and off agree with a direct evaluation", "[nnet]") {
  const std::string path = test::data_path("nnet/ACASXU_experimental_v2a_1_1.nnet");
  auto with = load_nnet(path);
  NnetLoadOptions raw_opts;
  raw_opts.normalize = false;
  auto raw = load_nnet(path, raw_opts);
  REQUIRE(with.has_value());
  REQUIRE(raw.has_value());
  const auto mins = with->input_min, maxs = with->input_max, means = with->means,
             ranges = with->ranges;
  REQUIRE(mins.size() == 5);
  Graph gw = prepared(std::move(*with));
  Graph gr = prepared(std::move(*raw));
  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> x(5), xn(5);
    for (size_t i = 0; i < 5; ++i) {
      // Sample a bit outside [min, max] to exercise the clip.
      const double w = maxs[i] - mins[i];
      x[i] = std::uniform_real_distribution<double>(mins[i] - 0.1 * w, maxs[i] + 0.1 * w)(rng);
      const double c = std::clamp(x[i], mins[i], maxs[i]);
      xn[i] = (c - means[i]) / ranges[i];
    }
    auto yw = test::run_graph(gw, {Tensor::from_vector<double>({1, 5}, x)});
    auto yr = test::run_graph(gr, {Tensor::from_vector<double>({1, 5}, xn)});
    for (int64_t k = 0; k < 5; ++k) {
      const double expect = yr[0].get(k) * ranges[5] + means[5];
      REQUIRE(std::abs(yw[0].get(k) - expect) <= 1e-9 * std::max(1.0, std::abs(expect)));
    }
  }
}

TEST_CASE("the .nnet tokenizer accepts whitespace and trailing commas", "[nnet]") {
  const std::string text = "// comment\n1,1,1,1,\n1,1,\n0,\n-10,\n10,\n0,0,\n1,1,\n2.5e0\n-1\n";
  auto m = load_nnet_text(text);
  REQUIRE(m.has_value());
  Graph g = prepared(std::move(*m));
  auto out = test::run_graph(g, {Tensor::from_vector<double>({1, 1}, {2})});
  REQUIRE(out[0].get(0) == Approx(2.5 * 2 - 1));
  // Inputs are clipped to [-10, 10].
  out = test::run_graph(g, {Tensor::from_vector<double>({1, 1}, {100})});
  REQUIRE(out[0].get(0) == Approx(2.5 * 10 - 1));
}
