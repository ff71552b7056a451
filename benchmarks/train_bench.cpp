// nncert side of the training-throughput benchmark (benchmarks/train_throughput.sh runs it next
// to benchmarks/alirpa_train_bench.py). One step is what the trainer does per batch: the combined
// loss kappa * CE(natural) + (1 - kappa) * CE(robust) with its gradient (train/certified_loss.h)
// and an Adam step. The architecture is conv16-conv32-fc100-fc10 (4x4 kernels, stride 2, pad 1)
// on 28x28 inputs in [0, 1], float32, no BatchNorm, as in the Python side.
//
//   train_bench --bound ibp|crown-ibp [--loss-fusion] [--threads 1] [--batch 64] [--eps 0.1]
//               [--steps 60] [--warmup-steps 5] [--kappa 0.5]
//
// CROWN-IBP runs with beta = 1 (both the IBP and the CROWN-IBP bounds are computed, as the Python
// side does). Prints one JSON line {"tool": "nncert", ..., "examples_per_s": median over steps}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/loss.h"
#include "train/model_builder.h"
#include "train/optimizer.h"

using namespace nncert;

int main(int argc, char** argv) {
  std::string bound = "ibp";
  bool fusion = false;
  int threads = 1;
  int64_t batch = 64, steps = 60, warmup = 5;
  double eps = 0.1, kappa = 0.5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--bound")
      bound = next();
    else if (a == "--loss-fusion")
      fusion = true;
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--batch")
      batch = std::stoll(next());
    else if (a == "--steps")
      steps = std::stoll(next());
    else if (a == "--warmup-steps")
      warmup = std::stoll(next());
    else if (a == "--eps")
      eps = std::stod(next());
    else if (a == "--kappa")
      kappa = std::stod(next());
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (bound != "ibp" && bound != "crown-ibp") {
    std::fprintf(stderr, "--bound must be ibp or crown-ibp\n");
    return 2;
  }
  auto model = ModelBuilder({1, 28, 28})
                   .conv(16, 4, 2, 1)
                   .relu()
                   .conv(32, 4, 2, 1)
                   .relu()
                   .flatten()
                   .linear(100)
                   .relu()
                   .linear(10)
                   .build({.init = InitScheme::kIbp, .seed = 1});
  if (!model) {
    std::fprintf(stderr, "%s\n", model.status().message().c_str());
    return 1;
  }
  // Full eps from the first step, constant kappa, beta = 1.
  const nlohmann::json cfg = {{"eps", eps},
                              {"warmup_epochs", 0},
                              {"ramp_epochs", 0},
                              {"kappa_start", kappa},
                              {"kappa_end", kappa},
                              {"beta_start", 1.0},
                              {"beta_end", 1.0},
                              {"loss_fusion", fusion}};
  auto loss = make_loss(bound == "ibp" ? LossType::kIbp : LossType::kCrownIbp, cfg.dump());
  if (!loss) {
    std::fprintf(stderr, "%s\n", loss.status().message().c_str());
    return 1;
  }
  std::vector<Tensor> params;
  std::vector<int64_t> sizes;
  for (ValueId p : model->params) {
    params.push_back(*model->graph.value(p).constant);
    sizes.push_back(params.back().numel());
  }
  Optimizer opt({.kind = OptimizerKind::kAdam, .lr = 1e-3}, sizes);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<double> times;
  for (int64_t s = 0; s < steps + warmup; ++s) {
    Tensor x(DType::kF32, {batch, 1, 28, 28});
    float* px = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i)
      px[i] = u(rng);
    std::vector<int64_t> y(static_cast<size_t>(batch));
    for (auto& l : y)
      l = static_cast<int64_t>(rng() % 10);
    LossContext ctx;
    ctx.run.threads = threads;
    ctx.step = s + 1;
    ctx.steps_per_epoch = 1000;
    ctx.total_steps = steps + warmup;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = (*loss)->compute(model->graph, model->params, x, y, ctx);
    if (!r) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      return 1;
    }
    opt.step(params, r->param_grads, 1e-3);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= warmup)
      times.push_back(dt);
  }
  std::sort(times.begin(), times.end());
  const double med = times[times.size() / 2];
  const nlohmann::json out = {{"tool", "nncert"},
                              {"bound", bound},
                              {"loss_fusion", fusion},
                              {"threads", threads},
                              {"batch", batch},
                              {"eps", eps},
                              {"steps", times.size()},
                              {"ms_per_step", med * 1e3},
                              {"examples_per_s", static_cast<double>(batch) / med}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
