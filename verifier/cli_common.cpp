#include "verifier/cli_common.h"

#include <cstdio>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "frontends/nnet/nnet_loader.h"
#include "frontends/onnx/onnx_loader.h"
#include "verifier/exit_codes.h"

namespace nncert::cli {

ExitCode exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return kExitOk;
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kIoError:
      return kExitIo;
    case ErrorCode::kParseError:
      return kExitParse;
    case ErrorCode::kUnsupported:
      return kExitUnsupported;
    case ErrorCode::kInvalidGraph:
    case ErrorCode::kShapeMismatch:
      return kExitInvalidModel;
    case ErrorCode::kRuntime:
      return kExitRuntime;
    case ErrorCode::kOutOfMemory:
      return kExitOutOfMemory;
    case ErrorCode::kTimeout:
      return kExitTimeout;
    case ErrorCode::kInterrupted:
      return kExitInterrupted;
    case ErrorCode::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

int report_error(const Status& status) {
  std::fprintf(stderr, "verify-model: %s\n", status.to_string().c_str());
  return exit_code_for(status.code());
}

void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings)
    std::fprintf(stderr, "verify-model: warning: %s\n", w.c_str());
}

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

Expected<LoadedModel> load_model(const std::string& path, const ModelLoadOptions& options) {
  LoadedModel m;
  PrepareOptions prep;
  prep.fold_batchnorm = options.fold_batchnorm;
  if (ends_with(path, ".nnet")) {
    m.format = ModelFormat::kNnet;
    NnetLoadOptions no;
    no.normalize = options.nnet_normalize;
    NNCERT_ASSIGN_OR_RETURN(NnetModel nm, load_nnet(path, no));
    m.graph = std::move(nm.graph);
    if (options.prepare) {
      auto rep = prepare_graph(m.graph, prep);
      if (!rep)
        return rep.status().with_context(path);
      m.report = *rep;
      m.warnings = rep->warnings;
    }
    return m;
  }
  OnnxLoadOptions oo;
  oo.prepare = options.prepare;
  oo.prepare_options = prep;
  NNCERT_ASSIGN_OR_RETURN(OnnxModel om, load_onnx(path, oo));
  m.graph = std::move(om.graph);
  m.warnings = std::move(om.warnings);
  m.report = om.prepare_report;
  return m;
}

namespace {
// Flattens nested arrays, recording the nesting shape; fails on ragged arrays or non-numbers.
Status flatten_json(
    const nlohmann::json& j, size_t depth, Shape& shape, std::vector<double>& out, bool& ragged) {
  if (j.is_number()) {
    if (depth != shape.size())
      ragged = true;
    out.push_back(j.get<double>());
    return Status::ok();
  }
  if (!j.is_array())
    return {ErrorCode::kParseError,
            "expected numbers or arrays, found " + std::string(j.type_name())};
  if (depth == shape.size())
    shape.push_back(static_cast<int64_t>(j.size()));
  else if (shape[depth] != static_cast<int64_t>(j.size()))
    ragged = true;
  for (const auto& e : j)
    NNCERT_RETURN_IF_ERROR(flatten_json(e, depth + 1, shape, out, ragged));
  return Status::ok();
}
}  // namespace

Expected<Tensor> read_input_json(const std::string& path, const Shape& model_shape) {
  std::ifstream f(path);
  if (!f)
    return Status(ErrorCode::kIoError, "cannot open input file '" + path + "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    return Status(ErrorCode::kParseError, "input file '" + path + "': " + e.what());
  }
  if (j.is_object() && j.contains("input"))
    j = j["input"];
  Shape nest;
  std::vector<double> values;
  bool ragged = false;
  Status st = flatten_json(j, 0, nest, values, ragged);
  if (!st.is_ok())
    return st.with_context("input file '" + path + "'");
  if (ragged)
    return Status(ErrorCode::kParseError, "input file '" + path + "': ragged array");
  const auto n = static_cast<int64_t>(values.size());
  Shape per_sample(model_shape.begin() + (model_shape.empty() ? 0 : 1), model_shape.end());
  const int64_t sample = shape_numel(per_sample);
  // A nested array whose shape matches the model input (with or without the batch axis) is
  // taken as is; anything else (flat, or nested differently, e.g. 28x28 rows for a
  // [1, 1, 28, 28] input) is read as row-major values, batch = count / per-sample size.
  auto matches = [&](const Shape& s) {
    if (s.size() != model_shape.size())
      return false;
    for (size_t d = 0; d < s.size(); ++d)
      if (!(model_shape[d] < 0 || model_shape[d] == s[d] || (d == 0 && model_shape[d] == 1)))
        return false;
    return true;
  };
  Shape shape = nest;
  if (nest.size() >= 2 && nest.size() + 1 == model_shape.size())
    shape.insert(shape.begin(), 1);
  if (nest.size() >= 2 && matches(shape))
    return Tensor::from_vector<double>(shape, values);
  if (model_shape.empty())
    return Tensor::from_vector<double>({n}, values);
  if (sample <= 0 || n == 0 || n % sample != 0)
    return Status(ErrorCode::kShapeMismatch,
                  "input file '" + path + "' has " + std::to_string(n) +
                      " numbers, not a multiple of the model's per-sample input size " +
                      std::to_string(sample) + " (input shape " + shape_to_string(model_shape) +
                      ")");
  shape = model_shape;
  shape[0] = n / sample;
  if (model_shape[0] > 1 && shape[0] != model_shape[0])
    return Status(ErrorCode::kShapeMismatch,
                  "input file '" + path + "' has " + std::to_string(n) +
                      " numbers; the model input " + shape_to_string(model_shape) + " needs " +
                      std::to_string(shape_numel(model_shape)));
  return Tensor::from_vector<double>(shape, values);
}

}  // namespace nncert::cli
