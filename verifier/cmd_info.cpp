// verify-model info MODEL [--json]: inputs, outputs, shapes, op histogram, parameter count and
// every unsupported node. Exit 0 when every op is supported, 5 when some are not (after printing
// the summary), other codes when the file cannot be loaded at all.
#include <cstdio>
#include <map>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "verifier/cli_common.h"
#include "verifier/commands.h"
#include "verifier/exit_codes.h"

namespace nncert::cli {

namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
  bool no_normalize = false;
  bool fold_batchnorm = false;
} g_info;

nlohmann::json value_json(const Graph& g, ValueId id) {
  const Value& v = g.value(id);
  nlohmann::json j;
  j["name"] = v.name;
  j["dtype"] = dtype_name(v.dtype);
  if (v.shape_known) {
    nlohmann::json s = nlohmann::json::array();
    for (int64_t d : v.shape)
      s.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
    j["shape"] = s;
  } else {
    j["shape"] = nullptr;
  }
  return j;
}

int run_info() {
  ModelLoadOptions lo;
  lo.prepare = false;
  lo.nnet_normalize = !g_info.no_normalize;
  auto loaded = load_model(g_info.model, lo);
  if (!loaded)
    return report_error(loaded.status());
  LoadedModel& m = *loaded;
  Graph& g = m.graph;
  // Unsupported ops are listed, not fatal: the rest of the summary is still useful.
  std::vector<NodeId> bad = unsupported_nodes(g, Capability::kForward);
  Status prep = Status::ok();
  int folded = 0;
  if (bad.empty()) {
    PrepareOptions po;
    po.fold_batchnorm = g_info.fold_batchnorm;
    auto rep = prepare_graph(g, po);
    if (!rep)
      prep = rep.status();
    else
      folded = rep->folded_constants;
  } else {
    prep = g.check_structure();
    if (prep.is_ok())
      (void)infer_shapes(g);  // best effort: shapes of the supported prefix
  }
  std::map<std::string, int> hist;
  for (const auto& n : g.nodes())
    ++hist[n.op];
  int64_t params = 0;
  std::vector<bool> used(g.num_values(), false);
  for (const auto& n : g.nodes())
    for (ValueId v : n.inputs)
      if (v >= 0)
        used[static_cast<size_t>(v)] = true;
  for (size_t v = 0; v < g.num_values(); ++v) {
    const Value& val = g.value(static_cast<ValueId>(v));
    if (used[v] && val.constant && is_float(val.constant->dtype()))
      params += val.constant->numel();
  }
  std::vector<std::string> warnings = m.warnings;
  for (const auto& w : nonfinite_constants(g)) {
    std::string msg = "constant '" + w + "' holds NaN or Inf values";
    if (std::find(warnings.begin(), warnings.end(), msg) == warnings.end())
      warnings.push_back(msg);
  }

  nlohmann::json j;
  j["model"] = g_info.model;
  j["format"] = m.format == ModelFormat::kNnet ? "nnet" : "onnx";
  if (m.format == ModelFormat::kOnnx) {
    j["opset"] = g.opset;
    j["producer"] = g.producer_name;
  }
  j["inputs"] = nlohmann::json::array();
  for (ValueId v : g.inputs())
    j["inputs"].push_back(value_json(g, v));
  j["outputs"] = nlohmann::json::array();
  for (ValueId v : g.outputs())
    j["outputs"].push_back(value_json(g, v));
  j["nodes"] = g.num_nodes();
  j["folded_constant_nodes"] = folded;
  j["op_histogram"] = hist;
  j["parameters"] = params;
  j["unsupported"] = nlohmann::json::array();
  for (NodeId id : bad)
    j["unsupported"].push_back({{"node", g.node(id).name}, {"op", g.node(id).op}});
  j["warnings"] = warnings;
  if (!prep.is_ok())
    j["error"] = prep.to_string();

  if (g_info.json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("model:      %s (%s", g_info.model.c_str(), j["format"].get<std::string>().c_str());
    if (m.format == ModelFormat::kOnnx)
      std::printf(
          ", opset %lld, producer '%s'", static_cast<long long>(g.opset), g.producer_name.c_str());
    std::printf(")\n");
    auto print_values = [&](const char* title, const std::vector<ValueId>& ids) {
      std::printf("%s\n", title);
      for (ValueId v : ids) {
        const Value& val = g.value(v);
        std::printf("  %-24s %-8s %s\n",
                    val.name.c_str(),
                    dtype_name(val.dtype),
                    val.shape_known ? shape_to_string(val.shape).c_str() : "(unknown)");
      }
    };
    print_values("inputs:", g.inputs());
    print_values("outputs:", g.outputs());
    std::printf("nodes:      %zu", g.num_nodes());
    if (folded > 0)
      std::printf(" (after folding %d constant nodes)", folded);
    std::printf("\nparameters: %lld\nops:\n", static_cast<long long>(params));
    for (const auto& [op, count] : hist)
      std::printf("  %-24s %d\n", op.c_str(), count);
    if (!bad.empty()) {
      std::printf("unsupported: %zu node(s)\n", bad.size());
      for (NodeId id : bad)
        std::printf("  %-24s %s\n", g.node(id).name.c_str(), g.node(id).op.c_str());
    } else {
      std::printf("unsupported: none\n");
    }
    for (const auto& w : warnings)
      std::printf("warning: %s\n", w.c_str());
  }
  if (!bad.empty()) {
    std::string msg = std::to_string(bad.size()) + " unsupported node(s): ";
    for (size_t i = 0; i < bad.size(); ++i)
      msg += (i ? ", " : "") + g.node(bad[i]).display();
    return report_error({ErrorCode::kUnsupported, msg});
  }
  if (!prep.is_ok())
    return report_error(prep);
  return kExitOk;
}

}  // namespace

void add_info_command(CLI::App& app, int (*&run)()) {
  CLI::App* sub = app.add_subcommand(
      "info",
      "Summarise a model: inputs, outputs, shapes, op histogram, parameter count and "
      "unsupported ops (exit 5 if any op is unsupported).");
  sub->add_option("model", g_info.model, "model file (.onnx or .nnet)")->required();
  sub->add_flag("--json", g_info.json, "print the summary as JSON");
  sub->add_flag("--no-normalization",
                g_info.no_normalize,
                ".nnet: leave out input clipping/normalisation and output de-normalisation");
  sub->add_flag("--fold-batchnorm",
                g_info.fold_batchnorm,
                "fold BatchNormalization into the preceding Conv/Gemm");
  sub->callback([&run] { run = &run_info; });
}

}  // namespace nncert::cli
