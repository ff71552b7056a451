// Builds the IBP / CROWN-IBP bound graph of a model (bound_graph.h). Every bound is a value of the
// new graph made of ordinary ops with VJP rules, so gradients reach the weights:
//   IBP, centre/radius form: a value v in [c - r, c + r];
//     affine y = W x + b:   c' = W c + b,  r' = |W| r            (|W| = Abs(W): d/dW flows)
//     monotone y = f(x):    [f(c - r), f(c + r)]
//   CROWN-IBP: coefficients Λ [B, S, n] over each value (flattened per example), from Λ = C W_last
//   back to the input; lower = Σ Λ·x_c − |Λ|·x_r + Σ bias terms.
//     affine:  Λ_x = Λ W,  bias += Λ b
//     Relu on [l, u] (IBP): lower line a_l x, a_l = [l + u > 0] (auto_LiRPA's adaptive slope);
//       upper line a_u (x − l'), a_u = u'/(u' − l'), l' = min(l, 0), u' = max(u, 0) (the chord;
//       exact y = x for l ≥ 0 and y = 0 for u ≤ 0);
//       Λ_x = Λ⁺ a_l + Λ⁻ a_u,  bias += Λ⁻ (−a_u l').
//   Loss fusion: IBP bounds [l, u] of z = C y, exp(z_j − m) ≤ el_j + a_j (z_j − l_j) (chord),
//   one CROWN row Λ = −aᵀ C (an upper bound is −lower(−Λ)); docs/bound-loss.md "Loss fusion".
#include "train/bound_graph.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nncert {
namespace {

struct Box {
  ValueId c = kNoValue, r = kNoValue;  // centre, radius
  ValueId l = kNoValue, u = kNoValue;  // lower, upper (made on demand)
};

Status unsupported(const Node& n, const std::string& why) {
  return Status(ErrorCode::kUnsupported, "bound graph: node " + n.display() + ": " + why);
}

class Builder {
 public:
  Builder(const Graph& model, Graph& g) : model_(model), g_(g) {}

  ValueId op(const std::string& type, std::vector<ValueId> ins, Attributes attrs = {}) {
    Node n;
    n.name = "bound/" + type + "_" + std::to_string(count_++);
    n.op = type;
    n.inputs = std::move(ins);
    n.attrs = std::move(attrs);
    const ValueId out = g_.add_value(n.name + ":0", DType::kF64, {}, false);
    n.outputs = {out};
    g_.add_node(std::move(n));
    return out;
  }
  ValueId op(const std::string& type, std::vector<ValueId> ins, Attributes attrs, DType dt) {
    const ValueId v = op(type, std::move(ins), std::move(attrs));
    g_.value(v).dtype = dt;
    return v;
  }
  ValueId add(ValueId a, ValueId b) { return op("Add", {a, b}); }
  ValueId sub(ValueId a, ValueId b) { return op("Sub", {a, b}); }
  ValueId mul(ValueId a, ValueId b) { return op("Mul", {a, b}); }
  ValueId abs(ValueId a) { return op("Abs", {a}); }
  ValueId relu(ValueId a) { return op("Relu", {a}); }
  ValueId neg(ValueId a) { return op("Neg", {a}); }
  ValueId matmul(ValueId a, ValueId b) { return op("MatMul", {a, b}); }
  ValueId transpose(ValueId a) {
    Attributes at;
    at.set("perm", std::vector<int64_t>{1, 0});
    return op("Transpose", {a}, at);
  }
  ValueId reshape(ValueId a, std::vector<int64_t> shape) { return op("Reshape", {a, ints(shape)}); }
  // Sum over axis 2 of a [B, S, n] value: [B, S].
  ValueId sum_last(ValueId a) {
    Attributes at;
    at.set("keepdims", int64_t{0});
    return op("ReduceSum", {a, ints({2})}, at);
  }
  ValueId scalar(double v) { return constant(Tensor::scalar(DType::kF64, v)); }
  ValueId constant(Tensor t) { return g_.add_constant(g_.unique_name("bound/const"), t); }
  ValueId ints(const std::vector<int64_t>& v) {
    return constant(Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
  }
  // The model's constant v, under its own name (so gradients map back to the model).
  ValueId model_const(ValueId v) {
    auto it = consts_.find(v);
    if (it != consts_.end())
      return it->second;
    const Value& mv = model_.value(v);
    const ValueId id = g_.add_constant(mv.name, *mv.constant);
    consts_[v] = id;
    return id;
  }
  ValueId map_input(ValueId v) { return v == kNoValue ? kNoValue : model_const(v); }

 private:
  const Graph& model_;
  Graph& g_;
  std::map<ValueId, ValueId> consts_;
  int count_ = 0;
};

bool is_shape_op(const std::string& op) {
  return op == "Flatten" || op == "Reshape" || op == "Identity" || op == "Dropout";
}

// The single non-constant float input of n (kNoValue if there is none or several).
ValueId data_input(const Graph& m, const Node& n) {
  ValueId d = kNoValue;
  for (ValueId v : n.inputs) {
    if (v == kNoValue || m.is_constant(v) || !is_float(m.value(v).dtype))
      continue;
    if (d != kNoValue)
      return kNoValue;
    d = v;
  }
  return d;
}

int64_t static_numel_per_example(const Value& v) {
  int64_t n = 1;
  for (size_t i = 1; i < v.shape.size(); ++i)
    n *= v.shape[i];
  return v.shape_known && v.shape.size() >= 1 ? n : -1;
}

struct State {
  const Graph& m;
  Graph& g;
  Builder b;
  std::vector<Box> box;  // per model value
  State(const Graph& model, Graph& graph) : m(model), g(graph), b(model, graph) {
    box.resize(model.num_values());
  }

  void ensure_lu(ValueId v) {
    Box& x = box[static_cast<size_t>(v)];
    if (x.l == kNoValue) {
      x.l = b.sub(x.c, x.r);
      x.u = b.add(x.c, x.r);
    }
  }
  void set_lu(ValueId v, ValueId l, ValueId u) {
    Box& x = box[static_cast<size_t>(v)];
    x.l = l;
    x.u = u;
    x.c = b.mul(b.add(l, u), b.scalar(0.5));
    x.r = b.mul(b.sub(u, l), b.scalar(0.5));
  }

  // One IBP step for node n.
  Status ibp(const Node& n) {
    const ValueId d = data_input(m, n);
    if (d == kNoValue) {
      if (n.op == "Add" || n.op == "Sub")
        return ibp_two(n);
      return unsupported(n, "needs exactly one non-constant input");
    }
    const Box& x = box[static_cast<size_t>(d)];
    if (x.c == kNoValue)
      return unsupported(n, "input has no bounds");
    const ValueId out = n.outputs[0];
    auto mapped = [&](ValueId data) {
      std::vector<ValueId> ins;
      for (ValueId v : n.inputs)
        ins.push_back(v == d ? data : b.map_input(v));
      return ins;
    };
    Box& y = box[static_cast<size_t>(out)];
    if (n.op == "Gemm" || n.op == "MatMul" || n.op == "Conv") {
      if (n.inputs[0] != d)
        return unsupported(n, "the data must be the first operand");
      if (n.op == "Gemm" && n.attrs.get_int("transA", 0) != 0)
        return unsupported(n, "transA = 1");
      y.c = b.op(n.op, mapped(x.c), n.attrs);
      Attributes ra = n.attrs;
      if (n.op == "Gemm")
        ra.set("alpha", std::fabs(n.attrs.get_float("alpha", 1.0)));
      y.r = b.op(n.op, {x.r, b.abs(b.model_const(n.inputs[1]))}, ra);
      return Status::ok();
    }
    if (n.op == "Add" || n.op == "Sub") {
      y.c = b.op(n.op, mapped(x.c), n.attrs);
      if (n.op == "Sub" && n.inputs[1] == d)
        return unsupported(n, "constant minus data");
      y.r = x.r;
      return Status::ok();
    }
    if (n.op == "BatchNormalization") {
      if (n.inputs.size() < 5)
        return unsupported(n, "needs 5 inputs");
      y.c = b.op(n.op, mapped(x.c), n.attrs);
      // r' = r |γ| / √(σ² + ε): the same op with scale |γ|, mean 0, bias 0.
      const Tensor& beta = *m.value(n.inputs[2]).constant;
      const ValueId zero = b.constant(Tensor(DType::kF64, beta.shape()));
      y.r = b.op(n.op,
                 {x.r, b.abs(b.model_const(n.inputs[1])), zero, zero, b.model_const(n.inputs[4])},
                 n.attrs);
      return Status::ok();
    }
    if (is_shape_op(n.op) || n.op == "AveragePool" || n.op == "GlobalAveragePool") {
      // Linear with non-negative coefficients (or a permutation): the same op on c and r.
      const std::string op = n.op == "Dropout" ? "Identity" : n.op;
      std::vector<ValueId> ci = mapped(x.c), ri = mapped(x.r);
      if (n.op == "Dropout") {
        ci.resize(1);
        ri.resize(1);
      }
      y.c = b.op(op, ci, n.attrs);
      y.r = b.op(op, ri, n.attrs);
      return Status::ok();
    }
    if (n.op == "Relu" || n.op == "Sigmoid" || n.op == "Tanh" || n.op == "MaxPool") {
      if (n.outputs.size() > 1 && n.outputs[1] != kNoValue)
        return unsupported(n, "MaxPool indices");
      ensure_lu(d);
      const Box& xx = box[static_cast<size_t>(d)];
      set_lu(out, b.op(n.op, {xx.l}, n.attrs), b.op(n.op, {xx.u}, n.attrs));
      return Status::ok();
    }
    return unsupported(n, "no bound-graph rule");
  }

  Status ibp_two(const Node& n) {
    const Box& a = box[static_cast<size_t>(n.inputs[0])];
    const Box& c = box[static_cast<size_t>(n.inputs[1])];
    if (a.c == kNoValue || c.c == kNoValue)
      return unsupported(n, "input has no bounds");
    Box& y = box[static_cast<size_t>(n.outputs[0])];
    y.c = b.op(n.op, {a.c, c.c});
    y.r = b.add(a.r, c.r);
    return Status::ok();
  }
};

// The last linear layer y = h W_effᵀ + bias (W_eff [K, H]) when C can be folded into it.
struct LastLinear {
  ValueId h = kNoValue;       // model value
  ValueId w_eff = kNoValue;   // bound-graph value [K, H]
  ValueId bias = kNoValue;    // bound-graph value [K, 1] or kNoValue
  std::vector<NodeId> nodes;  // the model nodes it replaces
};

std::optional<LastLinear> find_last_linear(const Graph& m, State& s) {
  const ValueId y = m.outputs()[0];
  NodeId p = m.value(y).producer;
  if (p == kNoNode)
    return std::nullopt;
  LastLinear ll;
  ValueId bias_const = kNoValue;
  const Node* n = &m.node(p);
  if (n->op == "Add" && n->inputs.size() == 2 && m.is_constant(n->inputs[1]) &&
      !m.is_constant(n->inputs[0]) && m.value(n->inputs[0]).producer != kNoNode) {
    bias_const = n->inputs[1];
    ll.nodes.push_back(p);
    p = m.value(n->inputs[0]).producer;
    n = &m.node(p);
    if (n->op != "MatMul")
      return std::nullopt;
  }
  const bool gemm = n->op == "Gemm";
  if (!gemm && n->op != "MatMul")
    return std::nullopt;
  if (n->inputs.size() < 2 || m.is_constant(n->inputs[0]) || !m.is_constant(n->inputs[1]))
    return std::nullopt;
  if (gemm && (n->attrs.get_int("transA", 0) != 0 || n->attrs.get_float("alpha", 1.0) != 1.0 ||
               n->attrs.get_float("beta", 1.0) != 1.0))
    return std::nullopt;
  const Value& hv = m.value(n->inputs[0]);
  if (!hv.shape_known || hv.shape.size() != 2 || m.value(n->inputs[1]).constant->rank() != 2)
    return std::nullopt;
  if (gemm && n->inputs.size() > 2 && n->inputs[2] != kNoValue)
    bias_const = n->inputs[2];
  ll.nodes.push_back(p);
  ll.h = n->inputs[0];
  const ValueId w = s.b.model_const(n->inputs[1]);
  ll.w_eff = gemm && n->attrs.get_int("transB", 0) != 0 ? w : s.b.transpose(w);
  if (bias_const != kNoValue)
    ll.bias = s.b.reshape(s.b.model_const(bias_const), {-1, 1});
  return ll;
}

// CROWN backward pass from Λ ([B, S, n] over model value `cur`) to the model input.
Expected<ValueId> crown_backward(State& s, ValueId cur, ValueId lam, ValueId bias, int64_t rows) {
  const Graph& m = s.m;
  Builder& b = s.b;
  auto add_bias = [&](ValueId term) {
    bias = bias == kNoValue ? term : b.add(bias, term);
  };
  // A per-example tensor [B, ...] as [B, 1, n] (broadcasts over the S rows).
  auto rows_view = [&](ValueId v) {
    return b.reshape(v, {0, 1, -1});
  };
  // A per-channel vector [C] expanded to the flattened [C * hw] layout of an NC... value.
  auto per_channel = [&](ValueId v, int64_t c, int64_t hw) {
    Tensor ones(DType::kF64, {c, hw});
    for (int64_t i = 0; i < ones.numel(); ++i)
      ones.set(i, 1.0);
    return b.reshape(b.mul(b.reshape(v, {-1, 1}), b.constant(ones)), {-1});
  };
  while (m.value(cur).producer != kNoNode) {
    const Node& n = m.node(m.value(cur).producer);
    const ValueId d = data_input(m, n);
    if (d == kNoValue)
      return unsupported(n, "CROWN-IBP needs a chain (one non-constant input per node)");
    if (is_shape_op(n.op)) {
      // Row-major flattening commutes with these: Λ is unchanged.
    } else if (n.op == "Relu") {
      const Box& x = s.box[static_cast<size_t>(d)];
      const ValueId al = b.relu(b.op("Sign", {b.add(x.l, x.u)}));
      const ValueId uc = b.relu(x.u);
      const ValueId lc = b.neg(b.relu(b.neg(x.l)));
      const ValueId den = b.op("Max", {b.sub(uc, lc), b.scalar(1e-12)});
      const ValueId au = b.op("Div", {uc, den});
      const ValueId bu = b.neg(b.mul(au, lc));
      const ValueId pos = b.relu(lam);
      const ValueId negp = b.sub(lam, pos);
      add_bias(b.sum_last(b.mul(negp, rows_view(bu))));
      lam = b.add(b.mul(pos, rows_view(al)), b.mul(negp, rows_view(au)));
    } else if (n.op == "Gemm" || n.op == "MatMul") {
      if (n.inputs[0] != d || (n.op == "Gemm" && (n.attrs.get_int("transA", 0) != 0 ||
                                                  n.attrs.get_float("alpha", 1.0) != 1.0 ||
                                                  n.attrs.get_float("beta", 1.0) != 1.0)))
        return unsupported(n, "CROWN-IBP: data first, transA = 0, alpha = beta = 1");
      const ValueId w = b.model_const(n.inputs[1]);
      const bool tb = n.op == "Gemm" && n.attrs.get_int("transB", 0) != 0;
      if (n.op == "Gemm" && n.inputs.size() > 2 && n.inputs[2] != kNoValue)
        add_bias(b.sum_last(b.mul(lam, b.reshape(b.model_const(n.inputs[2]), {-1}))));
      lam = b.matmul(lam, tb ? w : b.transpose(w));
    } else if (n.op == "Add" || n.op == "Sub") {
      const ValueId k = n.inputs[0] == d ? n.inputs[1] : n.inputs[0];
      if (n.op == "Sub" && n.inputs[1] != k)
        return unsupported(n, "constant minus data");
      const int64_t numel = m.value(k).constant->numel();
      if (numel != static_numel_per_example(m.value(cur)))
        return unsupported(n, "CROWN-IBP: the constant must have one entry per output element");
      ValueId kk = b.reshape(b.model_const(k), {-1});
      if (n.op == "Sub")
        kk = b.neg(kk);
      add_bias(b.sum_last(b.mul(lam, kk)));
    } else if (n.op == "Conv") {
      const Value& xin = m.value(d);
      const Value& yv = m.value(cur);
      if (!xin.shape_known || !yv.shape_known || yv.shape.size() < 3)
        return unsupported(n, "CROWN-IBP needs static shapes");
      const int64_t cout = yv.shape[1];
      const int64_t hw = static_numel_per_example(yv) / cout;
      if (n.inputs.size() > 2 && n.inputs[2] != kNoValue)
        add_bias(b.sum_last(b.mul(lam, per_channel(b.model_const(n.inputs[2]), cout, hw))));
      // Λ_x = Convᵀ(Λ): ConvTranspose with the same weights and window, output x's extents.
      Shape ys = yv.shape;
      ys[0] = -1;
      const ValueId l4 = b.reshape(lam, ys);
      Attributes at;
      for (const char* k : {"strides", "pads", "dilations"})
        if (n.attrs.has(k))
          at.set(k, n.attrs.get_ints(k));
      at.set("group", n.attrs.get_int("group", 1));
      if (n.attrs.get_string("auto_pad", "NOTSET") != "NOTSET")
        return unsupported(n, "CROWN-IBP: auto_pad (the loader rewrites it to pads)");
      at.set("output_shape", Shape(xin.shape.begin() + 2, xin.shape.end()));
      const ValueId lx = b.op("ConvTranspose", {l4, b.model_const(n.inputs[1])}, at);
      lam = b.reshape(lx, {-1, rows, static_numel_per_example(xin)});
    } else if (n.op == "BatchNormalization") {
      // y = s x + t, s = γ / √(σ² + ε), t = β − μ s.
      const Value& yv = m.value(cur);
      const int64_t ch = yv.shape.size() >= 2 ? yv.shape[1] : 1;
      const int64_t hw = static_numel_per_example(yv) / ch;
      const ValueId sd =
          b.op("Sqrt",
               {b.add(b.model_const(n.inputs[4]), b.scalar(n.attrs.get_float("epsilon", 1e-5)))});
      const ValueId sc = b.op("Div", {b.model_const(n.inputs[1]), sd});
      const ValueId t = b.sub(b.model_const(n.inputs[2]), b.mul(b.model_const(n.inputs[3]), sc));
      add_bias(b.sum_last(b.mul(lam, per_channel(t, ch, hw))));
      lam = b.mul(lam, per_channel(sc, ch, hw));
    } else {
      return unsupported(n, "no CROWN-IBP bound-graph rule");
    }
    cur = d;
  }
  // Concretise over the input box: min of Λ x over [c − r, c + r] is Λ c − |Λ| r.
  const Box& x = s.box[static_cast<size_t>(cur)];
  ValueId lower =
      b.sub(b.sum_last(b.mul(lam, rows_view(x.c))), b.sum_last(b.mul(b.abs(lam), rows_view(x.r))));
  if (bias != kNoValue)
    lower = b.add(lower, bias);
  return lower;
}

}  // namespace

Status BoundGraphOptions::validate() const {
  if (spec_rows < 0)
    return Status(ErrorCode::kInvalidArgument, "spec_rows must be >= 0");
  return Status::ok();
}

Expected<BoundGraph> build_bound_graph(const Graph& model, const BoundGraphOptions& options) {
  NNCERT_RETURN_IF_ERROR(options.validate());
  if (model.inputs().size() != 1 || model.outputs().size() != 1)
    return Status(ErrorCode::kUnsupported, "bound graph: the model needs one input and one output");
  const Value& in = model.value(model.inputs()[0]);
  const Value& out = model.value(model.outputs()[0]);
  if (!in.shape_known || !out.shape_known || out.shape.size() != 2 || out.shape[1] <= 0)
    return Status(ErrorCode::kUnsupported,
                  "bound graph: the model output must be [batch, classes] with static classes");
  BoundGraph bg;
  bg.num_classes = out.shape[1];
  bg.spec_rows = options.spec_rows > 0 ? options.spec_rows : bg.num_classes;
  Graph& g = bg.graph;
  g.name = model.name + "_bounds";
  g.opset = 18;
  Shape xs = in.shape;
  if (!xs.empty())
    xs[0] = -1;
  const ValueId x_lo = g.add_value("x_lo", in.dtype, xs);
  const ValueId x_hi = g.add_value("x_hi", in.dtype, xs);
  const ValueId spec = g.add_value("spec", DType::kF64, {-1, bg.spec_rows, bg.num_classes});
  g.inputs() = {x_lo, x_hi, spec};

  State s(model, g);
  s.set_lu(model.inputs()[0], x_lo, x_hi);
  auto order = model.topological_order();
  if (!order)
    return order.status();
  std::optional<LastLinear> last = find_last_linear(model, s);
  for (NodeId id : *order) {
    if (last && std::find(last->nodes.begin(), last->nodes.end(), id) != last->nodes.end())
      continue;
    NNCERT_RETURN_IF_ERROR(s.ibp(model.node(id)));
  }
  Builder& b = s.b;
  // IBP of C y, centre/radius mid ± rad [B, S, 1]: folded, (C W) h + C b; otherwise C [y].
  ValueId lam0 = kNoValue, bias0 = kNoValue, cur = kNoValue, mid = kNoValue, rad = kNoValue;
  ValueId w_eff = kNoValue, last_bias = kNoValue;
  if (last) {
    const Box& h = s.box[static_cast<size_t>(last->h)];
    lam0 = b.matmul(spec, last->w_eff);  // [B, S, H]
    const ValueId hc = b.reshape(h.c, {0, -1, 1}), hr = b.reshape(h.r, {0, -1, 1});
    mid = b.matmul(lam0, hc);
    if (last->bias != kNoValue) {
      bias0 = b.reshape(b.matmul(spec, last->bias), {0, -1});
      mid = b.add(mid, b.matmul(spec, last->bias));
    }
    rad = b.matmul(b.abs(lam0), hr);
    cur = last->h;
    w_eff = last->w_eff;
    last_bias = last->bias;
    bg.elided = true;
  } else {
    const Box& y = s.box[static_cast<size_t>(model.outputs()[0])];
    const ValueId yc = b.reshape(y.c, {0, -1, 1}), yr = b.reshape(y.r, {0, -1, 1});
    mid = b.matmul(spec, yc);
    rad = b.matmul(b.abs(spec), yr);
    lam0 = spec;
    cur = model.outputs()[0];
  }
  const ValueId ibp_lower = b.reshape(b.sub(mid, rad), {0, -1});
  g.outputs() = {ibp_lower};
  if (options.loss_fusion) {
    // z = C y in [l, u]; m = max_j u_j (MaxPool over the class axis, [B, 1]).
    const ValueId l = ibp_lower, u = b.reshape(b.add(mid, rad), {0, -1});
    Attributes pool;
    pool.set("kernel_shape", std::vector<int64_t>{1, bg.spec_rows});
    const ValueId m = b.reshape(b.op("MaxPool", {b.reshape(u, {0, 1, 1, -1})}, pool), {0, 1});
    g.outputs().push_back(u);
    g.outputs().push_back(m);
    if (options.method == BoundMethod::kCrownIbp) {
      // exp(z_j − m) ≤ el_j + a_j (z_j − l_j) on [l_j, u_j] (convex: the chord; slope eu_j when
      // u_j − l_j < δ, a steeper line through (l_j, el_j), still above exp there).
      const ValueId el = b.op("Exp", {b.sub(l, m)}), eu = b.op("Exp", {b.sub(u, m)});
      const double delta = 1e-6;
      const ValueId d = b.sub(u, l);
      const ValueId close = b.relu(b.op("Sign", {b.sub(b.scalar(delta), d)}));
      const ValueId chord = b.op("Div", {b.sub(eu, el), b.op("Max", {d, b.scalar(delta)})});
      const ValueId a = b.add(chord, b.mul(close, b.sub(eu, chord)));  // [B, S]
      Attributes keep;
      keep.set("keepdims", int64_t{1});
      const ValueId intercept =
          b.op("ReduceSum", {b.sub(el, b.mul(a, l)), b.ints({1})}, keep);  // [B, 1]
      // Σ_j a_j z_j = (a^T C) y: one row; an upper bound is −lower(−Λ).
      const ValueId row = b.matmul(b.reshape(a, {0, 1, -1}), spec);  // [B, 1, K]
      ValueId lam = row, bias = kNoValue;
      if (w_eff != kNoValue) {
        lam = b.matmul(row, w_eff);  // [B, 1, H]
        if (last_bias != kNoValue)
          bias = b.neg(b.reshape(b.matmul(row, last_bias), {0, -1}));  // [B, 1]
      }
      auto crown = crown_backward(s, cur, b.neg(lam), bias, 1);
      if (!crown)
        return crown.status();
      g.outputs().push_back(b.add(b.neg(*crown), intercept));
    }
  } else if (options.method == BoundMethod::kCrownIbp) {
    auto crown = crown_backward(s, cur, lam0, bias0, bg.spec_rows);
    if (!crown)
      return crown.status();
    g.outputs().push_back(*crown);
  }
  g.rebuild_producers();
  NNCERT_RETURN_IF_ERROR(g.check_structure());
  g.prune_unused();
  return bg;
}

}  // namespace nncert
