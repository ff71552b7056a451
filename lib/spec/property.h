// A verification property in the form VNN-COMP reads VNNLIB files: a disjunction of input regions,
// each with a disjunction of conjunctions of linear constraints on the outputs that describe the
// UNSAFE outputs. The property holds (VNN-COMP "unsat", nncert "verified") when no input of any
// region produces outputs that satisfy one of its region's conjunctions; it is violated
// ("sat", "falsified") by a counterexample: an input x of some region whose outputs y = f(x)
// satisfy every constraint of one conjunction of that region.
//
// Both frontends produce this object: frontends/vnnlib (VNNLIB files) and lib/spec/robustness
// (a dataset sample, eps and a norm: "the predicted class stays the label").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bounds/perturbation.h"
#include "core/status.h"

namespace nncert {

// sum_j coeffs[j] * Y_j <= rhs (strict: < rhs). coeffs has one entry per model output
// (flattened row-major over the first graph output).
struct OutputConstraint {
  std::vector<double> coeffs;
  double rhs = 0;
  bool strict = false;
};

// A conjunction: outputs are unsafe when every constraint holds. An empty conjunction is
// satisfied by every output (then any input of the region is a counterexample).
struct UnsafeTerm {
  std::vector<OutputConstraint> all;
};

// One input region with the unsafe outputs for it. The region is a Perturbation over the first
// graph input, flattened row-major: a box (VNNLIB X bounds), optionally with linear constraints
// G x <= h (VNNLIB constraints over several X), or an Lp ball (dataset properties).
// `unsafe` is a disjunction; empty means no output is unsafe for this region.
struct PropertyCase {
  Perturbation input;
  std::vector<UnsafeTerm> unsafe;
};

struct Property {
  std::string name;  // e.g. the VNNLIB file name, or "sample 17"
  int64_t num_inputs = 0;
  int64_t num_outputs = 0;
  std::vector<PropertyCase> cases;  // disjunction over input regions

  // Dataset robustness properties: the sample's index and true label (the margins of every other
  // class are the unsafe terms). Empty for VNNLIB properties.
  std::optional<int64_t> sample_index;
  std::optional<int64_t> label;

  // Sizes agree (every input region has num_inputs values, every constraint num_outputs
  // coefficients), numbers are finite (rhs may be +-inf), regions are valid sets.
  Status validate() const;
};

// The constraint rows of one region as a spec matrix: terms in order, each term's constraints in
// order. Bound engines compute lower bounds of c[k] . y; row k refutes its term when that lower
// bound exceeds rhs[k] (reaches it, for a strict constraint).
struct ConstraintRows {
  std::vector<std::vector<double>> c;
  std::vector<double> rhs;
  std::vector<char> strict;
  std::vector<int64_t> term;  // the term of each row
};
ConstraintRows constraint_rows(const PropertyCase& pc);
// Does lower bound `lower` of row k refute its term? (NaN never does.)
inline bool row_refutes(const ConstraintRows& r, size_t k, double lower) {
  return r.strict[k] ? lower >= r.rhs[k] : lower > r.rhs[k];
}

// True when y satisfies every constraint of the term (y has num_outputs values). `tolerance`
// loosens each constraint by tolerance * max(1, |rhs|) (0: exact float64 evaluation).
bool term_satisfied(const UnsafeTerm& term, const std::vector<double>& y, double tolerance = 0);

// Index of the first term of the case that y satisfies, or -1.
int64_t unsafe_term_index(const PropertyCase& c, const std::vector<double>& y);

// True when x lies in the region (within `tolerance` on every box side / constraint, scaled like
// term_satisfied).
bool region_contains(const Perturbation& p, const std::vector<double>& x, double tolerance = 0);

}  // namespace nncert
