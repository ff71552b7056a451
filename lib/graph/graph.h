// The computational graph: the one model representation every part of nncert works on.
// Values (edges) carry a name, dtype, static shape (with -1 for unknown extents) and optionally a
// constant tensor (weights, folded subgraphs). Nodes carry an ONNX-style op type, attributes and
// value ids for inputs/outputs. Graph structure queries (topological order, cycle and dangling
// checks) use Boost.Graph inside graph.cpp; this header stays light.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/attribute.h"

namespace nncert {

using ValueId = int32_t;
using NodeId = int32_t;
inline constexpr ValueId kNoValue = -1;  // an omitted optional input
inline constexpr NodeId kNoNode = -1;

struct Value {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;               // -1 where unknown
  bool shape_known = false;  // false: rank not known either
  std::optional<Tensor> constant;
  NodeId producer = kNoNode;  // maintained by Graph
};

struct Node {
  std::string name;
  std::string op;  // ONNX op_type, e.g. "Conv"
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  Attributes attrs;
  std::string display() const;  // "name (Op)"
};

class Graph {
 public:
  // Values.
  ValueId add_value(const std::string& name, DType dtype, Shape shape, bool shape_known = true);
  ValueId add_constant(const std::string& name, Tensor tensor);
  Value& value(ValueId id) { return values_.at(static_cast<size_t>(id)); }
  const Value& value(ValueId id) const { return values_.at(static_cast<size_t>(id)); }
  size_t num_values() const { return values_.size(); }
  // Lookup by name; kNoValue if absent.
  ValueId find_value(const std::string& name) const;
  bool is_constant(ValueId id) const { return id >= 0 && value(id).constant.has_value(); }
  // A fresh value name with the given prefix that is not used yet.
  std::string unique_name(const std::string& prefix) const;

  // Nodes. add_node sets the producer of its outputs.
  NodeId add_node(Node node);
  Node& node(NodeId id) { return nodes_.at(static_cast<size_t>(id)); }
  const Node& node(NodeId id) const { return nodes_.at(static_cast<size_t>(id)); }
  size_t num_nodes() const { return nodes_.size(); }
  const std::vector<Node>& nodes() const { return nodes_; }
  // Removes the given nodes (their output values stay, without producer), then renumbers the
  // remaining nodes in order and recomputes producers.
  void remove_nodes(const std::vector<NodeId>& ids);
  // Rewires every use of `from` (node inputs and graph outputs) to `to`.
  void replace_uses(ValueId from, ValueId to);
  // Nodes that read value v, in node order.
  std::vector<NodeId> consumers(ValueId v) const;

  std::vector<ValueId>& inputs() { return inputs_; }
  const std::vector<ValueId>& inputs() const { return inputs_; }
  std::vector<ValueId>& outputs() { return outputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }

  // Node ids in a topological order (ties broken by node index, so the order is deterministic).
  // Fails with kInvalidGraph naming the nodes on a cycle.
  Expected<std::vector<NodeId>> topological_order() const;
  // Structural checks: every node input is a graph input, a constant or produced by a node;
  // each value has at most one producer; every graph output is defined; no cycles. Reports every
  // problem found in one message.
  Status check_structure() const;
  // Drops nodes whose outputs reach no graph output, and constants no node uses.
  void prune_unused();
  void rebuild_producers();

  std::string name;
  int64_t opset = 0;          // default-domain opset the model was written for (0: n/a)
  std::string producer_name;  // e.g. "pytorch"

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
  std::unordered_map<std::string, ValueId> by_name_;
};

}  // namespace nncert
