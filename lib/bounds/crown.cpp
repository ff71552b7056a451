#include "bounds/crown.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <new>
#include <vector>

#include "bounds/rounding.h"
#include "ops/relaxation.h"

namespace nncert {

namespace {

// Carries a Status out of a deep helper that returns a reference.
struct StatusError {
  Status status;
};
// A split contradicts sound bounds: the split domain is empty.
struct InfeasibleDomain {};

// What a backward pass records for the alpha gradient (see Engine::adjoint).
struct RelaxUse {
  NodeId node = kNoNode;
  Tensor c;                 // [S, n] coefficients over the activation's output
  ElementRelaxation lines;  // [S, n] with alpha, [n] with the default lines
};
// A non-element-wise op with optimisable lines (OpDef::crown_alpha) and its coefficients.
struct OpUse {
  NodeId node = kNoNode;
  Tensor c;  // [S, numel(output)]
};
struct Tape {
  std::vector<NodeId> visited;  // nodes the coefficients went through, reverse topological order
  std::vector<RelaxUse> relax;
  std::vector<OpUse> ops;
  std::vector<Tensor> xstar;  // per graph input: [S, n_in] the point attaining each row's bound
};

// alpha per node (indexed by NodeId; invalid = default lines), one set per specification row:
// element-wise activations: lo/hi parametrise the lower/upper line, [S, n]; ops with a
// CrownAlphaRule: lo = [S, count] (the op's own parameters), hi invalid.
using Alphas = std::vector<Interval>;

// What a node's CROWN rule reads besides the coefficients.
struct RuleArgs {
  std::vector<Interval> in_b;
  std::unique_ptr<bool[]> is_const;  // std::vector<bool> has no contiguous storage for a span
  std::vector<TypeInfo> out_types;
  std::span<const bool> consts() const { return {is_const.get(), in_b.size()}; }
};

bool is_relu_like(const std::string& op) {
  return op == "Relu" || op == "LeakyRelu";
}

// Ops whose batch axis is independent, so S rows can go through one call with the leading
// dimension 1 replaced by S (used by the alpha gradient's relaxed forward pass).
bool batch_safe(const Node& n) {
  static const char* const kOps[] = {"Gemm",
                                     "MatMul",
                                     "Conv",
                                     "ConvTranspose",
                                     "Relu",
                                     "LeakyRelu",
                                     "Sigmoid",
                                     "Tanh",
                                     "Exp",
                                     "Log",
                                     "Sqrt",
                                     "Reciprocal",
                                     "Abs",
                                     "Neg",
                                     "Softplus",
                                     "Erf",
                                     "Identity",
                                     "Dropout",
                                     "Add",
                                     "Sub",
                                     "Mul",
                                     "Div",
                                     "BatchNormalization",
                                     "AveragePool",
                                     "MaxPool",
                                     "GlobalAveragePool",
                                     "Clip",
                                     "Pow"};
  for (const char* op : kOps)
    if (n.op == op)
      return n.op != "Gemm" || n.attrs.get_int("transA", 0) == 0;
  if (n.op == "Flatten")
    return n.attrs.get_int("axis", 1) >= 1;
  if (n.op == "Concat" || n.op == "Softmax")
    return n.attrs.get_int("axis", n.op == "Concat" ? 0 : -1) != 0;
  return false;
}

// The box alpha lives in (OpDef::alpha_range, default [0, 1]).
std::pair<double, double> alpha_range(const Node& n) {
  const OpDef* def = find_op(n.op);
  if (def->alpha_range == nullptr)
    return {0.0, 1.0};
  return def->alpha_range(n);
}

class Engine {
 public:
  Engine(const Graph& graph, const BoundOptions& o, const CrownOptions& c)
      : g(graph), opt(o), copt(c), ctx{o.threads} {}

  const Graph& g;
  std::vector<Perturbation> perts;  // per graph input
  std::vector<bool> plain_box;      // per graph input: a box without constraints
  BoundOptions opt;
  CrownOptions copt;
  ExecContext ctx;
  std::vector<NodeId> order;
  std::vector<Interval> bounds;  // per value: constants exact, inputs = box, computed ones
  std::vector<ElementRelaxation> default_lines;  // per node, cached
  // Rounding-safe mode: IBP intervals of every value (magnitudes), per-node output magnitudes.
  double gamma = 0;
  std::vector<Interval> mag_ibp;
  std::vector<Tensor> node_mag;
  // alpha-CROWN: per node, whether its lower / upper line depends on alpha, and whether the
  // alpha is the op's own (CrownAlphaRule) rather than element-wise lines.
  std::vector<uint8_t> free_lo, free_hi, op_alpha;
  // When set, the next lower-bound backward pass stores its coefficients over the first graph
  // input here (CrownOptions::lower_linear).
  Tensor* capture_lower_a = nullptr;
  // Split domains: which values carry splits, and beta (set only during the final lower-bound
  // optimisation: [S, splits.size()]).
  std::vector<uint8_t> has_split;
  const Tensor* beta = nullptr;
  // CrownOptions::keep_alpha: where the final lower-bound optimisation leaves its parameters.
  AlphaState* alpha_out = nullptr;

  // Stores the bounds of v, clamped by the splits on v and intersected with the parent's.
  void set_bounds(ValueId v, Interval b) {
    const auto vi = static_cast<size_t>(v);
    const std::vector<Interval>* parent = copt.reuse_bounds;
    const bool inter =
        parent && parent->size() > vi && (*parent)[vi].lo.is_valid() && !g.is_constant(v);
    if (inter || (has_split.size() > vi && has_split[vi])) {
      b = {b.lo.clone(), b.hi.clone()};
      double* lo = b.lo.data<double>();
      double* hi = b.hi.data<double>();
      if (inter) {
        const Interval& pb = (*parent)[vi];
        for (int64_t j = 0; j < b.lo.numel(); ++j) {
          lo[j] = std::max(lo[j], pb.lo.get(j));
          hi[j] = std::min(hi[j], pb.hi.get(j));
        }
      }
      for (const ReluSplit& sp : copt.splits)
        if (sp.relu_input == v) {
          if (sp.active)
            lo[sp.index] = std::max(lo[sp.index], 0.0);
          else
            hi[sp.index] = std::min(hi[sp.index], 0.0);
          if (lo[sp.index] > hi[sp.index])
            throw InfeasibleDomain{};
        }
      for (int64_t j = 0; j < b.lo.numel(); ++j)
        if (lo[j] > hi[j])
          throw InfeasibleDomain{};
    }
    bounds[vi] = std::move(b);
  }

  // max(|lo|, |hi|) of value v's IBP interval, element-wise.
  Tensor value_magnitude(ValueId v) const {
    const Interval& b = mag_ibp[static_cast<size_t>(v)];
    Tensor m(DType::kF64, b.lo.shape());
    for (int64_t i = 0; i < m.numel(); ++i)
      m.data<double>()[i] = std::max(std::abs(b.lo.get(i)), std::abs(b.hi.get(i)));
    return m;
  }
  const Tensor& node_magnitude(NodeId id) {
    Tensor& m = node_mag[static_cast<size_t>(id)];
    if (!m.is_valid()) {
      auto r = output_magnitude(g, g.node(id), mag_ibp, ctx);
      if (!r)
        throw StatusError{r.status()};
      m = *r;
    }
    return m;
  }

  Interval shape_only(ValueId v) const {
    Tensor z(DType::kF64, g.value(v).shape);
    return {z, z};
  }

  // ---------------------------------------------------------------- interval steps
  // IBP of v from the nearest values that have bounds (auto_LiRPA's IBP_general): values without
  // bounds get temporary intervals in `tmp`.
  Expected<Interval> ibp_general(ValueId v, std::vector<Interval>& tmp) {
    const auto vi = static_cast<size_t>(v);
    if (bounds[vi].lo.is_valid())
      return bounds[vi];
    if (tmp[vi].lo.is_valid())
      return tmp[vi];
    const NodeId p = g.value(v).producer;
    if (p == kNoNode)
      return Status(ErrorCode::kInternal, "no interval for '" + g.value(v).name + "'");
    const Node& n = g.node(p);
    for (ValueId in : n.inputs)
      if (in != kNoValue && !bounds[static_cast<size_t>(in)].lo.is_valid())
        NNCERT_RETURN_IF_ERROR(ibp_general(in, tmp).status());
    std::vector<Interval> view = bounds;
    for (size_t i = 0; i < view.size(); ++i)
      if (!view[i].lo.is_valid() && tmp[i].lo.is_valid())
        view[i] = tmp[i];
    NNCERT_ASSIGN_OR_RETURN(auto out, ibp_node(g, n, view, DType::kF64, ctx));
    if (opt.safe_rounding) {
      NNCERT_ASSIGN_OR_RETURN(Tensor m, output_magnitude(g, n, view, ctx));
      for (size_t k = 0; k < out.size(); ++k)
        widen_interval(out[k], k == 0 ? m : Tensor(), gamma);
    }
    for (size_t k = 0; k < n.outputs.size() && k < out.size(); ++k)
      if (n.outputs[k] != kNoValue)
        tmp[static_cast<size_t>(n.outputs[k])] = out[k];
    return tmp[vi];
  }

  Expected<Interval> ibp_general(ValueId v) {
    std::vector<Interval> tmp(g.num_values());
    return ibp_general(v, tmp);
  }

  // auto_LiRPA's ibp_intermediate ops: their bounds come from their input's by IBP.
  static bool ibp_intermediate(const Node& n) {
    const OpDef* def = find_op(n.op);
    return (def && def->relax) || n.op == "Neg" || n.op == "Transpose" || n.op == "Concat" ||
           n.op == "Slice";
  }

  // ---------------------------------------------------------------- backward pass
  // The node as its RelaxFn wants it: constant inputs beyond x (Pow's exponent, Clip's limits)
  // bound as attributes (ops/relaxation.h), cached per node.
  std::vector<std::unique_ptr<Node>> bound_nodes;
  const Node& relax_node(const Node& n) {
    if (n.inputs.size() <= 1)
      return n;
    const auto id = static_cast<size_t>(g.value(n.outputs[0]).producer);
    if (bound_nodes.size() < g.num_nodes())
      bound_nodes.resize(g.num_nodes());
    if (!bound_nodes[id]) {
      std::vector<Interval> in_b;
      std::unique_ptr<bool[]> is_const(new bool[n.inputs.size()]);
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const ValueId v = n.inputs[i];
        is_const[i] = v != kNoValue && g.is_constant(v);
        in_b.push_back(v == kNoValue ? Interval{} : bounds[static_cast<size_t>(v)]);
      }
      bound_nodes[id] = std::make_unique<Node>(ops::bind_constant_inputs(
          n, in_b, std::span<const bool>(is_const.get(), n.inputs.size())));
    }
    return *bound_nodes[id];
  }

  const ElementRelaxation& default_relaxation(const Node& n, NodeId id) {
    ElementRelaxation& r = default_lines[static_cast<size_t>(id)];
    if (!r.al.is_valid()) {
      const Interval& x = bounds[static_cast<size_t>(n.inputs[0])];
      NNCERT_CHECK(x.lo.is_valid(), "activation input without bounds");
      Status st = find_op(n.op)->relax(relax_node(n), x, nullptr, r, nullptr);
      if (!st.is_ok())
        throw StatusError{st.with_context("relaxation of node " + n.display())};
      if (opt.safe_rounding)
        widen_lines(r, x);
    }
    return r;
  }

  // Lines of an activation for S rows with per-row alpha ([S, n] each).
  Expected<ElementRelaxation> alpha_relaxation(const Node& n, const Interval& alpha) {
    const Interval& x = bounds[static_cast<size_t>(n.inputs[0])];
    const int64_t s = alpha.lo.dim(0), m = x.lo.numel();
    Interval xb{Tensor(DType::kF64, {s, m}), Tensor(DType::kF64, {s, m})};
    for (int64_t r = 0; r < s; ++r) {
      std::copy_n(x.lo.data<double>(), m, xb.lo.data<double>() + r * m);
      std::copy_n(x.hi.data<double>(), m, xb.hi.data<double>() + r * m);
    }
    ElementRelaxation lines;
    NNCERT_RETURN_IF_ERROR(find_op(n.op)->relax(relax_node(n), xb, &alpha, lines, nullptr));
    if (opt.safe_rounding)
      widen_lines(lines, x);
    return lines;
  }

  // c [S, n] through lines ([n] shared or [S, n] per row): lower bound: c >= 0 takes the
  // lower line, c < 0 the upper; an upper bound the reverse. Zero coefficients add nothing.
  // With `mag` (the input's magnitudes) and `err`, also adds sum_j |c_j| (|slope_j| m_j + |b_j|),
  // the magnitude sum of each row's relaxed terms, to err (rounding-safe mode).
  // Branch-free (the signs of these rows are unpredictable): slopes are always finite
  // (docs/bounds.md, "Edges"), so max(c, 0) * s_pos + min(c, 0) * s_neg is exactly c times the
  // chosen slope (the other product is a signed zero) and vectorises. Intercepts may be infinite,
  // so the bias picks its intercept and masks a zero coefficient's term to +0 by bit selects (no
  // 0 * inf reaches the sum), in the same order as a branchy loop: bounds are bit-identical.
  static Tensor apply_lines(const ElementRelaxation& r,
                            const Tensor& c,
                            bool lower,
                            Tensor& bias,
                            const Tensor* mag = nullptr,
                            double* err = nullptr) {
    const int64_t s = c.dim(0), n = c.numel() / std::max<int64_t>(1, s);
    const bool per_row = r.al.numel() == s * n && s > 1;
    Tensor out(DType::kF64, c.shape());
    const double* pc = c.data<double>();
    double* po = out.data<double>();
    double* pb = bias.data<double>();
    // The lines a positive / negative coefficient takes.
    const Tensor& sp_t = lower ? r.al : r.au;
    const Tensor& ip_t = lower ? r.bl : r.bu;
    const Tensor& sn_t = lower ? r.au : r.al;
    const Tensor& in_t = lower ? r.bu : r.bl;
    for (int64_t row = 0; row < s; ++row) {
      const int64_t off = per_row ? row * n : 0;
      const double* __restrict sp = sp_t.data<double>() + off;
      const double* __restrict sn = sn_t.data<double>() + off;
      const double* ip = ip_t.data<double>() + off;
      const double* in = in_t.data<double>() + off;
      const double* __restrict cr = pc + row * n;
      double* __restrict orow = po + row * n;
      for (int64_t j = 0; j < n; ++j)
        orow[j] = std::max(cr[j], 0.0) * sp[j] + std::min(cr[j], 0.0) * sn[j];
      double acc = 0;
      for (int64_t j = 0; j < n; ++j) {
        const double cj = cr[j];
        // Bit selects: the intercept by sign, then the term or +0 for a zero coefficient.
        const uint64_t pos = -static_cast<uint64_t>(cj >= 0);
        const uint64_t nz = -static_cast<uint64_t>(cj != 0);
        const double b = std::bit_cast<double>((std::bit_cast<uint64_t>(ip[j]) & pos) |
                                               (std::bit_cast<uint64_t>(in[j]) & ~pos));
        acc += std::bit_cast<double>(std::bit_cast<uint64_t>(cj * b) & nz);
      }
      pb[row] += acc;
      if (err)
        for (int64_t j = 0; j < n; ++j) {
          const double cj = cr[j];
          if (cj != 0)
            err[row] += std::abs(cj) * (std::abs(cj >= 0 ? sp[j] : sn[j]) * mag->get(j) +
                                        std::abs(cj >= 0 ? ip[j] : in[j]));
        }
    }
    return out;
  }

  // beta-CROWN: sum_k sign_k beta_{r,k} x_{j_k} added to the coefficients of value v
  // (sign -1 for x_j >= 0, +1 for x_j <= 0: both are <= 0 inside the domain, so a lower bound
  // stays sound).
  void add_beta_terms(ValueId v, int64_t s, Tensor& a) {
    const int64_t n = shape_numel(g.value(v).shape);
    a = a.is_valid() ? a.to(DType::kF64).clone() : Tensor(DType::kF64, {s, n});
    const int64_t k = static_cast<int64_t>(copt.splits.size());
    double* pa = a.data<double>();
    const double* pb = beta->data<double>();
    for (int64_t q = 0; q < k; ++q) {
      const ReluSplit& sp = copt.splits[static_cast<size_t>(q)];
      if (sp.relu_input != v)
        continue;
      for (int64_t r = 0; r < s; ++r)
        pa[r * n + sp.index] += (sp.active ? -1.0 : 1.0) * pb[r * k + q];
    }
  }

  // Bound of each row of C * value(target), one side; optionally with alpha and a tape.
  Expected<Tensor> backward(
      ValueId target, const Tensor& c, bool lower, const Alphas* alphas, Tape* tape) {
    const int64_t s = c.dim(0);
    std::vector<Tensor> acoef(g.num_values());
    acoef[static_cast<size_t>(target)] = c;
    Tensor bias(DType::kF64, {s});
    std::vector<double> err(opt.safe_rounding ? static_cast<size_t>(s) : 0, 0.0);
    if (tape)
      *tape = Tape{};
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      const Node& n = g.node(*it);
      if (n.outputs.empty() || n.outputs[0] < 0)
        continue;
      const auto o = static_cast<size_t>(n.outputs[0]);
      for (size_t k = 1; k < n.outputs.size(); ++k)
        if (n.outputs[k] >= 0 && acoef[static_cast<size_t>(n.outputs[k])].is_valid())
          return Status(ErrorCode::kUnsupported,
                        "CROWN through the second output of node " + n.display());
      if (beta && has_split[o])
        add_beta_terms(n.outputs[0], s, acoef[o]);
      if (!acoef[o].is_valid())
        continue;
      const OpDef* def = find_op(n.op);
      std::vector<Tensor> a_in(n.inputs.size());
      if (def->relax) {
        const bool with_alpha = alphas && (*alphas)[static_cast<size_t>(*it)].lo.is_valid();
        ElementRelaxation lines;
        if (with_alpha) {
          NNCERT_ASSIGN_OR_RETURN(lines, alpha_relaxation(n, (*alphas)[static_cast<size_t>(*it)]));
        } else {
          lines = default_relaxation(n, *it);
        }
        if (opt.safe_rounding) {
          const Tensor m = value_magnitude(n.inputs[0]);
          a_in[0] = apply_lines(lines, acoef[o], lower, bias, &m, err.data());
        } else {
          a_in[0] = apply_lines(lines, acoef[o], lower, bias);
        }
        if (tape)
          tape->relax.push_back({*it, acoef[o], lines});
      } else if (alphas && op_alpha.size() > static_cast<size_t>(*it) &&
                 op_alpha[static_cast<size_t>(*it)]) {
        RuleArgs ra;
        NNCERT_RETURN_IF_ERROR(rule_args(n, ra));
        Status st = def->crown_alpha->crown(n,
                                            ra.in_b,
                                            ra.consts(),
                                            ra.out_types,
                                            acoef[o],
                                            lower,
                                            (*alphas)[static_cast<size_t>(*it)].lo,
                                            a_in,
                                            bias,
                                            ctx);
        if (!st.is_ok())
          return st.with_context("alpha-CROWN through node " + n.display());
        if (tape)
          tape->ops.push_back({*it, acoef[o]});
      } else {
        NNCERT_RETURN_IF_ERROR(crown_rule(n, def, acoef[o], lower, a_in, bias));
        if (tape && def->crown_alpha)
          tape->ops.push_back({*it, acoef[o]});
        if (opt.safe_rounding) {
          const Tensor& m = node_magnitude(*it);
          const double* pm = m.data<double>();
          const double* pa = acoef[o].data<double>();
          const int64_t k = m.numel();
          for (int64_t r = 0; r < s; ++r)
            for (int64_t j = 0; j < k; ++j)
              err[static_cast<size_t>(r)] += std::abs(pa[r * k + j]) * pm[j];
        }
      }
      for (size_t i = 0; i < n.inputs.size() && i < a_in.size(); ++i) {
        if (n.inputs[i] < 0 || !a_in[i].is_valid())
          continue;
        Tensor& acc = acoef[static_cast<size_t>(n.inputs[i])];
        if (!acc.is_valid()) {
          acc = a_in[i].dtype() == DType::kF64 ? a_in[i] : a_in[i].to(DType::kF64);
        } else {
          const Tensor add = a_in[i].to(DType::kF64);
          double* pa = acc.data<double>();
          const double* pi = add.data<double>();
          for (int64_t j = 0; j < acc.numel(); ++j)
            pa[j] += pi[j];
        }
      }
      if (tape)
        tape->visited.push_back(*it);
      acoef[o] = Tensor();
    }
    // Concretise over the input sets.
    Tensor result = bias;
    double* pr = result.data<double>();
    if (tape)
      tape->xstar.assign(g.inputs().size(), Tensor());
    for (size_t i = 0; i < g.inputs().size(); ++i) {
      const auto v = static_cast<size_t>(g.inputs()[i]);
      if (!acoef[v].is_valid())
        continue;
      const double* pxl = bounds[v].lo.data<double>();
      const double* pxh = bounds[v].hi.data<double>();
      const double* pa = acoef[v].data<double>();
      const int64_t n = bounds[v].lo.numel();
      if (capture_lower_a && lower && i == 0) {
        *capture_lower_a = acoef[v].clone().reshaped({s, n});
        capture_lower_a = nullptr;
      }
      Tensor xs;
      if (tape)
        xs = Tensor(DType::kF64, {s, n});
      if (plain_box[i]) {
        for (int64_t row = 0; row < s; ++row) {
          double acc = 0;
          for (int64_t j = 0; j < n; ++j) {
            const double a = pa[row * n + j];
            // lower: the minimising corner; upper: the maximising one.
            const bool take_lo = (a >= 0) == lower;
            const double x = take_lo ? pxl[j] : pxh[j];
            if (a != 0)
              acc += a * x;
            if (tape)
              xs.data<double>()[row * n + j] = x;
          }
          pr[row] += acc;
        }
      } else {
        std::vector<double> part(static_cast<size_t>(s));
        ConcretizeOptions co;
        co.threads = opt.threads;
        NNCERT_RETURN_IF_ERROR(concretize(
            perts[i], pa, s, n, lower, part.data(), tape ? xs.data<double>() : nullptr, co));
        for (int64_t row = 0; row < s; ++row)
          pr[row] += part[static_cast<size_t>(row)];
        if (tape) {
          // Rows without a known attaining point (constraints): the box centre, for the
          // gradient only.
          double* px = xs.data<double>();
          for (int64_t k = 0; k < s * n; ++k)
            if (std::isnan(px[k]))
              px[k] = 0.5 * (pxl[k % n] + pxh[k % n]);
        }
      }
      if (tape)
        tape->xstar[i] = xs;
      if (opt.safe_rounding)
        for (int64_t row = 0; row < s; ++row)
          for (int64_t j = 0; j < n; ++j)
            err[static_cast<size_t>(row)] +=
                std::abs(pa[row * n + j]) * std::max(std::abs(pxl[j]), std::abs(pxh[j]));
    }
    if (opt.safe_rounding)
      for (int64_t row = 0; row < s; ++row) {
        const double e = gamma * (err[static_cast<size_t>(row)] + std::abs(pr[row]));
        pr[row] += lower ? -e : e;
      }
    return result;
  }

  Status rule_args(const Node& n, RuleArgs& ra) const {
    ra.in_b.clear();
    ra.is_const.reset(new bool[n.inputs.size() + 1]);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const ValueId v = n.inputs[i];
      ra.is_const[i] = v == kNoValue || g.is_constant(v);
      if (v == kNoValue) {
        ra.in_b.emplace_back();
        continue;
      }
      // Data-dependent integers (indices, shapes) are not linear in anything.
      if (!ra.is_const[i] && !is_float(g.value(v).dtype))
        return Status(ErrorCode::kUnsupported,
                      "CROWN through node " + n.display() + ": its integer input '" +
                          g.value(v).name + "' depends on the model input");
      const Interval& b = bounds[static_cast<size_t>(v)];
      ra.in_b.push_back(b.lo.is_valid() ? b : shape_only(v));
    }
    ra.out_types.clear();
    for (ValueId v : n.outputs) {
      TypeInfo t;
      if (v >= 0) {
        t.dtype = DType::kF64;
        t.shape = g.value(v).shape;
      } else {
        t.shape_known = false;
      }
      ra.out_types.push_back(t);
    }
    return Status::ok();
  }

  Status crown_rule(const Node& n,
                    const OpDef* def,
                    const Tensor& a,
                    bool lower,
                    std::vector<Tensor>& a_in,
                    Tensor& bias) {
    RuleArgs ra;
    NNCERT_RETURN_IF_ERROR(rule_args(n, ra));
    Status st = def->crown(n, ra.in_b, ra.consts(), ra.out_types, a, lower, a_in, bias, ctx);
    if (!st.is_ok())
      return st.with_context("CROWN through node " + n.display());
    return Status::ok();
  }

  // ---------------------------------------------------------------- alpha-CROWN
  // Forward of node n on S rows at once (inputs [S, numel] for variables, constants as they
  // are): batched through the leading dimension where the op allows it, else row by row.
  Status forward_rows(const Node& n,
                      const std::vector<Tensor>& rows_in,  // per input: [S, numel] or invalid
                      int64_t s,
                      Tensor& rows_out) {
    const OpDef* def = find_op(n.op);
    const Shape& out_shape = g.value(n.outputs[0]).shape;
    const int64_t m = shape_numel(out_shape);
    rows_out = Tensor(DType::kF64, {s, m});
    auto input_shape = [&](size_t i) {
      return g.value(n.inputs[i]).shape;
    };
    bool batched = batch_safe(n) && !out_shape.empty() && out_shape[0] == 1;
    for (size_t i = 0; batched && i < n.inputs.size(); ++i)
      if (rows_in[i].is_valid() && (input_shape(i).empty() || input_shape(i)[0] != 1))
        batched = false;
    if (batched) {
      std::vector<Tensor> in;
      std::vector<TypeInfo> types, out_types;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        TypeInfo ti;
        if (n.inputs[i] == kNoValue) {
          in.emplace_back();
          ti.shape_known = false;
        } else if (rows_in[i].is_valid()) {
          Shape sh = input_shape(i);
          sh[0] = s;
          in.push_back(rows_in[i].reshaped(sh));
          ti.dtype = DType::kF64;
          ti.shape = sh;
        } else {
          const Tensor& cst = bounds[static_cast<size_t>(n.inputs[i])].lo;
          in.push_back(cst);
          ti.dtype = cst.dtype();
          ti.shape = cst.shape();
          ti.value = cst;
        }
        types.push_back(std::move(ti));
      }
      if (def->infer(n, types, out_types).is_ok() && !out_types.empty() &&
          shape_numel(out_types[0].shape) == s * m) {
        std::vector<Tensor> out(n.outputs.size());
        out_types.resize(n.outputs.size());
        NNCERT_RETURN_IF_ERROR(def->forward(n, in, out_types, out, ctx));
        rows_out = out[0].to(DType::kF64).reshaped({s, m});
        return Status::ok();
      }
    }
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
    for (int64_t r = 0; r < s; ++r) {
      std::vector<Tensor> in;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        if (n.inputs[i] == kNoValue) {
          in.emplace_back();
        } else if (rows_in[i].is_valid()) {
          const int64_t k = shape_numel(input_shape(i));
          Tensor t(DType::kF64, input_shape(i));
          std::copy_n(rows_in[i].data<double>() + r * k, k, t.data<double>());
          in.push_back(t);
        } else {
          in.push_back(bounds[static_cast<size_t>(n.inputs[i])].lo);
        }
      }
      std::vector<Tensor> out(n.outputs.size());
      NNCERT_RETURN_IF_ERROR(def->forward(n, in, out_types, out, ctx));
      const Tensor o = out[0].to(DType::kF64);
      std::copy_n(o.data<double>(), m, rows_out.data<double>() + r * m);
    }
    return Status::ok();
  }

  // Gradient of sum_r bound_r w.r.t. the alphas of the last backward pass. For fixed line
  // choices the bound is linear in every coefficient tensor, and d bound / d (coefficients at a
  // value) is that value in the relaxed network (activations replaced by the chosen lines)
  // evaluated at the attaining input point: one forward pass of the relaxed network per row.
  // Nonlinear ops without element-wise lines (MaxPool, ...) use their exact forward there, which
  // only affects the search direction, never soundness.
  Status adjoint(const Tape& tape,
                 bool lower,
                 const Alphas& alphas,
                 Alphas& grads,
                 int64_t s,
                 std::vector<Tensor>* values_out = nullptr) {
    std::vector<Tensor> val(g.num_values());
    for (size_t i = 0; i < g.inputs().size(); ++i)
      if (tape.xstar[i].is_valid())
        val[static_cast<size_t>(g.inputs()[i])] = tape.xstar[i];
    std::vector<const RelaxUse*> use_of(g.num_nodes(), nullptr);
    for (const RelaxUse& u : tape.relax)
      use_of[static_cast<size_t>(u.node)] = &u;
    std::vector<const OpUse*> op_use_of(g.num_nodes(), nullptr);
    for (const OpUse& u : tape.ops)
      if (op_alpha[static_cast<size_t>(u.node)])
        op_use_of[static_cast<size_t>(u.node)] = &u;
    for (auto it = tape.visited.rbegin(); it != tape.visited.rend(); ++it) {
      const Node& n = g.node(*it);
      std::vector<Tensor> rows_in(n.inputs.size());
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const ValueId v = n.inputs[i];
        if (v == kNoValue || g.is_constant(v))
          continue;
        if (!val[static_cast<size_t>(v)].is_valid()) {
          // A variable input the coefficients did not reach: use its interval's midpoint.
          const Interval& b = bounds[static_cast<size_t>(v)];
          const int64_t k = shape_numel(g.value(v).shape);
          Tensor t(DType::kF64, {s, k});
          for (int64_t r = 0; r < s; ++r)
            for (int64_t j = 0; j < k; ++j)
              t.data<double>()[r * k + j] =
                  b.lo.is_valid() ? 0.5 * (b.lo.get(j) + b.hi.get(j)) : 0.0;
          val[static_cast<size_t>(v)] = t;
        }
        rows_in[i] = val[static_cast<size_t>(v)];
      }
      const RelaxUse* use = use_of[static_cast<size_t>(*it)];
      Tensor out;
      if (use) {
        const Tensor& vin = rows_in[0];
        const int64_t m = vin.numel() / s;
        const bool per_row = use->lines.al.numel() == s * m && s > 1;
        out = Tensor(DType::kF64, {s, m});
        const double* pv = vin.data<double>();
        const double* pc = use->c.data<double>();
        double* po = out.data<double>();
        const Interval& alpha = alphas[static_cast<size_t>(*it)];
        ElementRelaxation dplus, dminus;
        Interval ap, am;
        if (alpha.lo.is_valid()) {
          // d lines / d alpha by a difference quotient inside [0, 1].
          const auto arange = alpha_range(n);  // not a structured binding: lambdas use it
          const double amin = arange.first, amax = arange.second;
          const double h = 1e-4 * (amax - amin);
          const auto k = static_cast<size_t>(*it);
          ap = alpha;
          am = alpha;
          auto shifted = [&](const Tensor& t, double d) {
            Tensor o(DType::kF64, t.shape());
            const double* pt = t.data<double>();
            double* po2 = o.data<double>();
            for (int64_t j = 0; j < t.numel(); ++j)
              po2[j] = std::clamp(pt[j] + d, amin, amax);
            return o;
          };
          if (free_lo[k]) {
            ap.lo = shifted(alpha.lo, h);
            am.lo = shifted(alpha.lo, -h);
          }
          if (free_hi[k]) {
            ap.hi = shifted(alpha.hi, h);
            am.hi = shifted(alpha.hi, -h);
          }
          NNCERT_ASSIGN_OR_RETURN(dplus, alpha_relaxation(n, ap));
          NNCERT_ASSIGN_OR_RETURN(dminus, alpha_relaxation(n, am));
          Interval& gr = grads[k];
          gr = {free_lo[k] ? Tensor(DType::kF64, {s, m}) : Tensor(),
                free_hi[k] ? Tensor(DType::kF64, {s, m}) : Tensor()};
        }
        for (int64_t r = 0; r < s; ++r) {
          const int64_t off = per_row ? r * m : 0;
          for (int64_t j = 0; j < m; ++j) {
            const int64_t k = r * m + j;
            // A zero coefficient takes the line a non-negative one would (apply_lines' sign
            // test; auto_LiRPA's autograd does the same at A = 0): the relaxed value still feeds
            // the gradients of later nodes, e.g. a MaxPool's alpha on the cells it has not
            // reached yet (with 0 there, alpha = e_{i*} would never move).
            const bool use_lower = (pc[k] >= 0) == lower;
            const double sl = (use_lower ? use->lines.al : use->lines.au).data<double>()[off + j];
            const double ic = (use_lower ? use->lines.bl : use->lines.bu).data<double>()[off + j];
            po[k] = sl * pv[k] + ic;
            if (pc[k] == 0 && !std::isfinite(po[k])) {
              // An unbounded line only meets zero coefficients: the other line, or 0.
              const double y2 =
                  (use_lower ? use->lines.au : use->lines.al).data<double>()[off + j] * pv[k] +
                  (use_lower ? use->lines.bu : use->lines.bl).data<double>()[off + j];
              po[k] = std::isfinite(y2) ? y2 : 0.0;
            }
            if (!alpha.lo.is_valid() || pc[k] == 0 ||
                !(use_lower ? free_lo : free_hi)[static_cast<size_t>(*it)])
              continue;
            const Tensor& sp = use_lower ? dplus.al : dplus.au;
            const Tensor& bp = use_lower ? dplus.bl : dplus.bu;
            const Tensor& sm = use_lower ? dminus.al : dminus.au;
            const Tensor& bm = use_lower ? dminus.bl : dminus.bu;
            const double da = (use_lower ? ap.lo : ap.hi).data<double>()[k] -
                              (use_lower ? am.lo : am.hi).data<double>()[k];
            if (da <= 0)
              continue;
            const double ds = (sp.data<double>()[k] - sm.data<double>()[k]) / da;
            const double db = (bp.data<double>()[k] - bm.data<double>()[k]) / da;
            double gk = pc[k] * (ds * pv[k] + db);
            if (!std::isfinite(gk))
              gk = 0;
            Interval& gr = grads[static_cast<size_t>(*it)];
            (use_lower ? gr.lo : gr.hi).data<double>()[k] = gk;
          }
        }
      } else if (const OpUse* ou = op_use_of[static_cast<size_t>(*it)]) {
        // The op's relaxed lines at the relaxed network's point, and d bound / d alpha.
        RuleArgs ra;
        NNCERT_RETURN_IF_ERROR(rule_args(n, ra));
        Tensor gr;
        Status st = find_op(n.op)->crown_alpha->relaxed(n,
                                                        ra.in_b,
                                                        ra.consts(),
                                                        ra.out_types,
                                                        ou->c,
                                                        lower,
                                                        alphas[static_cast<size_t>(*it)].lo,
                                                        rows_in,
                                                        out,
                                                        gr,
                                                        ctx);
        if (!st.is_ok())
          return st.with_context("alpha-CROWN gradient through node " + n.display());
        double* pg = gr.data<double>();
        for (int64_t k = 0; k < gr.numel(); ++k)
          if (!std::isfinite(pg[k]))
            pg[k] = 0;
        grads[static_cast<size_t>(*it)] = {gr, Tensor()};
      } else {
        NNCERT_RETURN_IF_ERROR(forward_rows(n, rows_in, s, out));
      }
      val[static_cast<size_t>(n.outputs[0])] = out;
    }
    if (values_out)
      *values_out = std::move(val);
    return Status::ok();
  }

  // CROWN's default parameters (alphas, Adam moments) for the nodes a backward pass used: ops
  // with their own alpha, and element-wise relaxations (only the sides that depend on alpha).
  Status setup_alphas(const std::vector<NodeId>& op_nodes,
                      const std::vector<NodeId>& relax_nodes,
                      int64_t s,
                      Alphas& alphas,
                      Alphas& m1,
                      Alphas& m2) {
    free_lo.assign(g.num_nodes(), 0);
    free_hi.assign(g.num_nodes(), 0);
    op_alpha.assign(g.num_nodes(), 0);
    for (NodeId id : op_nodes) {
      const Node& n = g.node(id);
      RuleArgs ra;
      NNCERT_RETURN_IF_ERROR(rule_args(n, ra));
      Tensor a0;
      NNCERT_RETURN_IF_ERROR(
          find_op(n.op)->crown_alpha->init(n, ra.in_b, ra.consts(), ra.out_types, a0));
      const int64_t m = a0.numel();
      Tensor a(DType::kF64, {s, m});
      for (int64_t row = 0; row < s; ++row)
        std::copy_n(a0.data<double>(), m, a.data<double>() + row * m);
      const auto k = static_cast<size_t>(id);
      op_alpha[k] = free_lo[k] = 1;
      alphas[k] = {a, Tensor()};
      m1[k] = {Tensor(DType::kF64, {s, m}), Tensor()};
      m2[k] = {Tensor(DType::kF64, {s, m}), Tensor()};
    }
    for (NodeId id : relax_nodes) {
      const Node& n = g.node(id);
      const Interval& x = bounds[static_cast<size_t>(n.inputs[0])];
      ElementRelaxation r;
      Interval def;
      NNCERT_RETURN_IF_ERROR(find_op(n.op)->relax(relax_node(n), x, nullptr, r, &def));
      const int64_t m = x.lo.numel();
      if (!def.lo.is_valid())
        def = {Tensor(DType::kF64, x.lo.shape()), Tensor(DType::kF64, x.lo.shape())};
      if (!def.hi.is_valid())
        def.hi = Tensor(DType::kF64, x.lo.shape());
      Interval a{Tensor(DType::kF64, {s, m}), Tensor(DType::kF64, {s, m})};
      for (int64_t row = 0; row < s; ++row) {
        std::copy_n(def.lo.data<double>(), m, a.lo.data<double>() + row * m);
        std::copy_n(def.hi.data<double>(), m, a.hi.data<double>() + row * m);
      }
      const auto k = static_cast<size_t>(id);
      // Which lines depend on alpha at all (e.g. ReLU's upper chord does not): only those sides
      // are optimised.
      const auto arange = alpha_range(n);
      const double amin = arange.first, amax = arange.second;
      Interval lo_a{Tensor(DType::kF64, x.lo.shape()), Tensor(DType::kF64, x.lo.shape())};
      Interval hi_a{Tensor(DType::kF64, x.lo.shape()), Tensor(DType::kF64, x.lo.shape())};
      for (int64_t j = 0; j < m; ++j) {
        lo_a.lo.data<double>()[j] = lo_a.hi.data<double>()[j] = amin;
        hi_a.lo.data<double>()[j] = hi_a.hi.data<double>()[j] = amax;
      }
      ElementRelaxation r0, r1;
      NNCERT_RETURN_IF_ERROR(find_op(n.op)->relax(relax_node(n), x, &lo_a, r0, nullptr));
      NNCERT_RETURN_IF_ERROR(find_op(n.op)->relax(relax_node(n), x, &hi_a, r1, nullptr));
      auto differs = [m](const Tensor& p, const Tensor& q) {
        for (int64_t j = 0; j < m; ++j)
          if (p.data<double>()[j] != q.data<double>()[j])
            return true;
        return false;
      };
      free_lo[k] = differs(r0.al, r1.al) || differs(r0.bl, r1.bl);
      free_hi[k] = differs(r0.au, r1.au) || differs(r0.bu, r1.bu);
      if (!free_lo[k] && !free_hi[k])
        continue;
      if (!free_hi[k])
        a.hi = a.lo;  // ignored by the relaxation
      if (!free_lo[k])
        a.lo = a.hi;
      alphas[k] = a;
      m1[k] = {free_lo[k] ? Tensor(DType::kF64, {s, m}) : Tensor(),
               free_hi[k] ? Tensor(DType::kF64, {s, m}) : Tensor()};
      m2[k] = {free_lo[k] ? Tensor(DType::kF64, {s, m}) : Tensor(),
               free_hi[k] ? Tensor(DType::kF64, {s, m}) : Tensor()};
    }
    return Status::ok();
  }

  // AlphaOptions::iterations == 0 with CrownOptions::alpha_init: the bound at the given
  // parameters, one backward pass (no CROWN pass first, no optimisation; sound for any alpha
  // and beta >= 0, possibly looser than CROWN). Compares candidate splits cheaply.
  Expected<Tensor> warm_only(ValueId target, const Tensor& c) {
    const AlphaState& w = *copt.alpha_init;
    std::vector<NodeId> op_nodes, relax_nodes;
    for (size_t k = 0; k < w.alpha.size() && k < g.num_nodes(); ++k) {
      if (!w.alpha[k].lo.is_valid())
        continue;
      const auto id = static_cast<NodeId>(k);
      const OpDef* def = find_op(g.node(id).op);
      if (def->relax)
        relax_nodes.push_back(id);
      else if (def->crown_alpha && !opt.safe_rounding)
        op_nodes.push_back(id);
    }
    const int64_t s = c.dim(0);
    Alphas alphas(g.num_nodes()), m1(g.num_nodes()), m2(g.num_nodes());
    NNCERT_RETURN_IF_ERROR(setup_alphas(op_nodes, relax_nodes, s, alphas, m1, m2));
    Tensor betat;
    struct BetaScope {
      const Tensor*& slot;
      ~BetaScope() { slot = nullptr; }
    } beta_scope{beta};
    if (copt.beta && !copt.splits.empty()) {
      betat = Tensor(DType::kF64, {s, static_cast<int64_t>(copt.splits.size())});
      beta = &betat;
    }
    warm_start(w, alphas, beta ? &betat : nullptr);
    return backward(target, c, true, &alphas, nullptr);
  }

  // Bound of each row of C * value(target) on one side, with alpha optimised by Adam (one alpha
  // set per row, so rows are independent and the best bound of each row is kept).
  Expected<Tensor> optimise(ValueId target, const Tensor& c, bool lower) {
    if (lower && target == g.outputs()[0] && copt.alpha_init && copt.alpha_options.iterations == 0)
      return warm_only(target, c);
    Tape tape;
    NNCERT_ASSIGN_OR_RETURN(Tensor best, backward(target, c, lower, nullptr, &tape));
    const AlphaOptions& ao = copt.alpha_options;
    const bool final_lower = lower && target == g.outputs()[0];
    const bool warm = final_lower && copt.alpha_init != nullptr;
    // Rounding-safe mode keeps the ops' own rules fixed (their error terms assume them).
    if ((tape.relax.empty() && (tape.ops.empty() || opt.safe_rounding)) ||
        (ao.iterations <= 1 && !warm))
      return best;
    const int64_t s = c.dim(0);
    Alphas alphas(g.num_nodes()), m1(g.num_nodes()), m2(g.num_nodes()), grads(g.num_nodes());
    std::vector<NodeId> op_nodes, relax_nodes;
    if (!opt.safe_rounding)
      for (const OpUse& u : tape.ops)
        op_nodes.push_back(u.node);
    for (const RelaxUse& u : tape.relax)
      relax_nodes.push_back(u.node);
    NNCERT_RETURN_IF_ERROR(setup_alphas(op_nodes, relax_nodes, s, alphas, m1, m2));
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    // beta-CROWN: one beta >= 0 per split and row, starting at 0 (the alpha-CROWN bound).
    const bool use_beta = copt.beta && lower && !copt.splits.empty() && target == g.outputs()[0];
    const auto nk = static_cast<int64_t>(copt.splits.size());
    Tensor betat, bm1, bm2;
    std::vector<Tensor> vals;
    struct BetaScope {
      const Tensor*& slot;
      ~BetaScope() { slot = nullptr; }
    } beta_scope{beta};
    if (use_beta) {
      betat = Tensor(DType::kF64, {s, nk});
      bm1 = Tensor(DType::kF64, {s, nk});
      bm2 = Tensor(DType::kF64, {s, nk});
      beta = &betat;
    }
    double lr = ao.lr;
    double best_total = 0;
    for (int64_t r = 0; r < s; ++r)
      best_total += best.get(r);
    if (warm && warm_start(*copt.alpha_init, alphas, use_beta ? &betat : nullptr)) {
      // Continue from the warm parameters when they beat CROWN's lines in total.
      Tape wt;
      NNCERT_ASSIGN_OR_RETURN(Tensor cur, backward(target, c, lower, &alphas, &wt));
      double total = 0;
      for (int64_t r = 0; r < s; ++r) {
        total += cur.get(r);
        best.set(r, std::max(best.get(r), cur.get(r)));
      }
      if (total >= best_total)
        tape = std::move(wt);
      else
        NNCERT_RETURN_IF_ERROR(reset_alphas(alphas, tape, s, use_beta ? &betat : nullptr));
      best_total = 0;
      for (int64_t r = 0; r < s; ++r)
        best_total += best.get(r);
    }
    // CrownOptions::keep_alpha: per row, the parameters of its best bound so far.
    const bool keep = final_lower && alpha_out != nullptr;
    Alphas snap;
    Tensor snap_beta;
    if (keep) {
      snap = clone_alphas(alphas);
      if (use_beta)
        snap_beta = betat.clone();
    }
    int since_best = 0;
    const bool done_already =
        final_lower && copt.stop_lower && copt.stop_lower(best.data<double>(), s);
    for (int step = 1; step < ao.iterations && !done_already; ++step) {
      // Gradient at the current alphas (the tape of the last evaluated bound).
      for (auto& gr : grads)
        gr = Interval{};
      NNCERT_RETURN_IF_ERROR(adjoint(tape, lower, alphas, grads, s, use_beta ? &vals : nullptr));
      const double c1 = 1 - std::pow(b1, step), c2 = 1 - std::pow(b2, step);
      if (use_beta) {
        // d bound_r / d beta_{r,k} = sign_k * x_hat_{r,j_k}: the split value in the relaxed
        // network at the row's minimiser (a bound is linear in every coefficient tensor).
        for (int64_t q = 0; q < nk; ++q) {
          const ReluSplit& sp = copt.splits[static_cast<size_t>(q)];
          const Tensor& xv = vals[static_cast<size_t>(sp.relu_input)];
          if (!xv.is_valid())
            continue;
          const int64_t n = xv.numel() / s;
          for (int64_t r = 0; r < s; ++r) {
            const double gj = (sp.active ? -1.0 : 1.0) * xv.data<double>()[r * n + sp.index];
            double& pm = bm1.data<double>()[r * nk + q];
            double& pv = bm2.data<double>()[r * nk + q];
            double& pb = betat.data<double>()[r * nk + q];
            if (!std::isfinite(gj) || (gj == 0 && pm == 0))
              continue;
            pm = b1 * pm + (1 - b1) * gj;
            pv = b2 * pv + (1 - b2) * gj * gj;
            pb = std::max(0.0, pb + lr * (pm / c1) / (std::sqrt(pv / c2) + eps));
          }
        }
      }
      for (size_t k = 0; k < alphas.size(); ++k) {
        if (!alphas[k].lo.is_valid())
          continue;
        // An op's own alpha is projected by the op after the step, not clamped to a box.
        constexpr double kInf = std::numeric_limits<double>::infinity();
        const auto [amin, amax] =
            op_alpha[k] ? std::pair{-kInf, kInf} : alpha_range(g.node(static_cast<NodeId>(k)));
        for (int side = 0; side < 2; ++side) {
          Tensor& a = side ? alphas[k].hi : alphas[k].lo;
          const Tensor& gt = side ? grads[k].hi : grads[k].lo;
          if (!gt.is_valid())
            continue;
          Tensor& mm = side ? m1[k].hi : m1[k].lo;
          Tensor& vv = side ? m2[k].hi : m2[k].lo;
          double* pa = a.data<double>();
          const double* pg = gt.data<double>();
          double* pm = mm.data<double>();
          double* pv = vv.data<double>();
          for (int64_t j = 0; j < a.numel(); ++j) {
            // Ascent on lower bounds, descent on upper bounds.
            const double gj = lower ? pg[j] : -pg[j];
            if (gj == 0 && pm[j] == 0)
              continue;  // never moved: stays at its initial value
            pm[j] = b1 * pm[j] + (1 - b1) * gj;
            pv[j] = b2 * pv[j] + (1 - b2) * gj * gj;
            const double upd = lr * (pm[j] / c1) / (std::sqrt(pv[j] / c2) + eps);
            pa[j] = std::clamp(pa[j] + upd, amin, amax);
          }
        }
        if (op_alpha[k]) {
          const Node& n = g.node(static_cast<NodeId>(k));
          RuleArgs ra;
          NNCERT_RETURN_IF_ERROR(rule_args(n, ra));
          NNCERT_RETURN_IF_ERROR(
              find_op(n.op)->crown_alpha->project(n, ra.in_b, ra.out_types, alphas[k].lo));
        }
      }
      lr *= ao.lr_decay;
      NNCERT_RETURN_IF_ERROR(check_stop());
      NNCERT_ASSIGN_OR_RETURN(Tensor cur, backward(target, c, lower, &alphas, &tape));
      double total = 0;
      for (int64_t r = 0; r < s; ++r) {
        const double v = cur.get(r);
        total += v;
        if (lower ? v > best.get(r) : v < best.get(r)) {
          best.set(r, v);
          if (keep)
            copy_row(alphas, use_beta ? &betat : nullptr, r, snap, snap_beta);
        }
      }
      if (lower ? total > best_total : total < best_total) {
        best_total = total;
        since_best = 0;
      } else if (++since_best >= ao.early_stop_patience) {
        break;
      }
      if (final_lower && copt.stop_lower && copt.stop_lower(best.data<double>(), s))
        break;
    }
    if (keep) {
      alpha_out->alpha = std::move(snap);
      alpha_out->beta = std::move(snap_beta);
      alpha_out->splits = use_beta ? copt.splits : std::vector<ReluSplit>{};
    }
    return best;
  }

  // CrownOptions::alpha_init into the alphas (where a side is optimised and the shapes fit) and
  // beta (by matching split; others stay 0). Returns whether anything was taken.
  bool warm_start(const AlphaState& w, Alphas& alphas, Tensor* betat) const {
    bool any = false;
    for (size_t k = 0; k < alphas.size() && k < w.alpha.size(); ++k) {
      Interval& a = alphas[k];
      const Interval& src = w.alpha[k];
      if (!a.lo.is_valid())
        continue;
      if (free_lo[k] && src.lo.is_valid() && src.lo.numel() == a.lo.numel()) {
        a.lo = src.lo.clone().reshaped(a.lo.shape());
        any = true;
      }
      if (!op_alpha[k] && free_hi[k] && src.hi.is_valid() && src.hi.numel() == a.hi.numel()) {
        a.hi = src.hi.clone().reshaped(a.hi.shape());
        any = true;
      }
      if (!op_alpha[k] && !free_hi[k])
        a.hi = a.lo;  // ignored by the relaxation
      if (!op_alpha[k] && !free_lo[k])
        a.lo = a.hi;
    }
    if (betat && w.beta.is_valid()) {
      const int64_t s = betat->dim(0), nk = betat->dim(1);
      const auto wk = static_cast<int64_t>(w.splits.size());
      if (w.beta.numel() == s * wk)
        for (int64_t q = 0; q < nk; ++q) {
          const ReluSplit& sp = copt.splits[static_cast<size_t>(q)];
          for (int64_t p = 0; p < wk; ++p) {
            const ReluSplit& wp = w.splits[static_cast<size_t>(p)];
            if (wp.relu_input != sp.relu_input || wp.index != sp.index || wp.active != sp.active)
              continue;
            for (int64_t r = 0; r < s; ++r)
              betat->data<double>()[r * nk + q] = w.beta.data<double>()[r * wk + p];
            any = true;
            break;
          }
        }
    }
    return any;
  }

  // Back to the initial parameters (CROWN's default lines, beta 0) after a warm start that lost.
  Status reset_alphas(Alphas& alphas, const Tape& tape, int64_t s, Tensor* betat) {
    for (const RelaxUse& u : tape.relax) {
      const auto k = static_cast<size_t>(u.node);
      if (!alphas[k].lo.is_valid())
        continue;
      const Node& n = g.node(u.node);
      const Interval& x = bounds[static_cast<size_t>(n.inputs[0])];
      ElementRelaxation r;
      Interval def;
      NNCERT_RETURN_IF_ERROR(find_op(n.op)->relax(relax_node(n), x, nullptr, r, &def));
      const int64_t m = x.lo.numel();
      for (int side = 0; side < 2; ++side) {
        const Tensor& d = side ? def.hi : def.lo;
        Tensor a(DType::kF64, {s, m});
        if (d.is_valid())
          for (int64_t row = 0; row < s; ++row)
            std::copy_n(d.data<double>(), m, a.data<double>() + row * m);
        (side ? alphas[k].hi : alphas[k].lo) = a;
      }
      if (!free_hi[k])
        alphas[k].hi = alphas[k].lo;
      if (!free_lo[k])
        alphas[k].lo = alphas[k].hi;
    }
    for (const OpUse& u : tape.ops) {
      const auto k = static_cast<size_t>(u.node);
      if (!op_alpha[k])
        continue;
      const Node& n = g.node(u.node);
      RuleArgs ra;
      NNCERT_RETURN_IF_ERROR(rule_args(n, ra));
      Tensor a0;
      NNCERT_RETURN_IF_ERROR(
          find_op(n.op)->crown_alpha->init(n, ra.in_b, ra.consts(), ra.out_types, a0));
      Tensor a(DType::kF64, {s, a0.numel()});
      for (int64_t row = 0; row < s; ++row)
        std::copy_n(a0.data<double>(), a0.numel(), a.data<double>() + row * a0.numel());
      alphas[k].lo = a;
    }
    if (betat)
      std::fill_n(betat->data<double>(), betat->numel(), 0.0);
    return Status::ok();
  }

  static Alphas clone_alphas(const Alphas& a) {
    Alphas out(a.size());
    for (size_t k = 0; k < a.size(); ++k) {
      if (a[k].lo.is_valid())
        out[k].lo = a[k].lo.clone();
      if (a[k].hi.is_valid())
        out[k].hi = a[k].hi.clone();
    }
    return out;
  }

  // Row r of every alpha (and beta) into the snapshot.
  static void copy_row(
      const Alphas& a, const Tensor* betat, int64_t r, Alphas& snap, Tensor& snap_beta) {
    auto row = [r](const Tensor& from, Tensor& to) {
      if (!from.is_valid() || !to.is_valid())
        return;
      const int64_t m = from.numel() / from.dim(0);
      std::copy_n(from.data<double>() + r * m, m, to.data<double>() + r * m);
    };
    for (size_t k = 0; k < a.size(); ++k) {
      row(a[k].lo, snap[k].lo);
      row(a[k].hi, snap[k].hi);
    }
    if (betat)
      row(*betat, snap_beta);
  }

  // Both sides of C * value(target).
  // Both sides of C * value(target) (only the lower one when `upper` is false: +inf above).
  Expected<Interval> bound_rows(ValueId target,
                                const Tensor& c,
                                bool upper = true,
                                bool alpha = true) {
    Interval r;
    NNCERT_RETURN_IF_ERROR(check_stop());
    if (copt.alpha && alpha) {
      NNCERT_ASSIGN_OR_RETURN(r.lo, optimise(target, c, true));
      if (upper) {
        NNCERT_ASSIGN_OR_RETURN(r.hi, optimise(target, c, false));
      }
    } else {
      NNCERT_ASSIGN_OR_RETURN(r.lo, backward(target, c, true, nullptr, nullptr));
      if (upper) {
        NNCERT_ASSIGN_OR_RETURN(r.hi, backward(target, c, false, nullptr, nullptr));
      }
    }
    if (!upper) {
      r.hi = Tensor(DType::kF64, r.lo.shape());
      for (int64_t i = 0; i < r.hi.numel(); ++i)
        r.hi.set(i, std::numeric_limits<double>::infinity());
    }
    return r;
  }

  Status check_stop() const {
    if (copt.should_stop && copt.should_stop())
      return Status(ErrorCode::kTimeout, "bound computation stopped (time limit or interrupt)");
    return Status::ok();
  }

  // ---------------------------------------------------------------- intermediate bounds
  // auto_LiRPA's compute_intermediate_bounds for value v.
  Status ensure_bounds(ValueId v) {
    const auto vi = static_cast<size_t>(v);
    if (bounds[vi].lo.is_valid())
      return Status::ok();
    const NodeId p = g.value(v).producer;
    if (p == kNoNode)
      return Status(ErrorCode::kInternal, "value '" + g.value(v).name + "' has no producer");
    const Node& pn = g.node(p);
    const Shape& shape = g.value(v).shape;
    // Element-wise activations, Neg, Concat, ...: one IBP step from their inputs' bounds, when
    // the chain of such ops reaches a value that has bounds.
    {
      std::vector<NodeId> chain;
      NodeId cur = p;
      bool ok = true;
      while (true) {
        const Node& cn = g.node(cur);
        if (!ibp_intermediate(cn) || cn.inputs.empty() || cn.inputs[0] == kNoValue) {
          ok = false;
          break;
        }
        chain.push_back(cur);
        const ValueId in = cn.inputs[0];
        if (bounds[static_cast<size_t>(in)].lo.is_valid())
          break;
        cur = g.value(in).producer;
        if (cur == kNoNode) {
          ok = false;
          break;
        }
      }
      if (!ok && pn.op == "Reshape" && pn.inputs.size() > 1 &&
          bounds[static_cast<size_t>(pn.inputs[0])].lo.is_valid() && g.is_constant(pn.inputs[1])) {
        ok = true;
        chain = {p};
      }
      if (ok) {
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
          const ValueId ov = g.node(*it).outputs[0];
          NNCERT_ASSIGN_OR_RETURN(Interval b, ibp_general(ov));
          set_bounds(ov, b);
        }
        return Status::ok();
      }
    }
    // The first Linear/Conv after the input: IBP is exact for a box.
    const auto first_input = pn.inputs.empty()
                                 ? g.inputs().end()
                                 : std::find(g.inputs().begin(), g.inputs().end(), pn.inputs[0]);
    if ((pn.op == "Gemm" || pn.op == "Conv") && first_input != g.inputs().end() &&
        plain_box[static_cast<size_t>(first_input - g.inputs().begin())]) {
      NNCERT_ASSIGN_OR_RETURN(Interval b, ibp_general(v));
      set_bounds(v, b);
      return Status::ok();
    }
    const int64_t n = shape_numel(shape);
    std::vector<int64_t> rows;
    Interval ref;
    bool sparse = false;
    if (copt.sparse_intermediate) {
      const auto cons = g.consumers(v);
      sparse = !cons.empty() && is_relu_like(g.node(cons[0]).op);
    }
    if (sparse) {
      NNCERT_ASSIGN_OR_RETURN(ref, ibp_general(v));
      // A containing domain's bounds (CrownOptions::reuse_bounds) hold here too: neurons stable
      // there need no CROWN pass.
      const std::vector<Interval>* parent = copt.reuse_bounds;
      if (parent && parent->size() > static_cast<size_t>(v) &&
          (*parent)[static_cast<size_t>(v)].lo.is_valid()) {
        const Interval& pb = (*parent)[static_cast<size_t>(v)];
        ref = {ref.lo.clone(), ref.hi.clone()};
        for (int64_t j = 0; j < n; ++j) {
          ref.lo.set(j, std::max(ref.lo.get(j), pb.lo.get(j)));
          ref.hi.set(j, std::min(ref.hi.get(j), pb.hi.get(j)));
        }
      }
      for (int64_t j = 0; j < n; ++j)
        if (ref.lo.get(j) < 0 && ref.hi.get(j) > 0)
          rows.push_back(j);
      if (rows.empty()) {
        set_bounds(v, ref);
        return Status::ok();
      }
      const bool linear = pn.op == "Gemm" || pn.op == "MatMul";
      if (static_cast<double>(rows.size()) > 0.9 * static_cast<double>(n) ||
          (linear && shape.size() > 2)) {
        rows.clear();
        sparse = false;
      }
    }
    if (!sparse)
      for (int64_t j = 0; j < n; ++j)
        rows.push_back(j);
    const auto s = static_cast<int64_t>(rows.size());
    Tensor c(DType::kF64, {s, n});
    for (int64_t r = 0; r < s; ++r)
      c.data<double>()[r * n + rows[static_cast<size_t>(r)]] = 1;
    NNCERT_ASSIGN_OR_RETURN(
        Interval b, bound_rows(v, c, true, copt.alpha && copt.alpha_options.optimize_intermediate));
    Interval res;
    if (sparse) {
      res = {ref.lo.clone().reshaped(shape), ref.hi.clone().reshaped(shape)};
      for (int64_t r = 0; r < s; ++r) {
        res.lo.set(rows[static_cast<size_t>(r)], b.lo.get(r));
        res.hi.set(rows[static_cast<size_t>(r)], b.hi.get(r));
      }
    } else {
      res = {b.lo.reshaped(shape), b.hi.reshaped(shape)};
    }
    if (copt.intersect_ibp) {
      NNCERT_ASSIGN_OR_RETURN(Interval ib, ibp_general(v));
      for (int64_t j = 0; j < n; ++j) {
        res.lo.set(j, std::max(res.lo.get(j), ib.lo.get(j)));
        res.hi.set(j, std::min(res.hi.get(j), ib.hi.get(j)));
      }
    }
    set_bounds(v, res);
    return Status::ok();
  }

  // Does the CROWN rule of node n read the bounds of its inputs?
  static bool needs_input_bounds(const Graph& g, const Node& n) {
    const OpDef* def = find_op(n.op);
    if (def->crown_needs_bounds_fn != nullptr) {
      // The op decides per node (Mul, MatMul, Div, Max, Min: only in their nonlinear cases).
      std::unique_ptr<bool[]> is_const(new bool[n.inputs.size() + 1]);
      for (size_t i = 0; i < n.inputs.size(); ++i)
        is_const[i] = n.inputs[i] == kNoValue || g.is_constant(n.inputs[i]);
      return def->crown_needs_bounds_fn(n, std::span<const bool>(is_const.get(), n.inputs.size()));
    }
    return def->crown_needs_bounds;
  }
};

}  // namespace

Expected<CrownResult> crown_bounds(const Graph& g,
                                   const std::vector<Interval>& inputs,
                                   const std::vector<std::vector<double>>& c,
                                   const BoundOptions& options,
                                   const CrownOptions& crown) {
  if (inputs.size() != g.inputs().size())
    return Status(ErrorCode::kInvalidArgument, "one input interval per graph input is needed");
  std::vector<Perturbation> sets;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].lo.is_valid() || !inputs[i].hi.is_valid())
      return Status(ErrorCode::kInvalidArgument, "input box " + std::to_string(i) + " is empty");
    const Shape& s = g.value(g.inputs()[i]).shape;
    if (inputs[i].lo.numel() != shape_numel(s) || inputs[i].hi.numel() != shape_numel(s))
      return Status(ErrorCode::kShapeMismatch,
                    "input box " + std::to_string(i) + " does not match the input shape " +
                        shape_to_string(s));
    for (int64_t k = 0; k < inputs[i].lo.numel(); ++k)
      if (!(inputs[i].lo.get(k) <= inputs[i].hi.get(k)))
        return Status(ErrorCode::kInvalidArgument,
                      "input box lower > upper at " + std::to_string(k));
    sets.push_back(
        Perturbation::box(inputs[i].lo.to_double_vector(), inputs[i].hi.to_double_vector()));
  }
  return crown_bounds(g, sets, c, options, crown);
}

Expected<CrownResult> crown_bounds(const Graph& g,
                                   const std::vector<Perturbation>& inputs,
                                   const std::vector<std::vector<double>>& c,
                                   const BoundOptions& options,
                                   const CrownOptions& crown) {
  NNCERT_RETURN_IF_ERROR(options.validate());
  if (crown.alpha && (crown.alpha_options.iterations < 0 || !(crown.alpha_options.lr > 0) ||
                      !(crown.alpha_options.lr_decay > 0)))
    return Status(ErrorCode::kInvalidArgument,
                  "alpha-CROWN needs iterations >= 0, lr > 0 and lr_decay > 0");
  if (inputs.size() != g.inputs().size())
    return Status(ErrorCode::kInvalidArgument, "one input set per graph input is needed");
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
  Engine e(g, options, crown);
  e.perts = inputs;
  e.node_mag.resize(g.num_nodes());
  e.bounds.resize(g.num_values());
  e.default_lines.resize(g.num_nodes());
  NNCERT_ASSIGN_OR_RETURN(e.order, g.topological_order());
  for (size_t v = 0; v < g.num_values(); ++v) {
    const Value& val = g.value(static_cast<ValueId>(v));
    if (val.constant && crown.shared && v < crown.shared->constants.size() &&
        crown.shared->constants[v].lo.is_valid()) {
      e.bounds[v] = crown.shared->constants[v];
    } else if (val.constant) {
      Tensor t = is_float(val.constant->dtype()) ? val.constant->to(DType::kF64) : *val.constant;
      e.bounds[v] = {t, t};
    }
  }
  const CrownShared* sh = crown.shared;
  if (sh && (sh->constants.size() != g.num_values() || sh->safe_rounding != options.safe_rounding ||
             (sh->safe_rounding && (sh->magnitudes.size() != g.num_values() ||
                                    sh->node_magnitudes.size() != g.num_nodes()))))
    return Status(ErrorCode::kInvalidArgument, "CrownOptions::shared was built for another call");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Shape& s = g.value(g.inputs()[i]).shape;
    NNCERT_RETURN_IF_ERROR(inputs[i]
                               .validate(shape_numel(s))
                               .with_context("input set " + std::to_string(i) +
                                             " for input shape " + shape_to_string(s)));
    NNCERT_ASSIGN_OR_RETURN(Interval box, enclosing_box(inputs[i], s));
    e.bounds[static_cast<size_t>(g.inputs()[i])] = box;
    e.plain_box.push_back(inputs[i].kind == Perturbation::Kind::kBox &&
                          inputs[i].constraints.empty());
  }
  if (options.safe_rounding && sh) {
    e.gamma = rounding_gamma(g);
    e.mag_ibp = sh->magnitudes;
    e.node_mag = sh->node_magnitudes;
  } else if (options.safe_rounding) {
    e.gamma = rounding_gamma(g);
    std::vector<Interval> boxes;
    for (ValueId v : g.inputs())
      boxes.push_back(e.bounds[static_cast<size_t>(v)]);
    BoundOptions io = options;
    io.dtype = DType::kF64;
    NNCERT_ASSIGN_OR_RETURN(e.mag_ibp, ibp_all(g, boxes, io));
  }
  e.has_split.assign(g.num_values(), 0);
  for (const ReluSplit& sp : crown.splits) {
    if (sp.relu_input < 0 || static_cast<size_t>(sp.relu_input) >= g.num_values() ||
        g.value(sp.relu_input).producer == kNoNode || sp.index < 0 ||
        sp.index >= shape_numel(g.value(sp.relu_input).shape))
      return Status(ErrorCode::kInvalidArgument, "a ReLU split names no computed value element");
    e.has_split[static_cast<size_t>(sp.relu_input)] = 1;
  }
  try {
    if (crown.reuse_bounds) {
      // Values computed before the earliest split cannot depend on any split (topological
      // order): the parent's bounds hold for them as they are (clamped where split).
      std::vector<size_t> pos(g.num_nodes(), 0);
      for (size_t i = 0; i < e.order.size(); ++i)
        pos[static_cast<size_t>(e.order[i])] = i;
      size_t limit = e.order.size();
      if (!crown.fixed_intermediate)
        for (const ReluSplit& sp : crown.splits)
          limit = std::min(limit, pos[static_cast<size_t>(g.value(sp.relu_input).producer)]);
      const std::vector<Interval>& rb = *crown.reuse_bounds;
      for (size_t v = 0; v < g.num_values() && v < rb.size(); ++v) {
        const NodeId p = g.value(static_cast<ValueId>(v)).producer;
        if (p != kNoNode && !g.is_constant(static_cast<ValueId>(v)) && rb[v].lo.is_valid() &&
            pos[static_cast<size_t>(p)] <= limit && !e.bounds[v].lo.is_valid())
          e.set_bounds(static_cast<ValueId>(v), rb[v]);
      }
    }
    // Intermediate bounds for the inputs of every relaxation that reads them, in topological
    // order.
    for (NodeId id : e.order) {
      const Node& n = g.node(id);
      if (!Engine::needs_input_bounds(g, n))
        continue;
      for (ValueId v : n.inputs)
        if (v >= 0 && !g.is_constant(v) && is_float(g.value(v).dtype))
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
      // Without optimised intermediate bounds, alpha-CROWN's first pass is plain CROWN's (same
      // intermediate bounds, default lines), so its coefficients are CROWN's.
      const bool rerun_plain = crown.alpha && crown.alpha_options.optimize_intermediate;
      if (crown.lower_linear && !rerun_plain)
        e.capture_lower_a = &result.lower_a;
      if (crown.alpha && crown.keep_alpha)
        e.alpha_out = &result.alpha_state;
      NNCERT_ASSIGN_OR_RETURN(result.bounds, e.bound_rows(out, cm, !crown.lower_only));
      e.capture_lower_a = nullptr;
      e.alpha_out = nullptr;
      if (rerun_plain) {
        // Never looser than CROWN: alpha starts from CROWN's lines, but the intermediate bounds
        // it optimised change the default lines too, so keep the better of the two per row.
        // (Without intermediate optimisation each side keeps its best step, the first of
        // which is CROWN's bound.)
        CrownOptions plain = crown;
        plain.alpha = false;
        plain.beta = false;
        plain.relu_coefficients = false;
        NNCERT_ASSIGN_OR_RETURN(CrownResult p, crown_bounds(g, inputs, c, options, plain));
        result.lower_a = std::move(p.lower_a);
        for (int64_t r = 0; r < cm.dim(0); ++r) {
          result.bounds.lo.set(r, std::max(result.bounds.lo.get(r), p.bounds.lo.get(r)));
          result.bounds.hi.set(r, std::min(result.bounds.hi.get(r), p.bounds.hi.get(r)));
        }
      }
      if (crown.intersect_ibp) {
        NNCERT_ASSIGN_OR_RETURN(Interval ib, e.ibp_general(out));
        for (int64_t r = 0; r < cm.dim(0); ++r) {
          double lo = 0, hi = 0;
          for (int64_t j = 0; j < n_out; ++j) {
            const double cj = cm.get(r * n_out + j);
            if (cj == 0)
              continue;
            lo += cj * (cj > 0 ? ib.lo.get(j) : ib.hi.get(j));
            hi += cj * (cj > 0 ? ib.hi.get(j) : ib.lo.get(j));
          }
          result.bounds.lo.set(r, std::max(result.bounds.lo.get(r), lo));
          result.bounds.hi.set(r, std::min(result.bounds.hi.get(r), hi));
        }
      }
    }
    if (crown.relu_coefficients && !g.is_constant(out)) {
      Tape tape;
      NNCERT_ASSIGN_OR_RETURN(Tensor unused, e.backward(out, cm, true, nullptr, &tape));
      (void)unused;
      result.relu_coefs.resize(g.num_values());
      for (const RelaxUse& u : tape.relax) {
        const Node& n = g.node(u.node);
        if (is_relu_like(n.op))
          result.relu_coefs[static_cast<size_t>(n.inputs[0])] = u.c;
      }
      if (!tape.xstar.empty() && tape.xstar[0].is_valid()) {
        const Tensor& xs = tape.xstar[0];
        const int64_t s = xs.dim(0), n = xs.numel() / std::max<int64_t>(1, xs.dim(0));
        for (int64_t r = 0; r < s; ++r)
          result.minimizers.emplace_back(xs.data<double>() + r * n,
                                         xs.data<double>() + (r + 1) * n);
      }
    }
    result.intermediate = std::move(e.bounds);
    return result;
  } catch (const InfeasibleDomain&) {
    CrownResult result;
    const int64_t rows =
        c.empty() ? shape_numel(g.value(g.outputs()[0]).shape) : static_cast<int64_t>(c.size());
    result.bounds = {Tensor(DType::kF64, {rows}), Tensor(DType::kF64, {rows})};
    for (int64_t r = 0; r < rows; ++r) {
      result.bounds.lo.set(r, std::numeric_limits<double>::infinity());
      result.bounds.hi.set(r, -std::numeric_limits<double>::infinity());
    }
    result.infeasible = true;
    return result;
  } catch (const StatusError& err) {
    return err.status;
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory during CROWN");
  }
}

Expected<CrownShared> crown_shared(const Graph& g,
                                   const std::vector<Perturbation>& inputs,
                                   const BoundOptions& options) {
  if (inputs.size() != g.inputs().size())
    return Status(ErrorCode::kInvalidArgument, "one input set per graph input is needed");
  CrownShared sh;
  sh.constants.resize(g.num_values());
  for (size_t v = 0; v < g.num_values(); ++v) {
    const Value& val = g.value(static_cast<ValueId>(v));
    if (val.constant && is_float(val.constant->dtype())) {
      const Tensor t = val.constant->to(DType::kF64);
      sh.constants[v] = {t, t};
    }
  }
  sh.safe_rounding = options.safe_rounding;
  if (!options.safe_rounding)
    return sh;
  std::vector<Interval> boxes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Shape& s = g.value(g.inputs()[i]).shape;
    NNCERT_RETURN_IF_ERROR(inputs[i].validate(shape_numel(s)));
    NNCERT_ASSIGN_OR_RETURN(Interval box, enclosing_box(inputs[i], s));
    boxes.push_back(std::move(box));
  }
  BoundOptions io = options;
  io.dtype = DType::kF64;
  NNCERT_ASSIGN_OR_RETURN(sh.magnitudes, ibp_all(g, boxes, io));
  sh.node_magnitudes.resize(g.num_nodes());
  ExecContext ctx{options.threads};
  for (size_t id = 0; id < g.num_nodes(); ++id) {
    auto m = output_magnitude(g, g.node(static_cast<NodeId>(id)), sh.magnitudes, ctx);
    if (m)
      sh.node_magnitudes[id] = std::move(*m);
  }
  return sh;
}

}  // namespace nncert
