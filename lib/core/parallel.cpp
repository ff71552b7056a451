#include "core/parallel.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace nncert {

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int resolve_threads(int threads) {
  if (threads <= 0)
    return hardware_threads();
  return std::min(threads, 256);
}

void parallel_for(int64_t n,
                  int threads,
                  int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0)
    return;
  threads = resolve_threads(threads);
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  // Short-lived threads: the kernels that use this do >= grain work per chunk, which dwarfs
  // thread start-up; a persistent pool can replace this without changing callers.
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(chunks - 1));
  int64_t per = n / chunks;
  int64_t rem = n % chunks;
  int64_t begin = 0;
  int64_t first_end = per + (rem > 0 ? 1 : 0);
  begin = first_end;
  for (int64_t c = 1; c < chunks; ++c) {
    int64_t len = per + (c < rem ? 1 : 0);
    int64_t b = begin;
    int64_t e = begin + len;
    workers.emplace_back([&fn, b, e] { fn(b, e); });
    begin = e;
  }
  fn(0, first_end);
  for (auto& w : workers)
    w.join();
}

}  // namespace nncert
