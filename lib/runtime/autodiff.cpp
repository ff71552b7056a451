#include "runtime/autodiff.h"

#include <memory>
#include <new>

#include "ops/op_def.h"

namespace nncert {

namespace {
// acc += g (same shape and dtype)
void accumulate(Tensor& acc, const Tensor& g) {
  if (!acc.is_valid()) {
    acc = g.clone();
    return;
  }
  if (acc.dtype() == DType::kF32 && g.dtype() == DType::kF32) {
    float* pa = acc.data<float>();
    const float* pg = g.data<float>();
    for (int64_t i = 0; i < acc.numel(); ++i)
      pa[i] += pg[i];
  } else if (acc.dtype() == DType::kF64 && g.dtype() == DType::kF64) {
    double* pa = acc.data<double>();
    const double* pg = g.data<double>();
    for (int64_t i = 0; i < acc.numel(); ++i)
      pa[i] += pg[i];
  } else {
    for (int64_t i = 0; i < acc.numel(); ++i)
      acc.set(i, acc.get(i) + g.get(i));
  }
}
}  // namespace

Expected<GradientResult> gradient(const Graph& g,
                                  const std::vector<Tensor>& inputs,
                                  const std::vector<Tensor>& given_grads,
                                  const RunOptions& options,
                                  const GradientOptions& grad_options) {
  if (!grad_options.seeds && given_grads.size() != g.outputs().size())
    return Status(ErrorCode::kInvalidArgument, "need one output gradient per graph output");
  std::vector<NodeId> missing;
  for (size_t i = 0; i < g.num_nodes(); ++i) {
    const OpDef* def = find_op(g.node(static_cast<NodeId>(i)).op);
    if (def == nullptr || def->vjp == nullptr)
      missing.push_back(static_cast<NodeId>(i));
  }
  if (!missing.empty()) {
    std::string msg = std::to_string(missing.size()) + " node(s) without a gradient rule: ";
    for (size_t i = 0; i < missing.size(); ++i)
      msg += (i ? ", " : "") + g.node(missing[i]).display();
    return Status(ErrorCode::kUnsupported, msg);
  }
  NNCERT_ASSIGN_OR_RETURN(Executor ex, Executor::create(g, options));
  NNCERT_ASSIGN_OR_RETURN(std::vector<Tensor> values, ex.run_all(inputs));
  NNCERT_ASSIGN_OR_RETURN(auto order, g.topological_order());
  // wanted[v]: v depends on a value whose gradient is asked for. With parameter_grads that is
  // every value (weights included); without, the values downstream of a graph input. Unwanted
  // values get no gradient, and a VJP whose inputs are all unwanted is skipped.
  const bool all = grad_options.parameter_grads && grad_options.parameters.empty();
  std::vector<char> wanted(g.num_values(), all ? 1 : 0);
  if (!all) {
    if (grad_options.parameter_grads) {
      for (ValueId v : grad_options.parameters)
        if (v >= 0 && static_cast<size_t>(v) < g.num_values())
          wanted[static_cast<size_t>(v)] = 1;
    } else {
      for (ValueId v : g.inputs())
        wanted[static_cast<size_t>(v)] = 1;
    }
    for (NodeId id : order) {
      const Node& n = g.node(id);
      bool any = false;
      for (ValueId v : n.inputs)
        any = any || (v >= 0 && wanted[static_cast<size_t>(v)]);
      for (ValueId v : n.outputs)
        if (v >= 0)
          wanted[static_cast<size_t>(v)] = any || wanted[static_cast<size_t>(v)] ? 1 : 0;
    }
  }
  GradientResult r;
  for (ValueId o : g.outputs())
    r.outputs.push_back(values[static_cast<size_t>(o)]);
  std::vector<Tensor> computed;
  if (grad_options.seeds) {
    NNCERT_ASSIGN_OR_RETURN(computed, grad_options.seeds(r.outputs));
    if (computed.size() != g.outputs().size())
      return Status(ErrorCode::kInvalidArgument, "need one output gradient per graph output");
  }
  const std::vector<Tensor>& output_grads = grad_options.seeds ? computed : given_grads;
  std::vector<Tensor>& grads = r.value_grads;
  grads.assign(g.num_values(), Tensor());
  for (size_t k = 0; k < g.outputs().size(); ++k) {
    const Tensor& seed = output_grads[k];
    if (!seed.is_valid())
      continue;
    const Tensor& y = r.outputs[k];
    if (seed.shape() != y.shape())
      return Status(ErrorCode::kShapeMismatch,
                    "output gradient " + std::to_string(k) + " has shape " +
                        shape_to_string(seed.shape()) + ", the output " +
                        shape_to_string(y.shape()));
    accumulate(grads[static_cast<size_t>(g.outputs()[k])], seed.to(y.dtype()));
  }
  ExecContext ctx{options.threads};
  std::unique_ptr<bool[]> need;
  size_t need_size = 0;
  try {
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      const Node& n = g.node(*it);
      std::vector<Tensor> gout;
      bool any = false;
      for (ValueId o : n.outputs) {
        gout.push_back(o >= 0 ? grads[static_cast<size_t>(o)] : Tensor());
        any = any || gout.back().is_valid();
      }
      const size_t n_in = n.inputs.size();
      if (need_size < n_in) {
        need.reset(new bool[n_in]);
        need_size = n_in;
      }
      bool any_in = false;
      for (size_t i = 0; i < n_in; ++i) {
        need[i] = n.inputs[i] >= 0 && wanted[static_cast<size_t>(n.inputs[i])];
        any_in = any_in || need[i];
      }
      if (!any || !any_in)
        continue;
      ctx.need_grad = std::span<const bool>(need.get(), n_in);
      std::vector<Tensor> in, out;
      for (ValueId v : n.inputs)
        in.push_back(v >= 0 ? values[static_cast<size_t>(v)] : Tensor());
      for (ValueId v : n.outputs)
        out.push_back(v >= 0 ? values[static_cast<size_t>(v)] : Tensor());
      std::vector<Tensor> gin(in.size());
      Status st = find_op(n.op)->vjp(n, in, out, gout, gin, ctx);
      if (!st.is_ok())
        return st.with_context("gradient of node " + n.display());
      for (size_t i = 0; i < n.inputs.size() && i < gin.size(); ++i) {
        if (!need[i] || !gin[i].is_valid())
          continue;  // absent, not wanted (rules may compute more than asked) or no gradient
        if (gin[i].shape() != in[i].shape())
          return Status(ErrorCode::kInternal,
                        "gradient rule of " + n.display() + " returned shape " +
                            shape_to_string(gin[i].shape()) + " for input " + std::to_string(i));
        accumulate(grads[static_cast<size_t>(n.inputs[i])], gin[i]);
      }
    }
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory while computing gradients");
  }
  return r;
}

}  // namespace nncert
