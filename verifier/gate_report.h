// Evaluation of a gate run (requirements per check, regressions against a baseline report) and
// its outputs: the "gate" section of the JSON report, JUnit XML (one test case per property and
// per requirement) and a Markdown summary.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "verifier/gate_config.h"
#include "verifier/report.h"

namespace nncert::cli {

struct CheckStats {
  std::string name;
  int64_t total = 0, verified = 0, falsified = 0, unknown = 0, timeout = 0, error = 0, not_run = 0,
          misclassified = 0;
  bool dataset = false;
  double verified_accuracy = 0;  // verified / total (dataset checks)
  double clean_accuracy = 0;     // not misclassified / run (dataset checks)
  double time_s = 0;
};

struct GateFinding {
  std::string check;        // "" for gate-wide findings
  std::string requirement;  // e.g. "verified_accuracy >= 0.85"
  std::string actual;       // e.g. "0.9"
  bool passed = true;
};

struct GateOutcome {
  std::vector<CheckStats> checks;
  std::vector<GateFinding> requirements;  // per check
  std::vector<GateFinding> regressions;   // against the baseline (failed ones, plus a summary)
  bool baseline_used = false;
  std::string baseline_path;
  bool passed = true;
};

// Statistics and requirement results of every check of the config over the report's entries
// (each entry's source.check names its check); regressions against `baseline` (a report JSON;
// null for none).
GateOutcome evaluate_gate(const GateConfig& config,
                          const Report& report,
                          const nlohmann::json& baseline);

nlohmann::json gate_json(const GateConfig& config, const GateOutcome& outcome);
std::string gate_junit(const GateConfig& config, const GateOutcome& outcome, const Report& report);
std::string gate_markdown(const GateConfig& config,
                          const GateOutcome& outcome,
                          const Report& report);
std::string gate_text(const GateConfig& config, const GateOutcome& outcome);

}  // namespace nncert::cli
