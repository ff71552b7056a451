// VNNLIB files: write_vnnlib round trips (random properties and every shared benchmark file),
// every *.vnnlib under ../shared/benchmarks/vnncomp parses (skipped when ../shared is absent),
// load_vnnlib on plain and gzip files and its errors. A hidden [.bench] case times the parser.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <zlib.h>

#include "frontends/vnnlib/vnnlib.h"
#include "tests/support/test_paths.h"

using namespace nncert;
namespace fs = std::filesystem;

namespace {

void require_equal(const Property& a, const Property& b) {
  REQUIRE(a.num_inputs == b.num_inputs);
  REQUIRE(a.num_outputs == b.num_outputs);
  REQUIRE(a.cases.size() == b.cases.size());
  for (size_t c = 0; c < a.cases.size(); ++c) {
    INFO("case " << c);
    const PropertyCase& x = a.cases[c];
    const PropertyCase& y = b.cases[c];
    REQUIRE(x.input.kind == y.input.kind);
    REQUIRE(x.input.lo == y.input.lo);
    REQUIRE(x.input.hi == y.input.hi);
    REQUIRE(x.input.constraints.g == y.input.constraints.g);
    REQUIRE(x.input.constraints.h == y.input.constraints.h);
    REQUIRE(x.unsafe.size() == y.unsafe.size());
    for (size_t t = 0; t < x.unsafe.size(); ++t) {
      INFO("term " << t);
      REQUIRE(x.unsafe[t].all.size() == y.unsafe[t].all.size());
      for (size_t k = 0; k < x.unsafe[t].all.size(); ++k) {
        const OutputConstraint& p = x.unsafe[t].all[k];
        const OutputConstraint& q = y.unsafe[t].all[k];
        REQUIRE(p.coeffs == q.coeffs);
        REQUIRE(p.rhs == q.rhs);
        REQUIRE(p.strict == q.strict);
      }
    }
  }
}

// parse(write(p)) == p.
void require_round_trip(const Property& p) {
  auto text = write_vnnlib(p);
  REQUIRE(text.has_value());
  auto back = parse_vnnlib(*text, p.name);
  INFO(*text);
  if (!back)
    FAIL(back.status().to_string());
  require_equal(p, *back);
}

// A random property the writer can state exactly: distinct boxes, input rows with at least two
// coefficients, output constraints with at least one, numbers of every kind.
Property random_property(std::mt19937& rng) {
  std::uniform_int_distribution<int> pick(0, 99);
  std::uniform_real_distribution<double> u(-3, 3);
  const auto number = [&] {
    switch (pick(rng) % 6) {
      case 0:
        return 0.0;
      case 1:
        return static_cast<double>(pick(rng) - 50);
      case 2:
        return u(rng) * 1e-7;
      case 3:
        return u(rng) * 1e12;
      default:
        return u(rng);
    }
  };
  const auto coefficient = [&] {
    switch (pick(rng) % 5) {
      case 0:
        return 1.0;
      case 1:
        return -1.0;
      case 2:
        return 0.0;
      default:
        return u(rng);
    }
  };
  Property p;
  p.name = "random";
  p.num_inputs = 1 + pick(rng) % 6;
  p.num_outputs = 1 + pick(rng) % 5;
  const int cases = 1 + pick(rng) % 3;
  for (int c = 0; c < cases; ++c) {
    std::vector<double> lo(p.num_inputs), hi(p.num_inputs);
    for (int64_t i = 0; i < p.num_inputs; ++i) {
      lo[i] = number() + 10 * c;  // distinct regions
      hi[i] = pick(rng) < 15 ? lo[i] : lo[i] + std::abs(number()) + 1;
    }
    PropertyCase pc;
    pc.input = Perturbation::box(lo, hi);
    if (p.num_inputs >= 2)
      for (int r = pick(rng) % 3; r > 0; --r) {
        std::vector<double> g(p.num_inputs);
        for (double& v : g)
          v = coefficient();
        g[0] = g[0] == 0 ? 2.0 : g[0];
        g[1] = g[1] == 0 ? -0.5 : g[1];
        pc.input.constraints.g.push_back(g);
        pc.input.constraints.h.push_back(number());
      }
    const int terms = 1 + pick(rng) % 4;
    for (int t = 0; t < terms; ++t) {
      UnsafeTerm term;
      for (int k = pick(rng) % 4; k > 0; --k) {
        OutputConstraint oc;
        oc.coeffs.resize(p.num_outputs);
        for (double& v : oc.coeffs)
          v = coefficient();
        const size_t j = pick(rng) % p.num_outputs;
        oc.coeffs[j] = oc.coeffs[j] == 0 ? 1.0 : oc.coeffs[j];
        oc.rhs = pick(rng) < 30 ? 0.0 : number();
        oc.strict = pick(rng) < 20;
        term.all.push_back(oc);
      }
      pc.unsafe.push_back(term);
    }
    p.cases.push_back(pc);
  }
  return p;
}

std::vector<fs::path> vnnlib_files(const fs::path& root) {
  std::vector<fs::path> out;
  if (!fs::exists(root))
    return out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ".vnnlib")
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("VNNLIB round trip: random properties", "[vnnlib]") {
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 500; ++trial) {
    INFO("trial " << trial);
    const Property p = random_property(rng);
    REQUIRE(p.validate().is_ok());
    require_round_trip(p);
  }
}

TEST_CASE("VNNLIB writer: simplifications and refusals", "[vnnlib]") {
  Property p;
  p.name = "line one\nline two";  // the name is a comment: newlines must not end it
  p.num_inputs = 2;
  p.num_outputs = 2;
  PropertyCase c;
  c.input = Perturbation::ball(Perturbation::Kind::kLinf, {0.5, 0.95}, 0.1, {0, 0}, {1, 1});
  UnsafeTerm always_true, impossible, real;
  always_true.all.push_back({{1, 0}, INFINITY, false});  // Y_0 <= inf: dropped
  impossible.all.push_back({{0, 1}, -INFINITY, false});  // Y_1 <= -inf: the term is dropped
  real.all.push_back({{1, -1}, 0, true});
  c.unsafe = {always_true, impossible, real};
  p.cases.push_back(c);
  auto text = write_vnnlib(p);
  REQUIRE(text.has_value());
  auto back = parse_vnnlib(*text, "back");
  REQUIRE(back.has_value());
  REQUIRE(back->cases.size() == 1);
  REQUIRE(back->cases[0].input.kind == Perturbation::Kind::kBox);
  REQUIRE(back->cases[0].input.lo == std::vector<double>{0.5 - 0.1, 0.95 - 0.1});
  REQUIRE(back->cases[0].input.hi == std::vector<double>{0.5 + 0.1, 1.0});  // clipped
  REQUIRE(back->cases[0].unsafe.size() == 2);
  REQUIRE(back->cases[0].unsafe[0].all.empty());
  REQUIRE(back->cases[0].unsafe[1].all[0].strict);

  p.cases[0].input = Perturbation::ball(Perturbation::Kind::kL2, {0.5, 0.5}, 0.1);
  REQUIRE(write_vnnlib(p).status().code() == ErrorCode::kUnsupported);
  p.cases[0].input = Perturbation::box({0, 0}, {1, 1});
  p.cases[0].unsafe = {impossible};
  REQUIRE(write_vnnlib(p).status().code() == ErrorCode::kInvalidArgument);
  p.num_outputs = 3;  // invalid: constraints have 2 coefficients
  REQUIRE_FALSE(write_vnnlib(p).has_value());
}

TEST_CASE("VNNLIB: every shared VNN-COMP property parses and round-trips", "[vnnlib][shared]") {
  auto shared = test::shared_dir();
  if (!shared) {
    WARN("../shared not found: skipped");
    return;
  }
  const fs::path root = fs::path(*shared) / "benchmarks/vnncomp";
  const auto files = vnnlib_files(root);
  if (files.empty()) {
    WARN(root.string() << " has no .vnnlib files: skipped");
    return;
  }
  double parse_s = 0;
  size_t cases = 0, terms = 0;
  for (const fs::path& f : files) {
    INFO(f.string());
    const auto t0 = std::chrono::steady_clock::now();
    auto p = load_vnnlib(f.string());
    parse_s += seconds_since(t0);
    if (!p)
      FAIL(p.status().to_string());
    REQUIRE(p->name == f.filename().string());
    REQUIRE(p->num_inputs > 0);
    REQUIRE(p->num_outputs > 0);
    REQUIRE(p->validate().is_ok());
    REQUIRE(!p->cases.empty());
    cases += p->cases.size();
    for (const PropertyCase& c : p->cases)
      terms += c.unsafe.size();
    require_round_trip(*p);
  }
  WARN(files.size() << " VNNLIB files, " << cases << " input regions, " << terms
                    << " unsafe terms, parsed in " << parse_s << " s");

  // Spot checks of the shapes the competition's reader gives.
  const auto load = [&](const std::string& rel) {
    auto p = load_vnnlib((root / rel).string());
    REQUIRE(p.has_value());
    return std::move(*p);
  };
  if (fs::exists(root / "acasxu/vnnlib/prop_6.vnnlib")) {
    const Property p6 = load("acasxu/vnnlib/prop_6.vnnlib");
    REQUIRE(p6.cases.size() == 2);
    REQUIRE(p6.cases[0].unsafe.size() == 4);
    REQUIRE(p6.cases[1].unsafe.size() == 4);
    const Property p2 = load("acasxu/vnnlib/prop_2.vnnlib");  // top-level asserts: one term
    REQUIRE(p2.cases.size() == 1);
    REQUIRE(p2.cases[0].unsafe.size() == 1);
    REQUIRE(p2.cases[0].unsafe[0].all.size() == 4);
    const Property p7 = load("acasxu/vnnlib/prop_7.vnnlib");  // an OR of two ANDs
    REQUIRE(p7.cases.size() == 1);
    REQUIRE(p7.cases[0].unsafe.size() == 2);
    REQUIRE(p7.cases[0].unsafe[1].all.size() == 3);
    REQUIRE(p7.cases[0].unsafe[1].all[0].coeffs == std::vector<double>{-1, 0, 0, 0, 1});
  }
  for (const fs::path& f : files)
    if (f.parent_path().parent_path().filename() == "oval21_2021") {
      const Property p = load(fs::relative(f, root).string());
      REQUIRE(p.num_inputs == 3 * 32 * 32);
      REQUIRE(p.num_outputs == 10);
      REQUIRE(p.cases.size() == 1);
      REQUIRE(p.cases[0].unsafe.size() == 9);
      break;
    }
}

TEST_CASE("VNNLIB: load_vnnlib reads plain and gzip files and reports the path", "[vnnlib]") {
  const std::string dir = test::scratch_dir();
  const std::string text =
      "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"
      "(assert (>= X_0 -1))\n(assert (<= X_0 1))\n(assert (<= Y_0 0))\n";
  const std::string plain = dir + "/p.vnnlib";
  std::ofstream(plain) << text;
  auto a = load_vnnlib(plain);
  REQUIRE(a.has_value());
  REQUIRE(a->name == "p.vnnlib");

  const std::string gz = dir + "/p.vnnlib.gz";
  gzFile f = gzopen(gz.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, text.data(), static_cast<unsigned>(text.size())) ==
          static_cast<int>(text.size()));
  REQUIRE(gzclose(f) == Z_OK);
  auto b = load_vnnlib(gz);
  REQUIRE(b.has_value());
  REQUIRE(b->name == "p.vnnlib.gz");
  require_equal(*a, *b);

  // A truncated gzip stream is an I/O error, not a silently shorter property.
  const std::string bytes = read_text(gz);
  const std::string cut = dir + "/cut.vnnlib.gz";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 12);
  REQUIRE(load_vnnlib(cut).status().code() == ErrorCode::kIoError);

  REQUIRE(load_vnnlib(dir + "/missing.vnnlib").status().code() == ErrorCode::kIoError);
  REQUIRE(load_vnnlib(dir).status().code() == ErrorCode::kIoError);

  const std::string bad = dir + "/bad.vnnlib";
  std::ofstream(bad) << "(declare-const X_0 Real)\n(assert (<= X_0 1)";
  const Status st = load_vnnlib(bad).status();
  REQUIRE(st.code() == ErrorCode::kParseError);
  REQUIRE(st.message().rfind(bad + ":2:1: ", 0) == 0);

  VnnlibOptions tiny;
  tiny.max_file_bytes = 16;
  REQUIRE(load_vnnlib(plain, tiny).status().code() == ErrorCode::kIoError);
}

TEST_CASE("VNNLIB parse times", "[.bench]") {
  // A synthetic CIFAR-size robustness file, 16x larger: 49,152 inputs, 98,304 bound asserts.
  std::string big = "; synthetic\n";
  const int n = 16 * 3072;
  for (int i = 0; i < n; ++i)
    big += "(declare-const X_" + std::to_string(i) + " Real)\n";
  for (int j = 0; j < 10; ++j)
    big += "(declare-const Y_" + std::to_string(j) + " Real)\n";
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(-1, 1);
  char buf[64];
  for (int i = 0; i < n; ++i) {
    const double c = u(rng);
    std::snprintf(buf, sizeof buf, "%.17g", c + 0.03);
    big += "(assert (<= X_" + std::to_string(i) + " " + buf + "))\n";
    std::snprintf(buf, sizeof buf, "%.17g", c - 0.03);
    big += "(assert (>= X_" + std::to_string(i) + " " + buf + "))\n";
  }
  big += "(assert (or\n";
  for (int j = 1; j < 10; ++j)
    big += "\t(and (<= Y_0 Y_" + std::to_string(j) + "))\n";
  big += "))\n";

  std::vector<std::pair<std::string, std::string>> inputs = {{"synthetic", big}};
  if (auto shared = test::shared_dir()) {
    const auto files = vnnlib_files(fs::path(*shared) / "benchmarks/vnncomp");
    if (!files.empty()) {
      const auto largest = *std::max_element(files.begin(), files.end(), [](auto& x, auto& y) {
        return fs::file_size(x) < fs::file_size(y);
      });
      inputs.emplace_back(largest.filename().string(), read_text(largest));
    }
  }
  // CPU time of this thread: the machine may be shared, and waiting for a core is not parsing.
  const auto cpu_seconds = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  for (const auto& [name, text] : inputs) {
    std::vector<double> times;
    for (int rep = 0; rep < 15; ++rep) {
      const double t0 = cpu_seconds();
      auto p = parse_vnnlib(text, name);
      times.push_back(cpu_seconds() - t0);
      REQUIRE(p.has_value());
    }
    std::sort(times.begin(), times.end());
    WARN(name << ": " << text.size() / 1024 << " KiB, median parse (thread CPU time) "
              << times[times.size() / 2] * 1e3 << " ms (min " << times[0] * 1e3 << " ms)");
  }
}
