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

// Rules compute output extents from attributes and constant inputs that come straight from the
// model file; refuse results no tensor can have before anything allocates them.
Status check_output(const Node& n, size_t k, const TypeInfo& t) {
  if (!t.shape_known)
    return Status::ok();
  int64_t known = 1;
  for (int64_t d : t.shape) {
    if (d < -1)
      return {ErrorCode::kShapeMismatch,
              "node " + n.display() + ": output " + std::to_string(k) +
                  " would have the negative extent " + std::to_string(d)};
    if (d < 0)
      continue;
    if (d != 0 && known > kMaxTensorElements / d) {
      known = kMaxTensorElements + 1;
      break;
    }
    known *= d;
  }
  if (known > kMaxTensorElements)
    return {ErrorCode::kOutOfMemory,
            "node " + n.display() + ": output " + std::to_string(k) + " would have shape " +
                shape_to_string(t.shape) + ", more than the " + std::to_string(kMaxTensorElements) +
                " elements a tensor may have"};
  return Status::ok();
}
}  // namespace

Status infer_node(const Graph& g, const Node& n, std::vector<TypeInfo>& out) {
  const OpDef* def = find_op(n.op);
  if (def == nullptr || def->infer == nullptr)
    return {ErrorCode::kUnsupported, "node " + n.display() + ": unsupported op"};
  std::vector<TypeInfo> in;
  in.reserve(n.inputs.size());
  for (ValueId id : n.inputs)
    in.push_back(info_of(g, id));
  out.clear();
  Status st = def->infer(n, in, out);
  if (!st.is_ok())
    return st.with_context("node " + n.display());
  if (out.size() < n.outputs.size()) {
    // Optional outputs the rule does not describe (e.g. unused ones) keep unknown shapes.
    out.resize(n.outputs.size());
    for (size_t k = 0; k < out.size(); ++k)
      if (k >= 1 && out[k].shape.empty() && !out[k].value)
        out[k].shape_known = false;
  }
  for (size_t k = 0; k < out.size(); ++k)
    NNCERT_RETURN_IF_ERROR(check_output(n, k, out[k]));
  return Status::ok();
}

Status infer_shapes(Graph& g) {
  NNCERT_ASSIGN_OR_RETURN(auto order, g.topological_order());
  std::vector<TypeInfo> out;
  for (NodeId id : order) {
    const Node& n = g.node(id);
    NNCERT_RETURN_IF_ERROR(infer_node(g, n, out));
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      if (n.outputs[k] == kNoValue)
        continue;
      Value& v = g.value(n.outputs[k]);
      v.dtype = out[k].dtype;
      v.shape = out[k].shape;
      v.shape_known = out[k].shape_known;
    }
  }
  return Status::ok();
}

}  // namespace nncert
