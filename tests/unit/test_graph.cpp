// Graph structure: topological order, cycle and dangling-input detection, pruning.
#include <catch2/catch.hpp>

#include "graph/graph.h"

using namespace nncert;

namespace {
NodeId add(Graph& g,
           const std::string& name,
           const std::string& op,
           std::vector<ValueId> in,
           std::vector<ValueId> out) {
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return g.add_node(std::move(n));
}
}  // namespace

TEST_CASE("topological order of a DAG with a residual branch", "[graph]") {
  Graph g;
  ValueId x = g.add_value("x", DType::kF32, {1, 4});
  g.inputs().push_back(x);
  ValueId a = g.add_value("a", DType::kF32, {}, false);
  ValueId b = g.add_value("b", DType::kF32, {}, false);
  ValueId c = g.add_value("c", DType::kF32, {}, false);
  // Nodes listed out of order: c = a + b, b = relu(a), a = relu(x)
  add(g, "sum", "Add", {a, b}, {c});
  add(g, "r2", "Relu", {a}, {b});
  add(g, "r1", "Relu", {x}, {a});
  g.outputs().push_back(c);
  REQUIRE(g.check_structure().is_ok());
  auto order = g.topological_order();
  REQUIRE(order.has_value());
  std::vector<std::string> names;
  for (NodeId id : *order)
    names.push_back(g.node(id).name);
  REQUIRE(names == std::vector<std::string>{"r1", "r2", "sum"});
  REQUIRE(g.consumers(a) == std::vector<NodeId>{0, 1});
}

TEST_CASE("a cycle is reported with the nodes on it", "[graph]") {
  Graph g;
  ValueId x = g.add_value("x", DType::kF32, {1});
  g.inputs().push_back(x);
  ValueId a = g.add_value("a", DType::kF32, {}, false);
  ValueId b = g.add_value("b", DType::kF32, {}, false);
  ValueId y = g.add_value("y", DType::kF32, {}, false);
  add(g, "first", "Add", {x, b}, {a});
  add(g, "second", "Relu", {a}, {b});
  add(g, "out", "Relu", {x}, {y});
  g.outputs().push_back(y);
  Status st = g.check_structure();
  REQUIRE(st.code() == ErrorCode::kInvalidGraph);
  REQUIRE_THAT(st.message(),
               Catch::Contains("cycle") && Catch::Contains("'first'") &&
                   Catch::Contains("'second'") && !Catch::Contains("'out'"));
}

TEST_CASE("dangling inputs and missing outputs are all reported", "[graph]") {
  Graph g;
  ValueId x = g.add_value("x", DType::kF32, {1});
  g.inputs().push_back(x);
  ValueId ghost = g.add_value("ghost", DType::kF32, {}, false);
  ValueId y = g.add_value("y", DType::kF32, {}, false);
  ValueId never = g.add_value("never", DType::kF32, {}, false);
  add(g, "adder", "Add", {x, ghost}, {y});
  g.outputs().push_back(y);
  g.outputs().push_back(never);
  Status st = g.check_structure();
  REQUIRE(st.code() == ErrorCode::kInvalidGraph);
  REQUIRE_THAT(st.message(),
               Catch::Contains("'adder'") && Catch::Contains("'ghost'") &&
                   Catch::Contains("'never'") && Catch::Contains("2 structural"));
}

TEST_CASE("prune_unused drops dead nodes and keeps live ones", "[graph]") {
  Graph g;
  ValueId x = g.add_value("x", DType::kF32, {1});
  g.inputs().push_back(x);
  ValueId y = g.add_value("y", DType::kF32, {}, false);
  ValueId dead = g.add_value("dead", DType::kF32, {}, false);
  ValueId w = g.add_constant("w", Tensor::from_vector<float>({1}, {2.f}));
  add(g, "unused", "Mul", {x, w}, {dead});
  add(g, "used", "Relu", {x}, {y});
  g.outputs().push_back(y);
  g.prune_unused();
  REQUIRE(g.num_nodes() == 1);
  REQUIRE(g.node(0).name == "used");
  REQUIRE(g.value(y).producer == 0);
  REQUIRE_FALSE(g.value(w).constant.has_value());  // storage released
}

TEST_CASE("attributes read with defaults and conversions", "[graph]") {
  Attributes a;
  a.set("i", int64_t{3});
  a.set("f", 0.5);
  a.set("ints", std::vector<int64_t>{1, 2});
  a.set("s", std::string("SAME_UPPER"));
  REQUIRE(a.get_int("i", 0) == 3);
  REQUIRE(a.get_float("i", 0) == 3.0);
  REQUIRE(a.get_float("f", 0) == 0.5);
  REQUIRE(a.get_int("missing", 7) == 7);
  REQUIRE(a.get_ints("ints") == std::vector<int64_t>{1, 2});
  REQUIRE(a.get_ints("i") == std::vector<int64_t>{3});
  REQUIRE(a.get_string("s", "") == "SAME_UPPER");
  REQUIRE_FALSE(a.get_tensor("s").has_value());
}
