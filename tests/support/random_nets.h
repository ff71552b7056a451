// Random ReLU networks for verification tests: d -> h -> h -> out (MatMul + Add + Relu), weights
// uniform in [-1, 1] as float32, prepared for the pipeline (lib/verify). Include after Catch2.
#pragma once

#include <random>

#include "tests/support/onnx_builder.h"
#include "verify/attack.h"

namespace nncert::test {

inline Tensor uniform_tensor(std::mt19937& rng, const Shape& s) {
  std::uniform_real_distribution<double> u(-1, 1);
  Tensor t(DType::kF32, s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, u(rng));
  return t;
}

inline AttackModel random_relu_mlp(std::mt19937& rng, int64_t d, int64_t h, int64_t out) {
  OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, d});
  b.initializer("w1", uniform_tensor(rng, {d, h})).initializer("b1", uniform_tensor(rng, {h}));
  b.initializer("w2", uniform_tensor(rng, {h, h})).initializer("b2", uniform_tensor(rng, {h}));
  b.initializer("w3", uniform_tensor(rng, {h, out}));
  b.node("MatMul", {"x", "w1"}, {"h1"}).node("Add", {"h1", "b1"}, {"h2"});
  b.node("Relu", {"h2"}, {"a1"});
  b.node("MatMul", {"a1", "w2"}, {"h3"}).node("Add", {"h3", "b2"}, {"h4"});
  b.node("Relu", {"h4"}, {"a2"});
  b.node("MatMul", {"a2", "w3"}, {"y"});
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  auto am = AttackModel::create(m->graph);
  REQUIRE(am.has_value());
  return std::move(*am);
}

}  // namespace nncert::test
