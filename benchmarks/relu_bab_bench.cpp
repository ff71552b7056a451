// ReLU-split BaB on VNNLIB instances with a CPU-time budget per instance (process CPU seconds,
// so that results do not depend on what else the machine runs), for comparing BaB options:
//
//   relu_bab_bench [--cpu S] [--threads N] [--branching babsr|fsb] [--candidates K]
//                  [--no-inherit] [--fixed] [--iters N] [--batch B] [--max-queue N]
//                  [--max-queue-mb M]
//                  [--no-attack] ONNX VNNLIB [ONNX VNNLIB ...]
//
// Runs attack, CROWN, then ReLU BaB, whose root does alpha-CROWN with optimised intermediate
// bounds (as the pipeline of `verify-model verify --method auto` does before BaB on large
// models), and prints one line per instance: verdict, CPU and wall seconds, domains, BaB's
// worst open margin when it stopped, its largest queue, depth-first children and FSB bounds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "frontends/onnx/onnx_loader.h"
#include "frontends/vnnlib/vnnlib.h"
#include "passes/passes.h"
#include "verify/verifier.h"

using namespace nncert;

namespace {

double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

int usage() {
  std::fprintf(stderr,
               "usage: relu_bab_bench [--cpu S] [--threads N] [--branching babsr|fsb] "
               "[--candidates K] [--no-inherit] [--fixed] [--iters N] [--batch B] [--max-queue N] "
               "[--max-queue-mb M] [--no-attack] ONNX VNNLIB [...]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  double budget = 30;
  bool attack = true;
  VerifyOptions vo;
  vo.threads = 1;
  ReluBabOptions& bo = vo.relu_bab;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      return i + 1 < argc ? argv[++i] : "";
    };
    if (a == "--cpu") {
      budget = std::atof(next());
    } else if (a == "--threads") {
      vo.threads = std::atoi(next());
    } else if (a == "--branching") {
      const std::string b = next();
      bo.branching =
          b == "babsr" ? ReluBabOptions::Branching::kBabsr : ReluBabOptions::Branching::kFsb;
    } else if (a == "--candidates") {
      bo.fsb_candidates = std::atoi(next());
    } else if (a == "--no-inherit") {
      bo.inherit_alpha = false;
    } else if (a == "--fixed") {
      bo.fixed_intermediate = true;
    } else if (a == "--iters") {
      bo.alpha_options.iterations = std::atoi(next());
    } else if (a == "--batch") {
      bo.batch = std::atoi(next());
    } else if (a == "--max-queue") {
      bo.max_queue = std::atoll(next());
    } else if (a == "--max-queue-mb") {
      bo.max_queue_bytes = std::atoll(next()) << 20;
    } else if (a == "--no-attack") {
      attack = false;
    } else if (!a.empty() && a[0] == '-') {
      return usage();
    } else {
      files.push_back(a);
    }
  }
  if (files.empty() || files.size() % 2)
    return usage();
  vo.methods = {Method::kCrown};  // BaB's root runs alpha-CROWN with optimised intermediates
  if (attack)
    vo.methods.insert(vo.methods.begin(), Method::kAttack);
  for (size_t f = 0; f < files.size(); f += 2) {
    auto om = load_onnx(files[f]);
    if (!om) {
      std::fprintf(stderr, "%s: %s\n", files[f].c_str(), om.status().message().c_str());
      return 1;
    }
    Graph& g = om->graph;
    Shape s = g.value(g.inputs()[0]).shape;
    for (auto& d : s)
      if (d < 0)
        d = 1;
    if (Status st = specialize_inputs(g, {s}); !st.is_ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
    auto p = load_vnnlib(files[f + 1]);
    auto am = AttackModel::create(g, 8, vo.threads);
    if (!p || !am) {
      std::fprintf(stderr, "%s: cannot load\n", files[f + 1].c_str());
      return 1;
    }
    const double c0 = cpu_seconds();
    const auto w0 = std::chrono::steady_clock::now();
    vo.should_stop = [&] {
      return cpu_seconds() - c0 > budget;
    };
    // The pipeline up to CROWN, then ReLU BaB on each open region directly (its
    // statistics: worst open margin, queue, depth-first children, FSB bounds).
    const PropertyResult r = verify_property(*am, *p, vo);
    std::string verdict = verdict_name(r.verdict), how = r.method;
    long long domains = 0, max_queue = 0, dfs = 0, fsb = 0;
    double worst = 0;
    if (r.verdict == Verdict::kUnknown) {
      ReluBabOptions o = bo;
      o.threads = vo.threads;
      o.safe_rounding = vo.safe_rounding;
      o.should_stop = vo.should_stop;
      verdict = "verified";
      how = "bab";
      for (size_t ci = 0; ci < r.regions.size(); ++ci) {
        if (r.regions[ci].verified)
          continue;
        auto br = relu_bab(*am, *p, static_cast<int64_t>(ci), o);
        if (!br) {
          verdict = "error: " + br.status().message();
          break;
        }
        domains += br->domains;
        max_queue = std::max<long long>(max_queue, br->max_queue_size);
        dfs += br->depth_first;
        fsb += br->fsb_bounds;
        worst = br->worst_margin;
        if (br->outcome == ReluBabResult::Outcome::kFalsified) {
          verdict = "falsified";
          break;
        }
        if (br->outcome != ReluBabResult::Outcome::kVerified) {
          verdict = br->outcome == ReluBabResult::Outcome::kTimeout ? "timeout" : "unknown";
          break;
        }
      }
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    std::printf(
        "%s %s %s %s cpu %.1f wall %.1f domains %lld worst %.4g max_queue %lld "
        "depth_first %lld fsb %lld\n",
        files[f].substr(files[f].rfind('/') + 1).c_str(),
        files[f + 1].substr(files[f + 1].rfind('/') + 1).c_str(),
        verdict.c_str(),
        how.c_str(),
        cpu_seconds() - c0,
        wall,
        domains,
        worst,
        max_queue,
        dfs,
        fsb);
    std::fflush(stdout);
  }
  return 0;
}
