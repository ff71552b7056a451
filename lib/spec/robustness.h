// Local robustness of a classifier at one dataset sample as a Property: every input within eps
// of the sample (in the chosen norm, optionally clipped to the data range) is classified as the
// sample's label. The unsafe outputs are those where some other class j scores at least as
// high as the label: Y_label - Y_j <= 0, one single-constraint term per j != label. (A tie
// counts as unsafe: argmax is then ambiguous.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bounds/perturbation.h"
#include "core/status.h"
#include "spec/property.h"

namespace nncert {

struct RobustnessOptions {
  Perturbation::Kind norm = Perturbation::Kind::kLinf;  // kLinf, kL2 or kL1
  double eps = 0;
  // The data range, e.g. [0, 1] for scaled pixels: the ball is intersected with it. Both or
  // neither.
  std::optional<double> clip_lo, clip_hi;

  // kInvalidArgument: a box norm, eps negative or not finite, one clip side only, lo > hi.
  Status validate() const;
};

// "inf" / "linf" / "Linf", "2" / "l2" / "L2", "1" / "l1" / "L1" (kInvalidArgument otherwise).
Expected<Perturbation::Kind> parse_norm(const std::string& text);

// The unsafe terms of "the class stays `label`": one single-constraint term Y_label - Y_j <= 0
// per class j != label (a tie is unsafe). Shared by robustness properties and the manipulation
// check (lib/verify/manipulation_check.h). label must lie in [0, num_outputs).
std::vector<UnsafeTerm> class_change_terms(int64_t label, int64_t num_outputs);

// The property for sample x (flat, the model's first input in data space) with true class
// `label` of a model with `num_outputs` classes (its first output, flattened). Named
// "sample <sample_index>". Errors: kInvalidArgument for bad options, a label outside
// [0, num_outputs), fewer than 2 outputs, an empty x, or a sample outside the clip range
// further than eps (the clipped ball would be empty).
Expected<Property> robustness_property(const std::vector<double>& x,
                                       int64_t label,
                                       int64_t num_outputs,
                                       int64_t sample_index,
                                       const RobustnessOptions& options);

}  // namespace nncert
