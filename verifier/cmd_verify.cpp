// verify-model verify: one model and one or many properties (VNNLIB files, a VNN-COMP
// instances.csv, or robustness of dataset samples), a verdict per property, a JSON report, a
// VNN-COMP result file, live progress, and nothing lost on Ctrl-C or a global timeout.
#include <cstdio>
#include <fstream>

#include <CLI/CLI.hpp>

#include "verifier/cli_common.h"
#include "verifier/commands.h"
#include "verifier/exit_codes.h"
#include "verifier/report.h"
#include "verifier/verify_runner.h"
#include "verifier/verify_sources.h"

namespace nncert::cli {

namespace {

struct VerifyCmdOptions {
  std::vector<std::string> args;  // MODEL [PROPERTY...]
  std::string instances;
  DatasetSpecOptions dataset;
  double timeout = 0;
  double global_timeout = 0;
  int threads = 0;
  std::string method = "auto";
  std::string report;
  std::string vnncomp_result;
  bool quiet = false;
  AlphaOptions alpha;
  AttackOptions attack;
  bool no_normalize = false;
  bool unsafe_rounding = false;
  std::string bab_branching;  // empty: the library's default
} g_v;

int run_verify() {
  auto methods = parse_methods(g_v.method);
  if (!methods)
    return report_error(methods.status());

  // ---- what to verify
  std::vector<Job> jobs;
  if (!g_v.instances.empty()) {
    if (!g_v.args.empty() || !g_v.dataset.path.empty())
      return report_error({ErrorCode::kInvalidArgument,
                           "--instances replaces MODEL and PROPERTY arguments and --dataset"});
    auto j = jobs_from_instances(g_v.instances, g_v.timeout);
    if (!j)
      return report_error(j.status());
    jobs = std::move(*j);
  } else {
    if (g_v.args.empty())
      return report_error({ErrorCode::kInvalidArgument,
                           "give MODEL and PROPERTY files, MODEL --dataset ..., or --instances"});
    const std::string& model = g_v.args[0];
    if (!g_v.dataset.path.empty()) {
      if (g_v.args.size() > 1)
        return report_error(
            {ErrorCode::kInvalidArgument, "--dataset replaces the PROPERTY arguments"});
      auto j = jobs_from_dataset(model, g_v.dataset, g_v.timeout);
      if (!j)
        return report_error(j.status());
      jobs = std::move(*j);
    } else {
      if (g_v.args.size() < 2)
        return report_error({ErrorCode::kInvalidArgument,
                             "no property: give PROPERTY.vnnlib files, --dataset or --instances"});
      for (size_t i = 1; i < g_v.args.size(); ++i)
        jobs.push_back(Job::vnnlib(model, g_v.args[i], g_v.timeout));
    }
  }
  if (!g_v.vnncomp_result.empty() && jobs.size() != 1)
    return report_error(
        {ErrorCode::kInvalidArgument,
         "--vnncomp-result needs exactly one property (got " + std::to_string(jobs.size()) + ")"});

  RunSettings rs;
  rs.verify.methods = *methods;
  if (g_v.method == "auto")
    rs.verify.relu_bab_min_inputs = kAutoReluBabMinInputs;
  rs.verify.threads = g_v.threads;
  rs.verify.alpha = g_v.alpha;
  rs.verify.attack = g_v.attack;
  rs.verify.safe_rounding = !g_v.unsafe_rounding;
  if (!g_v.bab_branching.empty())
    rs.verify.relu_bab.branching = g_v.bab_branching == "babsr" ? ReluBabOptions::Branching::kBabsr
                                                                : ReluBabOptions::Branching::kFsb;
  rs.global_timeout = g_v.global_timeout;
  rs.quiet = g_v.quiet;
  rs.nnet_normalize = !g_v.no_normalize;
  rs.report_path = g_v.report;
  Report report;
  report.command = "verify";
  report.options = run_settings_json(rs);
  report.options["timeout_s"] = g_v.timeout;
  if (!g_v.dataset.path.empty())
    report.options["dataset"] = dataset_options_json(g_v.dataset);
  if (!g_v.instances.empty())
    report.options["instances"] = g_v.instances;
  Status run_status = run_jobs(jobs, rs, report);
  if (!g_v.vnncomp_result.empty()) {
    const PropertyResult& r = report.entries[0].result;
    const std::string text = r.verdict == Verdict::kNotRun
                                 ? (report.interrupted ? "unknown\n" : "timeout\n")
                                 : vnncomp_result(r);
    std::ofstream f(g_v.vnncomp_result, std::ios::trunc);
    if (!f || !(f << text))
      return report_error({ErrorCode::kIoError, "cannot write '" + g_v.vnncomp_result + "'"});
  }
  if (!run_status.is_ok())
    return report_error(run_status);
  // ---- summary on stdout
  const nlohmann::json s = report_summary(report);
  if (!g_v.quiet) {
    if (jobs.size() == 1 && report.entries[0].result.verdict != Verdict::kNotRun) {
      const ReportEntry& e = report.entries[0];
      std::printf("%s: %s", e.name.c_str(), verdict_name(e.result.verdict));
      if (!e.result.method.empty())
        std::printf(" (by %s)", e.result.method.c_str());
      std::printf(" in %.3f s\n", e.result.time_s);
      if (!e.result.message.empty() && e.result.verdict != Verdict::kVerified)
        std::printf("  %s\n", e.result.message.c_str());
    }
    std::printf(
        "%lld properties: %lld verified, %lld falsified, %lld unknown, %lld timeout, "
        "%lld error, %lld not run",
        static_cast<long long>(s["total"].get<int64_t>()),
        static_cast<long long>(s["verified"].get<int64_t>()),
        static_cast<long long>(s["falsified"].get<int64_t>()),
        static_cast<long long>(s["unknown"].get<int64_t>()),
        static_cast<long long>(s["timeout"].get<int64_t>()),
        static_cast<long long>(s["error"].get<int64_t>()),
        static_cast<long long>(s["not_run"].get<int64_t>()));
    if (s.contains("verified_accuracy")) {
      std::printf("; verified accuracy %.4f", s["verified_accuracy"].get<double>());
      if (s["clean_accuracy"].is_null())
        std::printf(", clean accuracy n/a");
      else
        std::printf(", clean accuracy %.4f", s["clean_accuracy"].get<double>());
    }
    std::printf(" (%.2f s)\n", report.time_s);
    if (!g_v.report.empty())
      std::printf("report: %s\n", g_v.report.c_str());
  }
  if (report.interrupted)
    return kExitInterrupted;
  if (report.global_timeout)
    return kExitTimeout;
  // A property that could not be checked (malformed VNNLIB, a model that does not load, a shape
  // mismatch) makes the exit code that error's; the report has every property's verdict.
  for (const ReportEntry& e : report.entries)
    if (e.result.verdict == Verdict::kError) {
      std::fprintf(stderr, "verify-model: %s: %s\n", e.name.c_str(), e.result.message.c_str());
      const ExitCode code = exit_code_for(e.result.error);
      return code == kExitOk ? kExitRuntime : code;
    }
  return kExitOk;
}

}  // namespace

void add_verify_command(CLI::App& app, int (*&run)()) {
  CLI::App* sub = app.add_subcommand(
      "verify",
      "Verify properties of a model: VNNLIB files, a VNN-COMP instances.csv, or robustness of "
      "dataset samples. One verdict per property: verified, falsified (with a checked "
      "counterexample), unknown, timeout or error.");
  sub->add_option("model_and_properties", g_v.args, "MODEL [PROPERTY.vnnlib ...]");
  sub->add_option("--instances",
                  g_v.instances,
                  "VNN-COMP instances.csv: rows 'onnx,vnnlib,timeout' relative to its folder");
  add_dataset_options(*sub, g_v.dataset);
  sub->add_option("--timeout",
                  g_v.timeout,
                  "seconds per property (0 = none; instances.csv "
                  "rows bring their own)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--global-timeout",
                  g_v.global_timeout,
                  "seconds for the whole run; properties not reached are reported as not run")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--threads", g_v.threads, "threads to use (0 = all cores)")
      ->check(CLI::Range(0, 256));
  sub->add_option("--method",
                  g_v.method,
                  "auto (attack, ibp, crown, alpha-crown, then input-bab or bab) or a "
                  "comma-separated subset of those and smt (exact, Z3)");
  sub->add_option("--report,-o", g_v.report, "write the JSON report here");
  sub->add_option("--vnncomp-result",
                  g_v.vnncomp_result,
                  "write the VNN-COMP result file (sat/unsat/unknown/timeout/error) here");
  sub->add_flag("--quiet,-q", g_v.quiet, "no progress and no summary");
  sub->add_option("--alpha-iterations", g_v.alpha.iterations, "alpha-CROWN Adam steps")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--alpha-lr", g_v.alpha.lr, "alpha-CROWN learning rate")
      ->check(CLI::PositiveNumber);
  sub->add_option("--attack-restarts", g_v.attack.restarts, "PGD starts per region")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--attack-steps", g_v.attack.steps, "PGD steps per start")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--attack-samples", g_v.attack.random_samples, "random points per region")
      ->check(CLI::Range(0, 10000000));
  sub->add_option("--seed", g_v.attack.seed, "random seed of the attack");
  sub->add_option("--bab-branching",
                  g_v.bab_branching,
                  "ReLU BaB branching: babsr (default) or fsb (filtered smart branching)")
      ->check(CLI::IsMember({"fsb", "babsr"}));
  sub->add_flag("--no-safe-rounding",
                g_v.unsafe_rounding,
                "skip the floating-point slack on bounds (slightly tighter, not rounding-safe)");
  sub->add_flag("--no-normalization",
                g_v.no_normalize,
                ".nnet: leave out input clipping/normalisation and output de-normalisation");
  sub->callback([&run] { run = &run_verify; });
}

}  // namespace nncert::cli
