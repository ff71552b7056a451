// Checks against ../shared (skipped when it is absent): every ONNX model under benchmarks/ loads
// and runs; the 45 ACAS Xu .nnet networks (without normalisation) equal their ONNX versions;
// every fixture under shared/fixtures reproduces its recorded outputs.
#include <cmath>
#include <filesystem>
#include <random>

#include <catch2/catch.hpp>

#include "frontends/nnet/nnet_loader.h"
#include "frontends/onnx/onnx_loader.h"
#include "passes/passes.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/test_paths.h"

using namespace nncert;
namespace fs = std::filesystem;

namespace {
std::vector<fs::path> files_with_ext(const fs::path& root, const std::string& ext) {
  std::vector<fs::path> out;
  if (!fs::exists(root))
    return out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ext)
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("every ONNX model under shared/benchmarks loads and runs", "[shared]") {
  auto shared = test::shared_dir();
  if (!shared) {
    WARN("../shared not found: skipped");
    return;
  }
  auto files = files_with_ext(fs::path(*shared) / "benchmarks", ".onnx");
  REQUIRE(!files.empty());
  std::mt19937 rng(11);
  for (const auto& f : files) {
    INFO(f.string());
    auto m = load_onnx(f.string());
    REQUIRE(m.has_value());
    const Graph& g = m->graph;
    std::vector<Tensor> inputs;
    for (ValueId v : g.inputs()) {
      Shape s = g.value(v).shape;
      for (auto& d : s)
        if (d < 0)
          d = 1;
      Tensor t(DType::kF64, s);
      std::uniform_real_distribution<double> u(0, 1);
      for (int64_t i = 0; i < t.numel(); ++i)
        t.set(i, u(rng));
      inputs.push_back(t);
    }
    auto out = test::run_graph(g, inputs, DType::kF32);
    REQUIRE(out.size() == g.outputs().size());
    for (const auto& t : out)
      REQUIRE(t.all_finite());
  }
}

TEST_CASE("ACAS Xu .nnet networks equal their ONNX versions", "[shared]") {
  auto shared = test::shared_dir();
  if (!shared) {
    WARN("../shared not found: skipped");
    return;
  }
  const fs::path nnet_dir = fs::path(*shared) / "benchmarks/nnet/acasxu";
  const fs::path onnx_dir = fs::path(*shared) / "benchmarks/vnncomp/acasxu/onnx";
  auto nnets = files_with_ext(nnet_dir, ".nnet");
  REQUIRE(nnets.size() == 45);
  std::mt19937 rng(5);
  double worst32 = 0, worst64 = 0;
  for (const auto& nf : nnets) {
    // ACASXU_experimental_v2a_<a>_<b>.nnet <-> ACASXU_run2a_<a>_<b>_batch_2000.onnx
    const std::string stem = nf.stem().string();
    const std::string ab = stem.substr(std::string("ACASXU_experimental_v2a_").size());
    const fs::path of = onnx_dir / ("ACASXU_run2a_" + ab + "_batch_2000.onnx");
    INFO(nf.string() << " vs " << of.string());
    NnetLoadOptions no;
    no.normalize = false;
    auto nm = load_nnet(nf.string(), no);
    REQUIRE(nm.has_value());
    REQUIRE(prepare_graph(nm->graph).has_value());
    auto om = load_onnx(of.string());
    REQUIRE(om.has_value());
    const Shape oshape = om->graph.value(om->graph.inputs()[0]).shape;  // [1, 1, 1, 5]
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<double> x(5);
      for (auto& v : x)
        v = std::uniform_real_distribution<double>(-0.5, 0.5)(rng);
      for (DType dt : {DType::kF64, DType::kF32}) {
        auto a = test::run_graph(nm->graph, {Tensor::from_vector<double>({1, 5}, x)}, dt);
        auto b = test::run_graph(om->graph, {Tensor::from_vector<double>(oshape, x)}, dt);
        REQUIRE(a[0].numel() == b[0].numel());
        for (int64_t k = 0; k < a[0].numel(); ++k) {
          const double err =
              std::abs(a[0].get(k) - b[0].get(k)) / std::max(1.0, std::abs(b[0].get(k)));
          (dt == DType::kF64 ? worst64 : worst32) =
              std::max(dt == DType::kF64 ? worst64 : worst32, err);
        }
      }
    }
  }
  INFO("worst relative difference: float64 " << worst64 << ", float32 " << worst32);
  // The .nnet text holds the float32 weights printed to ~6 digits, so the two agree to float32
  // rounding of the printed values, not bit for bit.
  CHECK(worst64 < 1e-5);
  CHECK(worst32 < 1e-5);
}

TEST_CASE("shared fixtures reproduce their recorded outputs", "[shared]") {
  auto shared = test::shared_dir();
  if (!shared) {
    WARN("../shared not found: skipped");
    return;
  }
  for (const auto& f : files_with_ext(fs::path(*shared) / "fixtures", ".onnx")) {
    const fs::path cases_path = f.parent_path() / "cases.json";
    if (!fs::exists(cases_path))
      continue;
    INFO(f.string());
    auto m = load_onnx(f.string());
    REQUIRE(m.has_value());
    const auto cases = test::read_json(cases_path.string());
    const Shape in_shape = cases["input_shape"].get<Shape>();
    for (const auto& c : cases["cases"]) {
      auto out = test::run_graph(
          m->graph, {Tensor::from_vector<double>(in_shape, c["x0"].get<std::vector<double>>())});
      const auto ref = c["output"].get<std::vector<double>>();
      for (size_t i = 0; i < ref.size(); ++i)
        CHECK(std::abs(out[0].get(static_cast<int64_t>(i)) - ref[i]) <=
              1e-5 * std::max(1.0, std::abs(ref[i])));
    }
  }
}
