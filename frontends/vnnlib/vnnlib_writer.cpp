// write_vnnlib: a Property as canonical VNNLIB text. One input region is written as top-level
// bound asserts followed by the unsafe outputs (one assert per constraint for a single term, an
// (or (and ...) ...) otherwise); several regions as one (or ...) with a full conjunction (box,
// rows, output constraints) per region and term. Numbers are the shortest text that reads back
// to the same double, so parse_vnnlib(write_vnnlib(p)) equals p up to the simplifications listed
// in vnnlib.h.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "frontends/vnnlib/vnnlib.h"
#include "frontends/vnnlib/vnnlib_internal.h"

namespace nncert {

namespace {

using vnnlib_detail::format_number;

enum class Truth { kTrue, kFalse, kDepends };

// A constraint whose value does not depend on the variables (rhs infinite, or no coefficient).
Truth truth(const std::vector<double>& coeffs, double rhs, bool strict) {
  if (rhs == INFINITY)
    return Truth::kTrue;
  if (rhs == -INFINITY)
    return Truth::kFalse;
  if (std::any_of(coeffs.begin(), coeffs.end(), [](double c) { return c != 0; }))
    return Truth::kDepends;
  return (strict ? 0 < rhs : 0 <= rhs) ? Truth::kTrue : Truth::kFalse;
}

std::string var(char letter, size_t i) {
  return std::string(1, letter) + "_" + std::to_string(i);
}

// sum_i coeffs[i] * V_i <= rhs (strict: <), in the plainest form that reads back exactly.
std::string comparison(const std::vector<double>& coeffs, double rhs, bool strict, char letter) {
  const std::string le = strict ? "<" : "<=";
  const std::string ge = strict ? ">" : ">=";
  std::vector<size_t> nz;
  for (size_t i = 0; i < coeffs.size(); ++i)
    if (coeffs[i] != 0)
      nz.push_back(i);
  if (nz.size() == 1 && coeffs[nz[0]] == 1)
    return "(" + le + " " + var(letter, nz[0]) + " " + format_number(rhs) + ")";
  if (nz.size() == 1 && coeffs[nz[0]] == -1)
    return "(" + ge + " " + var(letter, nz[0]) + " " + format_number(-rhs) + ")";
  if (nz.size() == 2 && rhs == 0 && coeffs[nz[0]] == -coeffs[nz[1]] &&
      std::abs(coeffs[nz[0]]) == 1) {
    const size_t pos = coeffs[nz[0]] == 1 ? nz[0] : nz[1];
    const size_t neg = pos == nz[0] ? nz[1] : nz[0];
    return "(" + le + " " + var(letter, pos) + " " + var(letter, neg) + ")";
  }
  std::string sum;
  for (size_t i : nz)
    sum += " (* " + format_number(coeffs[i]) + " " + var(letter, i) + ")";
  if (nz.size() > 1)
    sum = " (+" + sum + ")";
  return "(" + le + sum + " " + format_number(rhs) + ")";
}

struct Region {
  std::vector<double> lo, hi;
  std::vector<std::string> rows;
  std::vector<std::vector<std::string>> terms;  // the output constraints of each term
};

Expected<Region> region_of(const PropertyCase& c) {
  Region r;
  const Perturbation& p = c.input;
  if (p.kind == Perturbation::Kind::kL1 || p.kind == Perturbation::Kind::kL2)
    return Status(ErrorCode::kUnsupported,
                  std::string("VNNLIB has no ") + perturbation_kind_name(p.kind) +
                      " balls: only boxes (and Linf balls, written as their box)");
  if (p.kind == Perturbation::Kind::kBox) {
    r.lo = p.lo;
    r.hi = p.hi;
  } else {  // Linf: centre +- eps, intersected with the clip box
    const size_t n = p.center.size();
    r.lo.resize(n);
    r.hi.resize(n);
    for (size_t i = 0; i < n; ++i) {
      r.lo[i] = p.center[i] - p.eps;
      r.hi[i] = p.center[i] + p.eps;
      if (p.has_clip()) {
        r.lo[i] = std::max(r.lo[i], p.lo[i]);
        r.hi[i] = std::min(r.hi[i], p.hi[i]);
      }
    }
  }
  for (size_t k = 0; k < p.constraints.g.size(); ++k)
    if (truth(p.constraints.g[k], p.constraints.h[k], false) != Truth::kTrue)
      r.rows.push_back(comparison(p.constraints.g[k], p.constraints.h[k], false, 'X'));
  for (const UnsafeTerm& t : c.unsafe) {
    std::vector<std::string> term;
    bool possible = true;
    for (const OutputConstraint& oc : t.all) {
      const Truth v = truth(oc.coeffs, oc.rhs, oc.strict);
      possible = possible && v != Truth::kFalse;
      if (v == Truth::kDepends)
        term.push_back(comparison(oc.coeffs, oc.rhs, oc.strict, 'Y'));
    }
    if (possible)
      r.terms.push_back(std::move(term));
  }
  return r;
}

std::string box_bounds(const Region& r, const std::string& prefix, const std::string& suffix) {
  std::string out;
  for (size_t i = 0; i < r.lo.size(); ++i) {
    out += prefix + "(>= " + var('X', i) + " " + format_number(r.lo[i]) + ")" + suffix;
    out += prefix + "(<= " + var('X', i) + " " + format_number(r.hi[i]) + ")" + suffix;
  }
  for (const std::string& row : r.rows)
    out += prefix + row + suffix;
  return out;
}

std::string conjunction(const std::vector<std::string>& parts) {
  std::string out = "(and";
  for (const std::string& p : parts)
    out += " " + p;
  return out + ")";
}

}  // namespace

Expected<std::string> write_vnnlib(const Property& property) {
  NNCERT_RETURN_IF_ERROR(property.validate());
  std::vector<Region> regions;
  for (const PropertyCase& c : property.cases) {
    auto r = region_of(c);
    if (!r)
      return r.status();
    if (!r->terms.empty())  // a region without unsafe terms adds nothing to the unsafe set
      regions.push_back(std::move(*r));
  }
  if (regions.empty())
    return Status(ErrorCode::kInvalidArgument,
                  "property '" + property.name +
                      "' has no satisfiable unsafe term: VNNLIB cannot state an empty unsafe set");

  std::string name = property.name;
  std::replace_if(
      name.begin(), name.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  std::string out =
      "; " + name + "\n; VNNLIB written by nncert: the asserts describe the UNSAFE set\n\n";
  for (int64_t i = 0; i < property.num_inputs; ++i)
    out += "(declare-const " + var('X', i) + " Real)\n";
  out += "\n";
  for (int64_t j = 0; j < property.num_outputs; ++j)
    out += "(declare-const " + var('Y', j) + " Real)\n";
  out += "\n";

  if (regions.size() == 1) {
    const Region& r = regions[0];
    out += "; input region\n" + box_bounds(r, "(assert ", ")\n") + "\n; unsafe outputs\n";
    if (r.terms.size() == 1) {
      for (const std::string& c : r.terms[0])
        out += "(assert " + c + ")\n";
      return out;
    }
    out += "(assert (or\n";
    for (const auto& term : r.terms)
      out += "  " + conjunction(term) + "\n";
    return out + "))\n";
  }
  out += "; " + std::to_string(regions.size()) + " input regions, each with its unsafe outputs\n";
  out += "(assert (or\n";
  for (const Region& r : regions) {
    std::vector<std::string> inputs;
    for (size_t i = 0; i < r.lo.size(); ++i) {
      inputs.push_back("(>= " + var('X', i) + " " + format_number(r.lo[i]) + ")");
      inputs.push_back("(<= " + var('X', i) + " " + format_number(r.hi[i]) + ")");
    }
    inputs.insert(inputs.end(), r.rows.begin(), r.rows.end());
    for (const auto& term : r.terms) {
      std::vector<std::string> parts = inputs;
      parts.insert(parts.end(), term.begin(), term.end());
      out += "  " + conjunction(parts) + "\n";
    }
  }
  return out + "))\n";
}

}  // namespace nncert
