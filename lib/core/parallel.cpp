#include "core/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
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

namespace {

// A persistent pool: starting a thread costs ~50 us on these machines, more than many kernels
// take, so workers are started once and fed chunks through a queue.
class Pool {
 public:
  static Pool& instance() {
    static Pool pool;
    return pool;
  }

  // Runs tasks[1..] on workers and tasks[0] on the caller; returns when all are done.
  void run(const std::vector<std::function<void()>>& tasks) {
    ensure_workers(tasks.size() - 1);
    std::mutex done_mu;
    std::condition_variable done_cv;
    size_t remaining = tasks.size() - 1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 1; i < tasks.size(); ++i)
        queue_.push_back([&, i] {
          tasks[i]();
          std::lock_guard<std::mutex> l(done_mu);
          if (--remaining == 0)
            done_cv.notify_one();
        });
    }
    cv_.notify_all();
    tasks[0]();
    std::unique_lock<std::mutex> l(done_mu);
    done_cv.wait(l, [&] { return remaining == 0; });
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_)
      w.join();
  }

  static thread_local bool in_worker;

 private:
  void ensure_workers(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    while (workers_.size() < n)
      workers_.emplace_back([this] { loop(); });
  }

  void loop() {
    in_worker = true;
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_ && queue_.empty())
          return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

thread_local bool Pool::in_worker = false;

}  // namespace

void parallel_for(int64_t n,
                  int threads,
                  int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0)
    return;
  threads = resolve_threads(threads);
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
  // Nested calls (a kernel parallelising inside a parallel region) run inline: the outer level
  // already uses the threads, and waiting on the pool from a worker could deadlock.
  if (chunks <= 1 || Pool::in_worker) {
    fn(0, n);
    return;
  }
  // Contiguous chunks whose bounds depend only on n and the thread count.
  std::vector<std::function<void()>> tasks;
  tasks.reserve(static_cast<size_t>(chunks));
  const int64_t per = n / chunks;
  const int64_t rem = n % chunks;
  int64_t begin = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t len = per + (c < rem ? 1 : 0);
    const int64_t b = begin;
    const int64_t e = begin + len;
    tasks.emplace_back([&fn, b, e] { fn(b, e); });
    begin = e;
  }
  Pool::instance().run(tasks);
}

}  // namespace nncert
