// Runs a list of verification jobs into a Report: loads each model once, verifies property after
// property, shows progress, rewrites the report file as it goes, and stops cleanly on
// SIGINT/SIGTERM or a global timeout (the rest stays "not_run"). Shared by `verify` and `gate`.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "verifier/report.h"
#include "verifier/verify_sources.h"

namespace nncert::cli {

struct RunSettings {
  VerifyOptions verify;       // methods, threads, alpha and attack options (timeouts per job)
  double global_timeout = 0;  // seconds for the whole run (0 = none)
  bool quiet = false;         // no progress output
  bool nnet_normalize = true;
  std::string report_path;  // rewritten while running (empty: not written)
};

// Loads a model to verify: the frontend by extension, `normalize` prepended, a dynamic batch
// fixed to 1, wrapped for evaluation; fills `info` (format, SHA-256, inputs and outputs as
// verified). Warnings go to stderr unless rs.quiet.
Expected<std::unique_ptr<AttackModel>> load_verification_model(
    const std::string& path,
    const std::optional<NormalizeSpec>& normalize,
    const RunSettings& rs,
    ReportModel& info);

// While an instance lives, SIGINT / SIGTERM set a flag (raised()) instead of killing the process;
// a second signal kills at once (the default action is restored by the first).
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  static bool raised();
};

// Fills report.models / report.entries from `jobs` and runs them. Returns an error only for
// failures of the run itself (e.g. the report cannot be written); per-property problems are
// verdicts. On return report.interrupted / report.global_timeout say whether it stopped early.
Status run_jobs(std::vector<Job>& jobs, const RunSettings& settings, Report& report);

// "auto" (attack, ibp, crown, alpha-crown) or a comma-separated subset, in the order given.
Expected<std::vector<Method>> parse_methods(const std::string& s);
// `auto` runs ReLU branch and bound only for models with more inputs than 16 (smaller ones are
// the input-split BaB's).
inline constexpr int64_t kAutoReluBabMinInputs = 17;

// Options of the run as stored in the report.
nlohmann::json run_settings_json(const RunSettings& s);

}  // namespace nncert::cli
