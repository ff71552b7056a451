// Internals of the VNNLIB reader shared by its two stages: vnnlib_parser.cpp turns the text into
// declarations and one disjunctive normal form per assert over linear atoms;
// vnnlib_property.cpp ANDs the asserts and groups the conjunctions into a Property.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "frontends/vnnlib/vnnlib.h"

namespace nncert::vnnlib_detail {

inline constexpr size_t kNoOffset = static_cast<size_t>(-1);

// coeff * X_var (or Y_var: the atom says which).
struct AtomTerm {
  int64_t var = 0;
  double coeff = 0;
};

// sum_k terms[k].coeff * v_terms[k].var <= rhs (strict: <), over inputs only or outputs only.
// terms are sorted by variable, without repeats and without zero coefficients (so an atom
// always has at least one term: comparisons without variables are folded to true/false).
struct Atom {
  uint32_t begin = 0, end = 0;  // range in ParsedFile::terms
  double rhs = 0;
  bool strict = false;
  bool output = false;  // over Y (else over X)
  size_t offset = 0;    // byte offset of the comparison's '(' (for messages)
  bool is_bound() const { return !output && end - begin == 1; }
};

// A disjunction of conjunctions of atoms (compressed rows): conjunction i is
// atoms[starts[i] .. starts[i + 1]). No conjunction = false; one empty conjunction = true.
struct Dnf {
  std::vector<uint32_t> atoms;
  std::vector<uint32_t> starts{0};
  size_t size() const { return starts.size() - 1; }
};

// An assert's normal form: conjunctions [first, last) of ParsedFile::conjunctions.
struct Assert {
  uint32_t first = 0, last = 0;
  size_t offset = 0;  // byte offset of "(assert"
  size_t size() const { return last - first; }
};

struct ParsedFile {
  // Byte offset of the declaration of X_i / Y_i, kNoOffset where an index was skipped.
  std::vector<size_t> input_decl, output_decl;
  std::vector<AtomTerm> terms;
  std::vector<Atom> atoms;
  Dnf conjunctions;  // of every assert, one after the other (one allocation, not one per assert)
  std::vector<Assert> asserts;
};

// "LINE:COL: message" for a byte offset of `text` (1-based; LINE:COL one past the last character
// for offsets at or past the end).
Status error_at(std::string_view text, size_t offset, ErrorCode code, const std::string& message);

// Stage 1: syntax, declarations, linear atoms, normal form of each assert.
Expected<ParsedFile> parse_file(std::string_view text, const VnnlibOptions& options);

// Stage 2: the asserts ANDed, conjunctions grouped by input region.
Expected<Property> build_property(const ParsedFile& file,
                                  std::string_view text,
                                  std::string name,
                                  const VnnlibOptions& options);

// Shortest text that reads back to exactly v (std::to_chars).
std::string format_number(double v);

}  // namespace nncert::vnnlib_detail
