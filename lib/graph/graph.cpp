#include "graph/graph.h"

#include <algorithm>
#include <set>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/strong_components.hpp>
#include <boost/graph/topological_sort.hpp>

namespace nncert {

std::string Node::display() const {
  return "'" + (name.empty() ? std::string("<unnamed>") : name) + "' (" + op + ")";
}

ValueId Graph::add_value(const std::string& nm, DType dtype, Shape shape, bool shape_known) {
  Value v;
  v.name = nm;
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.shape_known = shape_known;
  auto id = static_cast<ValueId>(values_.size());
  values_.push_back(std::move(v));
  if (!nm.empty())
    by_name_[nm] = id;
  return id;
}

ValueId Graph::add_constant(const std::string& nm, Tensor tensor) {
  ValueId id = add_value(nm, tensor.dtype(), tensor.shape(), true);
  values_.back().constant = std::move(tensor);
  return id;
}

ValueId Graph::find_value(const std::string& nm) const {
  auto it = by_name_.find(nm);
  return it == by_name_.end() ? kNoValue : it->second;
}

std::string Graph::unique_name(const std::string& prefix) const {
  if (find_value(prefix) == kNoValue)
    return prefix;
  for (int i = 1;; ++i) {
    std::string candidate = prefix + "_" + std::to_string(i);
    if (find_value(candidate) == kNoValue)
      return candidate;
  }
}

NodeId Graph::add_node(Node n) {
  auto id = static_cast<NodeId>(nodes_.size());
  for (ValueId o : n.outputs)
    if (o >= 0)
      value(o).producer = id;
  nodes_.push_back(std::move(n));
  return id;
}

void Graph::rebuild_producers() {
  for (auto& v : values_)
    v.producer = kNoNode;
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (ValueId o : nodes_[i].outputs)
      if (o >= 0)
        value(o).producer = static_cast<NodeId>(i);
}

void Graph::remove_nodes(const std::vector<NodeId>& ids) {
  std::set<NodeId> drop(ids.begin(), ids.end());
  std::vector<Node> kept;
  kept.reserve(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (!drop.count(static_cast<NodeId>(i)))
      kept.push_back(std::move(nodes_[i]));
  nodes_ = std::move(kept);
  rebuild_producers();
}

void Graph::replace_uses(ValueId from, ValueId to) {
  for (auto& n : nodes_)
    for (auto& in : n.inputs)
      if (in == from)
        in = to;
  for (auto& o : outputs_)
    if (o == from)
      o = to;
}

std::vector<NodeId> Graph::consumers(ValueId v) const {
  std::vector<NodeId> out;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (std::find(nodes_[i].inputs.begin(), nodes_[i].inputs.end(), v) != nodes_[i].inputs.end())
      out.push_back(static_cast<NodeId>(i));
  return out;
}

namespace {
using BGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;

BGraph dependency_graph(const Graph& g) {
  BGraph bg(g.num_nodes());
  for (size_t i = 0; i < g.num_nodes(); ++i)
    for (ValueId in : g.node(static_cast<NodeId>(i)).inputs) {
      if (in < 0 || static_cast<size_t>(in) >= g.num_values())
        continue;
      NodeId p = g.value(in).producer;
      if (p != kNoNode)
        boost::add_edge(static_cast<size_t>(p), i, bg);
    }
  return bg;
}
}  // namespace

Expected<std::vector<NodeId>> Graph::topological_order() const {
  BGraph bg = dependency_graph(*this);
  std::vector<size_t> rev;
  try {
    boost::topological_sort(bg, std::back_inserter(rev));
  } catch (const boost::not_a_dag&) {
    // Name the nodes on cycles: strongly connected components with more than one node, or a
    // node that feeds itself.
    std::vector<int> comp(num_nodes());
    int ncomp = boost::strong_components(
        bg, boost::make_iterator_property_map(comp.begin(), boost::get(boost::vertex_index, bg)));
    std::vector<int> size(static_cast<size_t>(ncomp), 0);
    for (int c : comp)
      ++size[static_cast<size_t>(c)];
    std::string names;
    for (size_t i = 0; i < num_nodes(); ++i) {
      bool self = boost::edge(i, i, bg).second;
      if (size[static_cast<size_t>(comp[i])] > 1 || self) {
        if (!names.empty())
          names += ", ";
        names += nodes_[i].display();
      }
    }
    return Status(ErrorCode::kInvalidGraph, "the graph has a cycle through nodes " + names);
  }
  std::vector<NodeId> order(rev.rbegin(), rev.rend());
  // Prefer the original node order where it is already topological (the common case for ONNX
  // files); this keeps execution order and error messages aligned with the file.
  bool file_order_ok = true;
  {
    std::vector<bool> done(num_values(), false);
    for (ValueId v : inputs_)
      if (v >= 0)
        done[static_cast<size_t>(v)] = true;
    for (size_t v = 0; v < num_values(); ++v)
      if (values_[v].constant || values_[v].producer == kNoNode)
        done[v] = true;
    for (const auto& n : nodes_) {
      for (ValueId in : n.inputs)
        if (in >= 0 && !done[static_cast<size_t>(in)])
          file_order_ok = false;
      for (ValueId o : n.outputs)
        if (o >= 0)
          done[static_cast<size_t>(o)] = true;
    }
  }
  if (file_order_ok) {
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = static_cast<NodeId>(i);
  }
  return order;
}

Status Graph::check_structure() const {
  std::vector<std::string> problems;
  std::vector<int> producers(num_values(), 0);
  for (const auto& n : nodes_)
    for (ValueId o : n.outputs)
      if (o >= 0)
        ++producers[static_cast<size_t>(o)];
  std::set<ValueId> graph_inputs(inputs_.begin(), inputs_.end());
  for (size_t v = 0; v < num_values(); ++v)
    if (producers[v] > 1)
      problems.push_back("value '" + values_[v].name + "' is produced by " +
                         std::to_string(producers[v]) + " nodes");
  // Every name is assigned once: a node may not overwrite a graph input or an initializer.
  for (const auto& n : nodes_)
    for (ValueId o : n.outputs) {
      if (o < 0)
        continue;
      if (graph_inputs.count(o))
        problems.push_back("node " + n.display() + " writes graph input '" +
                           values_[static_cast<size_t>(o)].name + "'");
      else if (values_[static_cast<size_t>(o)].constant)
        problems.push_back("node " + n.display() + " writes initializer '" +
                           values_[static_cast<size_t>(o)].name + "'");
    }
  for (const auto& n : nodes_) {
    for (ValueId in : n.inputs) {
      if (in == kNoValue)
        continue;
      if (in < 0 || static_cast<size_t>(in) >= num_values()) {
        problems.push_back("node " + n.display() + " has an invalid input id");
        continue;
      }
      const Value& v = values_[static_cast<size_t>(in)];
      if (!v.constant && producers[static_cast<size_t>(in)] == 0 && !graph_inputs.count(in))
        problems.push_back("node " + n.display() + " reads '" + v.name +
                           "', which no node produces and which is neither a graph input nor "
                           "an initializer (dangling input)");
    }
  }
  for (ValueId o : outputs_) {
    if (o < 0 || static_cast<size_t>(o) >= num_values()) {
      problems.push_back("a graph output has an invalid id");
      continue;
    }
    if (!values_[static_cast<size_t>(o)].constant && producers[static_cast<size_t>(o)] == 0 &&
        !graph_inputs.count(o))
      problems.push_back("graph output '" + values_[static_cast<size_t>(o)].name +
                         "' is never produced");
  }
  if (outputs_.empty())
    problems.emplace_back("the graph has no outputs");
  if (!problems.empty()) {
    std::string msg = std::to_string(problems.size()) + " structural problem(s): ";
    for (size_t i = 0; i < problems.size(); ++i)
      msg += (i ? "; " : "") + problems[i];
    return {ErrorCode::kInvalidGraph, msg};
  }
  auto order = topological_order();
  if (!order)
    return order.status();
  return Status::ok();
}

void Graph::prune_unused() {
  std::vector<bool> live_value(num_values(), false);
  for (ValueId o : outputs_)
    if (o >= 0)
      live_value[static_cast<size_t>(o)] = true;
  std::vector<bool> live_node(nodes_.size(), false);
  for (size_t k = nodes_.size(); k-- > 0;) {
    bool live = false;
    for (ValueId o : nodes_[k].outputs)
      if (o >= 0 && live_value[static_cast<size_t>(o)])
        live = true;
    if (!live)
      continue;
    live_node[k] = true;
    for (ValueId in : nodes_[k].inputs)
      if (in >= 0)
        live_value[static_cast<size_t>(in)] = true;
  }
  // Nodes are not necessarily in topological order; iterate to a fixed point.
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t k = 0; k < nodes_.size(); ++k) {
      if (live_node[k])
        continue;
      for (ValueId o : nodes_[k].outputs)
        if (o >= 0 && live_value[static_cast<size_t>(o)]) {
          live_node[k] = true;
          changed = true;
          for (ValueId in : nodes_[k].inputs)
            if (in >= 0)
              live_value[static_cast<size_t>(in)] = true;
          break;
        }
    }
  }
  std::vector<NodeId> dead;
  for (size_t k = 0; k < nodes_.size(); ++k)
    if (!live_node[k])
      dead.push_back(static_cast<NodeId>(k));
  if (!dead.empty())
    remove_nodes(dead);
  // Release the storage of constants nothing reads any more.
  for (size_t v = 0; v < num_values(); ++v)
    if (!live_value[v] && values_[v].constant)
      values_[v].constant.reset();
}

}  // namespace nncert
