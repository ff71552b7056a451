// Exact verification of one property region with the Z3 SMT solver.
//
// The graph is encoded over linear real arithmetic with the float weights as exact rationals:
// affine ops are equalities, ReLU / LeakyRelu / Max / MaxPool / Abs / Clip / Min are big-M
// disjunctions (Boolean case splits, or big-M with 0/1 integer indicators) whose constants come
// from known intervals of their inputs (stable neurons need no case split). The region and the
// negated property are added, and Z3 decides: unsat proves the region safe for the real-valued
// network; sat gives an input that is re-executed in float64 on the runtime before it is reported
// (a model that does not re-check becomes kUnknown, never a false counterexample). docs/smt.md has
// the encoding and timings.
//
// This header does not include Z3; lib/smt's .cpp files are the only code that does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"
#include "ops/op_def.h"
#include "spec/property.h"

namespace nncert {

struct SmtOptions {
  double timeout_s = 0;               // Z3's time limit (0 = none)
  std::function<bool()> should_stop;  // polled every 50 ms while Z3 runs; interrupts it
  // Fixed ReLU phases (branch-and-bound leaves): (ValueId of the ReLU's input, flat element).
  // active: x >= 0 and y = x; inactive: x <= 0 and y = 0.
  std::vector<std::pair<ValueId, int64_t>> active, inactive;
  // Known intervals per ValueId (e.g. CrownResult::intermediate, valid under the fixed phases);
  // they must hold for the real-valued network. They are intersected with an IBP pass over the
  // region's enclosing box (with safe rounding), which smt_check always runs. nullptr: IBP only.
  const std::vector<Interval>* bounds = nullptr;
  // A model whose float64 re-check fails (the point sits on the unsafe boundary) is searched
  // again once with every unsafe constraint tightened by margin * max(1, |rhs|).
  double retry_margin = 1e-9;
  // How ReLU / max disjunctions are encoded: Boolean case splits with the LP hull (default), or
  // big-M with 0/1 integer indicators (much slower on Z3 4.8.12; docs/smt.md).
  enum class Encoding { kCaseSplit, kBigM };
  Encoding encoding = Encoding::kCaseSplit;
  Status validate() const;
};

struct SmtResult {
  enum class Answer {
    kUnsat,    // no input of the region is unsafe: the region is verified
    kSat,      // x is a counterexample, re-checked in float64
    kUnknown,  // timeout, interruption, or a model that did not re-check
  };
  Answer answer = Answer::kUnknown;
  std::vector<double> x;       // kSat: the input (flat)
  std::vector<double> y;       // kSat: its float64 outputs
  int64_t term_index = -1;     // kSat: the unsafe term y satisfies
  int64_t unsafe_neurons = 0;  // disjunctions encoded (unstable ReLUs, max candidates sets, ...)
  int64_t integer_vars = 0;    // indicators (Boolean case splits or 0/1 integers)
  double seconds = 0;          // encoding + solving
  std::string reason;          // why kUnknown (Z3's reason_unknown, "interrupted", ...)
};

const char* smt_answer_name(SmtResult::Answer a);  // "unsat", "sat", "unknown"

// Decides one region. `g` must be prepared and specialised to one sample (first input: the
// region's x, first output: y), as AttackModel::single(). Errors: kUnsupported naming the node
// for ops without an exact linear encoding (Sigmoid, Tanh, Softmax, products of two variables,
// ...) and for L2 balls; kInvalidArgument for bad options or a region of the wrong size.
Expected<SmtResult> smt_check(const Graph& g,
                              const PropertyCase& region,
                              const SmtOptions& options);

}  // namespace nncert
