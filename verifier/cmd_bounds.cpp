// verify-model bounds MODEL --box BOX.json --method ibp|crown|alpha-crown|forward
// [--spec-matrix C.json] [--dtype ...] [--threads N] [--output OUT.json] [bound options]: sound
// lower/upper bounds of every output of the first model output (or of every row of C * output)
// over an input set (a box, an Lp ball, optionally with linear constraints).
#include <chrono>
#include <cstdio>
#include <fstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bounds/crown.h"
#include "bounds/forward.h"
#include "bounds/ibp.h"
#include "bounds/perturbation_json.h"
#include "verifier/cli_common.h"
#include "verifier/commands.h"
#include "verifier/exit_codes.h"

namespace nncert::cli {

namespace {

struct BoundsCmdOptions {
  std::string model;
  std::string box;
  std::string method = "ibp";
  std::string spec;
  std::string output;
  std::string dtype = "float64";
  int threads = 0;
  bool no_normalize = false;
  std::string intermediate = "sparse";
  bool intersect_ibp = false;
  bool safe_rounding = false;
  AlphaOptions alpha;
} g_bounds;

Expected<nlohmann::json> read_json_file(const std::string& path, const char* what) {
  std::ifstream f(path);
  if (!f)
    return Status(ErrorCode::kIoError, std::string("cannot open ") + what + " '" + path + "'");
  try {
    return nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    return Status(ErrorCode::kParseError, std::string(what) + " '" + path + "': " + e.what());
  }
}

int run_bounds() {
  ModelLoadOptions lo;
  lo.nnet_normalize = !g_bounds.no_normalize;
  auto loaded = load_model(g_bounds.model, lo);
  if (!loaded)
    return report_error(loaded.status());
  print_warnings(loaded->warnings);
  Graph& g = loaded->graph;
  if (g.inputs().size() != 1)
    return report_error({ErrorCode::kUnsupported, "bounds need a model with exactly one input"});
  auto box = read_json_file(g_bounds.box, "box file");
  if (!box)
    return report_error(box.status());
  const Value& in = g.value(g.inputs()[0]);
  auto set = perturbation_from_json(*box);
  if (!set)
    return report_error(set.status().with_context("box file '" + g_bounds.box + "'"));
  Shape shape = in.shape_known ? in.shape : Shape{set->size()};
  for (auto& d : shape)
    if (d < 0)
      d = 1;  // bounds are per sample
  if (set->size() != shape_numel(shape))
    return report_error({ErrorCode::kShapeMismatch,
                         "the input set has " + std::to_string(set->size()) +
                             " values; the input " + shape_to_string(shape) + " needs " +
                             std::to_string(shape_numel(shape))});
  if (Status st = specialize_inputs(g, {shape}); !st.is_ok())
    return report_error(st);
  BoundOptions bo;
  bo.dtype = g_bounds.dtype == "float32" ? DType::kF32 : DType::kF64;
  bo.threads = g_bounds.threads;
  bo.safe_rounding = g_bounds.safe_rounding;
  if (bo.safe_rounding && g_bounds.method == "forward")
    return report_error({ErrorCode::kUnsupported,
                         "--safe-rounding is not available for --method forward; use crown"});
  // IBP works on the set's enclosing box (tightened by its linear constraints, if any).
  auto enclosing = enclosing_box(*set, shape, !set->constraints.empty());
  if (!enclosing)
    return report_error(enclosing.status());
  std::vector<Interval> inputs{*enclosing};
  const auto t0 = std::chrono::steady_clock::now();
  Interval result;
  std::vector<std::vector<double>> c;
  if (!g_bounds.spec.empty()) {
    auto cj = read_json_file(g_bounds.spec, "spec matrix");
    if (!cj)
      return report_error(cj.status());
    try {
      c = cj->get<std::vector<std::vector<double>>>();
    } catch (const nlohmann::json::exception&) {
      return report_error({ErrorCode::kParseError,
                           "spec matrix '" + g_bounds.spec + "' must be a list of number rows"});
    }
    if (c.empty())
      return report_error({ErrorCode::kParseError, "spec matrix '" + g_bounds.spec + "' is empty"});
  }
  if (g_bounds.method == "crown" || g_bounds.method == "alpha-crown") {
    CrownOptions co;
    co.sparse_intermediate = g_bounds.intermediate == "sparse";
    co.intersect_ibp = g_bounds.intersect_ibp;
    co.alpha = g_bounds.method == "alpha-crown";
    co.alpha_options = g_bounds.alpha;
    auto r = crown_bounds(g, std::vector<Perturbation>{*set}, c, bo, co);
    if (!r)
      return report_error(r.status());
    result = r->bounds;
  } else if (g_bounds.method == "forward") {
    if (set->kind != Perturbation::Kind::kBox || !set->constraints.empty())
      std::fprintf(stderr,
                   "warning: forward mode bounds the set's enclosing box (sound, looser)\n");
    ForwardOptions fo;
    fo.intersect_ibp = true;
    auto r = forward_bounds(g, inputs, c, bo, fo);
    if (!r)
      return report_error(r.status());
    result = r->bounds;
  } else if (!c.empty()) {
    auto r = ibp_spec(g, inputs, c, bo);
    if (!r)
      return report_error(r.status());
    result = *r;
  } else {
    auto r = ibp_outputs(g, inputs, bo);
    if (!r)
      return report_error(r.status());
    result = (*r)[0];
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json j;
  j["lower"] = result.lo.to_double_vector();
  j["upper"] = result.hi.to_double_vector();
  j["method"] = g_bounds.method;
  j["input_set"] = perturbation_kind_name(set->kind);
  j["safe_rounding"] = g_bounds.safe_rounding;
  if (g_bounds.method == "crown" || g_bounds.method == "alpha-crown") {
    j["intermediate"] = g_bounds.intermediate;
    j["intersect_ibp"] = g_bounds.intersect_ibp;
  }
  if (g_bounds.method == "alpha-crown")
    j["alpha"] = {{"iterations", g_bounds.alpha.iterations},
                  {"lr", g_bounds.alpha.lr},
                  {"lr_decay", g_bounds.alpha.lr_decay},
                  {"early_stop_patience", g_bounds.alpha.early_stop_patience}};
  j["dtype"] = g_bounds.dtype;
  j["time_s"] = secs;
  const std::string text = j.dump(2);
  if (g_bounds.output.empty() || g_bounds.output == "-") {
    std::printf("%s\n", text.c_str());
  } else {
    std::ofstream f(g_bounds.output);
    if (!f || !(f << text << "\n"))
      return report_error({ErrorCode::kIoError, "cannot write '" + g_bounds.output + "'"});
  }
  return kExitOk;
}

}  // namespace

void add_bounds_command(CLI::App& app, int (*&run)()) {
  CLI::App* sub = app.add_subcommand(
      "bounds", "Sound lower/upper bounds of the model outputs over an input set.");
  sub->add_option("model", g_bounds.model, "model file (.onnx or .nnet)")->required();
  sub->add_option("--box",
                  g_bounds.box,
                  "JSON input set, flat row-major over the first input: {\"lower\": [...], "
                  "\"upper\": [...]} (box) or {\"center\": [...], \"eps\": e, \"norm\": "
                  "\"inf\"|\"2\"|\"1\", \"clip\": [lo, hi]}, either with optional "
                  "\"constraints\": {\"G\": [[...]], \"h\": [...]} (G x <= h)")
      ->required();
  sub->add_option("--method",
                  g_bounds.method,
                  "bound method: ibp, crown, alpha-crown or forward (forward-mode linear bounds)")
      ->check(CLI::IsMember({"ibp", "crown", "alpha-crown", "forward"}));
  sub->add_option("--intermediate",
                  g_bounds.intermediate,
                  "CROWN intermediate bounds: sparse (auto_LiRPA's default: unstable ReLU inputs "
                  "only) or dense (every neuron by CROWN)")
      ->check(CLI::IsMember({"sparse", "dense"}));
  sub->add_flag("--safe-rounding",
                g_bounds.safe_rounding,
                "move every bound outward by a slack that covers floating-point rounding "
                "(docs/bounds.md)");
  sub->add_flag("--intersect-ibp",
                g_bounds.intersect_ibp,
                "intersect every CROWN bound (intermediate and final) with the IBP one");
  sub->add_option("--alpha-iterations", g_bounds.alpha.iterations, "alpha-CROWN Adam steps")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--alpha-lr", g_bounds.alpha.lr, "alpha-CROWN learning rate")
      ->check(CLI::PositiveNumber);
  sub->add_option("--alpha-lr-decay", g_bounds.alpha.lr_decay, "learning rate factor per step")
      ->check(CLI::Range(1e-6, 1.0));
  sub->add_option("--alpha-patience",
                  g_bounds.alpha.early_stop_patience,
                  "stop after this many steps without improvement")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--spec-matrix",
                  g_bounds.spec,
                  "JSON matrix C (rows = specs, columns = outputs): bound C * output instead");
  sub->add_option("--dtype", g_bounds.dtype, "precision of the bound computation")
      ->check(CLI::IsMember({"float32", "float64"}));
  sub->add_option("--threads", g_bounds.threads, "threads to use (0 = all cores)")
      ->check(CLI::Range(0, 256));
  sub->add_option("--output,-o",
                  g_bounds.output,
                  "write {\"lower\", \"upper\", \"method\", \"time_s\"} here (default: stdout)");
  sub->add_flag("--no-normalization",
                g_bounds.no_normalize,
                ".nnet: leave out input clipping/normalisation and output de-normalisation");
  sub->callback([&run] { run = &run_bounds; });
}

}  // namespace nncert::cli
