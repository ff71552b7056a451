// CROWN through Sigmoid/Tanh against auto_LiRPA (commit a050a3d, float64) on the
// mlp_sigmoid_tanh fixture (Gemm-Sigmoid-Gemm-Tanh-Gemm). auto_LiRPA bounds every Sigmoid/Tanh
// input by full CROWN, as this engine does, so `crown` (= `crown_dense_interm` on this fixture) is
// the reference. The relaxations reproduce auto_LiRPA's (its 0.01 tangent-point tables included,
// lib/ops/relaxation.cpp), and the bounds match to rounding: measured max relative deviation
// 2.1e-15 over the 30 output bounds and 1.8e-15 over the 12 margin bounds (tolerance
// 1e-6 max(1, |ref|)). Shifting the table index by one grid point moves them by ~3e-3, so the
// match does test the tables.
#include <algorithm>
#include <cmath>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "frontends/onnx/onnx_loader.h"
#include "tests/support/test_paths.h"

using namespace nncert;

namespace {

double rel(double a, double b) {
  return std::abs(a - b) / std::max(1.0, std::abs(b));
}

}  // namespace

TEST_CASE("CROWN through Sigmoid/Tanh equals auto_LiRPA's bounds", "[crown][relax][fixtures]") {
  const std::string dir = test::data_path("fixtures/mlp_sigmoid_tanh");
  auto m = load_onnx(dir + "/model.onnx");
  REQUIRE(m.has_value());
  const auto cases = test::read_json(dir + "/cases.json");
  const Shape shape = cases["input_shape"].get<Shape>();
  double worst = 0, worst_margin = 0;
  for (const auto& c : cases["cases"]) {
    INFO("case " << c["id"]);
    std::vector<Interval> box{
        {Tensor::from_vector<double>(shape, c["x_lower"].get<std::vector<double>>()),
         Tensor::from_vector<double>(shape, c["x_upper"].get<std::vector<double>>())}};
    auto r = crown_bounds(m->graph, box);
    INFO((r ? std::string("ok") : r.status().to_string()));
    REQUIRE(r.has_value());
    const auto lo = c["crown"]["lower"].get<std::vector<double>>();
    const auto hi = c["crown"]["upper"].get<std::vector<double>>();
    const auto smin = c["sampled_min"].get<std::vector<double>>();
    const auto smax = c["sampled_max"].get<std::vector<double>>();
    for (size_t i = 0; i < lo.size(); ++i) {
      const auto k = static_cast<int64_t>(i);
      INFO("output " << i << ": [" << r->bounds.lo.get(k) << ", " << r->bounds.hi.get(k) << "] vs ["
                     << lo[i] << ", " << hi[i] << "]");
      CHECK(rel(r->bounds.lo.get(k), lo[i]) <= 1e-6);
      CHECK(rel(r->bounds.hi.get(k), hi[i]) <= 1e-6);
      worst = std::max({worst, rel(r->bounds.lo.get(k), lo[i]), rel(r->bounds.hi.get(k), hi[i])});
      CHECK(r->bounds.lo.get(k) <= smin[i] + 1e-12);
      CHECK(r->bounds.hi.get(k) >= smax[i] - 1e-12);
    }
    const auto& cm = c["crown_margin"];
    auto rm = crown_bounds(m->graph, box, cm["C"].get<std::vector<std::vector<double>>>());
    REQUIRE(rm.has_value());
    const auto ref_m = cm["lower"].get<std::vector<double>>();
    const auto smin_m = cm["sampled_min"].get<std::vector<double>>();
    for (size_t i = 0; i < ref_m.size(); ++i) {
      const auto k = static_cast<int64_t>(i);
      CHECK(rel(rm->bounds.lo.get(k), ref_m[i]) <= 1e-6);
      worst_margin = std::max(worst_margin, rel(rm->bounds.lo.get(k), ref_m[i]));
      CHECK(rm->bounds.lo.get(k) <= smin_m[i] + 1e-12);
    }
  }
  WARN("mlp_sigmoid_tanh: max relative deviation from auto_LiRPA crown "
       << worst << ", crown_margin " << worst_margin);
}
