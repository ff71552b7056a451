#include "bounds/perturbation_json.h"

#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

namespace nncert {

namespace {

using nlohmann::json;

Status parse_error(const std::string& msg) {
  return {ErrorCode::kParseError, "perturbation: " + msg};
}

Expected<double> finite_number(const json& v, const std::string& what) {
  if (!v.is_number())
    return parse_error(what + " must be a number");
  const double x = v.get<double>();
  if (!std::isfinite(x))
    return Status(ErrorCode::kInvalidArgument, "perturbation: " + what + " is NaN or infinite");
  return x;
}

// An array of numbers; length n when n >= 0.
Expected<std::vector<double>> number_array(const json& v, const std::string& what, int64_t n) {
  if (!v.is_array())
    return parse_error(what + " must be an array of numbers");
  if (n >= 0 && static_cast<int64_t>(v.size()) != n)
    return Status(ErrorCode::kShapeMismatch,
                  "perturbation: " + what + " has " + std::to_string(v.size()) +
                      " values, the input has " + std::to_string(n));
  std::vector<double> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    NNCERT_ASSIGN_OR_RETURN(double x, finite_number(v[i], what + "[" + std::to_string(i) + "]"));
    out.push_back(x);
  }
  return out;
}

// A clip bound: a scalar (broadcast) or an array of n numbers.
Expected<std::vector<double>> clip_bound(const json& v, const std::string& what, int64_t n) {
  if (v.is_number()) {
    NNCERT_ASSIGN_OR_RETURN(double x, finite_number(v, what));
    return std::vector<double>(static_cast<size_t>(n), x);
  }
  if (!v.is_array())
    return parse_error(what + " must be a number or an array of numbers");
  return number_array(v, what, n);
}

Expected<Perturbation::Kind> parse_norm(const json& v) {
  std::string s;
  if (v.is_string()) {
    s = v.get<std::string>();
  } else if (v.is_number()) {
    const double x = v.get<double>();
    s = x == 1 ? "1" : (x == 2 ? "2" : v.dump());
  } else {
    return parse_error("\"norm\" must be \"inf\", \"2\" or \"1\"");
  }
  if (s == "inf" || s == "Linf" || s == "linf")
    return Perturbation::Kind::kLinf;
  if (s == "2" || s == "L2" || s == "l2")
    return Perturbation::Kind::kL2;
  if (s == "1" || s == "L1" || s == "l1")
    return Perturbation::Kind::kL1;
  return Status(ErrorCode::kInvalidArgument,
                "perturbation: unknown norm \"" + s + "\" (use \"inf\", \"2\" or \"1\")");
}

Expected<LinearConstraints> parse_constraints(const json& c, int64_t n) {
  if (!c.is_object())
    return parse_error("\"constraints\" must be an object {\"G\": [[...]], \"h\": [...]}");
  for (auto it = c.begin(); it != c.end(); ++it)
    if (it.key() != "G" && it.key() != "h")
      return parse_error("unknown key \"" + it.key() + "\" in \"constraints\" (known: G, h)");
  if (!c.contains("G") || !c.contains("h"))
    return parse_error("\"constraints\" needs both \"G\" (rows) and \"h\"");
  const json& g = c.at("G");
  if (!g.is_array())
    return parse_error("\"constraints\".\"G\" must be an array of rows");
  LinearConstraints lc;
  for (size_t i = 0; i < g.size(); ++i) {
    NNCERT_ASSIGN_OR_RETURN(auto row, number_array(g[i], "G[" + std::to_string(i) + "]", n));
    lc.g.push_back(std::move(row));
  }
  NNCERT_ASSIGN_OR_RETURN(lc.h,
                          number_array(c.at("h"), "\"h\"", static_cast<int64_t>(lc.g.size())));
  return lc;
}

}  // namespace

Expected<Perturbation> perturbation_from_json(const json& j, int64_t n) {
  if (!j.is_object())
    return parse_error("expected a JSON object ({\"lower\", \"upper\"} or {\"center\", \"eps\"})");
  static const char* const kKnown[] = {
      "lower", "upper", "center", "eps", "norm", "clip", "constraints"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : kKnown)
      known = known || it.key() == k;
    if (!known)
      return parse_error("unknown key \"" + it.key() +
                         "\" (known: lower, upper, center, eps, norm, clip, constraints)");
  }
  const bool is_box = j.contains("lower") || j.contains("upper");
  const bool is_ball = j.contains("center") || j.contains("eps");
  if (is_box && is_ball)
    return parse_error(
        "give either a box (\"lower\", \"upper\") or a ball (\"center\", \"eps\"), "
        "not both");
  if (!is_box && !is_ball)
    return parse_error("needs a box (\"lower\", \"upper\") or a ball (\"center\", \"eps\")");
  Perturbation p;
  if (is_box) {
    if (!j.contains("lower") || !j.contains("upper"))
      return parse_error("a box needs both \"lower\" and \"upper\"");
    if (j.contains("norm") || j.contains("clip"))
      return parse_error("\"norm\" and \"clip\" belong to a ball (\"center\", \"eps\")");
    NNCERT_ASSIGN_OR_RETURN(auto lo, number_array(j.at("lower"), "\"lower\"", n));
    NNCERT_ASSIGN_OR_RETURN(
        auto hi, number_array(j.at("upper"), "\"upper\"", static_cast<int64_t>(lo.size())));
    p = Perturbation::box(std::move(lo), std::move(hi));
  } else {
    if (!j.contains("center") || !j.contains("eps"))
      return parse_error("a ball needs both \"center\" and \"eps\"");
    NNCERT_ASSIGN_OR_RETURN(auto c, number_array(j.at("center"), "\"center\"", n));
    NNCERT_ASSIGN_OR_RETURN(double eps, finite_number(j.at("eps"), "\"eps\""));
    if (eps < 0)
      return Status(ErrorCode::kInvalidArgument,
                    "perturbation: \"eps\" must be >= 0 (got " + std::to_string(eps) + ")");
    Perturbation::Kind kind = Perturbation::Kind::kLinf;
    if (j.contains("norm")) {
      NNCERT_ASSIGN_OR_RETURN(kind, parse_norm(j.at("norm")));
    }
    std::vector<double> lo, hi;
    if (j.contains("clip")) {
      const json& cl = j.at("clip");
      if (!cl.is_array() || cl.size() != 2)
        return parse_error("\"clip\" must be [lo, hi] (each a number or an array of numbers)");
      const auto m = static_cast<int64_t>(c.size());
      NNCERT_ASSIGN_OR_RETURN(lo, clip_bound(cl[0], "\"clip\" lower", m));
      NNCERT_ASSIGN_OR_RETURN(hi, clip_bound(cl[1], "\"clip\" upper", m));
    }
    p = Perturbation::ball(kind, std::move(c), eps, std::move(lo), std::move(hi));
  }
  if (j.contains("constraints")) {
    NNCERT_ASSIGN_OR_RETURN(p.constraints, parse_constraints(j.at("constraints"), p.size()));
  }
  if (Status st = p.validate(); !st.is_ok())
    return st.with_context("perturbation");
  return p;
}

Expected<Perturbation> perturbation_from_json_text(const std::string& text, int64_t n) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return parse_error(std::string("not valid JSON: ") + e.what());
  }
  return perturbation_from_json(j, n);
}

}  // namespace nncert
