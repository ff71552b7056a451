// The configuration of `verify-model gate` (YAML or JSON; docs/ci-gate.md): checks (a model with
// VNNLIB properties or a dataset robustness spec), per-check requirements (verified accuracy,
// counts), regression rules against a baseline report, and run settings.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "verifier/verify_sources.h"

namespace nncert::cli {

struct GateRequirements {
  std::optional<double> verified_accuracy;  // >= (dataset checks)
  std::optional<double> clean_accuracy;     // >= (dataset checks)
  std::optional<double> verified_fraction;  // verified / properties >=
  std::optional<int64_t> min_verified;
  std::optional<int64_t> max_falsified;
  std::optional<int64_t> max_unknown;  // unknown + timeout + not_run
  int64_t max_errors = 0;
};

struct GateCheck {
  std::string name;
  std::string model;                    // resolved path
  std::vector<std::string> properties;  // VNNLIB files (resolved)
  std::optional<DatasetSpecOptions> dataset;
  std::optional<double> timeout;  // per property (overrides settings)
  GateRequirements require;
};

struct GateRegression {
  bool no_new_falsified = true;   // verified in the baseline, falsified now: fail
  bool no_lost_verified = false;  // verified in the baseline, anything else now: fail
  std::optional<double> max_verified_accuracy_drop;  // per dataset check
};

struct GateConfig {
  std::string path;
  std::string name;
  std::string baseline;  // resolved path ("" = none)
  double timeout = 10;   // per property
  double global_timeout = 0;
  std::string method = "auto";
  int threads = 0;
  int alpha_iterations = 20;
  std::vector<GateCheck> checks;
  GateRegression regression;
};

// Reads a .yaml/.yml (yaml-cpp) or .json config; relative paths in it are relative to its
// folder. Unknown keys, wrong types and missing fields are kParseError naming the key path
// (e.g. "checks[1].require.verified_accuracy").
Expected<GateConfig> load_gate_config(const std::string& path);

// The YAML document as JSON (scalars: bool, integer, number, else string).
Expected<nlohmann::json> read_yaml_or_json(const std::string& path);

}  // namespace nncert::cli
