// Certified-training bound graphs and losses (lib/train/bound_graph.h, bound_loss.h): the IBP
// graph equals lib/bounds' IBP with the spec folded in, the CROWN-IBP graph equals crown_bounds
// with IBP intermediate bounds, both are sound by sampling, and the losses' weight gradients
// (runtime autodiff through the bound graph) match central finite differences.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "bounds/ibp.h"
#include "runtime/executor.h"
#include "tests/support/onnx_builder.h"
#include "train/bound_graph.h"
#include "train/bound_loss.h"

using namespace nncert;
using nncert::test::OnnxBuilder;

namespace {

Tensor random_tensor(Shape shape, std::mt19937& rng, double scale) {
  std::normal_distribution<double> nd(0.0, scale);
  Tensor t(DType::kF64, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, nd(rng));
  return t;
}

Graph mlp(uint32_t seed) {
  std::mt19937 rng(seed);
  OnnxBuilder b;
  b.input("x", DType::kF64, {1, 5});
  b.initializer("w1", random_tensor({8, 5}, rng, 0.7))
      .initializer("b1", random_tensor({8}, rng, 0.3));
  b.initializer("w2", random_tensor({8, 8}, rng, 0.5))
      .initializer("b2", random_tensor({8}, rng, 0.3));
  b.initializer("w3", random_tensor({4, 8}, rng, 0.5))
      .initializer("b3", random_tensor({4}, rng, 0.3));
  b.node("Gemm", {"x", "w1", "b1"}, {"h1"}).attr("transB", 1);
  b.node("Relu", {"h1"}, {"a1"});
  b.node("Gemm", {"a1", "w2", "b2"}, {"h2"}).attr("transB", 1);
  b.node("Relu", {"h2"}, {"a2"});
  b.node("Gemm", {"a2", "w3", "b3"}, {"y"}).attr("transB", 1);
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  return std::move(m->graph);
}

// Conv (pad 1) - BN - Relu - Conv (stride 2) - Relu - Flatten - Gemm - Relu - MatMul + Add.
Graph cnn(
    uint32_t seed, int64_t hw = 6, int64_t c1 = 2, int64_t c2 = 3, int64_t fc = 6, int64_t k = 4) {
  std::mt19937 rng(seed);
  OnnxBuilder b;
  const int64_t hw2 = (hw + 2 - 3) / 2 + 1;
  b.input("x", DType::kF64, {1, 1, hw, hw});
  b.initializer("c1w", random_tensor({c1, 1, 3, 3}, rng, 0.5))
      .initializer("c1b", random_tensor({c1}, rng, 0.2));
  Tensor var = random_tensor({c1}, rng, 0.3);
  for (int64_t i = 0; i < c1; ++i)
    var.set(i, 0.5 + std::fabs(var.get(i)));
  b.initializer("bn_s", random_tensor({c1}, rng, 1.0))
      .initializer("bn_b", random_tensor({c1}, rng, 0.2));
  b.initializer("bn_m", random_tensor({c1}, rng, 0.2)).initializer("bn_v", var);
  b.initializer("c2w", random_tensor({c2, c1, 3, 3}, rng, 0.4))
      .initializer("c2b", random_tensor({c2}, rng, 0.2));
  b.initializer("f1w", random_tensor({fc, c2 * hw2 * hw2}, rng, 0.3))
      .initializer("f1b", random_tensor({fc}, rng, 0.2));
  b.initializer("f2w", random_tensor({fc, k}, rng, 0.4))
      .initializer("f2b", random_tensor({k}, rng, 0.2));
  b.node("Conv", {"x", "c1w", "c1b"}, {"z1"}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  b.node("BatchNormalization", {"z1", "bn_s", "bn_b", "bn_m", "bn_v"}, {"n1"});
  b.node("Relu", {"n1"}, {"a1"});
  b.node("Conv", {"a1", "c2w", "c2b"}, {"z2"})
      .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
      .attr("strides", std::vector<int64_t>{2, 2});
  b.node("Relu", {"z2"}, {"a2"});
  b.node("Flatten", {"a2"}, {"f"});
  b.node("Gemm", {"f", "f1w", "f1b"}, {"h"}).attr("transB", 1);
  b.node("Relu", {"h"}, {"a3"});
  b.node("MatMul", {"a3", "f2w"}, {"m"});
  b.node("Add", {"m", "f2b"}, {"y"});
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  return std::move(m->graph);
}

struct Batch {
  Tensor lo, hi, spec;
  std::vector<int64_t> labels;
};

Batch make_batch(const Graph& g, int64_t n, double eps, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> ud(0.0, 1.0);
  Shape s = g.value(g.inputs()[0]).shape;
  s[0] = n;
  const int64_t k = g.value(g.outputs()[0]).shape[1];
  Batch b{Tensor(DType::kF64, s), Tensor(DType::kF64, s), Tensor(DType::kF64, {n, k, k}), {}};
  for (int64_t i = 0; i < b.lo.numel(); ++i) {
    const double x = ud(rng);
    b.lo.set(i, x - eps);
    b.hi.set(i, x + eps);
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = static_cast<int64_t>(rng() % static_cast<uint32_t>(k));
    b.labels.push_back(y);
    for (int64_t j = 0; j < k; ++j) {
      b.spec.set((i * k + j) * k + y, b.spec.get((i * k + j) * k + y) + 1);
      b.spec.set((i * k + j) * k + j, b.spec.get((i * k + j) * k + j) - 1);
    }
  }
  return b;
}

// Example i of a batched tensor, with batch 1.
Tensor example(const Tensor& t, int64_t i) {
  Shape s = t.shape();
  s[0] = 1;
  Tensor r(DType::kF64, s);
  for (int64_t j = 0; j < r.numel(); ++j)
    r.set(j, t.get(i * r.numel() + j));
  return r;
}

std::vector<std::vector<double>> spec_rows(const Batch& b, int64_t i, int64_t k) {
  std::vector<std::vector<double>> c(static_cast<size_t>(k), std::vector<double>(k));
  for (int64_t j = 0; j < k; ++j)
    for (int64_t l = 0; l < k; ++l)
      c[j][l] = b.spec.get((i * k + j) * k + l);
  return c;
}

std::vector<Tensor> run_bounds(const BoundGraph& bg, const Batch& b) {
  RunOptions ro;
  ro.dtype = DType::kF64;
  auto ex = Executor::create(bg.graph, ro);
  REQUIRE(ex.has_value());
  auto out = ex->run({b.lo, b.hi, b.spec});
  if (!out.has_value())
    FAIL(out.status().to_string());
  return *out;
}

void check_against_engines(const Graph& model, double eps) {
  auto ibp_g = build_bound_graph(model, {BoundMethod::kIbp});
  REQUIRE(ibp_g.has_value());
  auto cr_g = build_bound_graph(model, {BoundMethod::kCrownIbp});
  if (!cr_g.has_value())
    FAIL(cr_g.status().to_string());
  CHECK(cr_g->elided);
  const int64_t n = 3, k = cr_g->num_classes;
  Batch b = make_batch(model, n, eps, 7);
  auto ibp_out = run_bounds(*ibp_g, b);
  auto cr_out = run_bounds(*cr_g, b);
  REQUIRE(cr_out.size() == 2);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<Interval> box{{example(b.lo, i), example(b.hi, i)}};
    const auto c = spec_rows(b, i, k);
    auto ref = ibp_spec(model, box, c);
    REQUIRE(ref.has_value());
    auto all = ibp_all(model, box);
    REQUIRE(all.has_value());
    CrownOptions co;
    co.reuse_bounds = &*all;  // no splits: every intermediate bound is IBP's
    auto crown = crown_bounds(model, box, c, {}, co);
    REQUIRE(crown.has_value());
    for (int64_t j = 0; j < k; ++j) {
      const double lo = ref->lo.get(j), lc = crown->bounds.lo.get(j);
      CHECK(ibp_out[0].get(i * k + j) == Approx(lo).margin(1e-9).epsilon(1e-9));
      CHECK(cr_out[0].get(i * k + j) == Approx(lo).margin(1e-9).epsilon(1e-9));
      CHECK(cr_out[1].get(i * k + j) == Approx(lc).margin(1e-9).epsilon(1e-9));
    }
    // Soundness: margins at random points of the box are >= both lower bounds.
    std::mt19937 rng(11 + static_cast<uint32_t>(i));
    std::uniform_real_distribution<double> ud(0.0, 1.0);
    for (int t = 0; t < 100; ++t) {
      Tensor x = box[0].lo.clone();
      for (int64_t e = 0; e < x.numel(); ++e)
        x.set(e, box[0].lo.get(e) + ud(rng) * (box[0].hi.get(e) - box[0].lo.get(e)));
      const Tensor y = nncert::test::run_graph(model, {x})[0];
      for (int64_t j = 0; j < k; ++j) {
        double margin = 0;
        for (int64_t l = 0; l < k; ++l)
          margin += c[j][l] * y.get(l);
        CHECK(margin >= ibp_out[0].get(i * k + j) - 1e-9);
        CHECK(margin >= cr_out[1].get(i * k + j) - 1e-9);
      }
    }
  }
}

// d loss / d weight by autodiff vs central differences on a few entries of every weight;
// entries where steps h and h/2 disagree (a ReLU bound crossing 0 nearby) are skipped.
void check_gradients(const Graph& model, BoundLossOptions opt) {
  opt.dtype = DType::kF64;
  auto loss = make_bound_loss(model, opt);
  REQUIRE(loss.has_value());
  Batch b = make_batch(model, 4, 0.0, 3);
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> ud(0.1, 0.9);
  Tensor x = b.lo.clone();
  for (int64_t i = 0; i < x.numel(); ++i)
    x.set(i, ud(rng));
  auto v = loss->evaluate(x, b.labels);
  if (!v.has_value())
    FAIL(v.status().to_string());
  REQUIRE(!v->grads.empty());
  int checked = 0, skipped = 0;
  for (const auto& [name, grad] : v->grads) {
    const Tensor w0 = model.value(model.find_value(name)).constant->to(DType::kF64);
    for (int t = 0; t < 4; ++t) {
      const int64_t e = static_cast<int64_t>(rng() % static_cast<uint32_t>(w0.numel()));
      auto at = [&](double h) {
        BoundLoss l2 = *loss;
        Tensor w = w0.clone();
        w.set(e, w0.get(e) + h);
        REQUIRE(l2.set_weight(name, w).is_ok());
        auto r = l2.evaluate(x, b.labels);
        REQUIRE(r.has_value());
        return r->loss;
      };
      const double h = 1e-5;
      const double fd = (at(h) - at(-h)) / (2 * h);
      const double fd2 = (at(h / 2) - at(-h / 2)) / h;
      if (std::fabs(fd - fd2) > 1e-7 * (1 + std::fabs(fd))) {
        ++skipped;
        continue;
      }
      const double g = grad.get(e);
      INFO(name << "[" << e << "] autodiff " << g << " fd " << fd);
      CHECK(std::fabs(g - fd) <= 1e-5 * std::max(std::fabs(fd), 1e-3));
      ++checked;
    }
  }
  CHECK(checked > 3 * skipped);
}

// Loss fusion: the fused graph's IBP bounds of z = y − y_label equal the unfused graph's (up to
// sign), and by sampling Σ_j exp(z_j(x) − m) ≤ UB_crown and ≤ UB_ibp = Σ_j exp(u_j − m).
void check_fused_soundness(const Graph& model, double eps, uint32_t seed) {
  auto ibp_g = build_bound_graph(model, {BoundMethod::kIbp});
  REQUIRE(ibp_g.has_value());
  auto fg = build_bound_graph(model, {BoundMethod::kCrownIbp, 0, true});
  if (!fg.has_value())
    FAIL(fg.status().to_string());
  const int64_t n = 4, k = fg->num_classes;
  Batch b = make_batch(model, n, eps, seed);
  const auto margins = run_bounds(*ibp_g, b);
  Batch fb = b;
  fb.spec = b.spec.clone();
  for (int64_t i = 0; i < fb.spec.numel(); ++i)
    fb.spec.set(i, -b.spec.get(i));  // rows e_j − e_label
  const auto out = run_bounds(*fg, fb);
  REQUIRE(out.size() == 4);
  int tighter = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double m = out[2].get(i), cub = out[3].get(i);
    double iub = 0, umax = -INFINITY;
    for (int64_t j = 0; j < k; ++j) {
      const double l = out[0].get(i * k + j), u = out[1].get(i * k + j);
      CHECK(u == Approx(-margins[0].get(i * k + j)).margin(1e-12));
      CHECK(l <= u);
      iub += std::exp(u - m);
      umax = std::max(umax, u);
    }
    CHECK(m == umax);
    CHECK(std::isfinite(cub));
    CHECK(cub > 0);
    tighter += cub < iub;
    std::mt19937 rng(seed * 100 + static_cast<uint32_t>(i));
    std::uniform_real_distribution<double> ud(0.0, 1.0);
    const Tensor lo = example(b.lo, i), hi = example(b.hi, i);
    const int64_t label = b.labels[static_cast<size_t>(i)];
    double worst = 0;
    for (int t = 0; t < 300; ++t) {
      Tensor x = lo.clone();
      for (int64_t e = 0; e < x.numel(); ++e) {
        // Corners too: a third of the coordinates at an end of their interval.
        const double r = ud(rng);
        const double f = r < 1.0 / 6 ? 0.0 : r > 5.0 / 6 ? 1.0 : ud(rng);
        x.set(e, lo.get(e) + f * (hi.get(e) - lo.get(e)));
      }
      const Tensor y = nncert::test::run_graph(model, {x})[0];
      double sum = 0;
      for (int64_t j = 0; j < k; ++j)
        sum += std::exp(y.get(j) - y.get(label) - m);
      worst = std::max(worst, sum);
    }
    INFO("example " << i << ": sampled max " << worst << ", UB_crown " << cub << ", UB_ibp "
                    << iub);
    CHECK(worst <= cub * (1 + 1e-9));
    CHECK(worst <= iub * (1 + 1e-9));
  }
  CHECK(tighter > 0);  // CROWN-IBP beats IBP on some example at these radii
}

// The fused loss's gradient w.r.t. every entry of every weight vs central differences (float64);
// entries whose one-sided derivatives differ (a ReLU bound on its kink, or UB_crown = UB_ibp)
// are counted and must be rare with random nonzero biases.
void check_fused_gradients(const Graph& model, BoundLossOptions opt) {
  opt.dtype = DType::kF64;
  opt.loss_fusion = true;
  opt.threads = 1;
  auto loss = make_bound_loss(model, opt);
  REQUIRE(loss.has_value());
  Batch b = make_batch(model, 4, 0.0, 9);
  std::mt19937 rng(13);
  std::uniform_real_distribution<double> ud(0.1, 0.9);
  Tensor x = b.lo.clone();
  for (int64_t i = 0; i < x.numel(); ++i)
    x.set(i, ud(rng));
  auto v = loss->evaluate(x, b.labels);
  if (!v.has_value())
    FAIL(v.status().to_string());
  const double f0 = v->loss;
  CHECK(std::isfinite(f0));
  CHECK(v->grads.size() >= 6);
  int smooth = 0, kinks = 0;
  for (const auto& [name, grad] : v->grads) {
    const Tensor w0 = model.value(model.find_value(name)).constant->to(DType::kF64);
    BoundLoss l2 = *loss;
    for (int64_t e = 0; e < w0.numel(); ++e) {
      auto at = [&](double h) {
        Tensor w = w0.clone();
        w.set(e, w0.get(e) + h);
        REQUIRE(l2.set_weight(name, w).is_ok());
        auto r = l2.evaluate(x, b.labels);
        REQUIRE(r.has_value());
        return r->loss;
      };
      const double up1 = at(1e-5), dn1 = at(-1e-5), up2 = at(5e-6), dn2 = at(-5e-6);
      REQUIRE(l2.set_weight(name, w0).is_ok());
      const double d1 = (up1 - dn1) / 2e-5, d2 = (up2 - dn2) / 1e-5;
      const double right = 2 * (up2 - f0) / 5e-6 - (up1 - f0) / 1e-5;
      const double left = 2 * (f0 - dn2) / 5e-6 - (f0 - dn1) / 1e-5;
      const double ad = grad.get(e);
      INFO(name << "[" << e << "] autodiff " << ad << ", central " << d2 << ", one-sided " << left
                << ", " << right);
      if (std::fabs(right - left) > 1e-4 * std::max(1.0, std::fabs(ad))) {
        ++kinks;
        continue;
      }
      if (std::fabs(d1 - d2) > 1e-6 * std::max(1.0, std::fabs(d1))) {
        ++kinks;  // a kink within the step
        continue;
      }
      CHECK(ad == Approx(d2).margin(1e-7).epsilon(1e-5));
      ++smooth;
    }
  }
  INFO(smooth << " smooth entries, " << kinks << " near a kink");
  CHECK(smooth > 50);
  CHECK(kinks * 50 <= smooth);
}

}  // namespace

TEST_CASE("IBP and CROWN-IBP bound graphs equal the bound engines (MLP)", "[bound_loss]") {
  for (uint32_t seed : {1u, 2u, 3u})
    check_against_engines(mlp(seed), 0.1);
}

TEST_CASE("IBP and CROWN-IBP bound graphs equal the bound engines (CNN)", "[bound_loss]") {
  for (uint32_t seed : {1u, 2u})
    check_against_engines(cnn(seed), 0.05);
}

TEST_CASE("IBP loss gradients match finite differences", "[bound_loss]") {
  BoundLossOptions o;
  o.method = BoundMethod::kIbp;
  o.eps = 0.05;
  check_gradients(mlp(4), o);
  check_gradients(cnn(4), o);
}

TEST_CASE("CROWN-IBP loss gradients match finite differences", "[bound_loss]") {
  BoundLossOptions o;
  o.method = BoundMethod::kCrownIbp;
  o.beta = 0.6;
  o.eps = 0.05;
  check_gradients(mlp(5), o);
  check_gradients(cnn(5), o);
}

TEST_CASE("bound loss: verified flags, beta 0 falls back to IBP, bad input", "[bound_loss]") {
  Graph m = mlp(6);
  BoundLossOptions o;
  o.method = BoundMethod::kCrownIbp;
  o.eps = 0.0;
  auto loss = make_bound_loss(m, o);
  REQUIRE(loss.has_value());
  Tensor x(DType::kF64, {2, 5});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.set(i, 0.1 * static_cast<double>(i % 7));
  // eps = 0: verified exactly when the label is the strict argmax.
  const Tensor y = nncert::test::run_graph(m, {x})[0];
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 2; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < 4; ++j)
      if (y.get(i * 4 + j) > y.get(i * 4 + best))
        best = j;
    labels.push_back(best);
  }
  auto v = loss->evaluate(x, labels);
  REQUIRE(v.has_value());
  CHECK(v->verified == std::vector<uint8_t>{1, 1});
  loss->set_beta(0.0);
  REQUIRE(loss->evaluate(x, labels).has_value());
  CHECK_FALSE(loss->evaluate(x, {0, 9}).has_value());
  o.beta = 2;
  CHECK_FALSE(make_bound_loss(m, o).has_value());
}

TEST_CASE("loss fusion: fused bounds are sound by sampling (MLP, CNN)", "[bound_loss][fusion]") {
  for (uint32_t seed : {1u, 2u, 3u})
    check_fused_soundness(mlp(seed), 0.05, seed);
  for (uint32_t seed : {1u, 2u})
    check_fused_soundness(cnn(seed), 0.03, seed);
  // Not elided: the output is a Relu, so the row a^T C starts at y.
  Graph m = mlp(4);
  const ValueId y = m.outputs()[0];
  const ValueId r = m.add_value("y_relu", DType::kF64, m.value(y).shape);
  Node n;
  n.name = "out_relu";
  n.op = "Relu";
  n.inputs = {y};
  n.outputs = {r};
  m.add_node(std::move(n));
  m.outputs() = {r};
  m.rebuild_producers();
  REQUIRE(m.check_structure().is_ok());
  auto fg = build_bound_graph(m, {BoundMethod::kCrownIbp, 0, true});
  REQUIRE(fg.has_value());
  CHECK_FALSE(fg->elided);
  check_fused_soundness(m, 0.05, 4);
}

TEST_CASE("loss fusion: gradients match finite differences", "[bound_loss][fusion]") {
  BoundLossOptions o;
  o.eps = 0.05;
  o.method = BoundMethod::kIbp;
  check_fused_gradients(mlp(7), o);
  o.method = BoundMethod::kCrownIbp;
  o.beta = 0.6;
  check_fused_gradients(mlp(7), o);
  o.eps = 0.03;
  check_fused_gradients(cnn(7), o);
  o.beta = 1.0;
  check_fused_gradients(cnn(8), o);
}

TEST_CASE("loss fusion: with IBP it equals the unfused IBP loss", "[bound_loss][fusion]") {
  for (const Graph& m : {mlp(9), cnn(9)}) {
    for (BoundMethod method : {BoundMethod::kIbp, BoundMethod::kCrownIbp}) {
      BoundLossOptions o;
      o.method = method;
      o.beta = 0.0;  // CROWN-IBP at β = 0 is IBP
      o.eps = 0.05;
      o.dtype = DType::kF64;
      auto plain = make_bound_loss(m, o);
      o.loss_fusion = true;
      auto fused = make_bound_loss(m, o);
      REQUIRE(plain.has_value());
      REQUIRE(fused.has_value());
      Batch b = make_batch(m, 6, 0.0, 4);
      Tensor x = b.lo.clone();
      std::mt19937 rng(3);
      std::uniform_real_distribution<double> ud(0.1, 0.9);
      for (int64_t i = 0; i < x.numel(); ++i)
        x.set(i, ud(rng));
      auto vp = plain->evaluate(x, b.labels);
      auto vf = fused->evaluate(x, b.labels);
      REQUIRE(vp.has_value());
      REQUIRE(vf.has_value());
      CHECK(vf->loss == Approx(vp->loss).margin(1e-12).epsilon(1e-12));
      CHECK(vf->verified == vp->verified);
      for (int64_t i = 0; i < vp->lower.numel(); ++i)
        CHECK(vf->lower.get(i) == Approx(vp->lower.get(i)).margin(1e-12));
      REQUIRE(vf->grads.size() == vp->grads.size());
      for (size_t w = 0; w < vp->grads.size(); ++w) {
        REQUIRE(vf->grads[w].first == vp->grads[w].first);
        for (int64_t e = 0; e < vp->grads[w].second.numel(); ++e)
          CHECK(vf->grads[w].second.get(e) ==
                Approx(vp->grads[w].second.get(e)).margin(1e-12).epsilon(1e-9));
      }
    }
  }
}

TEST_CASE("loss fusion: eps 0 gives the natural cross-entropy; verified flags",
          "[bound_loss][fusion]") {
  Graph m = cnn(10);
  BoundLossOptions o;
  o.method = BoundMethod::kCrownIbp;
  o.beta = 0.7;
  o.eps = 0.0;
  o.dtype = DType::kF64;
  o.loss_fusion = true;
  auto loss = make_bound_loss(m, o);
  REQUIRE(loss.has_value());
  Batch b = make_batch(m, 5, 0.0, 6);
  const Tensor x = b.lo;
  const Tensor y = nncert::test::run_graph(m, {x})[0];
  const int64_t k = y.dim(1);
  double ce = 0;
  std::vector<uint8_t> argmax;
  for (int64_t i = 0; i < 5; ++i) {
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < k; ++j)
      mx = std::max(mx, y.get(i * k + j));
    for (int64_t j = 0; j < k; ++j)
      sum += std::exp(y.get(i * k + j) - mx);
    const int64_t label = b.labels[static_cast<size_t>(i)];
    ce += mx + std::log(sum) - y.get(i * k + label);
    argmax.push_back(y.get(i * k + label) == mx ? 1 : 0);
  }
  auto v = loss->evaluate(x, b.labels);
  REQUIRE(v.has_value());
  CHECK(v->loss == Approx(ce / 5).epsilon(1e-9));
  CHECK(v->verified == argmax);  // ε = 0: verified exactly when the label is the argmax
  // A large radius: nothing verified, the loss stays finite.
  loss->set_eps(5.0);
  auto w = loss->evaluate(x, b.labels);
  REQUIRE(w.has_value());
  CHECK(std::isfinite(w->loss));
  CHECK(w->verified == std::vector<uint8_t>(5, 0));
}

// Throughput of forward + backward (examples/s) on Conv16-Conv32-FC100-FC10, 28x28, batch 64.
TEST_CASE("bound loss throughput", "[.][bench][bound_loss]") {
  std::mt19937 rng(1);
  OnnxBuilder b;
  b.input("x", DType::kF32, {1, 1, 28, 28});
  b.initializer("c1w", random_tensor({16, 1, 4, 4}, rng, 0.3).to(DType::kF32))
      .initializer("c1b", random_tensor({16}, rng, 0.1).to(DType::kF32));
  b.initializer("c2w", random_tensor({32, 16, 4, 4}, rng, 0.1).to(DType::kF32))
      .initializer("c2b", random_tensor({32}, rng, 0.1).to(DType::kF32));
  b.initializer("f1w", random_tensor({100, 32 * 7 * 7}, rng, 0.03).to(DType::kF32))
      .initializer("f1b", random_tensor({100}, rng, 0.1).to(DType::kF32));
  b.initializer("f2w", random_tensor({10, 100}, rng, 0.1).to(DType::kF32))
      .initializer("f2b", random_tensor({10}, rng, 0.1).to(DType::kF32));
  const std::vector<int64_t> p1{1, 1, 1, 1}, s2{2, 2};
  b.node("Conv", {"x", "c1w", "c1b"}, {"z1"}).attr("pads", p1).attr("strides", s2);
  b.node("Relu", {"z1"}, {"a1"});
  b.node("Conv", {"a1", "c2w", "c2b"}, {"z2"}).attr("pads", p1).attr("strides", s2);
  b.node("Relu", {"z2"}, {"a2"});
  b.node("Flatten", {"a2"}, {"f"});
  b.node("Gemm", {"f", "f1w", "f1b"}, {"h"}).attr("transB", 1);
  b.node("Relu", {"h"}, {"a3"});
  b.node("Gemm", {"a3", "f2w", "f2b"}, {"y"}).attr("transB", 1);
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  Tensor x(DType::kF32, {64, 1, 28, 28});
  std::uniform_real_distribution<double> ud(0, 1);
  for (int64_t i = 0; i < x.numel(); ++i)
    x.set(i, ud(rng));
  std::vector<int64_t> labels(64);
  for (auto& l : labels)
    l = static_cast<int64_t>(rng() % 10);
  struct Mode {
    BoundMethod method;
    bool fusion;
    const char* name;
  };
  for (const Mode& mode : {Mode{BoundMethod::kIbp, false, "IBP            "},
                           Mode{BoundMethod::kCrownIbp, false, "CROWN-IBP      "},
                           Mode{BoundMethod::kIbp, true, "IBP fused      "},
                           Mode{BoundMethod::kCrownIbp, true, "CROWN-IBP fused"}})
    for (int threads : {1, 2}) {
      BoundLossOptions o;
      o.method = mode.method;
      o.loss_fusion = mode.fusion;
      o.beta = 0.5;
      o.eps = 0.1;
      o.threads = threads;
      auto loss = make_bound_loss(m->graph, o);
      REQUIRE(loss.has_value());
      REQUIRE(loss->evaluate(x, labels).has_value());  // warm-up
      const int reps = 5;
      const auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < reps; ++r)
        REQUIRE(loss->evaluate(x, labels).has_value());
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
      std::printf(
          "%s threads %d: %.1f ms/batch, %.0f examples/s\n", mode.name, threads, s * 1e3, 64 / s);
    }
}
