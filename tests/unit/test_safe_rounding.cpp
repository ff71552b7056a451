// Rounding-safe mode (BoundOptions::safe_rounding): every bound moves outward by a small slack
// (never inward), the slack is tiny relative to the bound widths, and float32 IBP in safe mode
// contains the float64 IBP bounds.
#include <cmath>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "frontends/onnx/onnx_loader.h"
#include "tests/support/test_paths.h"

using namespace nncert;

TEST_CASE("safe rounding widens IBP, CROWN and alpha-CROWN bounds by a tiny slack",
          "[bounds][safe]") {
  for (const char* name : {"toy", "mlp_sigmoid_tanh", "cnn_small", "acas_like", "resnet_small"}) {
    INFO("fixture " << name);
    const std::string dir = test::data_path(std::string("fixtures/") + name);
    auto m = load_onnx(dir + "/model.onnx");
    REQUIRE(m.has_value());
    const auto cases = test::read_json(dir + "/cases.json");
    const Shape shape = cases["input_shape"].get<Shape>();
    const auto& c = cases["cases"][1];
    std::vector<Interval> box{
        {Tensor::from_vector<double>(shape, c["x_lower"].get<std::vector<double>>()),
         Tensor::from_vector<double>(shape, c["x_upper"].get<std::vector<double>>())}};
    BoundOptions safe;
    safe.safe_rounding = true;
    for (int method = 0; method < 3; ++method) {
      INFO("method " << method);
      Interval plain, wide;
      if (method == 0) {
        plain = (*ibp_outputs(m->graph, box))[0];
        wide = (*ibp_outputs(m->graph, box, safe))[0];
      } else {
        CrownOptions co;
        co.alpha = method == 2;
        co.alpha_options.iterations = 5;
        plain = crown_bounds(m->graph, box, {}, {}, co)->bounds;
        wide = crown_bounds(m->graph, box, {}, safe, co)->bounds;
      }
      for (int64_t k = 0; k < plain.lo.numel(); ++k) {
        const double lo = plain.lo.get(k), hi = plain.hi.get(k);
        const double slack = 1e-8 * (1 + std::abs(lo) + std::abs(hi));
        CHECK(wide.lo.get(k) <= lo);
        CHECK(wide.hi.get(k) >= hi);
        CHECK(wide.lo.get(k) >= lo - slack);
        CHECK(wide.hi.get(k) <= hi + slack);
      }
    }
    // float32 IBP in safe mode contains the float64 IBP bounds.
    BoundOptions f32 = safe;
    f32.dtype = DType::kF32;
    const Interval ref = (*ibp_outputs(m->graph, box))[0];
    const Interval low = (*ibp_outputs(m->graph, box, f32))[0];
    for (int64_t k = 0; k < ref.lo.numel(); ++k) {
      CHECK(low.lo.get(k) <= ref.lo.get(k));
      CHECK(low.hi.get(k) >= ref.hi.get(k));
    }
  }
}

TEST_CASE("safe rounding widens IBP bounds of C * y (folded into the last layer) too",
          "[bounds][safe]") {
  for (const char* name : {"mlp_relu", "acas_like", "cnn_small"}) {
    INFO("fixture " << name);
    const std::string dir = test::data_path(std::string("fixtures/") + name);
    auto m = load_onnx(dir + "/model.onnx");
    REQUIRE(m.has_value());
    const auto cases = test::read_json(dir + "/cases.json");
    const Shape shape = cases["input_shape"].get<Shape>();
    const auto& c = cases["cases"][0];
    std::vector<Interval> box{
        {Tensor::from_vector<double>(shape, c["x_lower"].get<std::vector<double>>()),
         Tensor::from_vector<double>(shape, c["x_upper"].get<std::vector<double>>())}};
    const int64_t n_out = shape_numel(m->graph.value(m->graph.outputs()[0]).shape);
    std::vector<std::vector<double>> spec;
    for (int64_t j = 1; j < n_out; ++j) {
      std::vector<double> row(static_cast<size_t>(n_out), 0.0);
      row[0] = 1;
      row[static_cast<size_t>(j)] = -1;
      spec.push_back(row);
    }
    BoundOptions safe;
    safe.safe_rounding = true;
    auto plain = ibp_spec(m->graph, box, spec);
    auto wide = ibp_spec(m->graph, box, spec, safe);
    REQUIRE(plain.has_value());
    REQUIRE(wide.has_value());
    for (int64_t r = 0; r < plain->lo.numel(); ++r) {
      const double w = plain->hi.get(r) - plain->lo.get(r);
      CHECK(wide->lo.get(r) < plain->lo.get(r));
      CHECK(wide->hi.get(r) > plain->hi.get(r));
      CHECK(plain->lo.get(r) - wide->lo.get(r) < 1e-6 * (1 + std::abs(plain->lo.get(r)) + w));
    }
  }
}
