// Bound-engine benchmark: time per case and mean output width of IBP, CROWN and forward mode on
// the fixtures' input boxes (cases.json), all in float64, single-threaded.
//
//   bounds_bench [--models DIR] [--min-time SECONDS] [--no-ibp-intersect] [model ...]
//
// --no-ibp-intersect: forward mode without intersecting its intermediate intervals with IBP.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bounds/crown.h"
#include "bounds/forward.h"
#include "bounds/ibp.h"
#include "frontends/onnx/onnx_loader.h"

using namespace nncert;

namespace {

// Seconds per call, repeating for at least min_time.
double time_per_call(const std::function<bool()>& f, double min_time) {
  using Clock = std::chrono::steady_clock;
  int reps = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  do {
    if (!f())
      return -1;
    ++reps;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (elapsed < min_time);
  return elapsed / reps;
}

double mean_width(const Interval& b) {
  double w = 0;
  for (int64_t i = 0; i < b.lo.numel(); ++i)
    w += b.hi.get(i) - b.lo.get(i);
  return w / static_cast<double>(b.lo.numel());
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = NNCERT_BENCH_MODELS;
  double min_time = 0.3;
  std::vector<std::string> models;
  ForwardOptions fo;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--models") && i + 1 < argc)
      dir = argv[++i];
    else if (!std::strcmp(argv[i], "--min-time") && i + 1 < argc)
      min_time = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-ibp-intersect"))
      fo.intersect_ibp = false;
    else if (argv[i][0] != '-')
      models.emplace_back(argv[i]);
    else {
      std::fprintf(
          stderr,
          "usage: bounds_bench [--models DIR] [--min-time S] [--no-ibp-intersect] [model ...]\n");
      return 2;
    }
  }
  if (models.empty())
    models = {"toy", "acas_like", "concat_branch", "normalize_layers", "resnet_small", "cnn_small"};
  BoundOptions opts;
  opts.threads = 1;
  std::printf("%-17s %4s %6s | %10s %10s %10s | %10s %10s %10s\n",
              "model",
              "case",
              "inputs",
              "ibp ms",
              "crown ms",
              "fwd ms",
              "ibp width",
              "crown w.",
              "fwd width");
  for (const std::string& name : models) {
    auto m = load_onnx(dir + "/" + name + "/model.onnx");
    if (!m.has_value()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), m.status().to_string().c_str());
      return 1;
    }
    std::ifstream f(dir + "/" + name + "/cases.json");
    const auto cases = nlohmann::json::parse(f);
    const Shape shape = cases["input_shape"].get<Shape>();
    for (const auto& c : cases["cases"]) {
      const std::vector<Interval> box{
          {Tensor::from_vector<double>(shape, c["x_lower"].get<std::vector<double>>()),
           Tensor::from_vector<double>(shape, c["x_upper"].get<std::vector<double>>())}};
      Interval bi, bc, bf;
      const double ti = time_per_call(
          [&] {
            auto r = ibp_outputs(m->graph, box, opts);
            if (r.has_value())
              bi = (*r)[0];
            return r.has_value();
          },
          min_time);
      const double tc = time_per_call(
          [&] {
            auto r = crown_bounds(m->graph, box, {}, opts);
            if (r.has_value())
              bc = r->bounds;
            return r.has_value();
          },
          min_time);
      const double tf = time_per_call(
          [&] {
            auto r = forward_bounds(m->graph, box, {}, opts, fo);
            if (r.has_value())
              bf = r->bounds;
            return r.has_value();
          },
          min_time);
      if (ti < 0 || tc < 0 || tf < 0) {
        std::fprintf(stderr, "%s: a bound engine failed\n", name.c_str());
        return 1;
      }
      std::printf("%-17s %4d %6lld | %10.3f %10.3f %10.3f | %10.4g %10.4g %10.4g\n",
                  name.c_str(),
                  c["id"].get<int>(),
                  static_cast<long long>(shape_numel(shape)),
                  ti * 1e3,
                  tc * 1e3,
                  tf * 1e3,
                  mean_width(bi),
                  mean_width(bc),
                  mean_width(bf));
    }
  }
  return 0;
}
