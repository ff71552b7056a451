// verify-model train CONFIG.yaml|json: trains a model as the config says (lib/train,
// docs/training.md) and writes OUT/model.onnx, OUT/train.jsonl and OUT/checkpoint.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "train/train_config.h"
#include "verifier/cli_common.h"
#include "verifier/commands.h"
#include "verifier/exit_codes.h"

namespace nncert::cli {

namespace {

struct TrainCliOptions {
  std::string config;
  std::string out;
  int threads = -1;
  int64_t epochs = 0;
  int64_t max_steps = -1;
  bool resume = false;
  bool quiet = false;
} g_train;

int run_train() {
  auto config = load_train_config(g_train.config);
  if (!config)
    return report_error(config.status());
  TrainConfig& c = *config;
  if (!g_train.out.empty())
    c.out_dir = g_train.out;
  if (g_train.threads >= 0)
    c.train.run.threads = g_train.threads;
  if (g_train.epochs > 0)
    c.train.epochs = g_train.epochs;
  if (g_train.max_steps >= 0)
    c.train.max_steps = g_train.max_steps;
  c.resume = c.resume || g_train.resume;
  c.train.progress = !g_train.quiet;
  auto r = run_training(c);
  if (!r)
    return report_error(r.status());
  const TrainSummary& s = r->summary;
  if (r->resumed_at >= 0)
    std::printf("resumed from %s at step %lld\n",
                r->checkpoint_path.c_str(),
                static_cast<long long>(r->resumed_at));
  std::printf("trained %lld steps (%lld epochs, stopped: %s) in %.1f s, %.0f examples/s\n",
              static_cast<long long>(s.steps),
              static_cast<long long>(s.epochs),
              s.stop_reason.c_str(),
              s.seconds,
              s.examples_per_second);
  std::printf("loss %.4f, clean training accuracy %.4f (while training), %.4f (final model)\n",
              s.last_loss,
              s.train_accuracy,
              r->final_accuracy);
  std::printf(
      "wrote %s, %s, %s\n", r->model_path.c_str(), r->log_path.c_str(), r->checkpoint_path.c_str());
  return kExitOk;
}

}  // namespace

void add_train_command(CLI::App& app, int (*&run)()) {
  CLI::App* sub = app.add_subcommand(
      "train",
      "Train a model (MLP, CNN, ResNet block, or an ONNX model to fine-tune) from a "
      "YAML/JSON config; writes OUT/model.onnx, OUT/train.jsonl, OUT/checkpoint.");
  sub->add_option("config", g_train.config, "run config (.yaml, .yml or .json)")->required();
  sub->add_option("--out", g_train.out, "output folder (overrides the config's 'out')");
  sub->add_option("--threads", g_train.threads, "threads (overrides the config; 0: all)");
  sub->add_option("--epochs", g_train.epochs, "epochs (overrides the config)");
  sub->add_option("--max-steps", g_train.max_steps, "stop after this many steps in total");
  sub->add_flag("--resume", g_train.resume, "continue from OUT/checkpoint when it exists");
  sub->add_flag("--quiet", g_train.quiet, "no progress line");
  sub->callback([&run] { run = &run_train; });
}

}  // namespace nncert::cli
