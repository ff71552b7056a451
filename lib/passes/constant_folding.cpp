#include <new>

#include "ops/op_def.h"
#include "passes/passes.h"

namespace nncert {

Status infer_node(const Graph& g, const Node& n, std::vector<TypeInfo>& out);

// Folding evaluates nodes in the dtype of their constant inputs (float32 weights stay float32),
// exactly as the runtime would in float32; a float64 run converts the folded result, which is
// what the exporting framework computed too.
Expected<int> fold_constants(Graph& g) {
  NNCERT_RETURN_IF_ERROR(infer_shapes(g));
  NNCERT_ASSIGN_OR_RETURN(auto order, g.topological_order());
  std::vector<NodeId> folded;
  std::vector<TypeInfo> types;
  for (NodeId id : order) {
    Node& n = g.node(id);
    NNCERT_RETURN_IF_ERROR(infer_node(g, n, types));
    bool all_const = true;
    for (ValueId in : n.inputs)
      if (in != kNoValue && !g.is_constant(in))
        all_const = false;
    // Shape-like rules may know the value without constant inputs (Shape of a static tensor).
    bool inferred = n.outputs.size() == 1 && !types.empty() && types[0].value.has_value();
    if (!all_const && !inferred)
      continue;
    if (n.op == "Constant" || inferred) {
      if (types.empty() || !types[0].value)
        continue;
      Value& v = g.value(n.outputs[0]);
      v.constant = *types[0].value;
      v.dtype = v.constant->dtype();
      v.shape = v.constant->shape();
      v.shape_known = true;
      folded.push_back(id);
      continue;
    }
    const OpDef* def = find_op(n.op);
    std::vector<Tensor> in;
    for (ValueId v : n.inputs)
      in.push_back(v == kNoValue ? Tensor() : *g.value(v).constant);
    std::vector<Tensor> out(n.outputs.size());
    Status st;
    try {
      st = def->forward(n, in, types, out, ExecContext{1});
    } catch (const std::bad_alloc&) {
      return Status(ErrorCode::kOutOfMemory, "out of memory while folding node " + n.display());
    }
    if (!st.is_ok())
      return st.with_context("folding constant node " + n.display());
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      if (n.outputs[k] == kNoValue)
        continue;
      Value& v = g.value(n.outputs[k]);
      v.constant = out[k];
      v.dtype = out[k].dtype();
      v.shape = out[k].shape();
      v.shape_known = true;
    }
    folded.push_back(id);
  }
  if (!folded.empty()) {
    g.remove_nodes(folded);
    // Shapes downstream of folded values (e.g. a Reshape whose target became constant) can now
    // be inferred exactly.
    NNCERT_RETURN_IF_ERROR(infer_shapes(g));
  }
  return static_cast<int>(folded.size());
}

Status specialize_inputs(Graph& g, const std::vector<Shape>& shapes) {
  if (shapes.size() != g.inputs().size())
    return {ErrorCode::kInvalidArgument,
            "expected " + std::to_string(g.inputs().size()) + " input shapes, got " +
                std::to_string(shapes.size())};
  for (size_t i = 0; i < shapes.size(); ++i) {
    Value& v = g.value(g.inputs()[i]);
    if (v.shape_known) {
      bool ok = v.shape.size() == shapes[i].size();
      for (size_t d = 0; ok && d < v.shape.size(); ++d)
        ok = v.shape[d] < 0 || v.shape[d] == shapes[i][d];
      if (!ok)
        return {ErrorCode::kShapeMismatch,
                "input '" + v.name + "' has shape " + shape_to_string(v.shape) + ", cannot be " +
                    shape_to_string(shapes[i])};
    }
    v.shape = shapes[i];
    v.shape_known = true;
  }
  NNCERT_RETURN_IF_ERROR(fold_constants(g).status());
  g.prune_unused();
  return Status::ok();
}

Expected<PrepareReport> prepare_graph(Graph& g, const PrepareOptions& options) {
  PrepareReport report;
  NNCERT_RETURN_IF_ERROR(g.check_structure());
  NNCERT_RETURN_IF_ERROR(validate_ops(g, Capability::kForward));
  NNCERT_RETURN_IF_ERROR(infer_shapes(g));
  if (options.fold_constants) {
    NNCERT_ASSIGN_OR_RETURN(report.folded_constants, fold_constants(g));
  }
  if (options.fold_batchnorm) {
    NNCERT_ASSIGN_OR_RETURN(report.folded_batchnorms, fold_batchnorm(g));
  }
  g.prune_unused();
  for (const auto& name : nonfinite_constants(g))
    report.warnings.push_back("constant '" + name + "' holds NaN or Inf values");
  return report;
}

}  // namespace nncert
