// libFuzzer target for the VNNLIB frontend: parse_vnnlib on arbitrary text; a property that
// parses must be valid, write_vnnlib must state it, and reading that text back must give the
// same property (parsed properties are already in the writer's canonical form). See
// tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "frontends/vnnlib/vnnlib.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "vnnlib_fuzz: %s\n", what);
  std::abort();
}

bool same(const nncert::Property& a, const nncert::Property& b) {
  if (a.num_inputs != b.num_inputs || a.num_outputs != b.num_outputs ||
      a.cases.size() != b.cases.size())
    return false;
  for (size_t c = 0; c < a.cases.size(); ++c) {
    const auto& x = a.cases[c];
    const auto& y = b.cases[c];
    if (x.input.lo != y.input.lo || x.input.hi != y.input.hi ||
        x.input.constraints.g != y.input.constraints.g ||
        x.input.constraints.h != y.input.constraints.h || x.unsafe.size() != y.unsafe.size())
      return false;
    for (size_t t = 0; t < x.unsafe.size(); ++t) {
      if (x.unsafe[t].all.size() != y.unsafe[t].all.size())
        return false;
      for (size_t k = 0; k < x.unsafe[t].all.size(); ++k) {
        const auto& p = x.unsafe[t].all[k];
        const auto& q = y.unsafe[t].all[k];
        if (p.coeffs != q.coeffs || p.rhs != q.rhs || p.strict != q.strict)
          return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits keep every run fast; the limits' own checks are part of what is tested.
  nncert::VnnlibOptions options;
  options.max_terms = 10'000;
  options.max_values = 1'000'000;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = nncert::parse_vnnlib(text, "fuzz", options);
  if (!p)
    return 0;
  if (!p->validate().is_ok())
    fail("parse_vnnlib returned an invalid property");
  auto written = nncert::write_vnnlib(*p);
  if (!written)
    fail("write_vnnlib refused a parsed property");
  auto back = nncert::parse_vnnlib(*written, "fuzz", options);
  if (!back)
    fail("parse_vnnlib refused write_vnnlib's text");
  if (!same(*p, *back))
    fail("parse(write(p)) differs from p");
  return 0;
}
