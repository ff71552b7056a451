// verify-model export MODEL OUT.onnx: writes a loaded model (.onnx or .nnet, prepared: shapes
// inferred, constants folded) as ONNX, e.g. to convert an ACAS Xu .nnet for other tools.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "frontends/onnx/onnx_writer.h"
#include "verifier/cli_common.h"
#include "verifier/commands.h"
#include "verifier/exit_codes.h"

namespace nncert::cli {

namespace {

struct ExportOptions {
  std::string model;
  std::string out;
  bool no_normalize = false;
  bool fold_batchnorm = false;
  int64_t opset = 0;
} g_export;

int run_export() {
  ModelLoadOptions lo;
  lo.nnet_normalize = !g_export.no_normalize;
  lo.fold_batchnorm = g_export.fold_batchnorm;
  auto loaded = load_model(g_export.model, lo);
  if (!loaded)
    return report_error(loaded.status());
  print_warnings(loaded->warnings);
  OnnxSaveOptions so;
  so.opset = g_export.opset;
  const Status s = save_onnx(loaded->graph, g_export.out, so);
  if (!s.is_ok())
    return report_error(s);
  std::printf("wrote %s\n", g_export.out.c_str());
  return kExitOk;
}

}  // namespace

void add_export_command(CLI::App& app, int (*&run)()) {
  CLI::App* sub = app.add_subcommand(
      "export", "Write a model (.onnx or .nnet) as ONNX after loading and preparing it.");
  sub->add_option("model", g_export.model, "model file (.onnx or .nnet)")->required();
  sub->add_option("out", g_export.out, "ONNX file to write")->required();
  sub->add_option(
      "--opset", g_export.opset, "default-domain opset (default: the model's, else 17)");
  sub->add_flag("--no-normalization",
                g_export.no_normalize,
                ".nnet: leave out input clipping/normalisation and output de-normalisation");
  sub->add_flag("--fold-batchnorm",
                g_export.fold_batchnorm,
                "fold BatchNormalization into the preceding Conv/Gemm");
  sub->callback([&run] { run = &run_export; });
}

}  // namespace nncert::cli
