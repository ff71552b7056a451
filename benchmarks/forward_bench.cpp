// Forward-pass benchmark: throughput and achieved GFLOP/s of the runtime on the fixture MLP and
// CNNs at batch 1 and 256, float32 and float64, 1 thread and all threads.
//
//   forward_bench [--models DIR] [--min-time SECONDS] [--json OUT.json]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "frontends/onnx/onnx_loader.h"
#include "runtime/executor.h"

using namespace nncert;

namespace {

struct Row {
  std::string model, dtype;
  int64_t batch;
  int threads;
  double seconds_per_run, samples_per_s, gflops;
};

Tensor random_input(const Shape& s, std::mt19937& rng) {
  Tensor t(DType::kF64, s);
  std::uniform_real_distribution<double> u(0, 1);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, u(rng));
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = NNCERT_BENCH_MODELS;
  std::string json_out;
  double min_time = 0.5;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--models") && i + 1 < argc)
      dir = argv[++i];
    else if (!std::strcmp(argv[i], "--min-time") && i + 1 < argc)
      min_time = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      json_out = argv[++i];
    else {
      std::fprintf(stderr, "usage: forward_bench [--models DIR] [--min-time S] [--json OUT]\n");
      return 2;
    }
  }
  const std::vector<std::string> models = {"mlp_relu", "cnn_small", "mnist_a_adv", "cnn_bn_pool"};
  std::vector<Row> rows;
  std::mt19937 rng(0);
  std::printf("%-12s %-8s %6s %8s %12s %14s %9s\n",
              "model",
              "dtype",
              "batch",
              "threads",
              "ms/run",
              "samples/s",
              "GFLOP/s");
  for (const auto& name : models) {
    auto m = load_onnx(dir + "/" + name + "/model.onnx");
    if (!m) {
      std::fprintf(stderr, "%s\n", m.status().to_string().c_str());
      return 1;
    }
    const Shape in_shape = m->graph.value(m->graph.inputs()[0]).shape;
    for (DType dt : {DType::kF32, DType::kF64})
      for (int64_t batch : {1, 256})
        for (int threads : {1, hardware_threads()}) {
          if (threads == 1 && hardware_threads() == 1 && !rows.empty() &&
              rows.back().batch == batch && rows.back().dtype == dtype_name(dt))
            continue;  // one core: the two thread settings are the same run
          Shape s = in_shape;
          s[0] = batch;
          Tensor x = random_input(s, rng);
          RunOptions ro;
          ro.dtype = dt;
          ro.threads = threads;
          auto ex = Executor::create(m->graph, ro);
          if (!ex)
            return 1;
          (void)ex->run({x});  // warm-up
          int runs = 0;
          const auto t0 = std::chrono::steady_clock::now();
          double elapsed = 0;
          while (elapsed < min_time || runs < 3) {
            auto out = ex->run({x});
            if (!out) {
              std::fprintf(stderr, "%s\n", out.status().to_string().c_str());
              return 1;
            }
            ++runs;
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          }
          Row r{name,
                dtype_name(dt),
                batch,
                threads,
                elapsed / runs,
                static_cast<double>(batch) * runs / elapsed,
                ex->last_flops() * runs / elapsed / 1e9};
          rows.push_back(r);
          std::printf("%-12s %-8s %6lld %8d %12.4f %14.0f %9.2f\n",
                      r.model.c_str(),
                      r.dtype.c_str(),
                      static_cast<long long>(r.batch),
                      r.threads,
                      r.seconds_per_run * 1e3,
                      r.samples_per_s,
                      r.gflops);
        }
  }
  if (!json_out.empty()) {
    std::ofstream f(json_out);
    f << "[\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      f << "  {\"model\": \"" << r.model << "\", \"dtype\": \"" << r.dtype
        << "\", \"batch\": " << r.batch << ", \"threads\": " << r.threads
        << ", \"seconds_per_run\": " << r.seconds_per_run
        << ", \"samples_per_s\": " << r.samples_per_s << ", \"gflops\": " << r.gflops << "}"
        << (i + 1 < rows.size() ? ",\n" : "\n");
    }
    f << "]\n";
  }
  return 0;
}
