// verify-model bounds MODEL --box BOX.json --method ibp [--spec-matrix C.json] [--dtype ...]
// [--threads N] [--output OUT.json]: sound lower/upper bounds of every output of the first model
// output (or of every row of C * output) over an input box.
#include <chrono>
#include <cstdio>
#include <fstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bounds/crown.h"
#include "bounds/ibp.h"
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

Expected<std::vector<double>> number_array(const nlohmann::json& j,
                                           const std::string& key,
                                           const std::string& path) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_array())
    return Status(ErrorCode::kParseError,
                  "box file '" + path + "' needs a \"" + key + "\" array of numbers");
  std::vector<double> v;
  for (const auto& x : j[key]) {
    if (!x.is_number())
      return Status(ErrorCode::kParseError,
                    "box file '" + path + "': \"" + key + "\" holds a non-number");
    v.push_back(x.get<double>());
  }
  return v;
}

int run_bounds() {
  if (g_bounds.method == "alpha-crown")
    return report_error({ErrorCode::kUnsupported,
                         "method 'alpha-crown' is not available yet in this version; use "
                         "--method ibp or crown"});
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
  auto lower = number_array(*box, "lower", g_bounds.box);
  if (!lower)
    return report_error(lower.status());
  auto upper = number_array(*box, "upper", g_bounds.box);
  if (!upper)
    return report_error(upper.status());
  const Value& in = g.value(g.inputs()[0]);
  Shape shape = in.shape_known ? in.shape : Shape{static_cast<int64_t>(lower->size())};
  for (auto& d : shape)
    if (d < 0)
      d = 1;  // bounds are per sample
  if (static_cast<int64_t>(lower->size()) != shape_numel(shape) || lower->size() != upper->size())
    return report_error({ErrorCode::kShapeMismatch,
                         "box has " + std::to_string(lower->size()) + " lower and " +
                             std::to_string(upper->size()) + " upper values; the input " +
                             shape_to_string(shape) + " needs " +
                             std::to_string(shape_numel(shape))});
  for (size_t i = 0; i < lower->size(); ++i)
    if (!((*lower)[i] <= (*upper)[i]))
      return report_error({ErrorCode::kInvalidArgument,
                           "box lower > upper (or NaN) at element " + std::to_string(i)});
  if (Status st = specialize_inputs(g, {shape}); !st.is_ok())
    return report_error(st);
  BoundOptions bo;
  bo.dtype = g_bounds.dtype == "float32" ? DType::kF32 : DType::kF64;
  bo.threads = g_bounds.threads;
  std::vector<Interval> inputs{
      {Tensor::from_vector<double>(shape, *lower), Tensor::from_vector<double>(shape, *upper)}};
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
  if (g_bounds.method == "crown") {
    auto r = crown_bounds(g, inputs, c, bo);
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
      "bounds", "Sound lower/upper bounds of the model outputs over an input box.");
  sub->add_option("model", g_bounds.model, "model file (.onnx or .nnet)")->required();
  sub->add_option("--box",
                  g_bounds.box,
                  "JSON {\"lower\": [...], \"upper\": [...]}, flat row-major over the first input")
      ->required();
  sub->add_option("--method",
                  g_bounds.method,
                  "bound method: ibp or crown (alpha-crown is not available yet)")
      ->check(CLI::IsMember({"ibp", "crown", "alpha-crown"}));
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
