// The numeric core of the dense ReLU-chain engine (dense_chain.h), compiled twice: for the baseline
// x86-64 ISA and with AVX2 + FMA (NNCERT_DC_VARIANT = avx2, with Eigen's namespace renamed so the
// two builds of Eigen's templates cannot be merged by the linker). dense_chain.cpp picks one at
// run time from the CPU's features.
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include <Eigen/Dense>

#include "bounds/dense_chain_model.h"

#ifndef NNCERT_DC_VARIANT
#error "NNCERT_DC_VARIANT must name the build variant"
#endif

namespace nncert::dense_chain_detail {
namespace NNCERT_DC_VARIANT {

namespace {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;
using RMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Step {
  StepKind kind = StepKind::kRelu;
  int64_t n_in = 0, n_out = 0;
  Mat w, w_pos, w_neg, w_abs;  // dense: n_out x n_in
  Vec s, s_err;                // diag scale and a bound on its error
  Vec b, b_err;                // bias and a bound on its error
};

struct Model {
  std::vector<Step> steps;
  int64_t n_in = 0, n_out = 0, relu = 0;
  double gamma = 0;
};

Vec vec(const std::vector<double>& v) {
  return Eigen::Map<const Vec>(v.data(), static_cast<Eigen::Index>(v.size()));
}

class Engine final : public ChainEngine {
 public:
  explicit Engine(const ChainSpec& spec) {
    im_.n_in = spec.n_in;
    im_.n_out = spec.n_out;
    im_.relu = spec.relu;
    im_.gamma = spec.gamma;
    for (const ChainStep& cs : spec.steps) {
      Step st;
      st.kind = cs.kind;
      st.n_in = cs.n_in;
      st.n_out = cs.n_out;
      if (cs.kind == StepKind::kDense) {
        st.w = Eigen::Map<const RMat>(cs.w.data(), cs.n_out, cs.n_in);
        st.w_pos = st.w.cwiseMax(0.0);
        st.w_neg = st.w.cwiseMin(0.0);
        st.w_abs = st.w.cwiseAbs();
      }
      if (cs.kind == StepKind::kDiag) {
        st.s = vec(cs.s);
        st.s_err = vec(cs.s_err);
      }
      if (cs.kind != StepKind::kRelu) {
        st.b = vec(cs.b);
        st.b_err = vec(cs.b_err);
      }
      im_.steps.push_back(std::move(st));
    }
  }
  void forward(const double* x, double* y) const override;
  void lower_bounds(const double* lo,
                    const double* hi,
                    int64_t boxes,
                    const double* c,
                    int64_t rows,
                    bool safe_rounding,
                    double* lower,
                    double* coeffs,
                    bool crown_intermediate,
                    uint8_t* relu_state) const override;

 private:
  Model im_;
};

}  // namespace

void Engine::forward(const double* x, double* y) const {
  Vec v = Eigen::Map<const Vec>(x, im_.n_in);
  for (const Step& st : im_.steps) {
    switch (st.kind) {
      case StepKind::kDense:
        v = st.w * v + st.b;
        break;
      case StepKind::kDiag:
        v = st.s.cwiseProduct(v) + st.b;
        break;
      case StepKind::kRelu:
        v = v.cwiseMax(0.0);
        break;
    }
  }
  Eigen::Map<Vec>(y, im_.n_out) = v;
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
Vec backward(const Model& im,
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
    if (st.kind == StepKind::kDense) {
      beta += lam * st.b;
      if (gam > 0) {
        const Mat la = lam.cwiseAbs();
        sigma += la * (gam * st.b.cwiseAbs() + st.b_err);
        for (int64_t r = 0; r < nr; ++r)
          sigma(r) += gam * la.row(r).dot(sv.wm.col(box_of[static_cast<size_t>(r)]));
      }
      lam = lam * st.w;
    } else if (st.kind == StepKind::kDiag) {
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

void Engine::lower_bounds(const double* lo,
                          const double* hi,
                          int64_t boxes,
                          const double* c,
                          int64_t rows,
                          bool safe_rounding,
                          double* lower,
                          double* coeffs,
                          bool crown_intermediate,
                          uint8_t* relu_state) const {
  const Model& im = im_;
  const int64_t d = im.n_in, k = d + 1, nb = boxes;
  const double gam = safe_rounding ? im.gamma : 0.0;
  const double up = safe_rounding ? 1 + 4 * kUnitRoundoff : 1.0;
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
    if (st.kind == StepKind::kDense) {
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
    } else if (st.kind == StepKind::kDiag) {
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
            if (known == kReluActive)
              zl(i, b) = std::max(zl(i, b), 0.0);
            else if (known == kReluInactive)
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
            relu_state[b * im.relu + relu_off + i] = zl(i, b) >= 0   ? kReluActive
                                                     : zu(i, b) <= 0 ? kReluInactive
                                                                     : kReluUnknown;
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

std::unique_ptr<ChainEngine> make_engine(const ChainSpec& spec) {
  return std::make_unique<Engine>(spec);
}

}  // namespace NNCERT_DC_VARIANT
}  // namespace nncert::dense_chain_detail
