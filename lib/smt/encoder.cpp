#include "smt/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace nncert::smt {

namespace {

// Row-major multi-index of flat index f in `dims`.
std::vector<int64_t> unravel(int64_t f, const Shape& dims) {
  std::vector<int64_t> idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = dims[d] > 0 ? f % dims[d] : 0;
    f = dims[d] > 0 ? f / dims[d] : 0;
  }
  return idx;
}

// For every element of `out`, the flat index of the element of an operand of shape `s` that
// numpy broadcasting reads.
std::vector<int64_t> broadcast_index(const Shape& s, const Shape& out) {
  const int64_t n = shape_numel(out);
  std::vector<int64_t> res(static_cast<size_t>(n));
  const size_t off = out.size() - std::min(out.size(), s.size());
  for (int64_t f = 0; f < n; ++f) {
    const std::vector<int64_t> o = unravel(f, out);
    int64_t k = 0;
    for (size_t d = 0; d < s.size(); ++d)
      k = k * s[d] + (s[d] == 1 ? 0 : o[d + off]);
    res[static_cast<size_t>(f)] = k;
  }
  return res;
}

bool one_of(const std::string& op, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* s) { return op == s; });
}

}  // namespace

std::string exact_decimal(double v) {
  NNCERT_CHECK(std::isfinite(v), "exact_decimal of a non-finite value");
  // glibc prints the exact binary value; 1074 decimals reach the smallest subnormal 2^-1074.
  std::string buf(1500, '\0');
  const int len = std::snprintf(buf.data(), buf.size(), "%.1074f", v);
  NNCERT_CHECK(len > 0 && static_cast<size_t>(len) < buf.size(), "exact_decimal overflow");
  buf.resize(static_cast<size_t>(len));
  while (buf.back() == '0')
    buf.pop_back();
  if (buf.back() == '.')
    buf.pop_back();
  if (buf == "-0")
    buf = "0";
  return buf;
}

z3::expr real_num(z3::context& ctx, double v) {
  if (v == 0)
    return ctx.real_val(0);
  if (v == std::nearbyint(v) && std::fabs(v) < 1e15)
    return ctx.real_val(static_cast<int64_t>(v));
  return ctx.real_val(exact_decimal(v).c_str());
}

Encoder::Encoder(z3::context& ctx,
                 z3::solver& solver,
                 const Graph& g,
                 const std::vector<Interval>& bounds,
                 std::set<std::pair<ValueId, int64_t>> active,
                 std::set<std::pair<ValueId, int64_t>> inactive,
                 bool big_m)
    : ctx_(ctx),
      s_(solver),
      g_(g),
      bounds_(bounds),
      lo_(g.num_values()),
      hi_(g.num_values()),
      active_(std::move(active)),
      inactive_(std::move(inactive)),
      big_m_(big_m),
      vals_(g.num_values()),
      has_(g.num_values(), 0) {}

Status Encoder::unsupported(const Node& n, const std::string& why) const {
  return Status(ErrorCode::kUnsupported, "smt: node " + n.display() + ": " + why);
}

const Terms& Encoder::terms(ValueId v) {
  const auto i = static_cast<size_t>(v);
  if (!has_[i] && g_.is_constant(v)) {
    for (double c : g_.value(v).constant->to_double_vector())
      vals_[i].push_back(real_num(ctx_, c));
    has_[i] = 1;
  }
  NNCERT_CHECK(has_[i], "smt: value used before it was encoded");
  return vals_[i];
}

bool Encoder::has_bounds(ValueId v) const {
  if (g_.is_constant(v))
    return true;
  const auto i = static_cast<size_t>(v);
  return i < bounds_.size() && bounds_[i].lo.is_valid() && bounds_[i].hi.is_valid();
}

std::pair<double, double> Encoder::bound(ValueId v, int64_t k) const {
  const auto i = static_cast<size_t>(v);
  auto& self = const_cast<Encoder&>(*this);  // lazily converted cache
  if (lo_[i].empty()) {
    if (g_.is_constant(v)) {
      self.lo_[i] = g_.value(v).constant->to_double_vector();
      self.hi_[i] = self.lo_[i];
    } else if (has_bounds(v)) {
      self.lo_[i] = bounds_[i].lo.to_double_vector();
      self.hi_[i] = bounds_[i].hi.to_double_vector();
    }
  }
  if (static_cast<size_t>(k) >= lo_[i].size())
    return {-INFINITY, INFINITY};
  return {lo_[i][static_cast<size_t>(k)], hi_[i][static_cast<size_t>(k)]};
}

z3::expr Encoder::fresh_real() {
  return ctx_.real_const(("v" + std::to_string(fresh_++)).c_str());
}

z3::expr Encoder::define(const z3::expr& e, double lo, double hi) {
  z3::expr y = fresh_real();
  s_.add(y == e);
  if (std::isfinite(lo))
    s_.add(y >= real_num(ctx_, lo));
  if (std::isfinite(hi))
    s_.add(y <= real_num(ctx_, hi));
  return y;
}

Status Encoder::encode(const Terms& x) {
  if (g_.inputs().size() != 1)
    return Status(ErrorCode::kUnsupported, "smt: graphs with one input only");
  const ValueId in = g_.inputs()[0];
  if (static_cast<int64_t>(x.size()) != shape_numel(shape(in)))
    return Status(ErrorCode::kShapeMismatch, "smt: the region does not fit the graph input");
  vals_[static_cast<size_t>(in)] = x;
  has_[static_cast<size_t>(in)] = 1;
  NNCERT_ASSIGN_OR_RETURN(std::vector<NodeId> order, g_.topological_order());
  for (NodeId id : order)
    NNCERT_RETURN_IF_ERROR(encode_node(g_.node(id)));
  return Status::ok();
}

Status Encoder::encode_node(const Node& n) {
  for (ValueId o : n.outputs)
    if (o != kNoValue && !shape_is_static(shape(o)))
      return unsupported(n, "output shape not static (specialise the graph first)");
  const std::string& op = n.op;
  if (one_of(op, {"Gemm"}))
    return gemm(n);
  if (one_of(op, {"MatMul"}))
    return mat_mul(n);
  if (one_of(op, {"Conv"}))
    return conv(n);
  if (one_of(op, {"MaxPool"}))
    return pool(n, true);
  if (one_of(op, {"AveragePool"}))
    return pool(n, false);
  if (one_of(op, {"GlobalAveragePool"}))
    return global_average_pool(n);
  if (one_of(op, {"BatchNormalization"}))
    return batch_norm(n);
  if (one_of(op, {"Add", "Sub", "Mul", "Div", "Neg"}))
    return elementwise(n);
  if (one_of(op, {"Relu", "LeakyRelu", "Abs", "Clip"}))
    return activation(n);
  if (one_of(op, {"Max", "Min"}))
    return max_min(n, op == "Max");
  if (one_of(op,
             {"Identity",
              "Dropout",
              "Flatten",
              "Reshape",
              "Squeeze",
              "Unsqueeze",
              "Transpose",
              "Concat",
              "Slice",
              "Pad",
              "Split",
              "Gather"}))
    return movement(n);
  return unsupported(n, "no exact linear encoding for " + op);
}

// Data movement: the op's own forward rule, run on inputs whose elements are their indices
// (1-based, over all float inputs), says which input element each output element copies (0: a
// zero the op inserted). So reshapes, transposes, slices, padding modes, ... agree with the
// runtime by construction.
Status Encoder::movement(const Node& n) {
  const OpDef* def = find_op(n.op);
  if (!def || !def->forward)
    return unsupported(n, "no forward rule");
  std::vector<Tensor> in(n.inputs.size());
  std::vector<std::pair<ValueId, int64_t>> source = {{kNoValue, 0}};  // code 0: zero
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const ValueId v = n.inputs[i];
    if (v == kNoValue)
      continue;
    const Value& val = g_.value(v);
    if (!is_float(val.dtype)) {
      if (!val.constant)
        return unsupported(n, "non-float input that is not constant");
      in[i] = *val.constant;
      continue;
    }
    Tensor t(DType::kF64, val.shape);
    for (int64_t k = 0; k < t.numel(); ++k) {
      t.set(k, static_cast<double>(source.size()));
      source.emplace_back(v, k);
    }
    in[i] = std::move(t);
  }
  std::vector<TypeInfo> out_types;
  for (ValueId o : n.outputs) {
    TypeInfo ti;
    ti.dtype = o != kNoValue && is_float(g_.value(o).dtype) ? DType::kF64 : DType::kI64;
    ti.shape = o != kNoValue ? shape(o) : Shape{};
    out_types.push_back(ti);
  }
  std::vector<Tensor> out(n.outputs.size());
  NNCERT_RETURN_IF_ERROR(def->forward(n, in, out_types, out, ExecContext{1}));
  for (size_t k = 0; k < n.outputs.size(); ++k) {
    const ValueId o = n.outputs[k];
    if (o == kNoValue)
      continue;
    if (!is_float(g_.value(o).dtype))
      return unsupported(n, "non-float output");
    Terms t;
    for (int64_t e = 0; e < out[k].numel(); ++e) {
      const double code = out[k].get(e);
      const auto c = static_cast<size_t>(code);
      if (code < 0 || c >= source.size() || static_cast<double>(c) != code)
        return unsupported(n, "the op computes values (not only moves them)");
      t.push_back(c == 0 ? ctx_.real_val(0)
                         : terms(source[c].first)[static_cast<size_t>(source[c].second)]);
    }
    vals_[static_cast<size_t>(o)] = std::move(t);
    has_[static_cast<size_t>(o)] = 1;
  }
  return Status::ok();
}

// Add, Sub: a +- b; Mul: a * c, Div: a / c with c constant; Neg: -a (numpy broadcasting).
Status Encoder::elementwise(const Node& n) {
  const ValueId out = n.outputs[0];
  const Shape& os = shape(out);
  Terms y;
  if (n.op == "Neg") {
    for (const z3::expr& e : terms(n.inputs[0]))
      y.push_back(-e);
  } else {
    const ValueId a = n.inputs[0], b = n.inputs[1];
    if (n.op == "Mul" && !g_.is_constant(a) && !g_.is_constant(b))
      return unsupported(n, "product of two variables is not linear");
    if (n.op == "Div" && !g_.is_constant(b))
      return unsupported(n, "division by a variable is not linear");
    const std::vector<int64_t> ia = broadcast_index(shape(a), os);
    const std::vector<int64_t> ib = broadcast_index(shape(b), os);
    const Terms& ta = terms(a);
    const Terms& tb = terms(b);
    for (size_t f = 0; f < ia.size(); ++f) {
      const z3::expr& ea = ta[static_cast<size_t>(ia[f])];
      const z3::expr& eb = tb[static_cast<size_t>(ib[f])];
      if (n.op == "Add")
        y.push_back(ea + eb);
      else if (n.op == "Sub")
        y.push_back(ea - eb);
      else if (n.op == "Mul")
        y.push_back(ea * eb);
      else if (g_.value(b).constant->get(ib[f]) == 0)
        return unsupported(n, "division by zero");
      else
        y.push_back(ea / eb);
    }
  }
  vals_[static_cast<size_t>(out)] = std::move(y);
  has_[static_cast<size_t>(out)] = 1;
  return Status::ok();
}

}  // namespace nncert::smt
