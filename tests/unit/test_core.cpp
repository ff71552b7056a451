// Tensor, Status/Expected and parallel_for basics.
#include <atomic>
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "core/parallel.h"
#include "core/status.h"
#include "core/tensor.h"

using namespace nncert;

TEST_CASE("tensor construction, access and conversion", "[core]") {
  Tensor t(DType::kF32, {2, 3});
  REQUIRE(t.numel() == 6);
  REQUIRE(t.nbytes() == 24);
  REQUIRE(t.get(5) == 0.0);  // zero-initialised
  t.set(4, 2.5);
  REQUIRE(t.data<float>()[4] == 2.5f);
  Tensor d = t.to(DType::kF64);
  REQUIRE(d.dtype() == DType::kF64);
  REQUIRE(d.get(4) == 2.5);
  Tensor i = Tensor::from_vector<double>({3}, {-1.7, 0.2, 3.9}).to(DType::kI64);
  REQUIRE(i.to_int_vector() == std::vector<int64_t>{-1, 0, 3});  // truncation toward zero
  // Copies share storage; clone does not.
  Tensor shared = t;
  shared.set(0, 7);
  REQUIRE(t.get(0) == 7.0);
  Tensor c = t.clone();
  c.set(0, 1);
  REQUIRE(t.get(0) == 7.0);
  Tensor r = t.reshaped({3, 2});
  REQUIRE(r.shape() == Shape{3, 2});
  REQUIRE(r.get(4) == 2.5);
  REQUIRE(Tensor::scalar(DType::kF64, 3).rank() == 0);
  REQUIRE(Tensor::scalar(DType::kF64, 3).numel() == 1);
}

TEST_CASE("tensor finiteness and shapes", "[core]") {
  Tensor t = Tensor::from_vector<float>({2}, {1.0f, std::numeric_limits<float>::quiet_NaN()});
  REQUIRE_FALSE(t.all_finite());
  REQUIRE(Tensor::from_vector<float>({1}, {1.0f}).all_finite());
  REQUIRE(shape_numel({2, 3, 4}) == 24);
  REQUIRE(shape_numel({2, -1}) == -1);
  REQUIRE(shape_numel({}) == 1);
  REQUIRE(shape_to_string({1, -1, 3}) == "[1, ?, 3]");
  REQUIRE(shape_strides({2, 3, 4}) == std::vector<int64_t>{12, 4, 1});
  Tensor empty(DType::kF32, {0, 5});
  REQUIRE(empty.numel() == 0);
}

TEST_CASE("status and expected carry errors with context", "[core]") {
  Expected<int> ok = 3;
  REQUIRE(ok.has_value());
  REQUIRE(*ok == 3);
  Expected<int> bad = Status(ErrorCode::kParseError, "bad token");
  REQUIRE_FALSE(bad.has_value());
  REQUIRE(bad.status().code() == ErrorCode::kParseError);
  REQUIRE(bad.status().with_context("file.onnx").to_string() ==
          "parse error: file.onnx: bad token");
  // An ok Status is not a valid error value.
  Expected<int> weird = Status::ok();
  REQUIRE_FALSE(weird.has_value());
  REQUIRE(weird.status().code() == ErrorCode::kInternal);
}

TEST_CASE("parallel_for covers the range exactly once", "[core]") {
  for (int threads : {1, 2, 3, 8}) {
    for (int64_t n : {0, 1, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      parallel_for(n, threads, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          hits[static_cast<size_t>(i)]++;
      });
      for (auto& h : hits)
        REQUIRE(h.load() == 1);
    }
  }
  REQUIRE(resolve_threads(0) == hardware_threads());
  REQUIRE(resolve_threads(5) == 5);
}
