// verify-model run MODEL --input X.json [--output OUT.json]: executes the model on one input
// (a JSON array for the first model input, flat row-major or nested; a flat array may hold a
// batch) and writes {"output": [...flat...], "shape": [...]} for the first output.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "runtime/executor.h"
#include "verifier/cli_common.h"
#include "verifier/commands.h"
#include "verifier/exit_codes.h"

namespace nncert::cli {

namespace {

struct RunCmdOptions {
  std::string model;
  std::string input;
  std::string output;
  std::string dtype = "float32";
  int threads = 0;
  bool no_normalize = false;
  bool fold_batchnorm = false;
  bool all_outputs = false;
} g_run;

int run_run() {
  ModelLoadOptions lo;
  lo.nnet_normalize = !g_run.no_normalize;
  lo.fold_batchnorm = g_run.fold_batchnorm;
  auto loaded = load_model(g_run.model, lo);
  if (!loaded)
    return report_error(loaded.status());
  print_warnings(loaded->warnings);
  const Graph& g = loaded->graph;
  if (g.inputs().empty())
    return report_error({ErrorCode::kInvalidArgument, "the model has no inputs"});
  if (g.inputs().size() > 1)
    return report_error({ErrorCode::kUnsupported,
                         "the model has " + std::to_string(g.inputs().size()) +
                             " inputs; 'run' feeds the first one only"});
  const Value& in0 = g.value(g.inputs()[0]);
  Shape model_shape = in0.shape_known ? in0.shape : Shape{};
  auto x = read_input_json(g_run.input, model_shape);
  if (!x)
    return report_error(x.status());
  RunOptions ro;
  ro.dtype = g_run.dtype == "float64" ? DType::kF64 : DType::kF32;
  ro.threads = g_run.threads;
  auto ex = Executor::create(g, ro);
  if (!ex)
    return report_error(ex.status());
  const auto t0 = std::chrono::steady_clock::now();
  auto outs = ex->run({*x});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!outs)
    return report_error(outs.status());
  auto tensor_json = [](const Tensor& t) {
    nlohmann::json j;
    j["output"] = t.to_double_vector();
    j["shape"] = t.shape();
    return j;
  };
  nlohmann::json j = tensor_json((*outs)[0]);
  // For [batch, classes] outputs, the predicted class of each sample.
  if (const Tensor& y = (*outs)[0]; y.rank() == 2 && y.dim(1) > 1) {
    std::vector<int64_t> argmax;
    for (int64_t b = 0; b < y.dim(0); ++b) {
      int64_t best = 0;
      for (int64_t k = 1; k < y.dim(1); ++k)
        if (y.get(b * y.dim(1) + k) > y.get(b * y.dim(1) + best))
          best = k;
      argmax.push_back(best);
    }
    j["argmax"] = argmax;
  }
  j["name"] = g.value(g.outputs()[0]).name;
  j["dtype"] = dtype_name(ro.dtype);
  j["time_s"] = secs;
  if (g_run.all_outputs || outs->size() > 1) {
    j["outputs"] = nlohmann::json::array();
    for (size_t i = 0; i < outs->size(); ++i) {
      nlohmann::json o = tensor_json((*outs)[i]);
      o["name"] = g.value(g.outputs()[i]).name;
      j["outputs"].push_back(o);
    }
  }
  const std::string text = j.dump(2);
  if (g_run.output.empty() || g_run.output == "-") {
    std::printf("%s\n", text.c_str());
  } else {
    std::ofstream f(g_run.output);
    if (!f || !(f << text << "\n"))
      return report_error({ErrorCode::kIoError, "cannot write '" + g_run.output + "'"});
  }
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, int (*&run)()) {
  CLI::App* sub = app.add_subcommand("run", "Execute a model on an input given as JSON.");
  sub->add_option("model", g_run.model, "model file (.onnx or .nnet)")->required();
  sub->add_option("--input,-i",
                  g_run.input,
                  "JSON array for the first model input (flat row-major or nested; a flat array "
                  "may hold several samples)")
      ->required();
  sub->add_option("--output,-o",
                  g_run.output,
                  "write {\"output\": [...], \"shape\": [...]} here (default: stdout)");
  sub->add_option("--dtype", g_run.dtype, "precision of the computation")
      ->check(CLI::IsMember({"float32", "float64"}));
  sub->add_option("--threads", g_run.threads, "threads to use (0 = all cores)")
      ->check(CLI::Range(0, 256));
  sub->add_flag("--no-normalization",
                g_run.no_normalize,
                ".nnet: leave out input clipping/normalisation and output de-normalisation");
  sub->add_flag("--fold-batchnorm",
                g_run.fold_batchnorm,
                "fold BatchNormalization into the preceding Conv/Gemm before running");
  sub->add_flag("--all-outputs", g_run.all_outputs, "also list every model output");
  sub->callback([&run] { run = &run_run; });
}

}  // namespace nncert::cli
