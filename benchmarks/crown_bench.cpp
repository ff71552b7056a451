// Bound-propagation benchmark: wall time of IBP, CROWN (auto_LiRPA's default sparse intermediate
// bounds, and all-CROWN intermediate bounds) and alpha-CROWN (20 Adam steps, lr 0.1) on one model
// at batch 1 (the first box) and batch 32 (all boxes of the file), plus the peak memory of one
// CROWN call. benchmarks/alirpa_bench.py measures the same in auto_LiRPA;
// benchmarks/bounds_compare.sh runs both and prints the table.
//
//   crown_bench --model M.onnx --boxes BOXES.json [--name NAME] [--threads T]
//       [--repeats N] [--warmup W] [--min-repeats R] [--max-time S]
//       [--methods ibp,crown,crown_dense,alpha_crown] [--batches 1,32]
//       [--dump BOUNDS.json] [--breakdown METHOD] [--no-mallopt]
//
// Like verify-model, the benchmark sets glibc's mmap and trim thresholds high (mallopt) so that
// freed large blocks stay in the process; --no-mallopt measures with glibc's defaults (what a
// program calling the library without that setting gets).
//
// --breakdown METHOD (crown, crown_dense or alpha_crown; instead of the timings): where the time
// of one call on box 0 goes. For every value that gets intermediate bounds (relaxation inputs, in
// topological order) the graph is cut at that value and timed with a one-row C (so the time is
// that of the intermediate bounds before it, plus one negligible row); the difference between
// consecutive cuts is the cost of one value's intermediate bounds, and the full call minus the
// last cut is the cost of the output's bounds.
//
// Every measurement is one JSON line on stdout: the median (and min/max) wall time and the median
// process CPU time of `repeats` timed runs after `warmup` untimed ones (at least one; fewer
// repeats, at least `min-repeats` (3), once `max-time` seconds are spent). Batch 32 is a loop over
// the boxes, one bound computation each with `threads` threads inside the kernels ("mode": "loop");
// with --threads > 1 also "mode": "box_parallel", the boxes spread over the threads (each
// computation single-threaded).
//
// Memory: this binary replaces malloc/free & co. (glibc's __libc_* underneath) and the global
// operator new/delete, and counts live bytes (malloc_usable_size) and their high-water mark. Tensor
// storage comes from std::aligned_alloc, not operator new, so the malloc-level count ("heap") is
// the one that covers tensors; "operator_new" is the part allocated through new. Peak RSS is the
// kernel's VmHWM, reset through /proc/self/clear_refs before the measured call.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <malloc.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "bounds/crown.h"
#include "bounds/ibp.h"
#include "core/parallel.h"
#include "frontends/onnx/onnx_loader.h"
#include "ops/op_def.h"

// ---- allocation counting --------------------------------------------------------------------

extern "C" {
void* __libc_malloc(size_t);
void __libc_free(void*);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
}

namespace {

struct Counter {
  std::atomic<int64_t> current{0};
  std::atomic<int64_t> peak{0};
  void add(int64_t n) {
    const int64_t c = current.fetch_add(n, std::memory_order_relaxed) + n;
    int64_t p = peak.load(std::memory_order_relaxed);
    while (c > p && !peak.compare_exchange_weak(p, c, std::memory_order_relaxed)) {
    }
  }
  void sub(int64_t n) { current.fetch_sub(n, std::memory_order_relaxed); }
  void reset_peak() { peak.store(current.load(std::memory_order_relaxed)); }
};

Counter g_heap;  // everything from malloc & co. (operator new included)
Counter g_new;   // the part from operator new

int64_t usable(void* p) {
  return p ? static_cast<int64_t>(malloc_usable_size(p)) : 0;
}

void* track(void* p) {
  if (p)
    g_heap.add(usable(p));
  return p;
}

void* counted_new(size_t n, size_t align) {
  void* p = align > alignof(std::max_align_t)
                ? aligned_alloc(align, (n + align - 1) / align * align)
                : malloc(n == 0 ? 1 : n);
  if (!p)
    throw std::bad_alloc();
  g_new.add(usable(p));
  return p;
}

void counted_delete(void* p) {
  if (!p)
    return;
  g_new.sub(usable(p));
  free(p);
}

}  // namespace

extern "C" {
void* malloc(size_t n) noexcept {
  return track(__libc_malloc(n));
}
void free(void* p) noexcept {
  g_heap.sub(usable(p));
  __libc_free(p);
}
void* calloc(size_t n, size_t m) noexcept {
  return track(__libc_calloc(n, m));
}
void* realloc(void* p, size_t n) noexcept {
  const int64_t old = usable(p);
  void* q = __libc_realloc(p, n);
  if (q) {
    g_heap.sub(old);
    g_heap.add(usable(q));
  } else if (n == 0) {
    g_heap.sub(old);
  }
  return q;
}
void* memalign(size_t align, size_t n) noexcept {
  return track(__libc_memalign(align, n));
}
void* aligned_alloc(size_t align, size_t n) noexcept {
  return track(__libc_memalign(align, n));
}
int posix_memalign(void** out, size_t align, size_t n) noexcept {
  void* p = __libc_memalign(align, n);
  if (!p)
    return ENOMEM;
  *out = track(p);
  return 0;
}
void* valloc(size_t n) noexcept {
  return track(__libc_memalign(static_cast<size_t>(sysconf(_SC_PAGESIZE)), n));
}
}

void* operator new(size_t n) {
  return counted_new(n, 0);
}
void* operator new[](size_t n) {
  return counted_new(n, 0);
}
void* operator new(size_t n, std::align_val_t a) {
  return counted_new(n, static_cast<size_t>(a));
}
void* operator new[](size_t n, std::align_val_t a) {
  return counted_new(n, static_cast<size_t>(a));
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept {
  counted_delete(p);
}
void operator delete[](void* p) noexcept {
  counted_delete(p);
}
void operator delete(void* p, size_t) noexcept {
  counted_delete(p);
}
void operator delete[](void* p, size_t) noexcept {
  counted_delete(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  counted_delete(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  counted_delete(p);
}
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  counted_delete(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  counted_delete(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  counted_delete(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  counted_delete(p);
}

// ---- benchmark --------------------------------------------------------------------------------

using namespace nncert;
using json = nlohmann::json;

namespace {

struct Args {
  std::string model, boxes, name, dump;
  int threads = 1;
  int repeats = 11;
  int warmup = 1;
  int min_repeats = 3;
  double max_time = 20;
  std::vector<std::string> methods = {"ibp", "crown", "crown_dense", "alpha_crown"};
  std::vector<int> batches = {1, 32};
  bool mallopt = true;
  bool breakdown = false;
  std::string breakdown_method = "crown";
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: crown_bench --model M.onnx --boxes BOXES.json [--name NAME] [--threads T]\n"
               "         [--repeats N] [--warmup W] [--min-repeats R] [--max-time S]\n"
               "         [--methods LIST]\n"
               "         [--batches LIST] [--dump BOUNDS.json] [--breakdown METHOD]\n"
               "         [--no-mallopt]\n");
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    auto is = [&](const char* f) {
      return !std::strcmp(argv[i], f) && i + 1 < argc;
    };
    if (is("--model"))
      a.model = argv[++i];
    else if (is("--boxes"))
      a.boxes = argv[++i];
    else if (is("--name"))
      a.name = argv[++i];
    else if (is("--dump"))
      a.dump = argv[++i];
    else if (is("--threads"))
      a.threads = std::atoi(argv[++i]);
    else if (is("--repeats"))
      a.repeats = std::max(1, std::atoi(argv[++i]));
    else if (is("--warmup"))
      a.warmup = std::max(0, std::atoi(argv[++i]));
    else if (is("--min-repeats"))
      a.min_repeats = std::max(1, std::atoi(argv[++i]));
    else if (is("--max-time"))
      a.max_time = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-mallopt"))
      a.mallopt = false;
    else if (is("--breakdown")) {
      a.breakdown = true;
      a.breakdown_method = argv[++i];
    } else if (is("--methods"))
      a.methods = split(argv[++i]);
    else if (is("--batches")) {
      a.batches.clear();
      for (const auto& b : split(argv[++i]))
        a.batches.push_back(std::atoi(b.c_str()));
    } else {
      usage();
    }
  }
  if (a.model.empty() || a.boxes.empty())
    usage();
  if (a.name.empty())
    a.name = a.model;
  a.threads = resolve_threads(a.threads);
  return a;
}

// The CROWN options of a method; nullopt for IBP and unknown names.
std::optional<CrownOptions> crown_options(const std::string& method) {
  CrownOptions co;
  if (method == "crown_dense") {
    co.sparse_intermediate = false;
  } else if (method == "alpha_crown") {
    // The fixtures' settings: 20 Adam steps, lr 0.1, early stopping that cannot trigger.
    co.alpha = true;
    co.alpha_options.iterations = 20;
    co.alpha_options.lr = 0.1;
    co.alpha_options.early_stop_patience = 21;
  } else if (method != "crown") {
    return std::nullopt;
  }
  return co;
}

// One method on one box: bounds of every output, or an error status.
using BoxFn = std::function<Expected<Interval>(const Interval& box, int threads)>;

BoxFn method_fn(const Graph& g, const std::string& method) {
  if (method == "ibp")
    return [&g](const Interval& box, int threads) -> Expected<Interval> {
      BoundOptions o;
      o.threads = threads;
      NNCERT_ASSIGN_OR_RETURN(auto outs, ibp_outputs(g, {box}, o));
      return outs[0];
    };
  const auto co = crown_options(method);
  if (!co)
    return nullptr;
  return [&g, co = *co](const Interval& box, int threads) -> Expected<Interval> {
    BoundOptions o;
    o.threads = threads;
    NNCERT_ASSIGN_OR_RETURN(auto r, crown_bounds(g, std::vector<Interval>{box}, {}, o, co));
    return std::move(r.bounds);
  };
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// CPU time of the whole process (all threads), in ms: less sensitive than wall time to other
// processes competing for the cores.
double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

int64_t proc_status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t k = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, k, key) == 0 && line.size() > k && line[k] == ':')
      return std::atoll(line.c_str() + k + 1);
  return -1;
}

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

json to_json(const std::vector<Interval>& r) {
  json lo = json::array(), hi = json::array();
  for (const auto& b : r) {
    std::vector<double> l(static_cast<size_t>(b.lo.numel())), h(l.size());
    for (int64_t i = 0; i < b.lo.numel(); ++i) {
      l[static_cast<size_t>(i)] = b.lo.get(i);
      h[static_cast<size_t>(i)] = b.hi.get(i);
    }
    lo.push_back(l);
    hi.push_back(h);
  }
  return {{"lower", lo}, {"upper", hi}};
}

void emit(const json& j) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

int breakdown(const Graph& g, const Interval& box, const Args& args, const json& base) {
  const auto co = crown_options(args.breakdown_method);
  if (!co) {
    std::fprintf(stderr, "--breakdown: %s is not a CROWN method\n", args.breakdown_method.c_str());
    return 2;
  }
  auto order = g.topological_order();
  if (!order)
    return 1;
  // The values that get intermediate bounds (the inputs of relaxations), then the output.
  std::vector<ValueId> cuts;
  for (NodeId id : *order) {
    const Node& n = g.node(id);
    const OpDef* def = find_op(n.op);
    if (def == nullptr || !def->crown_needs_bounds)
      continue;
    for (ValueId v : n.inputs)
      if (v >= 0 && !g.is_constant(v) && std::find(cuts.begin(), cuts.end(), v) == cuts.end())
        cuts.push_back(v);
  }
  const ValueId out = g.outputs()[0];
  cuts.push_back(out);
  BoundOptions o;
  o.threads = args.threads;
  // CROWN on the graph cut at value v with a one-row C: every intermediate bound before v, plus a
  // negligible one-row pass; the last job is the uncut graph with C = identity. The jobs are timed
  // round-robin (repeats rounds after one warm-up round) so that drift hits them alike.
  struct Job {
    Graph graph;
    std::vector<std::vector<double>> c;
    std::vector<double> ms, cpu;
  };
  std::vector<Job> jobs;
  for (size_t k = 0; k <= cuts.size(); ++k) {
    const bool full = k == cuts.size();
    const ValueId v = full ? out : cuts[k];
    Job j{g, {}, {}, {}};
    j.graph.outputs() = {v};
    j.graph.prune_unused();
    if (!full) {
      j.c.assign(1, std::vector<double>(static_cast<size_t>(shape_numel(g.value(v).shape)), 0.0));
      j.c[0][0] = 1;
    }
    jobs.push_back(std::move(j));
  }
  for (int round = -1; round < args.repeats; ++round)
    for (Job& j : jobs) {
      const double c0 = process_cpu_ms();
      const auto t0 = std::chrono::steady_clock::now();
      auto r = crown_bounds(j.graph, std::vector<Interval>{box}, j.c, o, *co);
      const auto t1 = std::chrono::steady_clock::now();
      if (!r) {
        std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
        return 1;
      }
      if (round >= 0) {
        j.cpu.push_back(process_cpu_ms() - c0);
        j.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    }
  std::vector<std::pair<double, double>> t;
  for (const Job& j : jobs)
    t.emplace_back(median(j.ms), median(j.cpu));
  const auto total = t.back();
  t.pop_back();
  for (size_t k = 0; k < cuts.size(); ++k) {
    json j = base;
    j["kind"] = "breakdown_cut";
    j["method"] = args.breakdown_method;
    j["value"] = g.value(cuts[k]).name;
    j["median_ms"] = t[k].first;
    j["median_cpu_ms"] = t[k].second;
    emit(j);
  }
  auto row = [&](const std::string& what, ValueId v, double ms, double cpu) {
    json j = base;
    j["kind"] = "breakdown";
    j["method"] = args.breakdown_method;
    j["part"] = what;
    j["value"] = g.value(v).name;
    j["producer"] = g.value(v).producer >= 0 ? g.node(g.value(v).producer).display() : "";
    j["neurons"] = shape_numel(g.value(v).shape);
    j["median_ms"] = ms;
    j["median_cpu_ms"] = cpu;
    j["share_of_cpu"] = cpu / total.second;
    emit(j);
  };
  for (size_t k = 0; k + 1 < cuts.size(); ++k)
    row("intermediate bounds", cuts[k], t[k + 1].first - t[k].first, t[k + 1].second - t[k].second);
  row("output bounds (C = identity)",
      out,
      total.first - t.back().first,
      total.second - t.back().second);
  json j = base;
  j["kind"] = "breakdown";
  j["method"] = args.breakdown_method;
  j["part"] = "total";
  j["median_ms"] = total.first;
  j["median_cpu_ms"] = total.second;
  emit(j);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  if (args.mallopt) {
    // What verify-model does (verifier/main.cpp): keep freed large blocks in the process.
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  auto m = load_onnx(args.model);
  if (!m) {
    std::fprintf(stderr, "%s\n", m.status().to_string().c_str());
    return 1;
  }
  const Graph& g = m->graph;
  const Shape in_shape = g.value(g.inputs()[0]).shape;

  std::vector<Interval> boxes;
  {
    std::ifstream f(args.boxes);
    if (!f) {
      std::fprintf(stderr, "cannot read %s\n", args.boxes.c_str());
      return 1;
    }
    const json j = json::parse(f);
    const auto lo = j.at("x_lower").get<std::vector<std::vector<double>>>();
    const auto hi = j.at("x_upper").get<std::vector<std::vector<double>>>();
    for (size_t i = 0; i < lo.size(); ++i)
      boxes.push_back({Tensor::from_vector<double>(in_shape, lo[i]),
                       Tensor::from_vector<double>(in_shape, hi[i])});
  }
  const json base = {{"tool", "nncert"},
                     {"model", args.name},
                     {"threads", args.threads},
                     {"mallopt", args.mallopt}};
  if (args.breakdown)
    return breakdown(g, boxes[0], args, base);

  // Memory of one CROWN call on the first box, before anything else runs (cold allocator).
  for (const std::string method : {"crown", "crown_dense"}) {
    const BoxFn fn = method_fn(g, method);
    const int64_t heap0 = g_heap.current.load(), new0 = g_new.current.load();
    g_heap.reset_peak();
    g_new.reset_peak();
    const int64_t rss0 = proc_status_kb("VmRSS");
    const bool rss_reset = reset_peak_rss();
    auto r = fn(boxes[0], args.threads);
    json j = base;
    j["kind"] = "memory";
    j["method"] = method;
    j["batch"] = 1;
    j["status"] = r ? "ok" : r.status().to_string();
    j["heap_peak_bytes"] = g_heap.peak.load() - heap0;  // above the live bytes before the call
    j["operator_new_peak_bytes"] = g_new.peak.load() - new0;
    j["heap_live_before_bytes"] = heap0;
    j["rss_before_kb"] = rss0;
    j["rss_peak_kb"] = rss_reset ? proc_status_kb("VmHWM") : -1;
    emit(j);
  }

  json dump = {{"tool", "nncert"}, {"model", args.name}, {"results", json::object()}};
  for (int batch : args.batches) {
    if (batch < 1 || batch > static_cast<int>(boxes.size())) {
      std::fprintf(stderr, "batch %d: the boxes file has %zu boxes\n", batch, boxes.size());
      return 2;
    }
    for (const auto& method : args.methods) {
      const BoxFn fn = method_fn(g, method);
      if (!fn) {
        std::fprintf(stderr, "unknown method %s\n", method.c_str());
        return 2;
      }
      std::vector<std::string> modes = {"loop"};
      if (batch > 1 && args.threads > 1)
        modes.push_back("box_parallel");
      for (const auto& mode : modes) {
        std::vector<Interval> out(static_cast<size_t>(batch));
        std::vector<Status> errors(static_cast<size_t>(batch), Status::ok());
        auto run_all = [&] {
          auto one = [&](int64_t i, int threads) {
            auto r = fn(boxes[static_cast<size_t>(i)], threads);
            if (r)
              out[static_cast<size_t>(i)] = std::move(*r);
            else
              errors[static_cast<size_t>(i)] = r.status();
          };
          if (mode == "loop") {
            for (int64_t i = 0; i < batch; ++i)
              one(i, args.threads);
          } else {
            parallel_for(batch, args.threads, 1, [&](int64_t b, int64_t e) {
              for (int64_t i = b; i < e; ++i)
                one(i, 1);
            });
          }
        };
        json j = base;
        j["kind"] = "time";
        j["method"] = method;
        j["batch"] = batch;
        j["mode"] = mode;
        run_all();  // first run: also the status check
        if (!errors[0].is_ok()) {
          j["status"] = "n/a";
          j["reason"] = errors[0].to_string();
          emit(j);
          continue;
        }
        for (int w = 1; w < args.warmup; ++w)
          run_all();
        std::vector<double> ms, cpu;
        const auto start = std::chrono::steady_clock::now();
        while (static_cast<int>(ms.size()) < args.repeats) {
          const double c0 = process_cpu_ms();
          const auto t0 = std::chrono::steady_clock::now();
          run_all();
          const auto t1 = std::chrono::steady_clock::now();
          cpu.push_back(process_cpu_ms() - c0);
          ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          if (static_cast<int>(ms.size()) >= args.min_repeats &&
              std::chrono::duration<double>(t1 - start).count() > args.max_time)
            break;
        }
        j["status"] = "ok";
        j["repeats"] = ms.size();
        j["median_ms"] = median(ms);
        j["min_ms"] = *std::min_element(ms.begin(), ms.end());
        j["max_ms"] = *std::max_element(ms.begin(), ms.end());
        j["median_cpu_ms"] = median(cpu);
        emit(j);
        if (mode == "loop")
          dump["results"]["b" + std::to_string(batch) + "/" + method] = to_json(out);
      }
    }
  }
  if (!args.dump.empty()) {
    std::ofstream f(args.dump);
    f << dump.dump() << "\n";
  }
  return 0;
}
