// Reading a perturbation set from JSON (the CLI's --box file, extended). Formats:
//   {"lower": [...], "upper": [...]}                                  a box
//   {"center": [...], "eps": e, "norm": "inf" | "2" | "1",           an Lp ball ("norm" defaults
//    "clip": [lo, hi]}                                                to "inf"; 1 and 2 may also
//                                                                     be numbers); "clip"
//                                                                     optional, lo / hi scalars
//                                                                     or arrays of n numbers
// either with an optional "constraints": {"G": [[...], ...], "h": [...]} (G x <= h). Vectors are
// flat, row-major over the input. Unknown keys are refused (a typo such as "epsilon" would
// otherwise be silently ignored).
// Errors: kParseError for a malformed document (missing or unknown keys, non-numbers),
// kShapeMismatch for wrong lengths, kInvalidArgument for bad values (negative eps, NaN/inf,
// lower > upper, unknown norm, a clip box that misses the ball).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "bounds/perturbation.h"

namespace nncert {

// n: the input's number of values; n < 0 takes it from the document.
Expected<Perturbation> perturbation_from_json(const nlohmann::json& j, int64_t n = -1);
// The same from JSON text (kParseError when it is not JSON).
Expected<Perturbation> perturbation_from_json_text(const std::string& text, int64_t n = -1);

}  // namespace nncert
