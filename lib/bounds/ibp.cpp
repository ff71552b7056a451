#include "bounds/ibp.h"

#include <cmath>
#include <limits>
#include <new>

#include "bounds/rounding.h"
#include "passes/passes.h"

namespace nncert {

Status BoundOptions::validate() const {
  if (!is_float(dtype))
    return {ErrorCode::kInvalidArgument, "bound dtype must be float32/64"};
  if (threads < 0)
    return {ErrorCode::kInvalidArgument, "threads must be >= 0"};
  return Status::ok();
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// NaN endpoints mean "nothing known": widen them.
void widen_nan(Interval& v) {
  for (int64_t i = 0; i < v.lo.numel(); ++i) {
    if (std::isnan(v.lo.get(i)))
      v.lo.set(i, -kInf);
    if (std::isnan(v.hi.get(i)))
      v.hi.set(i, kInf);
  }
}

Interval exact(const Tensor& t) {
  return {t, t};
}

}  // namespace

Expected<std::vector<Interval>> ibp_node(const Graph& g,
                                         const Node& n,
                                         const std::vector<Interval>& val,
                                         DType dtype,
                                         const ExecContext& ctx) {
  const OpDef* def = find_op(n.op);
  if (def == nullptr || def->ibp == nullptr)
    return Status(ErrorCode::kUnsupported, "no interval rule for node " + n.display());
  std::vector<Interval> in;
  std::vector<TypeInfo> types, out_types;
  for (ValueId v : n.inputs) {
    TypeInfo ti;
    if (v == kNoValue) {
      in.emplace_back();
      ti.shape_known = false;
    } else {
      const Interval& iv = val[static_cast<size_t>(v)];
      if (!iv.lo.is_valid())
        return Status(ErrorCode::kInternal, "no interval for '" + g.value(v).name + "'");
      in.push_back(iv);
      ti.dtype = iv.lo.dtype();
      ti.shape = iv.lo.shape();
      // Shape rules may read values (Reshape's target): those inputs are exact.
      if (iv.lo.raw() == iv.hi.raw())
        ti.value = iv.lo;
    }
    types.push_back(std::move(ti));
  }
  Status st = def->infer(n, types, out_types);
  if (!st.is_ok())
    return st.with_context("node " + n.display());
  out_types.resize(n.outputs.size());
  std::vector<Interval> out;
  st = def->ibp(n, in, out_types, out, ctx);
  if (!st.is_ok())
    return st.with_context("interval bounds of node " + n.display());
  for (size_t k = 0; k < n.outputs.size() && k < out.size(); ++k) {
    if (n.outputs[k] == kNoValue)
      continue;
    Interval& o = out[k];
    if (is_float(o.lo.dtype()) && o.lo.dtype() != dtype) {
      o.lo = o.lo.to(dtype);
      o.hi = o.hi.to(dtype);
    }
    if (is_float(o.lo.dtype()))
      widen_nan(o);
  }
  return out;
}

Expected<std::vector<Interval>> ibp_all(const Graph& g,
                                        const std::vector<Interval>& inputs,
                                        const BoundOptions& options) {
  NNCERT_RETURN_IF_ERROR(options.validate());
  if (inputs.size() != g.inputs().size())
    return Status(ErrorCode::kInvalidArgument,
                  "the model has " + std::to_string(g.inputs().size()) + " inputs, got " +
                      std::to_string(inputs.size()) + " intervals");
  std::vector<NodeId> missing;
  for (size_t i = 0; i < g.num_nodes(); ++i) {
    const OpDef* def = find_op(g.node(static_cast<NodeId>(i)).op);
    if (def == nullptr || def->ibp == nullptr)
      missing.push_back(static_cast<NodeId>(i));
  }
  if (!missing.empty()) {
    std::string msg = std::to_string(missing.size()) + " node(s) without an interval rule: ";
    for (size_t i = 0; i < missing.size(); ++i)
      msg += (i ? ", " : "") + g.node(missing[i]).display();
    return Status(ErrorCode::kUnsupported, msg);
  }
  NNCERT_ASSIGN_OR_RETURN(auto order, g.topological_order());
  std::vector<Interval> val(g.num_values());
  for (size_t v = 0; v < g.num_values(); ++v) {
    const Value& value = g.value(static_cast<ValueId>(v));
    if (value.constant)
      val[v] = exact(is_float(value.constant->dtype()) ? value.constant->to(options.dtype)
                                                       : *value.constant);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Interval& in = inputs[i];
    if (!in.lo.is_valid() || !in.hi.is_valid() || in.lo.shape() != in.hi.shape())
      return Status(ErrorCode::kInvalidArgument,
                    "input interval " + std::to_string(i) + " needs lower and upper of one shape");
    for (int64_t k = 0; k < in.lo.numel(); ++k)
      if (!(in.lo.get(k) <= in.hi.get(k)))
        return Status(ErrorCode::kInvalidArgument,
                      "input interval " + std::to_string(i) + ": lower > upper (or NaN) at " +
                          std::to_string(k));
    const DType dt = is_float(in.lo.dtype()) ? options.dtype : in.lo.dtype();
    val[static_cast<size_t>(g.inputs()[i])] = {in.lo.to(dt), in.hi.to(dt)};
  }
  ExecContext ctx{options.threads};
  const double gamma = options.safe_rounding ? rounding_gamma(g, options.dtype) : 0.0;
  try {
    for (NodeId id : order) {
      const Node& n = g.node(id);
      NNCERT_ASSIGN_OR_RETURN(auto out, ibp_node(g, n, val, options.dtype, ctx));
      if (options.safe_rounding) {
        NNCERT_ASSIGN_OR_RETURN(Tensor m, output_magnitude(g, n, val, ctx));
        for (size_t k = 0; k < out.size(); ++k)
          widen_interval(out[k], k == 0 ? m : Tensor(), gamma);
      }
      for (size_t k = 0; k < n.outputs.size() && k < out.size(); ++k)
        if (n.outputs[k] != kNoValue)
          val[static_cast<size_t>(n.outputs[k])] = std::move(out[k]);
    }
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory during interval propagation");
  }
  return val;
}

Expected<std::vector<Interval>> ibp_outputs(const Graph& g,
                                            const std::vector<Interval>& inputs,
                                            const BoundOptions& options) {
  NNCERT_ASSIGN_OR_RETURN(auto all, ibp_all(g, inputs, options));
  std::vector<Interval> out;
  for (ValueId o : g.outputs())
    out.push_back(all[static_cast<size_t>(o)]);
  return out;
}

namespace {

// The last layer as y = h * W + b (W [K, N] row-major as doubles, b [N]), when the first output is
// produced by Gemm (transA = 0), MatMul, or Add(MatMul, constant) with constant weights.
struct LastLinear {
  ValueId h = kNoValue;
  int64_t k = 0, n = 0;
  std::vector<double> w, b;
};

std::optional<LastLinear> last_linear(const Graph& g) {
  const ValueId y = g.outputs()[0];
  NodeId pid = g.value(y).producer;
  if (pid == kNoNode)
    return std::nullopt;
  const Node* node = &g.node(pid);
  LastLinear ll;
  std::vector<double> add_bias;
  if (node->op == "Add" && node->inputs.size() == 2) {
    const int ci = g.is_constant(node->inputs[1]) ? 1 : (g.is_constant(node->inputs[0]) ? 0 : -1);
    if (ci < 0)
      return std::nullopt;
    const ValueId other = node->inputs[static_cast<size_t>(1 - ci)];
    if (g.value(other).producer == kNoNode || g.consumers(other).size() != 1)
      return std::nullopt;
    add_bias = g.value(node->inputs[static_cast<size_t>(ci)]).constant->to_double_vector();
    node = &g.node(g.value(other).producer);
    if (node->op != "MatMul")
      return std::nullopt;
  }
  if (node->op != "Gemm" && node->op != "MatMul")
    return std::nullopt;
  if (node->inputs.size() < 2 || !g.is_constant(node->inputs[1]) || g.is_constant(node->inputs[0]))
    return std::nullopt;
  const Tensor& w = *g.value(node->inputs[1]).constant;
  if (w.rank() != 2)
    return std::nullopt;
  const Value& hv = g.value(node->inputs[0]);
  if (!hv.shape_known || hv.shape.size() != 2 || hv.shape[0] != 1)
    return std::nullopt;
  double alpha = 1, beta = 1;
  bool tb = false;
  if (node->op == "Gemm") {
    if (node->attrs.get_int("transA", 0) != 0)
      return std::nullopt;
    tb = node->attrs.get_int("transB", 0) != 0;
    alpha = node->attrs.get_float("alpha", 1);
    beta = node->attrs.get_float("beta", 1);
  }
  ll.h = node->inputs[0];
  ll.k = tb ? w.dim(1) : w.dim(0);
  ll.n = tb ? w.dim(0) : w.dim(1);
  ll.w.resize(static_cast<size_t>(ll.k * ll.n));
  for (int64_t i = 0; i < ll.k; ++i)
    for (int64_t j = 0; j < ll.n; ++j)
      ll.w[static_cast<size_t>(i * ll.n + j)] = alpha * w.get(tb ? j * ll.k + i : i * ll.n + j);
  ll.b.assign(static_cast<size_t>(ll.n), 0.0);
  if (node->op == "Gemm" && node->inputs.size() > 2 && node->inputs[2] != kNoValue) {
    if (!g.is_constant(node->inputs[2]))
      return std::nullopt;
    const Tensor& c = *g.value(node->inputs[2]).constant;
    if (c.numel() != ll.n && c.numel() != 1)
      return std::nullopt;
    for (int64_t j = 0; j < ll.n; ++j)
      ll.b[static_cast<size_t>(j)] = beta * c.get(c.numel() == 1 ? 0 : j);
  }
  if (!add_bias.empty()) {
    if (static_cast<int64_t>(add_bias.size()) != ll.n && add_bias.size() != 1)
      return std::nullopt;
    for (int64_t j = 0; j < ll.n; ++j)
      ll.b[static_cast<size_t>(j)] += add_bias[add_bias.size() == 1 ? 0 : static_cast<size_t>(j)];
  }
  return ll;
}

// Interval of sum_j m[r][j] * x_j + c_r over x in [lo, hi] (centre/radius).
Interval affine_interval(const std::vector<std::vector<double>>& m,
                         const std::vector<double>& c,
                         const Tensor& lo,
                         const Tensor& hi,
                         DType dtype) {
  const auto rows = static_cast<int64_t>(m.size());
  Interval r{Tensor(dtype, {rows}), Tensor(dtype, {rows})};
  for (int64_t i = 0; i < rows; ++i) {
    double mid = c[static_cast<size_t>(i)], rad = 0;
    for (int64_t j = 0; j < lo.numel(); ++j) {
      const double a = m[static_cast<size_t>(i)][static_cast<size_t>(j)];
      const double xm = lo.get(j) + (hi.get(j) - lo.get(j)) / 2;
      const double xr = (hi.get(j) - lo.get(j)) / 2;
      mid += a * xm;
      rad += std::abs(a) * xr;
    }
    r.lo.set(i, mid - rad);
    r.hi.set(i, mid + rad);
  }
  widen_nan(r);
  return r;
}

}  // namespace

Expected<Interval> ibp_spec(const Graph& g,
                            const std::vector<Interval>& inputs,
                            const std::vector<std::vector<double>>& c,
                            const BoundOptions& options) {
  NNCERT_ASSIGN_OR_RETURN(auto all, ibp_all(g, inputs, options));
  const Interval& y = all[static_cast<size_t>(g.outputs()[0])];
  for (const auto& row : c)
    if (static_cast<int64_t>(row.size()) != y.lo.numel())
      return Status(ErrorCode::kShapeMismatch,
                    "spec matrix rows have " + std::to_string(row.size()) +
                        " columns, the output has " + std::to_string(y.lo.numel()) + " values");
  if (auto ll = last_linear(g); ll && ll->n == y.lo.numel()) {
    // Fold: (C W^T) h + C b over the interval of h.
    std::vector<std::vector<double>> cw(c.size(), std::vector<double>(static_cast<size_t>(ll->k)));
    std::vector<double> cb(c.size(), 0.0);
    for (size_t r = 0; r < c.size(); ++r) {
      for (int64_t j = 0; j < ll->n; ++j) {
        const double cr = c[r][static_cast<size_t>(j)];
        if (cr == 0)
          continue;
        cb[r] += cr * ll->b[static_cast<size_t>(j)];
        for (int64_t i = 0; i < ll->k; ++i)
          cw[r][static_cast<size_t>(i)] += cr * ll->w[static_cast<size_t>(i * ll->n + j)];
      }
    }
    const Interval& h = all[static_cast<size_t>(ll->h)];
    Interval r = affine_interval(cw, cb, h.lo, h.hi, options.dtype);
    if (options.safe_rounding) {
      // Folding C into W and the dot products round: move outward by (k + n + 8) u times the
      // magnitude sum_i (sum_j |c_rj w_ij|) max|h_i| + sum_j |c_rj b_j| (a bound on every term).
      const double u = std::ldexp(1.0, options.dtype == DType::kF32 ? -23 : -52);
      for (size_t row = 0; row < c.size(); ++row) {
        double mag = 0;
        for (int64_t i = 0; i < ll->k; ++i) {
          double a = 0;
          for (int64_t j = 0; j < ll->n; ++j)
            a += std::abs(c[row][static_cast<size_t>(j)] *
                          ll->w[static_cast<size_t>(i * ll->n + j)]);
          mag += a * std::max(std::abs(h.lo.get(i)), std::abs(h.hi.get(i)));
        }
        for (int64_t j = 0; j < ll->n; ++j)
          mag += std::abs(c[row][static_cast<size_t>(j)] * ll->b[static_cast<size_t>(j)]);
        const double slack = static_cast<double>(ll->k + ll->n + 8) * u * mag * (1 + 1e-6);
        const auto ri = static_cast<int64_t>(row);
        r.lo.set(ri, r.lo.get(ri) - slack);
        r.hi.set(ri, r.hi.get(ri) + slack);
      }
    }
    return r;
  }
  Interval r = affine_interval(c, std::vector<double>(c.size(), 0.0), y.lo, y.hi, options.dtype);
  if (options.safe_rounding) {
    const double u = std::ldexp(1.0, options.dtype == DType::kF32 ? -23 : -52);
    const int64_t n = y.lo.numel();
    for (size_t row = 0; row < c.size(); ++row) {
      double mag = 0;
      for (int64_t j = 0; j < n; ++j)
        mag += std::abs(c[row][static_cast<size_t>(j)]) *
               std::max(std::abs(y.lo.get(j)), std::abs(y.hi.get(j)));
      const double slack = static_cast<double>(n + 8) * u * mag * (1 + 1e-6);
      const auto ri = static_cast<int64_t>(row);
      r.lo.set(ri, r.lo.get(ri) - slack);
      r.hi.set(ri, r.hi.get(ri) + slack);
    }
  }
  return r;
}

}  // namespace nncert
