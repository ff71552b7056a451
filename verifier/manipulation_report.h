// The JSON report of `verify-model manipulate` (schema: docs/manipulation-report.schema.json,
// described in docs/manipulation.md): one entry per (sample, family) check with its answer, the
// guarantee the answer carries, cell counts, timings and the counterexample with its image files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "verifier/report.h"
#include "verify/manipulation.h"
#include "verify/manipulation_check.h"

namespace nncert::cli {

inline constexpr const char* kManipulationSchemaVersion = "1.0";

// The exported image of a counterexample and what re-executing its 8-bit version gave.
struct ExportedImage {
  std::string pgm, png;              // paths written (PGM: .pgm grey, .ppm RGB); empty if none
  int64_t quantized_predicted = -1;  // class of the 8-bit image re-read from the PGM
  bool quantized_adversarial = false;
};

struct ManipulationEntry {
  int64_t sample = 0, label = 0;
  std::string family;
  Manipulation manipulation;  // the family as checked (parameters, ranges, pixels, line)
  ManipulationCheckResult result;
  ExportedImage image;
};

struct ManipulationReport {
  nlohmann::json options = nlohmann::json::object();
  ReportModel model;
  std::vector<ManipulationEntry> entries;
  int64_t planned = 0;  // checks the run meant to do
  bool interrupted = false;
  double time_s = 0;
  std::string started;
};

nlohmann::json manipulation_report_json(const ManipulationReport& r);
// Counts per answer, overall and per family; time; complete / interrupted.
nlohmann::json manipulation_summary(const ManipulationReport& r);

}  // namespace nncert::cli
