#include "spec/robustness.h"

#include <cmath>

namespace nncert {

Status RobustnessOptions::validate() const {
  if (norm == Perturbation::Kind::kBox)
    return {ErrorCode::kInvalidArgument, "robustness needs an Lp norm (inf, 2 or 1), not a box"};
  if (!std::isfinite(eps) || eps < 0)
    return {ErrorCode::kInvalidArgument,
            "eps must be a finite number >= 0, got " + std::to_string(eps)};
  if (clip_lo.has_value() != clip_hi.has_value())
    return {ErrorCode::kInvalidArgument, "give both ends of the clip range or neither"};
  if (clip_lo && !(std::isfinite(*clip_lo) && std::isfinite(*clip_hi) && *clip_lo <= *clip_hi))
    return {ErrorCode::kInvalidArgument,
            "bad clip range [" + std::to_string(*clip_lo) + ", " + std::to_string(*clip_hi) + "]"};
  return Status::ok();
}

Expected<Perturbation::Kind> parse_norm(const std::string& text) {
  if (text == "inf" || text == "linf" || text == "Linf" || text == "LINF")
    return Perturbation::Kind::kLinf;
  if (text == "2" || text == "l2" || text == "L2")
    return Perturbation::Kind::kL2;
  if (text == "1" || text == "l1" || text == "L1")
    return Perturbation::Kind::kL1;
  return Status(ErrorCode::kInvalidArgument, "unknown norm '" + text + "' (inf, 2 or 1)");
}

std::vector<UnsafeTerm> class_change_terms(int64_t label, int64_t num_outputs) {
  NNCERT_CHECK(label >= 0 && label < num_outputs, "label outside the classes");
  // Unsafe when class j scores at least as high as the label: Y_label - Y_j <= 0.
  std::vector<UnsafeTerm> terms;
  for (int64_t j = 0; j < num_outputs; ++j) {
    if (j == label)
      continue;
    OutputConstraint oc;
    oc.coeffs.assign(static_cast<size_t>(num_outputs), 0.0);
    oc.coeffs[static_cast<size_t>(label)] = 1;
    oc.coeffs[static_cast<size_t>(j)] = -1;
    terms.push_back(UnsafeTerm{{oc}});
  }
  return terms;
}

Expected<Property> robustness_property(const std::vector<double>& x,
                                       int64_t label,
                                       int64_t num_outputs,
                                       int64_t sample_index,
                                       const RobustnessOptions& options) {
  const std::string name = "sample " + std::to_string(sample_index);
  if (Status st = options.validate(); !st.is_ok())
    return st.with_context(name);
  if (x.empty())
    return Status(ErrorCode::kInvalidArgument, name + ": the sample has no values");
  if (num_outputs < 2)
    return Status(ErrorCode::kInvalidArgument,
                  name + ": a robustness property needs a model with at least 2 outputs, got " +
                      std::to_string(num_outputs));
  if (label < 0 || label >= num_outputs)
    return Status(ErrorCode::kInvalidArgument,
                  name + ": label " + std::to_string(label) + " is not a class of a model with " +
                      std::to_string(num_outputs) + " outputs");
  Property p;
  p.name = name;
  p.num_inputs = static_cast<int64_t>(x.size());
  p.num_outputs = num_outputs;
  p.sample_index = sample_index;
  p.label = label;
  PropertyCase c;
  std::vector<double> lo, hi;
  if (options.clip_lo) {
    lo.assign(x.size(), *options.clip_lo);
    hi.assign(x.size(), *options.clip_hi);
  }
  c.input = Perturbation::ball(options.norm, x, options.eps, std::move(lo), std::move(hi));
  c.unsafe = class_change_terms(label, num_outputs);
  p.cases.push_back(std::move(c));
  if (Status st = p.validate(); !st.is_ok())
    return st;
  return p;
}

}  // namespace nncert
