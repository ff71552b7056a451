// The JSON robustness report (schema: docs/report-schema.md, docs/report.schema.json) and the
// VNN-COMP result file. The report is rewritten atomically (temporary file + rename) while a run
// progresses, so an interrupted or killed run leaves a valid report of what finished.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "verify/verifier.h"

namespace nncert::cli {

inline constexpr const char* kReportSchemaVersion = "1.0";

struct ReportModel {
  std::string path;
  std::string sha256;
  std::string format;                                // "onnx" or "nnet"
  nlohmann::json inputs = nlohmann::json::array();   // [{"name", "shape"}]
  nlohmann::json outputs = nlohmann::json::array();  // [{"name", "shape"}]
};

struct ReportEntry {
  int64_t model = 0;  // index into the report's models
  std::string name;   // property name (file name, "sample 17", ...)
  nlohmann::json
      source;  // {"kind": "vnnlib", "path"} or {"kind": "dataset", "sample", "label", ...}
  double timeout_s = 0;
  bool dataset = false;   // a dataset robustness property (counts towards verified accuracy)
  PropertyResult result;  // verdict kNotRun until it has run
};

struct Report {
  std::string command;
  nlohmann::json options = nlohmann::json::object();
  std::vector<ReportModel> models;
  std::vector<ReportEntry> entries;
  bool interrupted = false;     // SIGINT/SIGTERM stopped the run
  bool global_timeout = false;  // the global time limit stopped the run
  double time_s = 0;
  std::string started;  // ISO 8601 UTC
};

nlohmann::json report_to_json(const Report& r);
// {"path", "sha256", "format", "inputs", "outputs"}
nlohmann::json model_json(const ReportModel& m);
// JSON has no infinities: they become the strings "inf" / "-inf" (NaN: null).
nlohmann::json json_number(double v);
nlohmann::json json_numbers(const std::vector<double>& v);
// Counts per verdict, accuracies (dataset entries), total time.
nlohmann::json report_summary(const Report& r);
// Writes `j` to `path` via a temporary file and rename (kIoError on failure).
Status write_json_atomic(const std::string& path, const nlohmann::json& j);

// VNN-COMP result file text: "sat\n((X_0 v)\n (X_1 v)\n ... (Y_0 v))\n", "unsat\n", "unknown\n",
// "timeout\n" or "error\n".
std::string vnncomp_result(const PropertyResult& r);

// Hex SHA-256 of a file's bytes (OpenSSL).
Expected<std::string> file_sha256(const std::string& path);
// Current UTC time as 2026-11-29T22:10:00Z.
std::string utc_now();

}  // namespace nncert::cli
