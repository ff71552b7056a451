#include "ops/op_def.h"
#include "passes/passes.h"

namespace nncert {

namespace {
bool supports(const OpDef* def, Capability cap) {
  if (def == nullptr)
    return false;
  switch (cap) {
    case Capability::kForward:
      return def->forward != nullptr && def->infer != nullptr;
  }
  return false;
}
}  // namespace

std::vector<NodeId> unsupported_nodes(const Graph& g, Capability cap) {
  std::vector<NodeId> out;
  for (size_t i = 0; i < g.num_nodes(); ++i)
    if (!supports(find_op(g.node(static_cast<NodeId>(i)).op), cap))
      out.push_back(static_cast<NodeId>(i));
  return out;
}

Status validate_ops(const Graph& g, Capability cap) {
  auto bad = unsupported_nodes(g, cap);
  if (!bad.empty()) {
    std::string msg = std::to_string(bad.size()) + " unsupported node(s): ";
    for (size_t i = 0; i < bad.size(); ++i) {
      if (i)
        msg += ", ";
      msg += g.node(bad[i]).display();
    }
    return {ErrorCode::kUnsupported, msg};
  }
  std::vector<std::string> problems;
  for (const auto& n : g.nodes()) {
    const OpDef* def = find_op(n.op);
    int count = static_cast<int>(n.inputs.size());
    while (count > 0 && n.inputs[static_cast<size_t>(count - 1)] == kNoValue)
      --count;
    if (count < def->min_inputs || (def->max_inputs >= 0 && count > def->max_inputs)) {
      problems.push_back(
          n.display() + " has " + std::to_string(count) + " inputs, expected " +
          std::to_string(def->min_inputs) +
          (def->max_inputs < 0 ? " or more" : ".." + std::to_string(def->max_inputs)));
    }
    // Required inputs cannot be omitted (an empty name), even when later optional ones are given.
    for (int i = 0; i < def->min_inputs && i < count; ++i)
      if (n.inputs[static_cast<size_t>(i)] == kNoValue)
        problems.push_back(n.display() + " lacks its required input " + std::to_string(i));
    if (n.outputs.empty())
      problems.push_back(n.display() + " has no outputs");
    else if (n.outputs[0] == kNoValue)
      problems.push_back(n.display() + " has no name for its first output");
  }
  if (!problems.empty()) {
    std::string msg;
    for (size_t i = 0; i < problems.size(); ++i)
      msg += (i ? "; " : "") + problems[i];
    return {ErrorCode::kInvalidGraph, msg};
  }
  return Status::ok();
}

std::vector<std::string> nonfinite_constants(const Graph& g) {
  std::vector<std::string> names;
  for (size_t v = 0; v < g.num_values(); ++v) {
    const Value& val = g.value(static_cast<ValueId>(v));
    if (val.constant && !val.constant->all_finite())
      names.push_back(val.name);
  }
  return names;
}

}  // namespace nncert
