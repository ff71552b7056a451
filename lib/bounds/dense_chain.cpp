#include "bounds/dense_chain.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include <Eigen/Dense>

#include "bounds/dense_chain_model.h"
#include "core/cpu_features.h"

namespace nncert {

namespace {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

constexpr double kU = 1.1102230246251565e-16;  // 2^-53

struct Step {
  enum class Kind { kDense, kDiag, kRelu };
  Kind kind = Kind::kRelu;
  int64_t n_in = 0, n_out = 0;
  Mat w;             // dense: n_out x n_in
  Vec s, s_err;      // diag scale and a bound on its error (|s_exact - s|)
  Vec b, b_err;      // bias (dense, diag) and a bound on its error
  std::string from;  // node that made it (for messages)
};

// Constant tensor `t` broadcast (numpy rules) to `shape`, flat row-major, or nullopt.
std::optional<std::vector<double>> broadcast_to(const Tensor& t, const Shape& shape) {
  const Shape& ts = t.shape();
  if (ts.size() > shape.size())
    return std::nullopt;
  const size_t off = shape.size() - ts.size();
  std::vector<int64_t> stride(shape.size(), 0);
  int64_t st = 1;
  for (size_t i = ts.size(); i-- > 0;) {
    const int64_t td = ts[i], sd = shape[off + i];
    if (td != sd && td != 1)
      return std::nullopt;
    stride[off + i] = td == 1 ? 0 : st;
    st *= td;
  }
  const int64_t n = shape_numel(shape);
  std::vector<double> out(static_cast<size_t>(n));
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t src = 0;
    for (size_t a = 0; a < shape.size(); ++a)
      src += idx[a] * stride[a];
    out[static_cast<size_t>(k)] = t.get(src);
    for (size_t a = shape.size(); a-- > 0;) {
      if (++idx[a] < shape[a])
        break;
      idx[a] = 0;
    }
  }
  return out;
}

Vec to_vec(const std::vector<double>& v) {
  return Eigen::Map<const Vec>(v.data(), static_cast<Eigen::Index>(v.size()));
}

bool all_finite(const Vec& v) {
  return v.allFinite();
}

}  // namespace

struct DenseChain::Impl {
  std::vector<Step> steps;
  int64_t n_in = 0, n_out = 0, relu = 0;
  double gamma = 0;  // slack factor for dot products (rounding.h's model)
  std::unique_ptr<dense_chain_detail::ChainEngine> engine;
};

static_assert(DenseChain::kUnknown == dense_chain_detail::kReluUnknown &&
              DenseChain::kActive == dense_chain_detail::kReluActive &&
              DenseChain::kInactive == dense_chain_detail::kReluInactive);

namespace {
std::unique_ptr<dense_chain_detail::ChainEngine> make_engine(const dense_chain_detail::ChainSpec& s,
                                                             bool allow_avx2);
dense_chain_detail::ChainSpec to_spec(const DenseChain::Impl& im);
}  // namespace

DenseChain::DenseChain(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DenseChain::~DenseChain() = default;
int64_t DenseChain::num_inputs() const {
  return impl_->n_in;
}
int64_t DenseChain::num_outputs() const {
  return impl_->n_out;
}
int64_t DenseChain::num_relu() const {
  return impl_->relu;
}

Expected<std::shared_ptr<const DenseChain>> DenseChain::extract(const Graph& g, bool allow_avx2) {
  auto unsupported = [](const std::string& why) {
    return Status(ErrorCode::kUnsupported, "not a dense ReLU chain: " + why);
  };
  if (g.inputs().size() != 1 || g.outputs().size() != 1)
    return unsupported("needs one input and one output");
  NNCERT_ASSIGN_OR_RETURN(auto order, g.topological_order());
  auto impl = std::make_unique<Impl>();
  ValueId cur = g.inputs()[0];
  const Value& in = g.value(cur);
  if (!in.shape_known || !shape_is_static(in.shape))
    return unsupported("input shape is not static");
  impl->n_in = shape_numel(in.shape);
  int64_t n = impl->n_in;
  int64_t widest = n;
  for (NodeId id : order) {
    const Node& node = g.node(id);
    const std::string where = node.display();
    int uses = 0;
    int pos = -1;
    std::vector<int> consts;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const ValueId v = node.inputs[i];
      if (v == kNoValue)
        continue;
      if (v == cur) {
        ++uses;
        pos = static_cast<int>(i);
      } else if (g.is_constant(v)) {
        consts.push_back(static_cast<int>(i));
      } else {
        return unsupported(where + " takes a second computed input (a branch)");
      }
    }
    if (uses != 1)
      return unsupported(where + " is not on the chain from the input");
    if (g.consumers(cur).size() != 1 || cur == g.outputs()[0])
      return unsupported("value '" + g.value(cur).name + "' is used more than once");
    for (size_t o = 1; o < node.outputs.size(); ++o)
      if (node.outputs[o] != kNoValue &&
          (!g.consumers(node.outputs[o]).empty() || node.outputs[o] == g.outputs()[0]))
        return unsupported(where + " has a second output in use");
    const Value& xv = g.value(cur);
    const ValueId out = node.outputs.at(0);
    const Value& yv = g.value(out);
    if (!yv.shape_known || !shape_is_static(yv.shape))
      return unsupported(where + " has no static output shape");
    const int64_t m = shape_numel(yv.shape);
    auto cst = [&](int i) -> const Tensor& {
      return *g.value(node.inputs[static_cast<size_t>(i)]).constant;
    };
    auto diag = [&](Vec s, Vec s_err, Vec t, Vec t_err) {
      Step st;
      st.kind = Step::Kind::kDiag;
      st.n_in = st.n_out = n;
      st.s = std::move(s);
      st.s_err = std::move(s_err);
      st.b = std::move(t);
      st.b_err = std::move(t_err);
      st.from = where;
      impl->steps.push_back(std::move(st));
    };
    const std::string& op = node.op;
    if (op == "Relu") {
      Step st;
      st.kind = Step::Kind::kRelu;
      st.n_in = st.n_out = n;
      st.from = where;
      impl->steps.push_back(std::move(st));
      impl->relu += n;
    } else if (op == "Identity" || op == "Dropout" || op == "Flatten" || op == "Reshape" ||
               op == "Squeeze" || op == "Unsqueeze") {
      if (pos != 0 || m != n)
        return unsupported(where + " changes the number of elements");
    } else if (op == "Gemm" || op == "MatMul") {
      if (pos != 0 || consts.empty() || consts[0] != 1)
        return unsupported(where + " needs the chain value as A and a constant B");
      if (op == "Gemm" && node.attrs.get_int("transA", 0) != 0)
        return unsupported(where + " has transA");
      if (op == "Gemm" && node.attrs.get_float("alpha", 1.0) != 1.0)
        return unsupported(where + " has alpha != 1");
      const Tensor& bw = cst(1);
      if (bw.rank() != 2)
        return unsupported(where + " has a weight of rank " + std::to_string(bw.rank()));
      const bool trans = op == "Gemm" && node.attrs.get_int("transB", 0) != 0;
      const int64_t k = trans ? bw.dim(1) : bw.dim(0), outs = trans ? bw.dim(0) : bw.dim(1);
      if (k != n || xv.shape.empty() || xv.shape.back() != n || outs != m)
        return unsupported(where + " is not a product of the whole chain vector");
      Step st;
      st.kind = Step::Kind::kDense;
      st.n_in = n;
      st.n_out = m;
      st.w.resize(m, n);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < outs; ++j)
          st.w(j, i) = trans ? bw.get(j * k + i) : bw.get(i * outs + j);
      st.b = Vec::Zero(m);
      st.b_err = Vec::Zero(m);
      if (op == "Gemm" && node.inputs.size() > 2 && node.inputs[2] != kNoValue) {
        auto c = broadcast_to(cst(2), yv.shape);
        if (!c)
          return unsupported(where + " has a bias that does not broadcast");
        const double beta = node.attrs.get_float("beta", 1.0);
        st.b = to_vec(*c) * beta;
        if (beta != 1.0)
          st.b_err = st.b.cwiseAbs() * (2 * kU);
      }
      st.from = where;
      impl->steps.push_back(std::move(st));
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
      if (consts.size() != 1 || m != n)
        return unsupported(where + " needs one constant operand of a broadcastable shape");
      auto c = broadcast_to(cst(consts[0]), xv.shape);
      if (!c)
        return unsupported(where + " has a constant that does not broadcast to the chain");
      const Vec cv = to_vec(*c), zero = Vec::Zero(n), one = Vec::Ones(n);
      if (op == "Add") {
        diag(one, zero, cv, zero);
      } else if (op == "Sub") {
        if (pos == 0)
          diag(one, zero, -cv, zero);
        else
          diag(-one, zero, cv, zero);
      } else if (op == "Mul") {
        diag(cv, zero, zero, zero);
      } else {
        if (pos != 0 || (cv.array() == 0).any())
          return unsupported(where + " divides by the chain value or by zero");
        const Vec s = cv.cwiseInverse();
        diag(s, s.cwiseAbs() * (2 * kU), zero, zero);
      }
    } else if (op == "Neg") {
      diag(-Vec::Ones(n), Vec::Zero(n), Vec::Zero(n), Vec::Zero(n));
    } else if (op == "BatchNormalization") {
      if (pos != 0 || consts.size() != 4 || xv.shape.size() < 2)
        return unsupported(where + " needs constant scale, bias, mean and variance");
      const double eps = node.attrs.get_float("epsilon", 1e-5);
      const int64_t ch = xv.shape[1];
      int64_t inner = 1;
      for (size_t a = 2; a < xv.shape.size(); ++a)
        inner *= xv.shape[a];
      Vec s(n), t(n);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = (i / inner) % ch;
        const double sc = cst(1).get(c) / std::sqrt(cst(4).get(c) + eps);
        s(i) = sc;
        t(i) = cst(2).get(c) - cst(3).get(c) * sc;
      }
      // sqrt, division and the products: a few rounding errors each.
      Vec te(n);
      for (int64_t i = 0; i < n; ++i)
        te(i) = 8 * kU * (std::abs(t(i)) + std::abs(cst(3).get((i / inner) % ch) * s(i)));
      diag(s, s.cwiseAbs() * (8 * kU), t, te);
    } else {
      return unsupported(where + ": op " + op + " is not supported by the dense engine");
    }
    n = m;
    widest = std::max(widest, n);
    cur = out;
  }
  if (cur != g.outputs()[0])
    return unsupported("the chain does not end at the graph output");
  impl->n_out = n;
  // Pure shifts after a dense layer join its bias; the rounding of the sum joins b_err.
  std::vector<Step> merged;
  for (Step& st : impl->steps) {
    if (st.kind == Step::Kind::kDiag && !merged.empty() &&
        merged.back().kind == Step::Kind::kDense && (st.s.array() == 1).all() &&
        st.s_err.isZero()) {
      Step& d = merged.back();
      d.b += st.b;
      d.b_err += st.b_err + d.b.cwiseAbs() * (2 * kU);
      continue;
    }
    merged.push_back(std::move(st));
  }
  impl->steps = std::move(merged);
  for (Step& st : impl->steps) {
    if (st.kind == Step::Kind::kDense) {
      if (!st.w.allFinite() || !all_finite(st.b))
        return Status(ErrorCode::kInvalidArgument, st.from + " has non-finite weights");
    } else if (st.kind == Step::Kind::kDiag) {
      if (!all_finite(st.s) || !all_finite(st.b))
        return Status(ErrorCode::kInvalidArgument, st.from + " has non-finite constants");
    }
  }
  const double k = static_cast<double>(2 * widest + 8);
  impl->gamma = 2 * k * kU / (1 - k * kU);
  impl->engine = make_engine(to_spec(*impl), allow_avx2);
  return std::shared_ptr<const DenseChain>(std::make_shared<DenseChain>(std::move(impl)));
}

namespace {

// The numeric core for this CPU: the AVX2 + FMA build when the CPU has both (about 2.5x faster on
// ACAS Xu domains), unless NNCERT_NO_AVX2 is set in the environment.
std::unique_ptr<dense_chain_detail::ChainEngine> make_engine(const dense_chain_detail::ChainSpec& s,
                                                             bool allow_avx2) {
#ifdef NNCERT_DC_HAVE_AVX2
  if (allow_avx2 && use_avx2_fma())
    return dense_chain_detail::avx2::make_engine(s);
#else
  (void)allow_avx2;
#endif
  return dense_chain_detail::generic::make_engine(s);
}

dense_chain_detail::ChainSpec to_spec(const DenseChain::Impl& im) {
  dense_chain_detail::ChainSpec s;
  s.n_in = im.n_in;
  s.n_out = im.n_out;
  s.relu = im.relu;
  s.gamma = im.gamma;
  auto v = [](const Vec& x) {
    return std::vector<double>(x.data(), x.data() + x.size());
  };
  for (const Step& st : im.steps) {
    dense_chain_detail::ChainStep cs;
    cs.kind = st.kind == Step::Kind::kDense  ? dense_chain_detail::StepKind::kDense
              : st.kind == Step::Kind::kDiag ? dense_chain_detail::StepKind::kDiag
                                             : dense_chain_detail::StepKind::kRelu;
    cs.n_in = st.n_in;
    cs.n_out = st.n_out;
    if (st.kind == Step::Kind::kDense) {
      cs.w.resize(static_cast<size_t>(st.n_out * st.n_in));
      for (int64_t j = 0; j < st.n_out; ++j)
        for (int64_t i = 0; i < st.n_in; ++i)
          cs.w[static_cast<size_t>(j * st.n_in + i)] = st.w(j, i);
    }
    if (st.kind == Step::Kind::kDiag) {
      cs.s = v(st.s);
      cs.s_err = v(st.s_err);
    }
    if (st.kind != Step::Kind::kRelu) {
      cs.b = v(st.b);
      cs.b_err = v(st.b_err);
    }
    s.steps.push_back(std::move(cs));
  }
  return s;
}

}  // namespace

void DenseChain::forward(const double* x, double* y) const {
  impl_->engine->forward(x, y);
}

void DenseChain::lower_bounds(const double* lo,
                              const double* hi,
                              int64_t boxes,
                              const double* c,
                              int64_t rows,
                              bool safe_rounding,
                              double* lower,
                              double* coeffs,
                              bool crown_intermediate,
                              uint8_t* relu_state) const {
  impl_->engine->lower_bounds(
      lo, hi, boxes, c, rows, safe_rounding, lower, coeffs, crown_intermediate, relu_state);
}
}  // namespace nncert
