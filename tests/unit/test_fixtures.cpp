// Every fixture model in tests/data/fixtures (copied from ../shared/fixtures) reproduces the
// recorded outputs at each case's x0: 1e-5 relative in float64, 1e-4 in float32; batched
// execution of all cases at once gives the same numbers.
#include <cmath>
#include <filesystem>

#include <catch2/catch.hpp>

#include "frontends/onnx/onnx_loader.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/test_paths.h"

using namespace nncert;

namespace {
double rel_err(double got, double want) {
  return std::abs(got - want) / std::max(1.0, std::abs(want));
}

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(test::data_path("fixtures")))
    if (e.is_directory() && std::filesystem::exists(e.path() / "model.onnx"))
      names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}
}  // namespace

TEST_CASE("fixture models reproduce the recorded outputs", "[fixtures]") {
  auto names = fixture_names();
  REQUIRE(names.size() >= 10);
  for (const auto& name : names) {
    INFO("fixture " << name);
    const std::string dir = test::data_path("fixtures/" + name);
    auto m = load_onnx(dir + "/model.onnx");
    REQUIRE(m.has_value());
    const Graph& g = m->graph;
    const auto cases = test::read_json(dir + "/cases.json");
    const Shape in_shape = cases["input_shape"].get<Shape>();
    std::vector<double> batch;
    std::vector<std::vector<double>> refs;
    for (const auto& c : cases["cases"]) {
      const auto x0 = c["x0"].get<std::vector<double>>();
      const auto ref = c["output"].get<std::vector<double>>();
      batch.insert(batch.end(), x0.begin(), x0.end());
      refs.push_back(ref);
      Tensor x = Tensor::from_vector<double>(in_shape, x0);
      for (DType dt : {DType::kF64, DType::kF32}) {
        auto out = test::run_graph(g, {x}, dt);
        REQUIRE(out[0].numel() == static_cast<int64_t>(ref.size()));
        const double tol = dt == DType::kF64 ? 1e-5 : 1e-4;
        double worst = 0;
        for (size_t i = 0; i < ref.size(); ++i)
          worst = std::max(worst, rel_err(out[0].get(static_cast<int64_t>(i)), ref[i]));
        INFO("case " << c["id"] << " dtype " << dtype_name(dt) << " worst rel err " << worst);
        CHECK(worst <= tol);
        if (dt == DType::kF64)
          CHECK(worst <= 1e-12);  // measured ~1e-15: keep it that way
      }
    }
    // All cases as one batch.
    Shape bs = in_shape;
    bs[0] = static_cast<int64_t>(refs.size());
    auto out = test::run_graph(g, {Tensor::from_vector<double>(bs, batch)}, DType::kF64);
    const auto per = static_cast<int64_t>(refs[0].size());
    REQUIRE(out[0].numel() == per * static_cast<int64_t>(refs.size()));
    for (size_t k = 0; k < refs.size(); ++k)
      for (int64_t i = 0; i < per; ++i)
        CHECK(rel_err(out[0].get(static_cast<int64_t>(k) * per + i),
                      refs[k][static_cast<size_t>(i)]) <= 1e-12);
  }
}
