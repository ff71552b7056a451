// IBP against auto_LiRPA's recorded bounds on every fixture (tests/data/fixtures, and
// ../shared/fixtures when present): output bounds and margin bounds C f(x) (C folded into the last
// linear layer, as auto_LiRPA does), within 1e-9 relative in float64 (issue bar: 1e-4), and sound
// against the recorded sampled minima/maxima.
#include <cmath>
#include <filesystem>

#include <catch2/catch.hpp>

#include "bounds/ibp.h"
#include "frontends/onnx/onnx_loader.h"
#include "tests/support/test_paths.h"

using namespace nncert;
namespace fs = std::filesystem;

namespace {

double rel(double a, double b) {
  return std::abs(a - b) / std::max(1.0, std::abs(b));
}

void check_fixture_dir(const fs::path& dir) {
  INFO("fixture " << dir.string());
  auto m = load_onnx((dir / "model.onnx").string());
  REQUIRE(m.has_value());
  const auto cases = test::read_json((dir / "cases.json").string());
  const Shape shape = cases["input_shape"].get<Shape>();
  for (const auto& c : cases["cases"]) {
    INFO("case " << c["id"]);
    std::vector<Interval> box{
        {Tensor::from_vector<double>(shape, c["x_lower"].get<std::vector<double>>()),
         Tensor::from_vector<double>(shape, c["x_upper"].get<std::vector<double>>())}};
    auto out = ibp_outputs(m->graph, box);
    REQUIRE(out.has_value());
    const auto ref_lo = c["ibp"]["lower"].get<std::vector<double>>();
    const auto ref_hi = c["ibp"]["upper"].get<std::vector<double>>();
    const auto smin = c["sampled_min"].get<std::vector<double>>();
    const auto smax = c["sampled_max"].get<std::vector<double>>();
    const Interval& y = (*out)[0];
    REQUIRE(y.lo.numel() == static_cast<int64_t>(ref_lo.size()));
    for (size_t i = 0; i < ref_lo.size(); ++i) {
      const auto k = static_cast<int64_t>(i);
      CHECK(rel(y.lo.get(k), ref_lo[i]) <= 1e-9);
      CHECK(rel(y.hi.get(k), ref_hi[i]) <= 1e-9);
      CHECK(y.lo.get(k) <= smin[i]);
      CHECK(y.hi.get(k) >= smax[i]);
    }
    const auto cm = c["crown_margin"];
    auto spec = ibp_spec(m->graph, box, cm["C"].get<std::vector<std::vector<double>>>());
    REQUIRE(spec.has_value());
    const auto ref_m = c["ibp_margin"]["lower"].get<std::vector<double>>();
    const auto smin_m = cm["sampled_min"].get<std::vector<double>>();
    for (size_t i = 0; i < ref_m.size(); ++i) {
      CHECK(rel(spec->lo.get(static_cast<int64_t>(i)), ref_m[i]) <= 1e-9);
      CHECK(spec->lo.get(static_cast<int64_t>(i)) <= smin_m[i]);
    }
    // float32 bounds agree to float32 accuracy.
    BoundOptions f32;
    f32.dtype = DType::kF32;
    auto out32 = ibp_outputs(m->graph, box, f32);
    REQUIRE(out32.has_value());
    for (size_t i = 0; i < ref_lo.size(); ++i)
      CHECK(rel((*out32)[0].lo.get(static_cast<int64_t>(i)), ref_lo[i]) <= 1e-4);
  }
}

}  // namespace

TEST_CASE("IBP equals auto_LiRPA's IBP on the repository fixtures", "[ibp][fixtures]") {
  int n = 0;
  for (const auto& e : fs::directory_iterator(test::data_path("fixtures")))
    if (fs::exists(e.path() / "cases.json")) {
      check_fixture_dir(e.path());
      ++n;
    }
  REQUIRE(n >= 10);
}

TEST_CASE("IBP equals auto_LiRPA's IBP on the shared fixtures", "[ibp][shared]") {
  auto shared = test::shared_dir();
  if (!shared || !fs::exists(fs::path(*shared) / "fixtures")) {
    WARN("../shared/fixtures not found: skipped");
    return;
  }
  for (const auto& e : fs::directory_iterator(fs::path(*shared) / "fixtures"))
    if (fs::exists(e.path() / "cases.json"))
      check_fixture_dir(e.path());
}

TEST_CASE("the toy network's IBP bounds are the known exact values", "[ibp]") {
  auto m = load_onnx(test::data_path("fixtures/toy/model.onnx"));
  REQUIRE(m.has_value());
  const auto cases = test::read_json(test::data_path("fixtures/toy/cases.json"));
  const auto& c = cases["cases"][0];
  std::vector<Interval> box{
      {Tensor::from_vector<double>({1, 2}, c["x_lower"].get<std::vector<double>>()),
       Tensor::from_vector<double>({1, 2}, c["x_upper"].get<std::vector<double>>())}};
  auto out = ibp_outputs(m->graph, box);
  REQUIRE(out.has_value());
  CHECK((*out)[0].lo.get(0) == -6.0);
  CHECK((*out)[0].hi.get(0) == 4.0);
}
