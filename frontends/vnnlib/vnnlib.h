// VNNLIB frontend: reads the property files of VNN-COMP into a Property (lib/spec/property.h)
// and writes a Property back as canonical VNNLIB text.
//
// A VNNLIB file declares inputs X_0..X_{n-1} and outputs Y_0..Y_{m-1} and asserts a formula
// that describes the UNSAFE set. The reader follows VNN-COMP's own reader: the top-level asserts
// are ANDed, the formula is brought to disjunctive normal form, each conjunction splits into
// input constraints (single-variable bounds -> a box, constraints over several X -> G x <= h)
// and output constraints, and conjunctions with the same input region share one PropertyCase.
// docs/vnnlib.md gives the accepted grammar and the exact semantics.
//
// Errors are values: kParseError (malformed text), kUnsupported (constraints mixing X and Y,
// nonlinear terms, a formula whose normal form exceeds the limits), kInvalidArgument (an input
// without a lower or upper bound, an empty unsafe set); each message starts with
// "LINE:COL: " (1-based, columns in bytes). load_vnnlib prefixes the path: "PATH:LINE:COL: ".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "spec/property.h"

namespace nncert {

struct VnnlibOptions {
  // Most conjunctions the disjunctive normal form of one assert, or of the whole file, may have.
  int64_t max_terms = 1'000'000;
  // Most numbers the result may hold (box bounds, constraint coefficients), and most atom
  // references a normal form may hold while it is built: ~8 bytes each.
  int64_t max_values = 100'000'000;
  // Most bytes load_vnnlib reads (after decompression).
  int64_t max_file_bytes = int64_t{1} << 30;
};

// Parses VNNLIB text; `name` becomes Property::name.
Expected<Property> parse_vnnlib(std::string_view text,
                                std::string name,
                                const VnnlibOptions& options = {});

// Reads a .vnnlib file (gzip-compressed files, e.g. .vnnlib.gz, are decompressed) and parses
// it; the name is the file name. kIoError when the file cannot be read.
Expected<Property> load_vnnlib(const std::string& path, const VnnlibOptions& options = {});

// Canonical VNNLIB text for the property; parse_vnnlib reads it back to an equal Property, up to
// the simplifications the reader makes anyway (see docs/vnnlib.md: regions that are equal are
// merged, single-variable input rows become box bounds, constraints with rhs = +inf are dropped,
// cases without unsafe terms are left out). Linf balls are written as their box (clip box and
// centre +- eps, computed in float64). Errors: the property fails validate(), a region is an L1
// or L2 ball (kUnsupported), or no case has an unsafe term (the file would assert nothing
// unsafe: kInvalidArgument).
Expected<std::string> write_vnnlib(const Property& property);

}  // namespace nncert
