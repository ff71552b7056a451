#include "bounds/crown.h"

#include <algorithm>
#include <memory>
#include <new>

namespace nncert {

namespace {

struct Engine {
  const Graph& g;
  const std::vector<Interval>& inputs;
  std::vector<NodeId> order;
  std::vector<Interval> bounds;  // per value: constants exact, inputs = box, activations' inputs
  ExecContext ctx;

  Interval shape_only(ValueId v) const {
    Tensor z(DType::kF64, g.value(v).shape);
    return {z, z};
  }

  // Bounds of C * value(target), C [S, numel(target)].
  Expected<Interval> backward(ValueId target, const Tensor& c) {
    const int64_t s = c.dim(0);
    std::vector<Tensor> la(g.num_values()), ua(g.num_values());
    la[static_cast<size_t>(target)] = c;
    ua[static_cast<size_t>(target)] = c;
    Tensor lb(DType::kF64, {s}), ub(DType::kF64, {s});
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      const Node& n = g.node(*it);
      if (n.outputs.empty() || n.outputs[0] < 0)
        continue;
      const auto o = static_cast<size_t>(n.outputs[0]);
      for (size_t k = 1; k < n.outputs.size(); ++k)
        if (n.outputs[k] >= 0 && la[static_cast<size_t>(n.outputs[k])].is_valid())
          return Status(ErrorCode::kUnsupported,
                        "CROWN through the second output of node " + n.display());
      if (!la[o].is_valid())
        continue;
      const OpDef* def = find_op(n.op);
      std::vector<Interval> in_b;
      // std::vector<bool> has no contiguous storage to make a span of.
      std::unique_ptr<bool[]> is_const(new bool[n.inputs.size() + 1]);
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const ValueId v = n.inputs[i];
        is_const[i] = v == kNoValue || g.is_constant(v);
        if (v == kNoValue) {
          in_b.emplace_back();
          continue;
        }
        // Data-dependent integers (indices, shapes) are not linear in anything.
        if (!is_const[i] && !is_float(g.value(v).dtype))
          return Status(ErrorCode::kUnsupported,
                        "CROWN through node " + n.display() + ": its integer input '" +
                            g.value(v).name + "' depends on the model input");
        const Interval& b = bounds[static_cast<size_t>(v)];
        in_b.push_back(b.lo.is_valid() ? b : shape_only(v));
      }
      std::span<const bool> cspan(is_const.get(), n.inputs.size());
      std::vector<TypeInfo> out_types;
      for (ValueId v : n.outputs) {
        TypeInfo t;
        if (v >= 0) {
          t.dtype = DType::kF64;
          t.shape = g.value(v).shape;
        } else {
          t.shape_known = false;
        }
        out_types.push_back(t);
      }
      for (int side = 0; side < 2; ++side) {
        const bool lower = side == 0;
        std::vector<Tensor> a_in;
        Status st = def->crown(
            n, in_b, cspan, out_types, lower ? la[o] : ua[o], lower, a_in, lower ? lb : ub, ctx);
        if (!st.is_ok())
          return st.with_context("CROWN through node " + n.display());
        for (size_t i = 0; i < n.inputs.size() && i < a_in.size(); ++i) {
          if (n.inputs[i] < 0 || !a_in[i].is_valid())
            continue;
          Tensor& acc = (lower ? la : ua)[static_cast<size_t>(n.inputs[i])];
          if (!acc.is_valid()) {
            acc = a_in[i];
          } else {
            for (int64_t j = 0; j < acc.numel(); ++j)
              acc.set(j, acc.get(j) + a_in[i].get(j));
          }
        }
      }
      la[o] = Tensor();
      ua[o] = Tensor();
    }
    // Concretise over the input boxes.
    Interval r{lb, ub};
    for (size_t i = 0; i < g.inputs().size(); ++i) {
      const auto v = static_cast<size_t>(g.inputs()[i]);
      if (!la[v].is_valid())
        continue;
      const Tensor xl = bounds[v].lo.to(DType::kF64);
      const Tensor xh = bounds[v].hi.to(DType::kF64);
      const double* pxl = xl.data<double>();
      const double* pxh = xh.data<double>();
      const double* pla = la[v].data<double>();
      const double* pua = ua[v].data<double>();
      const int64_t n = xl.numel();
      for (int64_t row = 0; row < s; ++row) {
        double lo = r.lo.get(row), hi = r.hi.get(row);
        for (int64_t j = 0; j < n; ++j) {
          const double al = pla[row * n + j], au = pua[row * n + j];
          lo += al >= 0 ? al * pxl[j] : al * pxh[j];
          hi += au >= 0 ? au * pxh[j] : au * pxl[j];
        }
        r.lo.set(row, lo);
        r.hi.set(row, hi);
      }
    }
    return r;
  }

  Status ensure_bounds(ValueId v) {
    if (bounds[static_cast<size_t>(v)].lo.is_valid())
      return Status::ok();
    const int64_t n = shape_numel(g.value(v).shape);
    Tensor eye(DType::kF64, {n, n});
    for (int64_t i = 0; i < n; ++i)
      eye.set(i * n + i, 1);
    NNCERT_ASSIGN_OR_RETURN(Interval b, backward(v, eye));
    bounds[static_cast<size_t>(v)] = {b.lo.reshaped(g.value(v).shape),
                                      b.hi.reshaped(g.value(v).shape)};
    return Status::ok();
  }
};

// Whether node n's relaxation reads its non-constant inputs' intervals (OpDef::crown_needs_bounds,
// or per node through crown_needs_bounds_fn).
bool needs_input_bounds(const Graph& g, const Node& n) {
  const OpDef* def = find_op(n.op);
  if (def->crown_needs_bounds_fn == nullptr)
    return def->crown_needs_bounds;
  std::unique_ptr<bool[]> is_const(new bool[n.inputs.size() + 1]);
  for (size_t i = 0; i < n.inputs.size(); ++i)
    is_const[i] = n.inputs[i] == kNoValue || g.is_constant(n.inputs[i]);
  return def->crown_needs_bounds_fn(n, std::span<const bool>(is_const.get(), n.inputs.size()));
}

}  // namespace

Expected<CrownResult> crown_bounds(const Graph& g,
                                   const std::vector<Interval>& inputs,
                                   const std::vector<std::vector<double>>& c,
                                   const BoundOptions& options,
                                   const CrownOptions& crown) {
  NNCERT_RETURN_IF_ERROR(options.validate());
  if (crown.alpha)
    return Status(ErrorCode::kUnsupported, "alpha-CROWN is not available yet");
  if (inputs.size() != g.inputs().size())
    return Status(ErrorCode::kInvalidArgument, "one input interval per graph input is needed");
  std::vector<NodeId> missing;
  for (size_t i = 0; i < g.num_nodes(); ++i) {
    const OpDef* def = find_op(g.node(static_cast<NodeId>(i)).op);
    if (def == nullptr || def->crown == nullptr)
      missing.push_back(static_cast<NodeId>(i));
  }
  if (!missing.empty()) {
    std::string msg = std::to_string(missing.size()) + " node(s) without a CROWN relaxation: ";
    for (size_t i = 0; i < missing.size(); ++i)
      msg += (i ? ", " : "") + g.node(missing[i]).display();
    return Status(ErrorCode::kUnsupported, msg);
  }
  for (ValueId v : g.inputs())
    if (!g.value(v).shape_known || !shape_is_static(g.value(v).shape))
      return Status(ErrorCode::kInvalidArgument,
                    "CROWN needs static input shapes (specialise the batch first)");
  Engine e{g, inputs, {}, std::vector<Interval>(g.num_values()), ExecContext{options.threads}};
  NNCERT_ASSIGN_OR_RETURN(e.order, g.topological_order());
  for (size_t v = 0; v < g.num_values(); ++v) {
    const Value& val = g.value(static_cast<ValueId>(v));
    if (val.constant) {
      Tensor t = is_float(val.constant->dtype()) ? val.constant->to(DType::kF64) : *val.constant;
      e.bounds[v] = {t, t};
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Shape& s = g.value(g.inputs()[i]).shape;
    if (inputs[i].lo.numel() != shape_numel(s) || inputs[i].hi.numel() != shape_numel(s))
      return Status(ErrorCode::kShapeMismatch,
                    "input box " + std::to_string(i) + " does not match the input shape " +
                        shape_to_string(s));
    for (int64_t k = 0; k < inputs[i].lo.numel(); ++k)
      if (!(inputs[i].lo.get(k) <= inputs[i].hi.get(k)))
        return Status(ErrorCode::kInvalidArgument,
                      "input box lower > upper at " + std::to_string(k));
    e.bounds[static_cast<size_t>(g.inputs()[i])] = {inputs[i].lo.to(DType::kF64).reshaped(s),
                                                    inputs[i].hi.to(DType::kF64).reshaped(s)};
  }
  try {
    // Intermediate bounds for every activation input, in topological order.
    for (NodeId id : e.order) {
      const Node& n = g.node(id);
      if (!needs_input_bounds(g, n))
        continue;
      for (ValueId v : n.inputs)
        if (v >= 0 && !g.is_constant(v))
          NNCERT_RETURN_IF_ERROR(e.ensure_bounds(v));
    }
    const ValueId out = g.outputs()[0];
    if (!g.value(out).shape_known || !shape_is_static(g.value(out).shape))
      return Status(ErrorCode::kInvalidArgument, "the output shape is not static");
    const int64_t n_out = shape_numel(g.value(out).shape);
    Tensor cm;
    if (c.empty()) {
      cm = Tensor(DType::kF64, {n_out, n_out});
      for (int64_t i = 0; i < n_out; ++i)
        cm.set(i * n_out + i, 1);
    } else {
      cm = Tensor(DType::kF64, {static_cast<int64_t>(c.size()), n_out});
      for (size_t r = 0; r < c.size(); ++r) {
        if (static_cast<int64_t>(c[r].size()) != n_out)
          return Status(ErrorCode::kShapeMismatch,
                        "spec matrix rows have " + std::to_string(c[r].size()) +
                            " columns, the output has " + std::to_string(n_out) + " values");
        for (int64_t j = 0; j < n_out; ++j)
          cm.set(static_cast<int64_t>(r) * n_out + j, c[r][static_cast<size_t>(j)]);
      }
    }
    CrownResult result;
    if (g.is_constant(out)) {
      // A constant output: C times the constant.
      const Tensor& y = e.bounds[static_cast<size_t>(out)].lo;
      Tensor v(DType::kF64, {cm.dim(0)});
      for (int64_t r = 0; r < cm.dim(0); ++r) {
        double acc = 0;
        for (int64_t j = 0; j < n_out; ++j)
          acc += cm.get(r * n_out + j) * y.get(j);
        v.set(r, acc);
      }
      result.bounds = {v, v};
    } else {
      NNCERT_ASSIGN_OR_RETURN(result.bounds, e.backward(out, cm));
    }
    result.intermediate = std::move(e.bounds);
    return result;
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory during CROWN");
  }
}

}  // namespace nncert
