// Graph passes: constant folding (PyTorch shape chains), input specialisation, BatchNormalization
// folding (same function before and after), non-finite weight detection.
#include <cmath>
#include <random>

#include <catch2/catch.hpp>

#include "passes/passes.h"
#include "tests/support/onnx_builder.h"

using namespace nncert;
using nncert::test::OnnxBuilder;
using nncert::test::run_graph;

namespace {
Tensor random_tensor(DType dt, const Shape& s, std::mt19937& rng, double lo = -1, double hi = 1) {
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t(dt, s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, u(rng));
  return t;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::abs(a.get(i) - b.get(i)));
  return m;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes())
    n += node.op == op;
  return n;
}

// The PyTorch flatten idiom: Shape -> Gather(0) -> Unsqueeze -> Concat([b, -1]) -> Reshape.
void add_flatten_chain(OnnxBuilder& b, const std::string& x, const std::string& y) {
  b.initializer("idx0", Tensor::scalar(DType::kI64, 0));
  b.initializer("minus1", Tensor::from_vector<int64_t>({1}, {-1}));
  b.initializer("axes0", Tensor::from_vector<int64_t>({1}, {0}));
  b.node("Shape", {x}, {"shape"});
  b.node("Gather", {"shape", "idx0"}, {"batch"}).attr("axis", int64_t{0});
  b.node("Unsqueeze", {"batch", "axes0"}, {"batch1"});
  b.node("Concat", {"batch1", "minus1"}, {"target"}).attr("axis", int64_t{0});
  b.node("Reshape", {x, "target"}, {y});
}
}  // namespace

TEST_CASE("Shape->Gather->Unsqueeze->Concat->Reshape chains fold to a constant", "[passes]") {
  OnnxBuilder b(13);
  b.input("x", DType::kF32, {2, 3, 4});
  add_flatten_chain(b, "x", "y");
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  const Graph& g = m->graph;
  REQUIRE(g.num_nodes() == 1);
  REQUIRE(g.node(0).op == "Reshape");
  REQUIRE(g.is_constant(g.node(0).inputs[1]));
  REQUIRE(g.value(g.node(0).inputs[1]).constant->to_int_vector() == std::vector<int64_t>{2, -1});
  REQUIRE(m->prepare_report.folded_constants == 4);
  REQUIRE(g.value(g.outputs()[0]).shape == Shape{2, 12});
}

TEST_CASE("a dynamic batch keeps the chain at run time; specialising folds it", "[passes]") {
  OnnxBuilder b(13);
  b.input("x", DType::kF32, {-1, 3, 4});
  add_flatten_chain(b, "x", "y");
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  Graph& g = m->graph;
  REQUIRE(count_op(g, "Shape") == 1);  // cannot fold: the batch extent is unknown
  std::mt19937 rng(1);
  for (int64_t batch : {1, 5}) {
    Tensor x = random_tensor(DType::kF64, {batch, 3, 4}, rng);
    auto out = run_graph(g, {x});
    REQUIRE(out[0].shape() == Shape{batch, 12});
    REQUIRE(max_abs_diff(out[0], x.reshaped({batch, 12})) == 0.0);
  }
  REQUIRE(specialize_inputs(g, {{1, 3, 4}}).is_ok());
  REQUIRE(g.num_nodes() == 1);
  REQUIRE(g.value(g.outputs()[0]).shape == Shape{1, 12});
  // Specialising to an incompatible shape is refused.
  REQUIRE(specialize_inputs(g, {{1, 4, 4}}).code() == ErrorCode::kShapeMismatch);
}

TEST_CASE("constant subgraphs on weights fold with the weights' dtype", "[passes]") {
  OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 3});
  b.initializer("w", Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6}));
  b.initializer("two", Tensor::from_vector<float>({1}, {2}));
  b.node("Mul", {"w", "two"}, {"w2"});
  b.node("Transpose", {"w2"}, {"w2t"}).attr("perm", std::vector<int64_t>{1, 0});
  b.node("Transpose", {"w2t"}, {"w2tt"}).attr("perm", std::vector<int64_t>{1, 0});
  b.node("MatMul", {"x", "w2tt"}, {"y"});
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  REQUIRE(m->graph.num_nodes() == 1);
  auto out = run_graph(m->graph, {Tensor::from_vector<double>({1, 3}, {1, 1, 1})});
  REQUIRE(out[0].to_double_vector() == std::vector<double>{18, 24});
}

TEST_CASE("BatchNormalization folding preserves the function", "[passes]") {
  std::mt19937 rng(7);
  for (bool gemm : {false, true}) {
    OnnxBuilder b(13);
    const int64_t c = 4;
    if (gemm) {
      b.input("x", DType::kF32, {-1, 5});
      b.initializer("w", random_tensor(DType::kF32, {c, 5}, rng));
      b.initializer("bias", random_tensor(DType::kF32, {c}, rng));
      b.node("Gemm", {"x", "w", "bias"}, {"h"}).attr("transB", int64_t{1}).attr("beta", 0.5);
    } else {
      b.input("x", DType::kF32, {-1, 2, 5, 5});
      b.initializer("w", random_tensor(DType::kF32, {c, 2, 3, 3}, rng));
      b.node("Conv", {"x", "w"}, {"h"}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
    }
    b.initializer("scale", random_tensor(DType::kF32, {c}, rng, 0.5, 2));
    b.initializer("shift", random_tensor(DType::kF32, {c}, rng));
    b.initializer("mean", random_tensor(DType::kF32, {c}, rng));
    b.initializer("var", random_tensor(DType::kF32, {c}, rng, 0.1, 3));
    b.node("BatchNormalization", {"h", "scale", "shift", "mean", "var"}, {"y"})
        .attr("epsilon", 1e-3);
    b.output("y");
    auto plain = b.load();
    OnnxLoadOptions fold;
    fold.prepare_options.fold_batchnorm = true;
    auto folded = b.load(fold);
    REQUIRE(plain.has_value());
    REQUIRE(folded.has_value());
    REQUIRE(count_op(plain->graph, "BatchNormalization") == 1);
    REQUIRE(count_op(folded->graph, "BatchNormalization") == 0);
    REQUIRE(folded->prepare_report.folded_batchnorms == 1);
    Tensor x = gemm ? random_tensor(DType::kF64, {3, 5}, rng)
                    : random_tensor(DType::kF64, {3, 2, 5, 5}, rng);
    auto a = run_graph(plain->graph, {x});
    auto bb = run_graph(folded->graph, {x});
    REQUIRE(max_abs_diff(a[0], bb[0]) < 1e-5);
  }
}

TEST_CASE("validate_ops lists every unsupported node", "[passes]") {
  Graph g;
  ValueId x = g.add_value("x", DType::kF32, {1});
  g.inputs().push_back(x);
  ValueId a = g.add_value("a", DType::kF32, {}, false);
  ValueId y = g.add_value("y", DType::kF32, {}, false);
  Node n1;
  n1.name = "mystery";
  n1.op = "NonZero";
  n1.inputs = {x};
  n1.outputs = {a};
  g.add_node(n1);
  Node n2;
  n2.name = "other";
  n2.op = "Loop";
  n2.inputs = {a};
  n2.outputs = {y};
  g.add_node(n2);
  g.outputs().push_back(y);
  Status st = validate_ops(g, Capability::kForward);
  REQUIRE(st.code() == ErrorCode::kUnsupported);
  REQUIRE_THAT(st.message(),
               Catch::Contains("2 unsupported") && Catch::Contains("'mystery' (NonZero)") &&
                   Catch::Contains("'other' (Loop)"));
  REQUIRE(unsupported_nodes(g, Capability::kForward).size() == 2);
}
