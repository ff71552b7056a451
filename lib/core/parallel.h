// parallel_for over an index range on a small persistent thread pool. Kernels call it with a
// grain size so tiny workloads stay on the calling thread (thread hand-off costs ~10 us).
// The number of threads is part of the execution options (RunOptions::threads); 0 means "all
// hardware threads".
#pragma once

#include <cstdint>
#include <functional>

namespace nncert {

// Runs fn(begin, end) over disjoint chunks covering [0, n) using up to `threads` threads
// (including the caller). Chunks are contiguous and deterministic for a given n and thread count.
void parallel_for(int64_t n,
                  int threads,
                  int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);

// Number of hardware threads (at least 1).
int hardware_threads();
// Resolves a user thread count: 0 -> hardware_threads(), otherwise clamped to [1, 256].
int resolve_threads(int threads);

}  // namespace nncert
