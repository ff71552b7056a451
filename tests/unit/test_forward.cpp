// Forward-mode linear bounds (bounds/forward.h): soundness of the bounds and of the linear
// functions themselves on random graphs, exactness on affine graphs, the fixtures against their
// sampled ranges and against CROWN / IBP, the toy network's values worked out by hand, refusal of
// ops without a rule and the IBP fallback.
#include <cmath>
#include <functional>
#include <random>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "bounds/forward.h"
#include "frontends/onnx/onnx_loader.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/test_paths.h"

using namespace nncert;

namespace {

using Matrix = std::vector<std::vector<double>>;

struct Sampler {
  std::mt19937 rng;
  std::uniform_real_distribution<double> u{-1, 1};
  explicit Sampler(unsigned seed) : rng(seed) {}

  Tensor rand(const Shape& s, double scale = 1) {
    Tensor t(DType::kF32, s);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.set(i, scale * u(rng));
    return t;
  }
  // A box of random centre and width (0.05 .. 1.05) per element.
  Interval box(const Shape& s) {
    Tensor lo(DType::kF64, s), hi(DType::kF64, s);
    for (int64_t i = 0; i < lo.numel(); ++i) {
      const double c = u(rng), w = 0.05 + 0.5 * (u(rng) + 1);
      lo.set(i, c - w);
      hi.set(i, c + w);
    }
    return {lo, hi};
  }
  // Sample s of a box: the first 64 are vertices (bit patterns), the rest uniform.
  Tensor point(const Interval& b, int s) {
    std::uniform_real_distribution<double> unit(0, 1);
    Tensor x(DType::kF64, b.lo.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double t = s < 64 ? static_cast<double>((s >> (i % 6)) & 1) : unit(rng);
      x.set(i, b.lo.get(i) + t * (b.hi.get(i) - b.lo.get(i)));
    }
    return x;
  }
  Matrix spec(int64_t rows, int64_t cols) {
    Matrix c(static_cast<size_t>(rows), std::vector<double>(static_cast<size_t>(cols)));
    for (auto& r : c)
      for (double& v : r)
        v = u(rng);
    return c;
  }
};

// Checks on `samples` points that C y lies within the bounds and between the linear functions.
void check_sound(const Graph& g,
                 const std::vector<Interval>& boxes,
                 const Matrix& c,
                 const ForwardResult& r,
                 Sampler& smp,
                 int samples = 2000) {
  const int64_t s = r.bounds.lo.numel();
  for (int i = 0; i < samples; ++i) {
    std::vector<Tensor> xs;
    std::vector<double> flat;
    for (const Interval& b : boxes) {
      xs.push_back(smp.point(b, i));
      for (int64_t k = 0; k < xs.back().numel(); ++k)
        flat.push_back(xs.back().get(k));
    }
    const auto y = test::run_graph(g, xs);
    const auto n = static_cast<int64_t>(flat.size());
    for (int64_t row = 0; row < s; ++row) {
      double v = 0;
      if (c.empty()) {
        v = y[0].get(row);
      } else {
        for (int64_t j = 0; j < y[0].numel(); ++j)
          v += c[static_cast<size_t>(row)][static_cast<size_t>(j)] * y[0].get(j);
      }
      double lo = r.lb.get(row), hi = r.ub.get(row);
      for (int64_t k = 0; k < n; ++k) {
        lo += r.lw.get(row * n + k) * flat[static_cast<size_t>(k)];
        hi += r.uw.get(row * n + k) * flat[static_cast<size_t>(k)];
      }
      INFO("sample " << i << " row " << row);
      REQUIRE(v >= r.bounds.lo.get(row) - 1e-9);
      REQUIRE(v <= r.bounds.hi.get(row) + 1e-9);
      REQUIRE(v >= lo - 1e-9);
      REQUIRE(v <= hi + 1e-9);
    }
  }
}

// Random MLP: MatMul + Add, ReLU or LeakyReLU, Gemm (alpha of either sign), a residual join
// through Mul / Sub, Concat, MatMul.
Expected<OnnxModel> random_mlp(Sampler& smp, int trial, int64_t d) {
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, d});
  b.initializer("w1", smp.rand({d, 8})).initializer("b1", smp.rand({8}));
  b.initializer("w2", smp.rand({8, 8})).initializer("w3", smp.rand({16, 3}));
  b.initializer("scale", smp.rand({8}));
  b.node("MatMul", {"x", "w1"}, {"h1"}).node("Add", {"h1", "b1"}, {"h2"});
  b.node(trial % 2 ? "Relu" : "LeakyRelu", {"h2"}, {"a1"});
  if (trial % 2 == 0)
    b.attr("alpha", trial % 4 == 0 ? 0.2 : 0.01);
  b.node("Gemm", {"a1", "w2"}, {"h3"}).attr("alpha", trial % 3 == 0 ? -0.7 : 1.1);
  b.node("Relu", {"h3"}, {"a2"});
  b.node("Mul", {"a1", "scale"}, {"s1"});
  b.node("Sub", {"a2", "s1"}, {"r"});  // residual-style join
  b.node("Concat", {"r", "a1"}, {"cat"}).attr("axis", int64_t{1});
  b.node("MatMul", {"cat", "w3"}, {"y"});
  b.output("y");
  return b.load();
}

// Random CNN: Conv + ReLU, Conv, residual Add, BatchNorm, LeakyReLU, AveragePool, Flatten, Neg,
// Div, Gemm.
Expected<OnnxModel> random_cnn(Sampler& smp, int trial) {
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 2, 5, 5});
  b.initializer("k1", smp.rand({3, 2, 3, 3})).initializer("c1", smp.rand({3}));
  b.initializer("k2", smp.rand({3, 3, 3, 3}, 0.5));
  b.initializer("bn_s", smp.rand({3})).initializer("bn_b", smp.rand({3}));
  b.initializer("bn_m", smp.rand({3})).initializer("bn_v", smp.rand({3}, 0.5));
  b.initializer("div", Tensor::from_vector<float>({1}, {trial % 2 ? 1.5f : -0.75f}));
  b.initializer("wf", smp.rand({4, 12}));
  b.node("Conv", {"x", "k1", "c1"}, {"c"}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  b.node("Relu", {"c"}, {"a"});
  b.node("Conv", {"a", "k2"}, {"c2"}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  b.node("Add", {"c2", "a"}, {"res"});
  b.node("Abs", {"bn_v"}, {"bn_va"});  // a positive variance, folded as a constant
  b.node("BatchNormalization", {"res", "bn_s", "bn_b", "bn_m", "bn_va"}, {"bn"});
  b.node("LeakyRelu", {"bn"}, {"l"}).attr("alpha", 0.1);
  b.node("AveragePool", {"l"}, {"p"})
      .attr("kernel_shape", std::vector<int64_t>{2, 2})
      .attr("strides", std::vector<int64_t>{2, 2});
  b.node("Flatten", {"p"}, {"f"});
  b.node("Neg", {"f"}, {"nf"});
  b.node("Div", {"nf", "div"}, {"df"});
  b.node("Gemm", {"df", "wf"}, {"y"}).attr("transB", int64_t{1});
  b.output("y");
  return b.load();
}

double rel(double a, double b) {
  return std::abs(a - b) / std::max(1.0, std::abs(b));
}

}  // namespace

TEST_CASE("forward-mode bounds contain sampled outputs of random MLPs", "[forward]") {
  Sampler smp(23);
  for (int trial = 0; trial < 12; ++trial) {
    INFO("trial " << trial);
    const int64_t d = 3 + trial % 4;
    auto m = random_mlp(smp, trial, d);
    REQUIRE(m.has_value());
    const std::vector<Interval> box{smp.box({1, d})};
    const Matrix c = trial % 3 == 1 ? smp.spec(2, 3) : Matrix{};
    ForwardOptions fo;
    fo.intersect_ibp = trial % 2 == 0;
    auto r = forward_bounds(m->graph, box, c, {}, fo);
    REQUIRE(r.has_value());
    CHECK(r->lw.shape() == Shape{c.empty() ? 3 : 2, d});
    check_sound(m->graph, box, c, *r, smp);
  }
}

TEST_CASE("forward-mode bounds equal a dense reference implementation", "[forward]") {
  // Textbook forward mode on an MLP with [neurons, n] matrices: a layer W, b maps
  //   L' = W+ L + W- U, l' = W+ l + W- u + b  (upper: L and U swapped);
  // an activation takes the lines (al, bl, au, bu) of its rule (OpDef::relax) on the concretised
  // interval: row j of L' = al_j * (al_j >= 0 ? L_j : U_j), l'_j = al_j * (l_j or u_j) + bl_j.
  Sampler smp(47);
  for (int trial = 0; trial < 6; ++trial) {
    INFO("trial " << trial);
    const int64_t d = 2 + trial, h = 7;
    const std::vector<int64_t> widths = {d, h, h, 3};
    test::OnnxBuilder b(13);
    b.input("x", DType::kF32, {1, d});
    std::vector<Tensor> ws, bs;
    std::string prev = "x";
    for (size_t layer = 0; layer + 1 < widths.size(); ++layer) {
      const std::string id = std::to_string(layer);
      ws.push_back(smp.rand({widths[layer + 1], widths[layer]}));
      bs.push_back(smp.rand({widths[layer + 1]}));
      b.initializer("w" + id, ws.back()).initializer("b" + id, bs.back());
      b.node("Gemm", {prev, "w" + id, "b" + id}, {"z" + id}).attr("transB", int64_t{1});
      prev = "z" + id;
      if (layer + 2 < widths.size()) {
        b.node(layer == 0 ? "Relu" : "LeakyRelu", {prev}, {"a" + id});
        if (layer != 0)
          b.attr("alpha", 0.1);
        prev = "a" + id;
      }
    }
    b.output(prev);
    auto m = b.load();
    REQUIRE(m.has_value());
    const Interval box = smp.box({1, d});
    ForwardOptions fo;
    fo.intersect_ibp = false;
    auto r = forward_bounds(m->graph, {box}, {}, {}, fo);
    REQUIRE(r.has_value());

    using Rows = std::vector<std::vector<double>>;  // [neurons][n]
    Rows lw(static_cast<size_t>(d), std::vector<double>(static_cast<size_t>(d), 0)), uw = lw;
    std::vector<double> lb(static_cast<size_t>(d), 0), ub = lb;
    for (int64_t k = 0; k < d; ++k)
      lw[static_cast<size_t>(k)][static_cast<size_t>(k)] =
          uw[static_cast<size_t>(k)][static_cast<size_t>(k)] = 1;
    for (size_t layer = 0; layer + 1 < widths.size(); ++layer) {
      const int64_t out = widths[layer + 1], in = widths[layer];
      Rows nlw(static_cast<size_t>(out), std::vector<double>(static_cast<size_t>(d), 0)), nuw = nlw;
      std::vector<double> nlb(static_cast<size_t>(out)), nub(static_cast<size_t>(out));
      for (int64_t j = 0; j < out; ++j) {
        const auto ju = static_cast<size_t>(j);
        nlb[ju] = nub[ju] = bs[layer].get(j);
        for (int64_t i = 0; i < in; ++i) {
          const double w = ws[layer].get(j * in + i);
          const auto iu = static_cast<size_t>(i);
          nlb[ju] += w * (w >= 0 ? lb[iu] : ub[iu]);
          nub[ju] += w * (w >= 0 ? ub[iu] : lb[iu]);
          for (int64_t k = 0; k < d; ++k) {
            const auto ku = static_cast<size_t>(k);
            nlw[ju][ku] += w * (w >= 0 ? lw[iu][ku] : uw[iu][ku]);
            nuw[ju][ku] += w * (w >= 0 ? uw[iu][ku] : lw[iu][ku]);
          }
        }
      }
      lw = nlw, uw = nuw, lb = nlb, ub = nub;
      if (layer + 2 == widths.size())
        break;
      Interval iv{Tensor(DType::kF64, {1, out}), Tensor(DType::kF64, {1, out})};
      for (int64_t j = 0; j < out; ++j) {
        const auto ju = static_cast<size_t>(j);
        double lo = lb[ju], hi = ub[ju];
        for (int64_t k = 0; k < d; ++k) {
          const auto ku = static_cast<size_t>(k);
          lo += lw[ju][ku] * (lw[ju][ku] >= 0 ? box.lo.get(k) : box.hi.get(k));
          hi += uw[ju][ku] * (uw[ju][ku] >= 0 ? box.hi.get(k) : box.lo.get(k));
        }
        iv.lo.set(j, lo);
        iv.hi.set(j, hi);
      }
      Node probe;
      probe.op = layer == 0 ? "Relu" : "LeakyRelu";
      if (layer != 0)
        probe.attrs.set("alpha", static_cast<double>(0.1f));  // as the ONNX attribute stores it
      ElementRelaxation rx;
      REQUIRE(find_op(probe.op)->relax(probe, iv, nullptr, rx, nullptr).is_ok());
      for (int64_t j = 0; j < out; ++j) {
        const auto ju = static_cast<size_t>(j);
        const double al = rx.al.get(j), au = rx.au.get(j);
        const std::vector<double> wl = al >= 0 ? lw[ju] : uw[ju];
        const std::vector<double> wu = au >= 0 ? uw[ju] : lw[ju];
        const double cl = al >= 0 ? lb[ju] : ub[ju], cu = au >= 0 ? ub[ju] : lb[ju];
        for (int64_t k = 0; k < d; ++k) {
          lw[ju][static_cast<size_t>(k)] = al * wl[static_cast<size_t>(k)];
          uw[ju][static_cast<size_t>(k)] = au * wu[static_cast<size_t>(k)];
        }
        lb[ju] = al * cl + rx.bl.get(j);
        ub[ju] = au * cu + rx.bu.get(j);
      }
    }
    for (int64_t j = 0; j < 3; ++j) {
      const auto ju = static_cast<size_t>(j);
      CHECK(rel(r->lb.get(j), lb[ju]) <= 1e-9);
      CHECK(rel(r->ub.get(j), ub[ju]) <= 1e-9);
      for (int64_t k = 0; k < d; ++k) {
        CHECK(rel(r->lw.get(j * d + k), lw[ju][static_cast<size_t>(k)]) <= 1e-9);
        CHECK(rel(r->uw.get(j * d + k), uw[ju][static_cast<size_t>(k)]) <= 1e-9);
      }
    }
  }
}

TEST_CASE("forward-mode bounds contain sampled outputs of random CNNs", "[forward]") {
  Sampler smp(29);
  for (int trial = 0; trial < 6; ++trial) {
    INFO("trial " << trial);
    auto m = random_cnn(smp, trial);
    REQUIRE(m.has_value());
    const std::vector<Interval> box{smp.box({1, 2, 5, 5})};
    const Matrix c = trial % 2 ? smp.spec(3, 4) : Matrix{};
    auto r = forward_bounds(m->graph, box, c);
    REQUIRE(r.has_value());
    check_sound(m->graph, box, c, *r, smp);
  }
}

TEST_CASE("forward-mode bounds over several graph inputs", "[forward]") {
  Sampler smp(31);
  test::OnnxBuilder b(13);
  b.input("x1", DType::kF32, {1, 2}).input("x2", DType::kF32, {1, 3});
  b.initializer("w1", smp.rand({2, 6})).initializer("w2", smp.rand({3, 6}));
  b.initializer("w3", smp.rand({6, 2}));
  b.node("MatMul", {"x1", "w1"}, {"h1"}).node("MatMul", {"x2", "w2"}, {"h2"});
  b.node("Sub", {"h1", "h2"}, {"h"}).node("Relu", {"h"}, {"a"});
  b.node("MatMul", {"a", "w3"}, {"y"});
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  const std::vector<Interval> box{smp.box({1, 2}), smp.box({1, 3})};
  auto r = forward_bounds(m->graph, box);
  REQUIRE(r.has_value());
  CHECK(r->lw.shape() == Shape{2, 5});
  check_sound(m->graph, box, {}, *r, smp);
}

TEST_CASE("every affine op's sign split: after an activation, forward mode equals CROWN",
          "[forward]") {
  // x -> LeakyReLU -> op: the activation's lower and upper lines differ, so every operand sign
  // of the op must pick the right side. With one activation layer, forward mode and CROWN make
  // the same choices (the sign of each Jacobian entry), so their bounds agree.
  using I = std::vector<int64_t>;
  struct Case {
    const char* name;
    Shape x;
    std::function<void(test::OnnxBuilder&, Sampler&)> build;  // "h" -> "y"
    enum { kEqual, kLooser, kNoCrown } crown = kEqual;        // against CROWN
  };
  auto ints = [](const I& v) {
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  };
  const std::vector<Case> cases = {
      {"MatMul, constant left operand",
       {4, 2},
       [](test::OnnxBuilder& b, Sampler& s) {
         b.initializer("w", s.rand({3, 4})).node("MatMul", {"w", "h"}, {"y"});
       }},
      {"Gemm, variable B, alpha < 0, transA",
       {4, 2},
       [](test::OnnxBuilder& b, Sampler& s) {
         b.initializer("a", s.rand({4, 3})).initializer("c", s.rand({3, 2}));
         b.node("Gemm", {"a", "h", "c"}, {"y"}).attr("alpha", -0.8).attr("transA", int64_t{1});
       }},
      {"Gemm, variable transposed A, beta",
       {4, 1},
       [](test::OnnxBuilder& b, Sampler& s) {
         b.initializer("w", s.rand({4, 3})).initializer("c", s.rand({3}));
         b.node("Gemm", {"h", "w", "c"}, {"y"}).attr("transA", int64_t{1}).attr("beta", 0.5);
       }},
      {"Mul, constant left operand, broadcast",
       {1, 3},
       [](test::OnnxBuilder& b, Sampler& s) {
         b.initializer("c", s.rand({2, 1})).node("Mul", {"c", "h"}, {"y"});
       }},
      {"Div by constants of both signs",
       {2, 3},
       [](test::OnnxBuilder& b, Sampler&) {
         b.initializer("c", Tensor::from_vector<float>({3}, {2.f, -0.5f, 4.f}));
         b.node("Div", {"h", "c"}, {"y"});
       }},
      {"ConvTranspose stride 2, pads, bias",
       {1, 2, 3, 3},
       [](test::OnnxBuilder& b, Sampler& s) {
         b.initializer("w", s.rand({2, 2, 3, 3})).initializer("c", s.rand({2}));
         b.node("ConvTranspose", {"h", "w", "c"}, {"y"})
             .attr("strides", I{2, 2})
             .attr("pads", I{1, 1, 1, 1})
             .attr("output_padding", I{1, 1});
       }},
      {"Conv with dilation and stride",
       {1, 2, 5, 5},
       [](test::OnnxBuilder& b, Sampler& s) {
         b.initializer("w", s.rand({3, 2, 2, 2}));
         b.node("Conv", {"h", "w"}, {"y"}).attr("dilations", I{2, 1}).attr("strides", I{1, 2});
       }},
      {"BatchNormalization with negative scales",
       {1, 3, 2, 2},
       [](test::OnnxBuilder& b, Sampler& s) {
         b.initializer("sc", Tensor::from_vector<float>({3}, {1.5f, -2.f, 0.25f}));
         b.initializer("bi", s.rand({3})).initializer("mu", s.rand({3}));
         b.initializer("var", Tensor::from_vector<float>({3}, {0.5f, 1.f, 2.f}));
         b.node("BatchNormalization", {"h", "sc", "bi", "mu", "var"}, {"y"});
       }},
      {"GlobalAveragePool, ReduceMean, ReduceSum",
       {1, 2, 3, 3},
       [&](test::OnnxBuilder& b, Sampler&) {
         b.node("GlobalAveragePool", {"h"}, {"g"});
         b.node("ReduceMean", {"h"}, {"m"}).attr("axes", I{2}).attr("keepdims", int64_t{1});
         b.initializer("ax", ints({3}));
         b.node("ReduceSum", {"m", "ax"}, {"r"});
         b.node("Concat", {"r", "g"}, {"y"}).attr("axis", int64_t{3});
       }},
      {"Split, Gather, Squeeze, Unsqueeze, Identity",
       {1, 5},
       [&](test::OnnxBuilder& b, Sampler&) {
         b.initializer("sp", ints({1, 3, 1}));
         b.node("Split", {"h", "sp"}, {"s1", "s2", "s3"}).attr("axis", int64_t{1});
         b.initializer("idx", ints({2, -1, 0}));
         b.node("Gather", {"s2", "idx"}, {"gt"}).attr("axis", int64_t{1});
         b.initializer("a0", ints({0}));
         b.node("Squeeze", {"gt", "a0"}, {"sq"});
         b.node("Unsqueeze", {"sq", "a0"}, {"us"});
         b.node("Identity", {"us"}, {"y"});
       },
       Case::kNoCrown},  // Split has no CROWN rule
      {"Pad reflect, Neg, Add of one value twice",
       {1, 2, 3},
       [&](test::OnnxBuilder& b, Sampler&) {
         b.initializer("p", ints({0, 0, 2, 0, 0, 1}));
         b.node("Pad", {"h", "p"}, {"pd"}).attr("mode", "reflect");
         b.node("Neg", {"pd"}, {"ng"});
         b.node("Add", {"ng", "ng"}, {"y"});
       }},
      {"Sub of one value from itself (sound, looser than CROWN)",
       {1, 4},
       [](test::OnnxBuilder& b, Sampler&) {
         b.node("Sub", {"h", "h"}, {"y"});
       },
       Case::kLooser},
  };
  Sampler smp(53);
  for (const Case& c : cases) {
    INFO(c.name);
    test::OnnxBuilder b(13);
    b.input("x", DType::kF32, c.x);
    b.node("LeakyRelu", {"x"}, {"h"}).attr("alpha", 0.1);
    c.build(b, smp);
    b.output("y");
    auto m = b.load();
    REQUIRE(m.has_value());
    const std::vector<Interval> box{smp.box(c.x)};
    auto r = forward_bounds(m->graph, box);
    REQUIRE(r.has_value());
    check_sound(m->graph, box, {}, *r, smp, 300);
    if (c.crown == Case::kNoCrown)
      continue;
    auto rc = crown_bounds(m->graph, box);
    REQUIRE(rc.has_value());
    for (int64_t k = 0; k < r->bounds.lo.numel(); ++k) {
      if (c.crown == Case::kEqual) {
        CHECK(rel(r->bounds.lo.get(k), rc->bounds.lo.get(k)) <= 1e-9);
        CHECK(rel(r->bounds.hi.get(k), rc->bounds.hi.get(k)) <= 1e-9);
      } else {
        CHECK(r->bounds.lo.get(k) <= rc->bounds.lo.get(k) + 1e-12);
        CHECK(r->bounds.hi.get(k) >= rc->bounds.hi.get(k) - 1e-12);
      }
    }
  }
}

TEST_CASE("every op with an exact CROWN rule has a forward-mode rule", "[forward]") {
  for (const OpDef* def : all_ops()) {
    INFO(def->name);
    if (def->crown != nullptr && !def->crown_needs_bounds)
      CHECK(def->bound_forward != nullptr);
  }
}

TEST_CASE("forward-mode bounds of affine graphs are the exact range", "[forward]") {
  Sampler smp(37);
  for (int trial = 0; trial < 4; ++trial) {
    INFO("trial " << trial);
    // Every affine op with sign-changing weights, and the shape ops.
    test::OnnxBuilder b(13);
    b.input("x", DType::kF32, {1, 2, 3, 3});
    b.initializer("k", smp.rand({3, 2, 2, 2})).initializer("kb", smp.rand({3}));
    b.initializer("bn_s", smp.rand({3})).initializer("bn_b", smp.rand({3}));
    b.initializer("bn_m", smp.rand({3}))
        .initializer("bn_v", Tensor::from_vector<float>({3}, {1, 2, 3}));
    b.initializer("sub", smp.rand({1, 3, 2, 2}));
    b.initializer("perm_w", smp.rand({12, 5})).initializer("g_c", smp.rand({5}));
    b.initializer("mul", smp.rand({5})).initializer("div", smp.rand({1, 5}));
    b.initializer("starts", Tensor::from_vector<int64_t>({1}, {1}));
    b.initializer("ends", Tensor::from_vector<int64_t>({1}, {4}));
    b.initializer("axes", Tensor::from_vector<int64_t>({1}, {1}));
    b.initializer("pads", Tensor::from_vector<int64_t>({4}, {0, 1, 0, 2}));
    b.initializer("pad_v", Tensor::from_vector<float>({}, {0.5f}));
    b.initializer("shape", Tensor::from_vector<int64_t>({2}, {1, -1}));
    b.node("Conv", {"x", "k", "kb"}, {"c"});
    b.node("BatchNormalization", {"c", "bn_s", "bn_b", "bn_m", "bn_v"}, {"bn"});
    b.node("Sub", {"sub", "bn"}, {"s"});
    b.node("Transpose", {"s"}, {"t"}).attr("perm", std::vector<int64_t>{0, 1, 3, 2});
    b.node("Flatten", {"t"}, {"f"});
    b.node("Gemm", {"f", "perm_w", "g_c"}, {"g"}).attr("alpha", trial % 2 ? -0.5 : 1.25);
    b.node("Neg", {"g"}, {"ng"});
    b.node("Mul", {"ng", "mul"}, {"mm"});
    b.node("Div", {"mm", "div"}, {"dd"});
    b.node("Slice", {"dd", "starts", "ends", "axes"}, {"sl"});
    b.node("Concat", {"dd", "sl"}, {"cat"}).attr("axis", int64_t{1});
    b.node("Pad", {"cat", "pads", "pad_v"}, {"pd"});
    b.node("Reshape", {"pd", "shape"}, {"rs"});
    b.node("AveragePool", {"x"}, {"ap"})
        .attr("kernel_shape", std::vector<int64_t>{2, 2})
        .attr("strides", std::vector<int64_t>{1, 1});
    b.node("Flatten", {"ap"}, {"apf"});
    b.node("ReduceSum", {"apf"}, {"rsum"}).attr("keepdims", int64_t{1});
    b.node("Add", {"rs", "rsum"}, {"y"});  // a second branch joining the first
    b.output("y");
    auto m = b.load();
    REQUIRE(m.has_value());
    const std::vector<Interval> box{smp.box({1, 2, 3, 3})};
    auto r = forward_bounds(m->graph, box);
    REQUIRE(r.has_value());
    // One affine function: lower and upper are the same.
    CHECK(r->lw.raw() == r->uw.raw());
    CHECK(r->lb.raw() == r->ub.raw());
    // The exact range of y = J x + y(0) over the box, J by differences.
    const Interval& bx = box[0];
    const int64_t n = bx.lo.numel();
    const Tensor y0 = test::run_graph(m->graph, {Tensor(DType::kF64, {1, 2, 3, 3})})[0];
    const int64_t s = y0.numel();
    REQUIRE(r->bounds.lo.numel() == s);
    std::vector<double> lo(static_cast<size_t>(s)), hi(static_cast<size_t>(s));
    for (int64_t j = 0; j < s; ++j)
      lo[static_cast<size_t>(j)] = hi[static_cast<size_t>(j)] = y0.get(j);
    for (int64_t k = 0; k < n; ++k) {
      Tensor e(DType::kF64, {1, 2, 3, 3});
      e.set(k, 1);
      const Tensor yk = test::run_graph(m->graph, {e})[0];
      for (int64_t j = 0; j < s; ++j) {
        const double jac = yk.get(j) - y0.get(j);
        CHECK(rel(r->lw.get(j * n + k), jac) <= 1e-9);
        lo[static_cast<size_t>(j)] += jac >= 0 ? jac * bx.lo.get(k) : jac * bx.hi.get(k);
        hi[static_cast<size_t>(j)] += jac >= 0 ? jac * bx.hi.get(k) : jac * bx.lo.get(k);
      }
    }
    for (int64_t j = 0; j < s; ++j) {
      CHECK(rel(r->bounds.lo.get(j), lo[static_cast<size_t>(j)]) <= 1e-9);
      CHECK(rel(r->bounds.hi.get(j), hi[static_cast<size_t>(j)]) <= 1e-9);
    }
    Sampler smp2(41);
    check_sound(m->graph, box, {}, *r, smp2, 200);
  }
}

TEST_CASE("forward-mode bounds on the fixtures: sound, and compared with CROWN and IBP",
          "[forward][fixtures]") {
  struct Fixture {
    const char* name;
    // One activation layer between input and output: forward mode and CROWN take the same lines
    // with the same signs, so they agree.
    bool equals_crown;
    // Never looser than IBP in total width. Not on acas_like: through six layers of mixed-sign
    // weights the gap between the lower and upper functions grows faster than IBP's intervals
    // on the widest box (case 2: mean width 4789 against IBP's 3656; CROWN 93).
    bool within_ibp;
  };
  for (const Fixture& fx : {Fixture{"toy", true, true},
                            Fixture{"acas_like", false, false},
                            Fixture{"concat_branch", true, true},
                            Fixture{"normalize_layers", true, true},
                            Fixture{"resnet_small", false, true},
                            Fixture{"cnn_small", false, true}}) {
    INFO("fixture " << fx.name);
    const std::string dir = test::data_path(std::string("fixtures/") + fx.name);
    auto m = load_onnx(dir + "/model.onnx");
    REQUIRE(m.has_value());
    const auto cases = test::read_json(dir + "/cases.json");
    const Shape shape = cases["input_shape"].get<Shape>();
    for (const auto& c : cases["cases"]) {
      INFO("case " << c["id"]);
      std::vector<Interval> box{
          {Tensor::from_vector<double>(shape, c["x_lower"].get<std::vector<double>>()),
           Tensor::from_vector<double>(shape, c["x_upper"].get<std::vector<double>>())}};
      auto r = forward_bounds(m->graph, box);
      REQUIRE(r.has_value());
      auto rc = crown_bounds(m->graph, box);
      REQUIRE(rc.has_value());
      const auto smin = c["sampled_min"].get<std::vector<double>>();
      const auto smax = c["sampled_max"].get<std::vector<double>>();
      const auto ibp_lo = c["ibp"]["lower"].get<std::vector<double>>();
      const auto ibp_hi = c["ibp"]["upper"].get<std::vector<double>>();
      double w_fwd = 0, w_ibp = 0, w_crown = 0;
      for (size_t i = 0; i < smin.size(); ++i) {
        const auto k = static_cast<int64_t>(i);
        CHECK(r->bounds.lo.get(k) <= smin[i] + 1e-12);
        CHECK(r->bounds.hi.get(k) >= smax[i] - 1e-12);
        if (fx.equals_crown) {
          CHECK(rel(r->bounds.lo.get(k), rc->bounds.lo.get(k)) <= 1e-9);
          CHECK(rel(r->bounds.hi.get(k), rc->bounds.hi.get(k)) <= 1e-9);
        }
        w_fwd += r->bounds.hi.get(k) - r->bounds.lo.get(k);
        w_ibp += ibp_hi[i] - ibp_lo[i];
        w_crown += rc->bounds.hi.get(k) - rc->bounds.lo.get(k);
      }
      CHECK(w_crown <= w_fwd * (1 + 1e-12));
      if (fx.within_ibp)
        CHECK(w_fwd <= w_ibp * (1 + 1e-12));
      // Margins C f: sound against the sampled minima.
      const auto& cm = c["crown_margin"];
      auto rm = forward_bounds(m->graph, box, cm["C"].get<Matrix>());
      REQUIRE(rm.has_value());
      const auto smin_m = cm["sampled_min"].get<std::vector<double>>();
      for (size_t i = 0; i < smin_m.size(); ++i)
        CHECK(rm->bounds.lo.get(static_cast<int64_t>(i)) <= smin_m[i] + 1e-12);
    }
  }
}

TEST_CASE("the toy network's forward-mode bounds, worked out by hand", "[forward]") {
  // x1 in [-1, 2], x2 in [-2, 1]; z1 = x1 - x2 in [-2, 4], z2 = 2 x1 - x2 in [-3, 6] (exact);
  // ReLU: h1 >= z1 (u > -l), h1 <= 2/3 (z1 + 2); h2 >= z2, h2 <= 2/3 (z2 + 3); y = h1 - h2:
  //   y >= z1 - 2/3 (z2 + 3) = -x1/3 - x2/3 - 2, minimum -3 at (2, 1);
  //   y <= 2/3 (z1 + 2) - z2 = -4 x1/3 + x2/3 + 4/3, maximum 3 at (-1, 1).
  auto m = load_onnx(test::data_path("fixtures/toy/model.onnx"));
  REQUIRE(m.has_value());
  const auto c = test::read_json(test::data_path("fixtures/toy/cases.json"))["cases"][0];
  std::vector<Interval> box{
      {Tensor::from_vector<double>({1, 2}, c["x_lower"].get<std::vector<double>>()),
       Tensor::from_vector<double>({1, 2}, c["x_upper"].get<std::vector<double>>())}};
  auto r = forward_bounds(m->graph, box);
  REQUIRE(r.has_value());
  CHECK(r->bounds.lo.get(0) == Approx(-3.0).margin(1e-12));
  CHECK(r->bounds.hi.get(0) == Approx(3.0).margin(1e-12));
  CHECK(r->lw.get(0) == Approx(-1.0 / 3).margin(1e-12));
  CHECK(r->lw.get(1) == Approx(-1.0 / 3).margin(1e-12));
  CHECK(r->lb.get(0) == Approx(-2.0).margin(1e-12));
  CHECK(r->uw.get(0) == Approx(-4.0 / 3).margin(1e-12));
  CHECK(r->uw.get(1) == Approx(1.0 / 3).margin(1e-12));
  CHECK(r->ub.get(0) == Approx(4.0 / 3).margin(1e-12));
}

TEST_CASE("forward mode refuses ops without a rule, or bounds them by IBP on request",
          "[forward]") {
  Sampler smp(43);
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 1, 4, 4});
  b.initializer("k", smp.rand({2, 1, 3, 3})).initializer("w", smp.rand({8, 3}));
  b.node("Conv", {"x", "k"}, {"c"}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  b.node("MaxPool", {"c"}, {"p"}, "pool_node")
      .attr("kernel_shape", std::vector<int64_t>{2, 2})
      .attr("strides", std::vector<int64_t>{2, 2});
  b.node("Flatten", {"p"}, {"f"});
  b.node("Max", {"f", "f"}, {"mx"}, "max_node");
  b.node("MatMul", {"mx", "w"}, {"y"});
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  const std::vector<Interval> box{smp.box({1, 1, 4, 4})};
  auto r = forward_bounds(m->graph, box);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.status().code() == ErrorCode::kUnsupported);
  CHECK_THAT(r.status().message(), Catch::Contains("pool_node") && Catch::Contains("max_node"));

  ForwardOptions fo;
  fo.ibp_fallback = true;
  auto rf = forward_bounds(m->graph, box, {}, {}, fo);
  REQUIRE(rf.has_value());
  check_sound(m->graph, box, {}, *rf, smp, 500);
}

TEST_CASE("forward mode with the IBP fallback on a MaxPool fixture", "[forward][fixtures]") {
  const std::string dir = test::data_path("fixtures/cnn_bn_pool");
  auto m = load_onnx(dir + "/model.onnx");
  REQUIRE(m.has_value());
  const auto cases = test::read_json(dir + "/cases.json");
  const Shape shape = cases["input_shape"].get<Shape>();
  ForwardOptions fo;
  fo.ibp_fallback = true;
  for (const auto& c : cases["cases"]) {
    INFO("case " << c["id"]);
    std::vector<Interval> box{
        {Tensor::from_vector<double>(shape, c["x_lower"].get<std::vector<double>>()),
         Tensor::from_vector<double>(shape, c["x_upper"].get<std::vector<double>>())}};
    auto r = forward_bounds(m->graph, box, {}, {}, fo);
    REQUIRE(r.has_value());
    const auto smin = c["sampled_min"].get<std::vector<double>>();
    const auto smax = c["sampled_max"].get<std::vector<double>>();
    for (size_t i = 0; i < smin.size(); ++i) {
      CHECK(r->bounds.lo.get(static_cast<int64_t>(i)) <= smin[i] + 1e-12);
      CHECK(r->bounds.hi.get(static_cast<int64_t>(i)) >= smax[i] - 1e-12);
    }
  }
}
