// Robustness evaluation of a classifier on dataset samples (`verify-model eval`): clean accuracy,
// PGD accuracy and verified accuracy per bound method, phase by phase over all samples:
//   clean        float64 forward pass; correct when the label's score is strictly the largest;
//   pgd          PGD (attack.h, no random points) on the correct samples; a checked
//                counterexample makes the sample not robust;
//   ibp, crown   on every clean, PGD-robust sample, each on its own (neither is always tighter);
//   alpha-crown  only on the samples no cheaper requested method verified, within a per-sample
//                time limit; the samples CROWN verified count as verified by it too (alpha-CROWN
//                is never looser than CROWN).
// A sample is verified by a method when the lower bounds of every margin y_label - y_j over the
// property's region are > 0. Samples run in parallel (each computation on one thread), all on the
// general engines (crown.h): the dense ReLU-chain engine (dense_chain.h) with batches of 1-32
// boxes of one label was slower than per-sample crown_bounds on 784-input MNIST MLPs.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "verify/verifier.h"

namespace nncert {

// The bound methods of an evaluation, in the order they run.
inline constexpr std::array<Method, 3> kEvalMethods = {
    Method::kIbp, Method::kCrown, Method::kAlphaCrown};

struct EvalOptions {
  std::vector<Method> methods = {Method::kIbp, Method::kCrown, Method::kAlphaCrown};
  AttackOptions attack;  // PGD: restarts, steps, step, seed (random points and threads ignored)
  AlphaOptions alpha;
  double alpha_timeout_s = 0;  // seconds per sample for alpha-CROWN (0 = none)
  bool safe_rounding = true;
  int threads = 0;                    // samples in parallel (0 = all cores)
  std::function<bool()> should_stop;  // polled between samples and inside the computations
  // Called (serialised) after each sample of each phase: phase name, done, total.
  std::function<void(const char*, int64_t, int64_t)> progress;
};

struct EvalSample {
  int64_t index = 0;  // the dataset sample
  int64_t label = 0;
  int64_t prediction = -1;  // argmax of the clean outputs (-1: not run)
  bool clean = false;       // prediction == label with a strict margin over every other class
  bool pgd_run = false;     // PGD ran on it (clean samples only)
  bool pgd_robust = false;  // clean, and PGD found no counterexample
  // Per kEvalMethods entry: the method ran on the sample / verified it.
  std::array<bool, 3> ran{}, verified{};
  bool timeout = false;     // alpha-CROWN reached alpha_timeout_s
  std::string verified_by;  // the first method of kEvalMethods that verified it ("" = none)
};

struct EvalResult {
  std::vector<EvalSample> samples;
  std::vector<std::pair<std::string, double>> seconds;  // wall seconds per phase run
  bool interrupted = false;  // should_stop stopped it: the later phases did not (all) run
};

// Index of m in kEvalMethods (Method::kIbp: 0, kCrown: 1, kAlphaCrown: 2; -1 otherwise).
int eval_method_index(Method m);

// Evaluates `properties` (robustness properties, lib/spec/robustness.h: sample_index and label
// set) on the model. Errors: kInvalidArgument for a method other than ibp/crown/alpha-crown or a
// property without label; kShapeMismatch for properties that do not fit the model; a bound
// method's error (e.g. kUnsupported) stops the evaluation with it; kInternal when a result
// contradicts another (a bound above the clean margin, a verified sample PGD falsified).
Expected<EvalResult> evaluate_robustness(const AttackModel& model,
                                         const std::vector<Property>& properties,
                                         const EvalOptions& options);

// The soundness checks evaluate_robustness ends with: no sample is verified unless it is clean
// and PGD-robust, and verified_by names a method that verified it. kInternal when one fails.
Status check_eval_consistency(const EvalResult& r);

}  // namespace nncert
