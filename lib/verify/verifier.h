// The incomplete verification pipeline for one property: quick falsification (random points,
// then PGD), then IBP -> CROWN -> alpha-CROWN on the regions still open, stopping at the first
// method that decides every region. Complete verification (branch and bound) plugs in after
// alpha-CROWN.
//
// A region is verified when every unsafe term is refuted: some constraint a . y <= b of the term
// has lower_bound(a . f(x)) > b over the region (>= b for a strict constraint). The property is
// verified when every region is, falsified when a checked counterexample exists.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bounds/crown.h"
#include "verify/attack.h"
#include "verify/input_bab.h"
#include "verify/relu_bab.h"

namespace nncert {

enum class Verdict { kVerified, kFalsified, kUnknown, kTimeout, kError, kNotRun };
const char* verdict_name(Verdict v);  // "verified", "falsified", "unknown", "timeout", ...

// Methods the pipeline runs, in order. `methods` of VerifyOptions selects a subset.
// kSmt: the exact Z3 check (lib/smt) of each open region, with CROWN's intermediate bounds;
// decides both ways (unsat: verified, sat: a re-checked counterexample).
enum class Method { kAttack, kIbp, kCrown, kAlphaCrown, kInputBab, kReluBab, kSmt };
// "attack", "ibp", "crown", "alpha-crown", "input-bab", "bab", "smt"
const char* method_name(Method m);

struct VerifyOptions {
  std::vector<Method> methods = {
      Method::kAttack, Method::kIbp, Method::kCrown, Method::kAlphaCrown, Method::kInputBab};
  double timeout_s = 0;  // per property; 0 = none
  // Bounds move outward by a slack that covers floating-point rounding (docs/bounds.md), so a
  // "verified" also holds for the exact real-valued network computation of the float64 math.
  bool safe_rounding = true;
  int threads = 0;
  AttackOptions attack;
  // Share of the property's timeout the attack may use before bounds are tried (when a timeout
  // is set and attack.max_seconds is 0).
  double attack_time_fraction = 0.25;
  AlphaOptions alpha;
  // Input BaB runs only on inputs this small: the number of domains grows exponentially with
  // the input dimension (ACAS Xu: 5), while ReLU splitting suits wide inputs.
  int64_t input_bab_max_inputs = 16;
  InputBabOptions input_bab;  // threads, safe_rounding and should_stop come from here
  // ReLU-split branch and bound (Method::kReluBab) on the regions still open; it runs only for
  // models with at least this many inputs (`--method auto`: 17; input BaB takes smaller ones;
  // auto runs it only when timeout_s is set).
  ReluBabOptions relu_bab;
  // ReLU BaB hands domains with at most this many unstable neurons to the exact Z3 check, each
  // call limited to smt_leaf_timeout_s. 0: only leaves without unstable neurons (LPs that beta
  // closes only approximately). On the random nets of test_relu_bab this decides 10/12 barely
  // true/false properties (9/12 without Z3); a threshold of 4 decided no more and took longer.
  bool smt_leaves = true;
  int64_t smt_leaf_max_unstable = 0;
  double smt_leaf_timeout_s = 5;
  int64_t relu_bab_min_inputs = 0;
  std::function<bool()> should_stop;  // external stop (interrupt, global timeout)
};

// Bounds of one region's constraint rows by the method that last ran on it.
struct RegionResult {
  bool verified = false;
  std::string method;             // method that verified it ("" when open)
  std::vector<double> lower;      // per constraint row (terms in order, constraints in order)
  std::vector<double> rhs;        // the rows' right-hand sides
  std::vector<int64_t> row_term;  // the term of each row
};

struct PropertyResult {
  Verdict verdict = Verdict::kNotRun;
  std::string method;   // what decided it ("pgd", "random", "ibp", "crown", "alpha-crown",
                        // "input-bab", "clean")
  std::string message;  // error text, or why it is unknown
  ErrorCode error = ErrorCode::kOk;  // for kError: what kind of error (exit codes map from it)
  std::optional<Counterexample> counterexample;
  std::vector<RegionResult> regions;
  std::vector<std::pair<std::string, double>> method_times;  // seconds per method that ran
  int64_t domains = 0;  // branch-and-bound domains bounded (all regions)
  // ReLU BaB: the most open domains at once (largest over the regions; its memory use).
  int64_t max_open_domains = 0;
  double time_s = 0;
};

// Runs the pipeline. The graph must be prepared and specialised to one sample (first input,
// first output). Errors in the pipeline are reported in the result (verdict kError), not
// returned.
PropertyResult verify_property(const AttackModel& model,
                               const Property& property,
                               const VerifyOptions& options);

}  // namespace nncert
