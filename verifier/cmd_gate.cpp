// verify-model gate CONFIG: the CI gate for model releases. Runs the checks of a YAML/JSON
// config (docs/ci-gate.md), compares with a baseline report, writes the JSON report, JUnit XML
// and a Markdown summary, prints a readable summary, and exits 0 (pass), 1 (gate failed) or
// 2+ (error: docs/cli.md).
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>

#include "verifier/cli_common.h"
#include "verifier/commands.h"
#include "verifier/exit_codes.h"
#include "verifier/gate_config.h"
#include "verifier/gate_report.h"
#include "verifier/verify_runner.h"

namespace nncert::cli {

namespace {

struct GateCmdOptions {
  std::string config;
  std::string baseline;
  std::string report;
  std::string junit;
  std::string markdown;
  bool quiet = false;
  int threads = -1;
} g_gate;

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  if (!f || !(f << text) || !f.flush())
    return Status(ErrorCode::kIoError, "cannot write '" + path + "'");
  return Status::ok();
}

int run_gate_impl() {
  auto cfg = load_gate_config(g_gate.config);
  if (!cfg)
    return report_error(cfg.status());
  GateConfig& config = *cfg;
  if (!g_gate.baseline.empty())
    config.baseline = g_gate.baseline;
  auto methods = parse_methods(config.method);
  if (!methods)
    return report_error(methods.status().with_context(g_gate.config + ": settings.method"));
  nlohmann::json baseline;
  if (!config.baseline.empty()) {
    auto b = read_yaml_or_json(config.baseline);
    if (!b)
      return report_error(b.status().with_context("baseline report"));
    if (!b->is_object() || !b->contains("properties") || !(*b)["properties"].is_array())
      return report_error(
          {ErrorCode::kParseError, "baseline '" + config.baseline + "' is not an nncert report"});
    baseline = std::move(*b);
  }
  // Every model must load and every dataset must read before anything runs: a broken
  // configuration is an error (exit 2+), not a failed gate.
  std::vector<Job> jobs;
  for (const GateCheck& c : config.checks) {
    ModelLoadOptions lo;
    auto m = load_model(c.model, lo);
    if (!m)
      return report_error(m.status().with_context("check '" + c.name + "'"));
    const double timeout = c.timeout.value_or(config.timeout);
    std::vector<Job> js;
    if (c.dataset) {
      auto d = jobs_from_dataset(c.model, *c.dataset, timeout);
      if (!d)
        return report_error(d.status().with_context("check '" + c.name + "'"));
      js = std::move(*d);
    } else {
      for (const std::string& p : c.properties) {
        if (!std::filesystem::exists(p))
          return report_error(
              {ErrorCode::kIoError, "check '" + c.name + "': property '" + p + "' does not exist"});
        js.push_back(Job::vnnlib(c.model, p, timeout));
      }
    }
    for (Job& j : js) {
      j.source["check"] = c.name;
      jobs.push_back(std::move(j));
    }
  }
  RunSettings rs;
  rs.verify.methods = *methods;
  if (config.method == "auto")
    rs.verify.relu_bab_min_inputs = kAutoReluBabMinInputs;
  rs.verify.threads = g_gate.threads >= 0 ? g_gate.threads : config.threads;
  rs.verify.alpha.iterations = config.alpha_iterations;
  rs.global_timeout = config.global_timeout;
  rs.quiet = g_gate.quiet;
  rs.report_path = g_gate.report;
  Report report;
  report.command = "gate";
  report.options = run_settings_json(rs);
  report.options["config"] = config.path;
  report.options["timeout_s"] = config.timeout;
  if (Status st = run_jobs(jobs, rs, report); !st.is_ok())
    return report_error(st);
  GateOutcome outcome = evaluate_gate(config, report, baseline);
  outcome.baseline_path = config.baseline;
  nlohmann::json rj = report_to_json(report);
  rj["gate"] = gate_json(config, outcome);
  if (!g_gate.report.empty())
    if (Status st = write_json_atomic(g_gate.report, rj); !st.is_ok())
      return report_error(st);
  if (!g_gate.junit.empty())
    if (Status st = write_text(g_gate.junit, gate_junit(config, outcome, report)); !st.is_ok())
      return report_error(st);
  if (!g_gate.markdown.empty())
    if (Status st = write_text(g_gate.markdown, gate_markdown(config, outcome, report));
        !st.is_ok())
      return report_error(st);
  std::printf("%s", gate_text(config, outcome).c_str());
  if (report.interrupted)
    return kExitInterrupted;
  return outcome.passed ? kExitOk : kExitGateFailed;
}

int run_gate() {
  // Exit 1 means "gate failed" here: an internal error must not look like one.
  try {
    return run_gate_impl();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "verify-model: out of memory\n");
    return kExitOutOfMemory;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "verify-model: internal error: %s\n", e.what());
    return kExitGateInternal;
  }
}

}  // namespace

void add_gate_command(CLI::App& app, int (*&run)()) {
  CLI::App* sub = app.add_subcommand(
      "gate",
      "CI gate for model releases: run the checks of CONFIG (YAML or JSON), compare with a "
      "baseline report; exit 0 = pass, 1 = gate failed, 2+ = error.");
  sub->add_option("config", g_gate.config, "gate configuration (docs/ci-gate.md)")->required();
  sub->add_option("--baseline",
                  g_gate.baseline,
                  "report of the last release to compare with (overrides the config's)");
  sub->add_option("--report,-o", g_gate.report, "write the JSON report (with a 'gate' section)");
  sub->add_option("--junit",
                  g_gate.junit,
                  "write JUnit XML: one test case per property and "
                  "per requirement");
  sub->add_option(
      "--markdown", g_gate.markdown, "write a Markdown summary (e.g. for a PR comment)");
  sub->add_option("--threads", g_gate.threads, "threads (default: the config's, 0 = all cores)")
      ->check(CLI::Range(0, 256));
  sub->add_flag("--quiet,-q", g_gate.quiet, "no progress output");
  sub->callback([&run] { run = &run_gate; });
}

}  // namespace nncert::cli
