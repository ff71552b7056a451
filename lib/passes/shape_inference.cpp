#include "ops/op_def.h"
#include "passes/passes.h"

namespace nncert {

namespace {
TypeInfo info_of(const Graph& g, ValueId id) {
  TypeInfo t;
  if (id == kNoValue) {
    t.shape_known = false;
    return t;
  }
  const Value& v = g.value(id);
  t.dtype = v.dtype;
  t.shape = v.shape;
  t.shape_known = v.shape_known;
  t.value = v.constant;
  return t;
}
}  // namespace

Status infer_node(const Graph& g, const Node& n, std::vector<TypeInfo>& out) {
  const OpDef* def = find_op(n.op);
  if (def == nullptr || def->infer == nullptr)
    return {ErrorCode::kUnsupported, "node " + n.display() + ": unsupported op"};
  std::vector<TypeInfo> in;
  in.reserve(n.inputs.size());
  for (ValueId id : n.inputs) in.push_back(info_of(g, id));
  out.clear();
  Status st = def->infer(n, in, out);
  if (!st.is_ok()) return st.with_context("node " + n.display());
  if (out.size() < n.outputs.size()) {
    // Optional outputs the rule does not describe (e.g. unused ones) keep unknown shapes.
    out.resize(n.outputs.size());
    for (size_t k = 0; k < out.size(); ++k)
      if (k >= 1 && out[k].shape.empty() && !out[k].value) out[k].shape_known = false;
  }
  return Status::ok();
}

Status infer_shapes(Graph& g) {
  NNCERT_ASSIGN_OR_RETURN(auto order, g.topological_order());
  std::vector<TypeInfo> out;
  for (NodeId id : order) {
    const Node& n = g.node(id);
    NNCERT_RETURN_IF_ERROR(infer_node(g, n, out));
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      if (n.outputs[k] == kNoValue) continue;
      Value& v = g.value(n.outputs[k]);
      v.dtype = out[k].dtype;
      v.shape = out[k].shape;
      v.shape_known = out[k].shape_known;
    }
  }
  return Status::ok();
}

}  // namespace nncert
