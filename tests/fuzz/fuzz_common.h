// Shared by the fuzz targets: runs a loaded graph once on zero inputs of its static input shapes.
// Any Status is fine; only crashes, sanitizer reports, leaks and hangs are bugs.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "runtime/executor.h"

namespace nncert::fuzz {

// Inputs larger than this are not executed (keeps each run fast and within the RSS limit).
inline constexpr int64_t kMaxInputElements = 1'000'000;
// Nor are graphs with a larger intermediate value (e.g. a Pad of 2^24 along one axis): their run
// takes seconds of legitimate work, which would only slow the fuzzer down.
inline constexpr int64_t kMaxValueElements = 8'000'000;

// Executes `g` once on zero tensors; does nothing when an input has an unknown rank or extent,
// or when an input or an inferred value is too large.
inline void run_on_zeros(const Graph& g) {
  for (size_t i = 0; i < g.num_values(); ++i) {
    const Value& v = g.value(static_cast<ValueId>(i));
    if (!v.shape_known)
      continue;
    int64_t n = 1;
    for (int64_t d : v.shape) {
      if (d <= 0)
        continue;
      if (n > kMaxValueElements / d)
        return;
      n *= d;
    }
  }
  std::vector<Tensor> inputs;
  for (ValueId id : g.inputs()) {
    const Value& v = g.value(id);
    if (!v.shape_known || !shape_is_static(v.shape))
      return;
    int64_t n = 1;
    for (int64_t d : v.shape) {
      if (d != 0 && n > kMaxInputElements / d)
        return;
      n *= d;
    }
    if (n > kMaxInputElements)
      return;
    inputs.emplace_back(v.dtype, v.shape);
  }
  RunOptions options;
  options.threads = 1;
  auto ex = Executor::create(g, options);
  if (!ex)
    return;
  auto out = ex->run(inputs);
  (void)out;
}

}  // namespace nncert::fuzz
