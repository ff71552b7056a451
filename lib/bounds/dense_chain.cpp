#include "bounds/dense_chain.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include <Eigen/Dense>

namespace nncert {

namespace {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;
using RMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr double kU = 1.1102230246251565e-16;  // 2^-53

struct Step {
  enum class Kind { kDense, kDiag, kRelu };
  Kind kind = Kind::kRelu;
  int64_t n_in = 0, n_out = 0;
  Mat w, w_pos, w_neg, w_abs;  // dense: n_out x n_in
  Vec s, s_err;                // diag scale and a bound on its error (|s_exact - s|)
  Vec b, b_err;                // bias (dense, diag) and a bound on its error
  std::string from;            // node that made it (for messages)
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
};

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

Expected<std::shared_ptr<const DenseChain>> DenseChain::extract(const Graph& g) {
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
      st.w_pos = st.w.cwiseMax(0.0);
      st.w_neg = st.w.cwiseMin(0.0);
      st.w_abs = st.w.cwiseAbs();
    } else if (st.kind == Step::Kind::kDiag) {
      if (!all_finite(st.s) || !all_finite(st.b))
        return Status(ErrorCode::kInvalidArgument, st.from + " has non-finite constants");
    }
  }
  const double k = static_cast<double>(2 * widest + 8);
  impl->gamma = 2 * k * kU / (1 - k * kU);
  return std::shared_ptr<const DenseChain>(std::make_shared<DenseChain>(std::move(impl)));
}

void DenseChain::forward(const double* x, double* y) const {
  Vec v = Eigen::Map<const Vec>(x, impl_->n_in);
  for (const Step& st : impl_->steps) {
    switch (st.kind) {
      case Step::Kind::kDense:
        v = st.w * v + st.b;
        break;
      case Step::Kind::kDiag:
        v = st.s.cwiseProduct(v) + st.b;
        break;
      case Step::Kind::kRelu:
        v = v.cwiseMax(0.0);
        break;
    }
  }
  Eigen::Map<Vec>(y, impl_->n_out) = v;
}

namespace {

// What the forward pass leaves for the backward one, per step.
struct Saved {
  Mat wm;         // dense / diag: per box, |W| * magnitude of the step's input (n_out x B)
  Mat mz;         // diag / relu: magnitude of the step's input (n_in x B)
  Mat a, su, ui;  // relu: lower slope, upper slope, upper intercept (n x B)
};

// Backward CROWN from the value before step `end` to the input: row r of `lam` (coefficients
// over that value) belongs to box box_of[r]. Returns per row a sound lower bound of lam_r . z
// over its box; `lam` ends as the coefficients over the input.
Vec backward(const DenseChain::Impl& im,
             const std::vector<Saved>& saved,
             size_t end,
             RMat& lam,
             const std::vector<int64_t>& box_of,
             const Mat& L,
             const Mat& H,
             const Mat& M,
             double gam) {
  const int64_t nr = lam.rows();
  Vec beta = Vec::Zero(nr), sigma = Vec::Zero(nr);
  for (size_t si = end; si-- > 0;) {
    const Step& st = im.steps[si];
    const Saved& sv = saved[si];
    if (st.kind == Step::Kind::kDense) {
      beta += lam * st.b;
      if (gam > 0) {
        const Mat la = lam.cwiseAbs();
        sigma += la * (gam * st.b.cwiseAbs() + st.b_err);
        for (int64_t r = 0; r < nr; ++r)
          sigma(r) += gam * la.row(r).dot(sv.wm.col(box_of[static_cast<size_t>(r)]));
      }
      lam = lam * st.w;
    } else if (st.kind == Step::Kind::kDiag) {
      beta += lam * st.b;
      if (gam > 0) {
        const Mat la = lam.cwiseAbs();
        sigma += la * (gam * st.b.cwiseAbs() + st.b_err);
        const Vec sa = gam * st.s.cwiseAbs() + st.s_err;
        for (int64_t r = 0; r < nr; ++r)
          sigma(r) += la.row(r).dot(sa.cwiseProduct(sv.mz.col(box_of[static_cast<size_t>(r)])));
      }
      lam = lam * st.s.asDiagonal();
    } else {
      for (int64_t r = 0; r < nr; ++r) {
        const int64_t b = box_of[static_cast<size_t>(r)];
        auto row = lam.row(r);
        const Eigen::RowVectorXd neg = row.cwiseMin(0.0);
        if (gam > 0) {
          const Vec w = (sv.su.col(b).array() + 1).matrix().cwiseProduct(sv.mz.col(b)) +
                        sv.ui.col(b).cwiseAbs();
          sigma(r) += gam * row.cwiseAbs().dot(w.transpose());
        }
        beta(r) += neg.dot(sv.ui.col(b).transpose());
        row = row.cwiseMax(0.0).cwiseProduct(sv.a.col(b).transpose()) +
              neg.cwiseProduct(sv.su.col(b).transpose());
      }
    }
  }
  Vec lower(nr);
  const int64_t d = lam.cols();
  for (int64_t r = 0; r < nr; ++r) {
    const int64_t b = box_of[static_cast<size_t>(r)];
    double v = beta(r), mag = std::abs(beta(r));
    for (int64_t i = 0; i < d; ++i) {
      const double a = lam(r, i);
      v += a >= 0 ? a * L(i, b) : a * H(i, b);
      mag += std::abs(a) * M(i, b);
    }
    lower(r) = gam > 0 ? v - sigma(r) - gam * mag : v;
  }
  return lower;
}

}  // namespace

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
  const Impl& im = *impl_;
  const int64_t d = im.n_in, k = d + 1, nb = boxes;
  const double gam = safe_rounding ? im.gamma : 0.0;
  const double up = safe_rounding ? 1 + 4 * kU : 1.0;
  // Boxes as columns.
  Mat L(d, nb), H(d, nb);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t i = 0; i < d; ++i) {
      L(i, b) = lo[b * d + i];
      H(i, b) = hi[b * d + i];
    }
  const Mat M = L.cwiseAbs().cwiseMax(H.cwiseAbs());
  // Linear bounds of the current value: lower = am - ar, upper = am + ar (coefficients of x, then
  // the constant), box b in columns [b k, b k + k).
  int64_t n = d;
  Mat am = Mat::Zero(n, nb * k), ar = Mat::Zero(n, nb * k);
  for (int64_t b = 0; b < nb; ++b)
    am.block(0, b * k, d, d).setIdentity();
  Mat zl = L, zu = H;  // interval of the current value
  std::vector<Saved> saved(im.steps.size());
  bool seen_relu = false;
  int64_t relu_off = 0;  // first ReLU neuron of the current step
  // Magnitude bound of the linear functions over each box: (|am| + |ar|) [m; 1].
  auto magnitude = [&](const Mat& a, const Mat& r) {
    Mat v(a.rows(), nb);
    for (int64_t b = 0; b < nb; ++b) {
      const auto blk = a.middleCols(b * k, k).cwiseAbs() + r.middleCols(b * k, k).cwiseAbs();
      v.col(b) = blk.leftCols(d) * M.col(b) + blk.col(d);
    }
    return v;
  };
  // Intersects [zl, zu] with the concretised linear bounds.
  auto concretise = [&]() {
    const Mat v = gam > 0 ? magnitude(am, ar) : Mat();
    for (int64_t b = 0; b < nb; ++b) {
      const Mat lf = am.middleCols(b * k, k) - ar.middleCols(b * k, k);
      const Mat uf = am.middleCols(b * k, k) + ar.middleCols(b * k, k);
      Vec l = lf.leftCols(d).cwiseMax(0.0) * L.col(b) + lf.leftCols(d).cwiseMin(0.0) * H.col(b) +
              lf.col(d);
      Vec u = uf.leftCols(d).cwiseMax(0.0) * H.col(b) + uf.leftCols(d).cwiseMin(0.0) * L.col(b) +
              uf.col(d);
      if (gam > 0) {
        l -= gam * v.col(b);
        u += gam * v.col(b);
      }
      zl.col(b) = zl.col(b).cwiseMax(l);
      zu.col(b) = zu.col(b).cwiseMin(u);
    }
  };
  for (size_t si = 0; si < im.steps.size(); ++si) {
    const Step& st = im.steps[si];
    Saved& sv = saved[si];
    const Mat mz = zl.cwiseAbs().cwiseMax(zu.cwiseAbs());
    if (st.kind == Step::Kind::kDense) {
      const Mat v = gam > 0 ? magnitude(am, ar) : Mat();
      Mat nam = st.w * am;
      Mat nar = st.w_abs * ar;
      for (int64_t b = 0; b < nb; ++b)
        nam.col(b * k + d) += st.b;
      Mat nzl = st.w_pos * zl + st.w_neg * zu, nzu = st.w_pos * zu + st.w_neg * zl;
      nzl.colwise() += st.b;
      nzu.colwise() += st.b;
      sv.wm = st.w_abs * mz;
      if (gam > 0) {
        Mat sym = gam * ((st.w_abs * v).colwise() + st.b.cwiseAbs());
        sym.colwise() += st.b_err;
        for (int64_t b = 0; b < nb; ++b)
          nar.col(b * k + d) += sym.col(b);
        Mat ibp = gam * (sv.wm.colwise() + st.b.cwiseAbs());
        ibp.colwise() += st.b_err;
        nzl -= ibp;
        nzu += ibp;
      }
      am = std::move(nam);
      ar = std::move(nar);
      zl = std::move(nzl);
      zu = std::move(nzu);
      n = st.n_out;
    } else if (st.kind == Step::Kind::kDiag) {
      const Mat v = gam > 0 ? magnitude(am, ar) : Mat();
      sv.mz = mz;
      am = st.s.asDiagonal() * am;
      ar = st.s.cwiseAbs().asDiagonal() * ar;
      for (int64_t b = 0; b < nb; ++b)
        am.col(b * k + d) += st.b;
      const Vec sp = st.s.cwiseMax(0.0), sn = st.s.cwiseMin(0.0);
      Mat nzl = sp.asDiagonal() * zl + sn.asDiagonal() * zu;
      Mat nzu = sp.asDiagonal() * zu + sn.asDiagonal() * zl;
      nzl.colwise() += st.b;
      nzu.colwise() += st.b;
      if (gam > 0) {
        const Vec bias = st.b.cwiseAbs() + st.b_err;
        const Mat sym = (gam * (st.s.cwiseAbs().asDiagonal() * v)).colwise() + gam * bias;
        const Mat serr_v = st.s_err.asDiagonal() * v, serr_z = st.s_err.asDiagonal() * mz;
        for (int64_t b = 0; b < nb; ++b)
          ar.col(b * k + d) += sym.col(b) + serr_v.col(b) + st.b_err;
        const Mat ibp = (gam * (st.s.cwiseAbs().asDiagonal() * mz)).colwise() + gam * bias;
        nzl -= ibp + serr_z;
        nzu += ibp + serr_z;
        nzl.colwise() -= st.b_err;
        nzu.colwise() += st.b_err;
      }
      zl = std::move(nzl);
      zu = std::move(nzu);
    } else {
      concretise();
      if (relu_state)
        for (int64_t b = 0; b < nb; ++b)
          for (int64_t i = 0; i < n; ++i) {
            const uint8_t known = relu_state[b * im.relu + relu_off + i];
            if (known == kActive)
              zl(i, b) = std::max(zl(i, b), 0.0);
            else if (known == kInactive)
              zu(i, b) = std::min(zu(i, b), 0.0);
          }
      if (seen_relu && crown_intermediate) {
        // Backward CROWN bounds for the neurons still unstable (two rows each: z_i and -z_i).
        std::vector<int64_t> box_of, which;
        for (int64_t b = 0; b < nb; ++b)
          for (int64_t i = 0; i < n; ++i)
            if (zl(i, b) < 0 && zu(i, b) > 0) {
              box_of.push_back(b);
              box_of.push_back(b);
              which.push_back(i);
            }
        if (!which.empty()) {
          const auto nu = static_cast<int64_t>(which.size());
          RMat lam = RMat::Zero(2 * nu, n);
          for (int64_t q = 0; q < nu; ++q) {
            lam(2 * q, which[static_cast<size_t>(q)]) = 1;
            lam(2 * q + 1, which[static_cast<size_t>(q)]) = -1;
          }
          const Vec lw = backward(im, saved, si, lam, box_of, L, H, M, gam);
          for (int64_t q = 0; q < nu; ++q) {
            const int64_t b = box_of[static_cast<size_t>(2 * q)], i = which[static_cast<size_t>(q)];
            zl(i, b) = std::max(zl(i, b), lw(2 * q));
            zu(i, b) = std::min(zu(i, b), -lw(2 * q + 1));
          }
        }
      }
      seen_relu = true;
      if (relu_state)
        for (int64_t b = 0; b < nb; ++b)
          for (int64_t i = 0; i < n; ++i)
            relu_state[b * im.relu + relu_off + i] = zl(i, b) >= 0   ? kActive
                                                     : zu(i, b) <= 0 ? kInactive
                                                                     : kUnknown;
      relu_off += n;
      const Mat v = gam > 0 ? magnitude(am, ar) : Mat();
      sv.a.resize(n, nb);
      sv.su.resize(n, nb);
      sv.ui.resize(n, nb);
      sv.mz = zl.cwiseAbs().cwiseMax(zu.cwiseAbs());
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t i = 0; i < n; ++i) {
          const double l = zl(i, b), u = zu(i, b);
          auto ra = am.block(i, b * k, 1, k);
          auto rr = ar.block(i, b * k, 1, k);
          if (u <= 0) {
            sv.a(i, b) = sv.su(i, b) = sv.ui(i, b) = 0;
            ra.setZero();
            rr.setZero();
          } else if (l >= 0) {
            sv.a(i, b) = sv.su(i, b) = 1;
            sv.ui(i, b) = 0;
          } else {
            const double s = u / (u - l) * up;
            const double a = u > -l ? 1.0 : 0.0;
            sv.a(i, b) = a;
            sv.su(i, b) = s;
            sv.ui(i, b) = -s * l;
            Eigen::RowVectorXd lf = ra - rr, uf = ra + rr;
            lf *= a;
            uf *= s;
            uf(d) -= s * l;
            ra = 0.5 * (lf + uf);
            rr = 0.5 * (uf - lf);
            if (gam > 0)
              rr(0, d) += gam * (s * (v(i, b) + std::abs(l)) + v(i, b));
          }
        }
      zl = zl.cwiseMax(0.0);
      zu = zu.cwiseMax(0.0);
    }
  }
  // Backward CROWN for the rows, per box a block of `rows` rows.
  const int64_t no = im.n_out;
  RMat lam(nb * rows, no);
  std::vector<int64_t> box_of(static_cast<size_t>(nb * rows));
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t r = 0; r < rows; ++r) {
      box_of[static_cast<size_t>(b * rows + r)] = b;
      for (int64_t j = 0; j < no; ++j)
        lam(b * rows + r, j) = c[r * no + j];
    }
  const Vec lw = backward(im, saved, im.steps.size(), lam, box_of, L, H, M, gam);
  for (int64_t row = 0; row < nb * rows; ++row) {
    lower[row] = lw(row);
    if (coeffs)
      for (int64_t i = 0; i < d; ++i)
        coeffs[row * d + i] = lam(row, i);
  }
}

}  // namespace nncert
