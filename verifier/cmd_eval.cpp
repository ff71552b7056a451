// verify-model eval: clean, PGD and verified accuracy (IBP, CROWN, alpha-CROWN) of a classifier
// on a dataset slice, as one JSON file (schema nncert-eval/1, docs/cli.md) and a summary.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "spec/robustness.h"
#include "verifier/cli_common.h"
#include "verifier/commands.h"
#include "verifier/exit_codes.h"
#include "verifier/verify_runner.h"
#include "verifier/verify_sources.h"
#include "verify/eval.h"

namespace nncert::cli {

namespace {

struct EvalCmdOptions {
  std::string model;
  DatasetSpecOptions dataset;
  std::string methods = "ibp,crown,alpha-crown";
  int pgd_steps = 20;
  int pgd_restarts = 1;
  uint64_t seed = 1;
  int alpha_iterations = 20;
  int threads = 0;
  std::string out;
  bool quiet = false;
  double timeout = 0;
} g_e;

Expected<std::vector<Method>> parse_eval_methods(const std::string& s) {
  std::vector<Method> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Method m;
    if (item == "ibp")
      m = Method::kIbp;
    else if (item == "crown")
      m = Method::kCrown;
    else if (item == "alpha-crown")
      m = Method::kAlphaCrown;
    else
      return Status(ErrorCode::kInvalidArgument,
                    "--methods: unknown method '" + item + "' (ibp, crown, alpha-crown)");
    if (std::find(out.begin(), out.end(), m) == out.end())
      out.push_back(m);
  }
  if (out.empty())
    return Status(ErrorCode::kInvalidArgument, "--methods: no method given");
  return out;
}

double fraction(int64_t k, int64_t n) {
  return n > 0 ? static_cast<double>(k) / static_cast<double>(n) : 0.0;
}

nlohmann::json eval_json(const EvalResult& r,
                         const std::vector<Method>& methods,
                         double total_s,
                         const std::string& sha256) {
  const auto n = static_cast<int64_t>(r.samples.size());
  int64_t clean = 0, pgd = 0, any = 0, timeouts = 0, pgd_run = 0;
  int64_t verified[3] = {0, 0, 0}, ran[3] = {0, 0, 0};
  nlohmann::json per = nlohmann::json::array();
  for (const EvalSample& s : r.samples) {
    clean += s.clean;
    pgd += s.pgd_robust;
    pgd_run += s.pgd_run;
    any += !s.verified_by.empty();
    timeouts += s.timeout;
    for (size_t m = 0; m < 3; ++m) {
      verified[m] += s.verified[m];
      ran[m] += s.ran[m];
    }
    nlohmann::json j = {{"index", s.index},
                        {"label", s.label},
                        {"prediction", s.prediction},
                        {"pgd_robust", s.pgd_robust}};
    j["verified_by"] =
        s.verified_by.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.verified_by);
    if (s.timeout)
      j["timeout"] = true;
    per.push_back(std::move(j));
  }
  nlohmann::json j;
  j["schema"] = "nncert-eval/1";
  j["model"] = g_e.model;
  j["model_sha256"] = sha256;
  j["dataset"] = g_e.dataset.path;
  j["labels"] = g_e.dataset.labels;
  j["sample_range"] = g_e.dataset.samples;
  j["samples"] = n;
  j["eps"] = g_e.dataset.eps;
  std::string norm = g_e.dataset.norm;
  if (norm == "linf" || norm == "Linf")
    norm = "inf";
  else if (norm.size() == 2)
    norm = norm.substr(1);
  j["norm"] = norm;
  j["clean_accuracy"] = fraction(clean, n);
  j["pgd_accuracy"] = fraction(pgd, n);
  j["verified_accuracy"] = fraction(any, n);
  nlohmann::json ver = nlohmann::json::object(), counts = nlohmann::json::object();
  nlohmann::json names = nlohmann::json::array();
  for (Method m : methods) {
    const int i = eval_method_index(m);
    ver[method_name(m)] = fraction(verified[i], n);
    counts[method_name(m)] = verified[i];
    counts[std::string(method_name(m)) + "_run"] = ran[i];
    names.push_back(method_name(m));
  }
  j["methods"] = names;
  j["verified"] = ver;
  counts["samples"] = n;
  counts["clean"] = clean;
  counts["misclassified"] = n - clean;
  counts["pgd_run"] = pgd_run;
  counts["pgd_robust"] = pgd;
  counts["pgd_falsified"] = pgd_run - pgd;
  counts["verified"] = any;
  counts["not_verified"] = pgd - any;
  j["counts"] = counts;
  j["timeouts"] = timeouts;
  nlohmann::json secs = nlohmann::json::object();
  for (const auto& [phase, s] : r.seconds)
    secs[phase] = s;
  secs["total"] = total_s;
  j["seconds"] = secs;
  j["options"] = {{"pgd_steps", g_e.pgd_steps},
                  {"pgd_restarts", g_e.pgd_restarts},
                  {"seed", g_e.seed},
                  {"alpha_iterations", g_e.alpha_iterations},
                  {"timeout_s", g_e.timeout},
                  {"threads", g_e.threads},
                  {"dataset", dataset_options_json(g_e.dataset)}};
  j["complete"] = !r.interrupted;
  j["interrupted"] = r.interrupted;
  j["per_sample"] = std::move(per);
  return j;
}

Status write_json(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f || !(f << j.dump(1) << "\n"))
      return Status(ErrorCode::kIoError, "cannot write '" + path + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return Status(ErrorCode::kIoError, "cannot write '" + path + "'");
  return Status::ok();
}

void print_summary(const nlohmann::json& j) {
  const auto& c = j["counts"];
  const auto& s = j["seconds"];
  auto secs = [&](const char* k) {
    return s.contains(k) ? s[k].get<double>() : 0.0;
  };
  std::printf("%lld samples of %s, eps %g (L%s)%s\n",
              static_cast<long long>(j["samples"].get<int64_t>()),
              j["dataset"].get<std::string>().c_str(),
              j["eps"].get<double>(),
              j["norm"].get<std::string>().c_str(),
              j["interrupted"].get<bool>() ? " -- interrupted, partial" : "");
  std::printf("  clean accuracy      %.4f  (%lld)  %.2f s\n",
              j["clean_accuracy"].get<double>(),
              static_cast<long long>(c["clean"].get<int64_t>()),
              secs("clean"));
  std::printf("  PGD accuracy        %.4f  (%lld)  %.2f s\n",
              j["pgd_accuracy"].get<double>(),
              static_cast<long long>(c["pgd_robust"].get<int64_t>()),
              secs("pgd"));
  for (const auto& m : j["methods"]) {
    const std::string name = m.get<std::string>();
    std::printf("  verified %-11s %.4f  (%lld; run on %lld)  %.2f s\n",
                name.c_str(),
                j["verified"][name].get<double>(),
                static_cast<long long>(c[name].get<int64_t>()),
                static_cast<long long>(c[name + "_run"].get<int64_t>()),
                secs(name.c_str()));
  }
  std::printf("  verified accuracy   %.4f  (%lld)",
              j["verified_accuracy"].get<double>(),
              static_cast<long long>(c["verified"].get<int64_t>()));
  if (j["timeouts"].get<int64_t>() > 0)
    std::printf(", %lld alpha-crown timeouts",
                static_cast<long long>(j["timeouts"].get<int64_t>()));
  std::printf("  (total %.2f s)\n", secs("total"));
}

int run_eval() {
  const auto t0 = std::chrono::steady_clock::now();
  auto methods = parse_eval_methods(g_e.methods);
  if (!methods)
    return report_error(methods.status());
  if (g_e.dataset.path.empty())
    return report_error({ErrorCode::kInvalidArgument, "eval needs --dataset"});
  auto sel = select_dataset(g_e.dataset);
  if (!sel)
    return report_error(sel.status());
  RobustnessOptions ro;
  auto norm = parse_norm(g_e.dataset.norm);
  if (!norm)
    return report_error(norm.status());
  ro.norm = *norm;
  ro.eps = g_e.dataset.eps;
  ro.clip_lo = sel->clip_lo;
  ro.clip_hi = sel->clip_hi;
  if (Status st = ro.validate(); !st.is_ok())
    return report_error(st);

  RunSettings rs;
  rs.quiet = g_e.quiet;
  rs.verify.threads = 1;  // samples run in parallel, each on one thread
  rs.verify.attack.restarts = g_e.pgd_restarts;
  ReportModel info;
  info.path = g_e.model;
  auto model = load_verification_model(g_e.model, sel->normalize, rs, info);
  if (!model)
    return report_error(model.status());

  const Dataset& data = *sel->data;
  std::vector<Property> props;
  props.reserve(static_cast<size_t>(data.size()));
  for (int64_t i = 0; i < data.size(); ++i) {
    const int64_t index = data.first_index + i;
    if (static_cast<int64_t>(data.x[static_cast<size_t>(i)].size()) != (*model)->num_inputs())
      return report_error({ErrorCode::kShapeMismatch,
                           "sample " + std::to_string(index) + " has " +
                               std::to_string(data.x[static_cast<size_t>(i)].size()) +
                               " values; the model input has " +
                               std::to_string((*model)->num_inputs())});
    auto p = robustness_property(data.x[static_cast<size_t>(i)],
                                 data.labels[static_cast<size_t>(i)],
                                 (*model)->num_outputs(),
                                 index,
                                 ro);
    if (!p)
      return report_error(p.status());
    props.push_back(std::move(*p));
  }

  StopSignals signals;
  EvalOptions eo;
  eo.methods = *methods;
  eo.attack.steps = g_e.pgd_steps;
  eo.attack.restarts = g_e.pgd_restarts;
  eo.attack.seed = g_e.seed;
  eo.alpha.iterations = g_e.alpha_iterations;
  eo.alpha_timeout_s = g_e.timeout;
  eo.threads = g_e.threads;
  eo.should_stop = [] {
    return StopSignals::raised();
  };
  const bool tty = isatty(fileno(stderr)) != 0;
  if (!g_e.quiet)
    eo.progress = [tty,
                   phase_name = std::string(),
                   t_phase = std::chrono::steady_clock::now(),
                   t_print = std::chrono::steady_clock::now()](
                      const char* phase, int64_t done, int64_t total) mutable {
      // On a terminal one live line per phase (count, elapsed, ETA); otherwise a line at the end
      // of each phase and at most one every 10 s in between.
      const auto now = std::chrono::steady_clock::now();
      if (phase_name != phase) {
        phase_name = phase;
        t_phase = now;
      }
      const double el = std::chrono::duration<double>(now - t_phase).count();
      const double eta =
          done > 0 ? el / static_cast<double>(done) * static_cast<double>(total - done) : 0;
      if (tty) {
        std::fprintf(stderr,
                     "\reval: %-12s %lld/%lld  %.1f s elapsed, ETA %.0f s   ",
                     phase,
                     static_cast<long long>(done),
                     static_cast<long long>(total),
                     el,
                     eta);
        if (done == total)
          std::fprintf(stderr, "\n");
      } else if (done == total || now - t_print >= std::chrono::seconds(10)) {
        t_print = now;
        std::fprintf(stderr,
                     "eval: %s: %lld/%lld samples, %.1f s\n",
                     phase,
                     static_cast<long long>(done),
                     static_cast<long long>(total),
                     el);
      }
      std::fflush(stderr);
    };
  auto r = evaluate_robustness(**model, props, eo);
  if (!r)
    return report_error(r.status());
  if (!g_e.quiet && tty && r->interrupted)
    std::fprintf(stderr, "\n");
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const nlohmann::json j = eval_json(*r, *methods, total_s, info.sha256);
  if (!g_e.out.empty())
    if (Status st = write_json(g_e.out, j); !st.is_ok())
      return report_error(st);
  if (!g_e.quiet) {
    print_summary(j);
    if (!g_e.out.empty())
      std::printf("report: %s\n", g_e.out.c_str());
  }
  return r->interrupted ? kExitInterrupted : kExitOk;
}

}  // namespace

void add_eval_command(CLI::App& app, int (*&run)()) {
  CLI::App* sub = app.add_subcommand(
      "eval",
      "Clean, PGD and verified accuracy (IBP, CROWN, alpha-CROWN) of a classifier on a dataset "
      "slice, as JSON (--out) and a summary.");
  sub->add_option("model", g_e.model, "MODEL (.onnx or .nnet)")->required();
  add_dataset_options(*sub, g_e.dataset);
  sub->get_option("--eps")->required();
  sub->add_option("--methods",
                  g_e.methods,
                  "comma-separated bound methods: ibp, crown, alpha-crown (default all; "
                  "alpha-crown only on samples the others did not verify)");
  sub->add_option("--pgd-steps", g_e.pgd_steps, "PGD steps per start (20)")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--pgd-restarts", g_e.pgd_restarts, "PGD starts per sample, run as a batch (1)")
      ->check(CLI::Range(1, 64));
  sub->add_option("--seed", g_e.seed, "random seed of PGD");
  sub->add_option("--alpha-iterations", g_e.alpha_iterations, "alpha-CROWN Adam steps (20)")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--threads", g_e.threads, "samples in parallel (0 = all cores)")
      ->check(CLI::Range(0, 256));
  sub->add_option("--timeout", g_e.timeout, "seconds per sample for alpha-CROWN (0 = none)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--out,-o", g_e.out, "write the JSON (schema nncert-eval/1) here");
  sub->add_flag("--quiet,-q", g_e.quiet, "no progress and no summary");
  sub->callback([&run] { run = &run_eval; });
}

}  // namespace nncert::cli
