#include "runtime/executor.h"

#include <chrono>
#include <new>

#include "ops/op_def.h"
#include "passes/passes.h"

namespace nncert {

Status RunOptions::validate() const {
  if (!is_float(dtype))
    return {ErrorCode::kInvalidArgument, "run dtype must be float32 or float64"};
  if (threads < 0)
    return {ErrorCode::kInvalidArgument, "threads must be >= 0"};
  return Status::ok();
}

Expected<Executor> Executor::create(const Graph& graph, const RunOptions& options) {
  NNCERT_RETURN_IF_ERROR(options.validate());
  NNCERT_RETURN_IF_ERROR(validate_ops(graph, Capability::kForward));
  Executor ex(graph, options);
  NNCERT_ASSIGN_OR_RETURN(ex.order_, graph.topological_order());
  ex.constants_.resize(graph.num_values());
  for (size_t v = 0; v < graph.num_values(); ++v) {
    const Value& val = graph.value(static_cast<ValueId>(v));
    if (val.constant)
      ex.constants_[v] =
          is_float(val.constant->dtype()) ? val.constant->to(options.dtype) : *val.constant;
  }
  ex.last_use_.assign(graph.num_values(), -1);
  for (size_t k = 0; k < ex.order_.size(); ++k)
    for (ValueId in : graph.node(ex.order_[k]).inputs)
      if (in >= 0)
        ex.last_use_[static_cast<size_t>(in)] = static_cast<int>(k);
  for (ValueId o : graph.outputs())
    ex.last_use_[static_cast<size_t>(o)] = 1 << 30;
  return ex;
}

double Executor::last_flops() const {
  double f = 0;
  for (const auto& s : stats_)
    f += s.flops;
  return f;
}

Expected<std::vector<Tensor>> Executor::run(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> values;
  NNCERT_RETURN_IF_ERROR(execute(inputs, /*keep_all=*/false, values));
  const Graph& g = *graph_;
  std::vector<Tensor> result;
  for (ValueId o : g.outputs()) {
    const auto i = static_cast<size_t>(o);
    result.push_back(constants_[i].is_valid() ? constants_[i] : values[i]);
    if (!result.back().is_valid())
      return Status(ErrorCode::kInternal, "output '" + g.value(o).name + "' was not computed");
  }
  return result;
}

Expected<std::vector<Tensor>> Executor::run_all(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> values;
  NNCERT_RETURN_IF_ERROR(execute(inputs, /*keep_all=*/true, values));
  for (size_t v = 0; v < values.size(); ++v)
    if (constants_[v].is_valid())
      values[v] = constants_[v];
  return values;
}

Status Executor::execute(const std::vector<Tensor>& inputs,
                         bool keep_all,
                         std::vector<Tensor>& values) {
  const Graph& g = *graph_;
  if (inputs.size() != g.inputs().size())
    return Status(ErrorCode::kInvalidArgument,
                  "the model has " + std::to_string(g.inputs().size()) + " input(s), got " +
                      std::to_string(inputs.size()));
  values.assign(g.num_values(), Tensor());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = g.value(g.inputs()[i]);
    const Tensor& t = inputs[i];
    if (v.shape_known) {
      bool ok = t.rank() == static_cast<int64_t>(v.shape.size());
      for (size_t d = 0; ok && d < v.shape.size(); ++d)
        ok = v.shape[d] < 0 || v.shape[d] == t.shape()[d] || (d == 0 && v.shape[d] == 1);
      if (!ok)
        return Status(ErrorCode::kShapeMismatch,
                      "input '" + v.name + "' expects shape " + shape_to_string(v.shape) +
                          ", got " + shape_to_string(t.shape()));
    }
    values[static_cast<size_t>(g.inputs()[i])] =
        is_float(t.dtype()) && is_float(v.dtype) ? t.to(options_.dtype) : t;
  }
  stats_.assign(g.num_nodes(), {});
  ExecContext ctx{options_.threads};
  std::vector<TypeInfo> in_types, out_types;
  std::vector<Tensor> in_vals;
  try {
    for (size_t k = 0; k < order_.size(); ++k) {
      const NodeId id = order_[k];
      const Node& n = g.node(id);
      const OpDef* def = find_op(n.op);
      in_types.clear();
      in_vals.clear();
      for (ValueId vid : n.inputs) {
        Tensor t;
        if (vid >= 0) {
          t = constants_[static_cast<size_t>(vid)].is_valid() ? constants_[static_cast<size_t>(vid)]
                                                              : values[static_cast<size_t>(vid)];
          if (!t.is_valid())
            return Status(
                ErrorCode::kInternal,
                "node " + n.display() + " reads '" + g.value(vid).name + "' before it is computed");
        }
        TypeInfo ti;
        if (t.is_valid()) {
          ti.dtype = t.dtype();
          ti.shape = t.shape();
          ti.value = t;
        } else {
          ti.shape_known = false;
        }
        in_types.push_back(std::move(ti));
        in_vals.push_back(std::move(t));
      }
      out_types.clear();
      Status st = def->infer(n, in_types, out_types);
      if (!st.is_ok())
        return st.with_context("node " + n.display());
      out_types.resize(n.outputs.size());
      std::vector<Tensor> outs(n.outputs.size());
      const auto t0 = std::chrono::steady_clock::now();
      st = def->forward(n, in_vals, out_types, outs, ctx);
      if (!st.is_ok())
        return st.with_context("node " + n.display());
      NodeStats& ns = stats_[static_cast<size_t>(id)];
      ns.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      {
        std::vector<Shape> ins, os;
        for (const auto& t : in_vals)
          ins.push_back(t.is_valid() ? t.shape() : Shape{});
        for (const auto& t : outs)
          os.push_back(t.shape());
        ns.flops = def->flops ? def->flops(n, ins, os)
                              : static_cast<double>(outs.empty() ? 0 : outs[0].numel());
      }
      for (size_t o = 0; o < n.outputs.size(); ++o) {
        // Float tensors born at run time from int64 data (Cast, ConstantOfShape) take the run's
        // precision, so a float64 run stays float64 throughout.
        if (outs[o].is_valid() && is_float(outs[o].dtype()) && outs[o].dtype() != options_.dtype)
          outs[o] = outs[o].to(options_.dtype);
        if (n.outputs[o] >= 0)
          values[static_cast<size_t>(n.outputs[o])] = std::move(outs[o]);
      }
      // Free inputs whose last reader this was.
      for (ValueId vid : n.inputs)
        if (!keep_all && vid >= 0 && last_use_[static_cast<size_t>(vid)] == static_cast<int>(k))
          values[static_cast<size_t>(vid)] = Tensor();
    }
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory while executing the model");
  }
  return Status::ok();
}

}  // namespace nncert
