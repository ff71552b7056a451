#include "bounds/forward.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <string>

namespace nncert {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool shares(const Tensor& a, const Tensor& b) {
  return a.raw() == b.raw();
}

Tensor as_f64(const Tensor& t) {
  return is_float(t.dtype()) ? t.to(DType::kF64) : t;
}

struct Engine {
  Engine(const Graph& graph, const ForwardOptions& options, ExecContext c)
      : g(graph), opt(options), ctx(c) {}

  const Graph& g;
  const ForwardOptions& opt;
  ExecContext ctx;
  int64_t n = 0;                  // number of input variables
  std::vector<double> xl, xh;     // the input box, flattened and concatenated
  std::vector<bool> variable;     // per value: depends on the graph input
  std::vector<LinearBounds> lin;  // per value: its linear bounds (released after the last use)
  std::vector<Interval> box;      // per value: concretised bounds (intersected with IBP)
  std::vector<Interval> ibp;      // per value: IBP intervals (intersect_ibp only)

  // min / max of the linear bounds over the input box.
  Interval concretise(const LinearBounds& b) const {
    const int64_t m = b.lb.numel();
    Interval r{b.lb.to(DType::kF64).clone(), b.ub.to(DType::kF64).clone()};
    double* lo = r.lo.data<double>();
    double* hi = r.hi.data<double>();
    const double* lw = b.lw.data<double>();
    const double* uw = b.uw.data<double>();
    for (int64_t k = 0; k < n; ++k) {
      const double a = xl[static_cast<size_t>(k)], c = xh[static_cast<size_t>(k)];
      const double* lr = lw + k * m;
      const double* ur = uw + k * m;
      for (int64_t j = 0; j < m; ++j) {
        lo[j] += lr[j] >= 0 ? lr[j] * a : lr[j] * c;
        hi[j] += ur[j] >= 0 ? ur[j] * c : ur[j] * a;
      }
    }
    for (int64_t j = 0; j < m; ++j) {  // NaN (0 * inf, inf - inf) means nothing is known
      if (std::isnan(lo[j]))
        lo[j] = -kInf;
      if (std::isnan(hi[j]))
        hi[j] = kInf;
    }
    return r;
  }

  // box[v] from lin[v], intersected with IBP.
  void set_box(ValueId v) {
    const auto i = static_cast<size_t>(v);
    Interval r = concretise(lin[i]);
    if (opt.intersect_ibp && ibp[i].lo.is_valid()) {
      const Tensor il = ibp[i].lo.to(DType::kF64), ih = ibp[i].hi.to(DType::kF64);
      double* lo = r.lo.data<double>();
      double* hi = r.hi.data<double>();
      for (int64_t j = 0; j < r.lo.numel(); ++j) {
        lo[j] = std::max(lo[j], il.get(j));
        hi[j] = std::min(hi[j], ih.get(j));
        // Two sound bounds can only cross by rounding: keep both ends.
        if (lo[j] > hi[j])
          std::swap(lo[j], hi[j]);
      }
    }
    box[i] = std::move(r);
  }

  std::vector<TypeInfo> out_types(const Node& node) const {
    std::vector<TypeInfo> types;
    for (ValueId v : node.outputs) {
      TypeInfo t;
      if (v >= 0) {
        t.dtype = is_float(g.value(v).dtype) ? DType::kF64 : g.value(v).dtype;
        t.shape = g.value(v).shape;
      } else {
        t.shape_known = false;
      }
      types.push_back(std::move(t));
    }
    return types;
  }

  // An element-wise activation: its relaxation lines over the input's interval, composed with
  // the input's linear bounds (a negative slope takes the other side).
  Status relax_node(const Node& node, const OpDef& def, std::vector<LinearBounds>& out) {
    const auto x = static_cast<size_t>(node.inputs[0]);
    const LinearBounds& b = lin[x];
    ElementRelaxation r;
    NNCERT_RETURN_IF_ERROR(def.relax(node, box[x], nullptr, r, nullptr));
    const Shape& shape = g.value(node.outputs[0]).shape;
    const int64_t m = b.lb.numel();
    if (shape_numel(shape) != m || r.al.numel() != m)
      return {ErrorCode::kInternal, "an element-wise relaxation changed the number of elements"};
    const Tensor al = r.al.to(DType::kF64), bl = r.bl.to(DType::kF64);
    const Tensor au = r.au.to(DType::kF64), bu = r.bu.to(DType::kF64);
    const double *pal = al.data<double>(), *pbl = bl.data<double>();
    const double *pau = au.data<double>(), *pbu = bu.data<double>();
    LinearBounds o{Tensor(DType::kF64, {n, m}),
                   Tensor(DType::kF64, shape),
                   Tensor(DType::kF64, {n, m}),
                   Tensor(DType::kF64, shape)};
    const double *xlb = b.lb.data<double>(), *xub = b.ub.data<double>();
    const double *xlw = b.lw.data<double>(), *xuw = b.uw.data<double>();
    double *olb = o.lb.data<double>(), *oub = o.ub.data<double>();
    double *olw = o.lw.data<double>(), *ouw = o.uw.data<double>();
    // lower: al >= 0 scales the input's lower function, al < 0 its upper; upper the reverse.
    for (int64_t j = 0; j < m; ++j) {
      olb[j] = pal[j] * (pal[j] >= 0 ? xlb[j] : xub[j]) + pbl[j];
      oub[j] = pau[j] * (pau[j] >= 0 ? xub[j] : xlb[j]) + pbu[j];
    }
    for (int64_t k = 0; k < n; ++k) {
      const int64_t row = k * m;
      for (int64_t j = 0; j < m; ++j) {
        olw[row + j] = pal[j] * (pal[j] >= 0 ? xlw : xuw)[row + j];
        ouw[row + j] = pau[j] * (pau[j] >= 0 ? xuw : xlw)[row + j];
      }
    }
    out.assign(1, std::move(o));
    return Status::ok();
  }

  // Constant bounds from the op's interval rule on the inputs' intervals.
  Status ibp_node(const Node& node, const OpDef& def, std::vector<LinearBounds>& out) {
    std::vector<Interval> in;
    for (ValueId v : node.inputs)
      in.push_back(v == kNoValue ? Interval{} : box[static_cast<size_t>(v)]);
    std::vector<Interval> iv;
    NNCERT_RETURN_IF_ERROR(def.ibp(node, in, out_types(node), iv, ctx));
    out.assign(node.outputs.size(), LinearBounds());
    for (size_t k = 0; k < node.outputs.size() && k < iv.size(); ++k) {
      if (node.outputs[k] == kNoValue || !is_float(iv[k].lo.dtype()))
        continue;
      Interval r{iv[k].lo.to(DType::kF64).clone(), iv[k].hi.to(DType::kF64).clone()};
      for (int64_t j = 0; j < r.lo.numel(); ++j) {
        if (std::isnan(r.lo.get(j)))
          r.lo.set(j, -kInf);
        if (std::isnan(r.hi.get(j)))
          r.hi.set(j, kInf);
      }
      const Tensor zero(DType::kF64, {n, r.lo.numel()});
      out[k] = {zero, r.lo, zero, r.hi};
    }
    return Status::ok();
  }

  // A node all of whose inputs are constant (not folded): its value, exactly.
  Status constant_node(const Node& node, const OpDef& def, std::vector<LinearBounds>& out) {
    std::vector<Tensor> in;
    for (ValueId v : node.inputs)
      in.push_back(v == kNoValue ? Tensor() : lin[static_cast<size_t>(v)].lb);
    std::vector<Tensor> y(node.outputs.size());
    NNCERT_RETURN_IF_ERROR(def.forward(node, in, out_types(node), y, ctx));
    out.assign(node.outputs.size(), LinearBounds());
    for (size_t k = 0; k < y.size(); ++k)
      out[k] = {Tensor(), as_f64(y[k]), Tensor(), as_f64(y[k])};
    return Status::ok();
  }

  Status run_node(const Node& node) {
    const OpDef& def = *find_op(node.op);
    bool any_variable = false;
    for (ValueId v : node.inputs) {
      if (v == kNoValue || !variable[static_cast<size_t>(v)])
        continue;
      any_variable = true;
      // Data-dependent integers (indices, shapes) are not linear in anything.
      if (!is_float(g.value(v).dtype))
        return Status(ErrorCode::kUnsupported,
                      "forward-mode bounds through node " + node.display() +
                          ": its integer input '" + g.value(v).name +
                          "' depends on the model input");
      if (!lin[static_cast<size_t>(v)].lw.is_valid())
        return Status(ErrorCode::kInternal, "no linear bounds for '" + g.value(v).name + "'");
    }
    std::vector<LinearBounds> out;
    if (!any_variable) {
      NNCERT_RETURN_IF_ERROR(constant_node(node, def, out));
    } else if (def.relax != nullptr && node.inputs[0] != kNoValue &&
               variable[static_cast<size_t>(node.inputs[0])]) {
      NNCERT_RETURN_IF_ERROR(relax_node(node, def, out));
    } else if (def.bound_forward != nullptr) {
      std::vector<LinearBounds> in;
      for (ValueId v : node.inputs)
        in.push_back(v == kNoValue ? LinearBounds{} : lin[static_cast<size_t>(v)]);
      NNCERT_RETURN_IF_ERROR(def.bound_forward(node, in, out_types(node), out, ctx));
    } else if (opt.ibp_fallback && def.ibp != nullptr) {
      NNCERT_RETURN_IF_ERROR(ibp_node(node, def, out));
    } else {
      return Status(ErrorCode::kUnsupported,
                    "no forward-mode bound rule for node " + node.display());
    }
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      const ValueId v = node.outputs[k];
      if (v == kNoValue)
        continue;
      const auto i = static_cast<size_t>(v);
      if (k >= out.size() || !out[k].lb.is_valid()) {
        if (variable[i] && is_float(g.value(v).dtype))
          return Status(ErrorCode::kInternal, "no bounds for output '" + g.value(v).name + "'");
        continue;
      }
      if (out[k].lb.numel() != shape_numel(g.value(v).shape))
        return Status(ErrorCode::kInternal,
                      "bounds of '" + g.value(v).name + "' have " +
                          std::to_string(out[k].lb.numel()) + " elements, expected " +
                          shape_to_string(g.value(v).shape));
      lin[i] = std::move(out[k]);
      if (lin[i].lw.is_valid())
        set_box(v);
      else
        box[i] = {lin[i].lb, lin[i].ub};
    }
    return Status::ok();
  }
};

Expected<Tensor> spec_matrix(const std::vector<std::vector<double>>& c, int64_t n_out) {
  if (c.empty()) {
    Tensor cm(DType::kF64, {n_out, n_out});
    for (int64_t i = 0; i < n_out; ++i)
      cm.set(i * n_out + i, 1);
    return cm;
  }
  Tensor cm(DType::kF64, {static_cast<int64_t>(c.size()), n_out});
  for (size_t r = 0; r < c.size(); ++r) {
    if (static_cast<int64_t>(c[r].size()) != n_out)
      return Status(ErrorCode::kShapeMismatch,
                    "spec matrix rows have " + std::to_string(c[r].size()) +
                        " columns, the output has " + std::to_string(n_out) + " values");
    for (int64_t j = 0; j < n_out; ++j)
      cm.set(static_cast<int64_t>(r) * n_out + j, c[r][static_cast<size_t>(j)]);
  }
  return cm;
}

}  // namespace

Expected<ForwardResult> forward_bounds(const Graph& g,
                                       const std::vector<Interval>& inputs,
                                       const std::vector<std::vector<double>>& c,
                                       const BoundOptions& options,
                                       const ForwardOptions& forward) {
  NNCERT_RETURN_IF_ERROR(options.validate());
  if (inputs.size() != g.inputs().size())
    return Status(ErrorCode::kInvalidArgument, "one input interval per graph input is needed");
  if (g.outputs().empty())
    return Status(ErrorCode::kInvalidArgument, "the graph has no output");
  NNCERT_ASSIGN_OR_RETURN(auto order, g.topological_order());
  Engine e(g, forward, ExecContext{options.threads});
  e.variable.assign(g.num_values(), false);
  e.lin.resize(g.num_values());
  e.box.resize(g.num_values());
  for (ValueId v : g.inputs()) {
    if (!g.value(v).shape_known || !shape_is_static(g.value(v).shape))
      return Status(ErrorCode::kInvalidArgument,
                    "forward-mode bounds need static input shapes (specialise the batch first)");
    e.variable[static_cast<size_t>(v)] = true;
  }
  // Which values depend on the input, and which of those nodes have no rule.
  std::vector<NodeId> missing;
  std::vector<int> uses(g.num_values(), 0);
  for (NodeId id : order) {
    const Node& n = g.node(id);
    bool any = false;
    for (ValueId v : n.inputs)
      if (v != kNoValue) {
        any = any || e.variable[static_cast<size_t>(v)];
        ++uses[static_cast<size_t>(v)];
      }
    const OpDef* def = find_op(n.op);
    if (def == nullptr) {
      missing.push_back(id);
      continue;
    }
    if (!any)
      continue;
    for (ValueId v : n.outputs)
      if (v != kNoValue)
        e.variable[static_cast<size_t>(v)] = true;
    const bool has_rule = def->relax != nullptr || def->bound_forward != nullptr ||
                          (forward.ibp_fallback && def->ibp != nullptr);
    if (!has_rule)
      missing.push_back(id);
  }
  if (!missing.empty()) {
    std::string msg =
        std::to_string(missing.size()) + " node(s) without a forward-mode bound rule: ";
    for (size_t i = 0; i < missing.size(); ++i)
      msg += (i ? ", " : "") + g.node(missing[i]).display();
    return Status(ErrorCode::kUnsupported, msg);
  }
  const ValueId out = g.outputs()[0];
  if (!g.value(out).shape_known || !shape_is_static(g.value(out).shape))
    return Status(ErrorCode::kInvalidArgument, "the output shape is not static");
  if (!is_float(g.value(out).dtype))
    return Status(ErrorCode::kInvalidArgument, "the output is not a floating-point value");
  const int64_t n_out = shape_numel(g.value(out).shape);
  NNCERT_ASSIGN_OR_RETURN(Tensor cm, spec_matrix(c, n_out));
  try {
    if (forward.intersect_ibp) {
      NNCERT_ASSIGN_OR_RETURN(e.ibp,
                              ibp_all(g, inputs, BoundOptions{DType::kF64, options.threads}));
    } else {
      e.ibp.resize(g.num_values());
    }
    for (size_t v = 0; v < g.num_values(); ++v) {
      const Value& val = g.value(static_cast<ValueId>(v));
      if (val.constant) {
        const Tensor t = as_f64(*val.constant);
        e.lin[v] = {Tensor(), t, Tensor(), t};
        e.box[v] = {t, t};
      }
    }
    // The input: x itself, identity coefficients over its slice of the n variables.
    for (size_t i = 0; i < inputs.size(); ++i)
      e.n += shape_numel(g.value(g.inputs()[i]).shape);
    int64_t offset = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const ValueId v = g.inputs()[i];
      const Shape& s = g.value(v).shape;
      const int64_t m = shape_numel(s);
      if (inputs[i].lo.numel() != m || inputs[i].hi.numel() != m)
        return Status(ErrorCode::kShapeMismatch,
                      "input box " + std::to_string(i) + " does not match the input shape " +
                          shape_to_string(s));
      for (int64_t j = 0; j < m; ++j)
        if (!(inputs[i].lo.get(j) <= inputs[i].hi.get(j)))
          return Status(ErrorCode::kInvalidArgument,
                        "input box " + std::to_string(i) + ": lower > upper (or NaN) at " +
                            std::to_string(j));
      Tensor w(DType::kF64, {e.n, m});
      for (int64_t j = 0; j < m; ++j) {
        w.set((offset + j) * m + j, 1);
        e.xl.push_back(inputs[i].lo.get(j));
        e.xh.push_back(inputs[i].hi.get(j));
      }
      const Tensor zero(DType::kF64, s);
      e.lin[static_cast<size_t>(v)] = {w, zero, w, zero};
      e.box[static_cast<size_t>(v)] = {inputs[i].lo.to(DType::kF64).reshaped(s),
                                       inputs[i].hi.to(DType::kF64).reshaped(s)};
      offset += m;
    }
    for (NodeId id : order) {
      const Node& n = g.node(id);
      Status st = e.run_node(n);
      if (!st.is_ok())
        return st.with_context("forward-mode bounds of node " + n.display());
      // Linear bounds are kept only while a later node reads them (the output always).
      for (ValueId v : n.inputs) {
        if (v == kNoValue)
          continue;
        const auto i = static_cast<size_t>(v);
        if (--uses[i] == 0 && v != out && e.variable[i])
          e.lin[i] = LinearBounds();
      }
    }
    // C folded at the end: lower(C y) = C+ (Lw^T x + lb) + C- (Uw^T x + ub), upper the reverse.
    const int64_t s = cm.dim(0);
    const int64_t n = e.n;
    ForwardResult r;
    r.lw = Tensor(DType::kF64, {s, n});
    r.uw = Tensor(DType::kF64, {s, n});
    r.lb = Tensor(DType::kF64, {s});
    r.ub = Tensor(DType::kF64, {s});
    const LinearBounds& y = e.lin[static_cast<size_t>(out)];
    const Tensor ylb = y.lb.to(DType::kF64), yub = y.ub.to(DType::kF64);
    const double* pc = cm.data<double>();
    double *lw = r.lw.data<double>(), *uw = r.uw.data<double>();
    double *lb = r.lb.data<double>(), *ub = r.ub.data<double>();
    for (int64_t row = 0; row < s; ++row) {
      for (int64_t j = 0; j < n_out; ++j) {
        const double cj = pc[row * n_out + j];
        if (cj == 0)
          continue;
        const bool pos = cj > 0;
        lb[row] += cj * (pos ? ylb : yub).get(j);
        ub[row] += cj * (pos ? yub : ylb).get(j);
        if (!y.lw.is_valid())
          continue;  // a constant output
        const double* wl = (pos ? y.lw : y.uw).data<double>();
        const double* wu = (pos ? y.uw : y.lw).data<double>();
        for (int64_t k = 0; k < n; ++k) {
          lw[row * n + k] += cj * wl[k * n_out + j];
          uw[row * n + k] += cj * wu[k * n_out + j];
        }
      }
    }
    // Concretise the [S, n] rows.
    r.bounds = {r.lb.clone(), r.ub.clone()};
    for (int64_t row = 0; row < s; ++row) {
      double lo = r.bounds.lo.get(row), hi = r.bounds.hi.get(row);
      for (int64_t k = 0; k < n; ++k) {
        const double a = e.xl[static_cast<size_t>(k)], b = e.xh[static_cast<size_t>(k)];
        const double wl = lw[row * n + k], wu = uw[row * n + k];
        lo += wl >= 0 ? wl * a : wl * b;
        hi += wu >= 0 ? wu * b : wu * a;
      }
      r.bounds.lo.set(row, std::isnan(lo) ? -kInf : lo);
      r.bounds.hi.set(row, std::isnan(hi) ? kInf : hi);
    }
    // One shared tensor where lower and upper are the same function (an exact output).
    if (y.lw.is_valid() && shares(y.lw, y.uw) && shares(y.lb, y.ub)) {
      r.uw = r.lw;
      r.ub = r.lb;
    }
    r.intermediate = std::move(e.box);
    return r;
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory during forward-mode bounds");
  }
}

}  // namespace nncert
