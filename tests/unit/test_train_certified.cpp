// Certified losses in the trainer (train/certified_loss.h): schedule values, the combined
// gradient against finite differences, IBP training against natural training on a 2-D toy, and
// verify-model train with an IBP config on MNIST (tests/cli/test_train_cli.sh).
#include <cmath>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "train/bound_loss.h"
#include "train/certified_loss.h"
#include "train/data_loader.h"
#include "train/model_builder.h"
#include "train/trainer.h"

using namespace nncert;

namespace {

CertifiedLossOptions schedule_options(EpsScheduleKind kind, BoundMethod method) {
  CertifiedLossOptions o;
  o.method = method;
  o.eps = 0.3;
  o.schedule = kind;
  o.warmup_epochs = 1;
  o.ramp_epochs = 2;
  return o;
}

// Two blobs, centres (1.5, -1.5) and (-1.5, 1.5), noise sd 0.5.
Dataset blobs(int64_t n, uint64_t seed) {
  Dataset d;
  d.shape = {2};
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.5);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = i % 2;
    const double c = y ? 1.5 : -1.5;
    d.x.push_back({c + noise(rng), -c + noise(rng)});
    d.labels.push_back(y);
  }
  return d;
}

// Fraction of `d` whose margins IBP proves at radius eps (no clipping: the toy is unbounded).
double ibp_verified(const Model& m, const Dataset& d, double eps) {
  auto bl = make_bound_loss(m.graph, {.eps = eps, .clip = false});
  REQUIRE(bl);
  Tensor x(DType::kF32, {d.size(), 2});
  for (int64_t i = 0; i < d.size(); ++i)
    for (int64_t k = 0; k < 2; ++k)
      x.set(i * 2 + k, d.x[static_cast<size_t>(i)][static_cast<size_t>(k)]);
  auto v = bl->evaluate(x, d.labels);
  REQUIRE(v);
  double n = 0;
  for (uint8_t b : v->verified)
    n += b;
  return n / static_cast<double>(d.size());
}

}  // namespace

TEST_CASE("certified loss: eps, kappa and beta schedules", "[train]") {
  // 10 steps an epoch: warm-up steps 0-9, ramp steps 10-29 (u = 1..20), then flat.
  auto lin = schedule_options(EpsScheduleKind::kLinear, BoundMethod::kIbp);
  CHECK(certified_schedule(lin, 9, 10).eps == 0);
  CHECK(certified_schedule(lin, 9, 10).kappa == 1);
  CHECK(certified_schedule(lin, 10, 10).eps == Approx(0.3 / 20));
  CHECK(certified_schedule(lin, 19, 10).eps == Approx(0.15));
  CHECK(certified_schedule(lin, 19, 10).kappa == Approx(0.75));
  CHECK(certified_schedule(lin, 29, 10).eps == Approx(0.3));
  CHECK(certified_schedule(lin, 29, 10).kappa == Approx(0.5));
  CHECK(certified_schedule(lin, 500, 10).eps == Approx(0.3));
  CHECK(certified_schedule(lin, 19, 10).beta == 0);
  // Smoothed, R = 20, m = 5, p = 4: α = 0.3 / (5³ (4·15 + 5)) = 0.3 / 8125.
  auto sm = schedule_options(EpsScheduleKind::kSmoothed, BoundMethod::kCrownIbp);
  const double alpha = 0.3 / 8125;
  CHECK(certified_schedule(sm, 11, 10).eps == Approx(alpha * 16));
  CHECK(certified_schedule(sm, 14, 10).eps == Approx(alpha * 625));
  CHECK(certified_schedule(sm, 21, 10).eps ==
        Approx(alpha * 625 + (0.3 - alpha * 625) * 7.0 / 15.0));
  CHECK(certified_schedule(sm, 29, 10).eps == Approx(0.3));
  double prev = 0;
  for (int64_t s = 0; s < 40; ++s) {
    const CertifiedSchedule c = certified_schedule(sm, s, 10);
    CHECK(c.eps >= prev);
    prev = c.eps;
    if (s >= 10)
      CHECK(c.beta == Approx(1 - c.eps / 0.3));  // CROWN-IBP: β = 1 − ε_t / ε
  }
  auto parsed = parse_certified_loss_options(
      R"({"type": "crown-ibp", "eps": 0.2, "schedule": "linear", "warmup_epochs": 2})");
  REQUIRE(parsed);
  CHECK(parsed->method == BoundMethod::kCrownIbp);
  CHECK(parsed->schedule == EpsScheduleKind::kLinear);
  CHECK(parsed->warmup_epochs == 2);
  CHECK_FALSE(parse_certified_loss_options(R"({"type": "ibp", "epsilon": 0.2})"));
  CHECK_FALSE(parse_certified_loss_options(R"({"type": "ibp", "kappa_end": 2})"));
  CHECK_FALSE(parsed->loss_fusion);  // off by default
  auto fused = parse_certified_loss_options(R"({"type": "crown-ibp", "loss_fusion": true})");
  REQUIRE(fused);
  CHECK(fused->loss_fusion);
  CHECK_FALSE(parse_certified_loss_options(R"({"type": "ibp", "loss_fusion": "yes"})"));
  CHECK(make_loss(LossType::kCrownIbp, "{}").value()->name() == "crown-ibp");
}

// The combined loss's gradient by autodiff vs finite differences on every parameter entry.
// Where the one-sided derivatives agree, autodiff must match central differences. Otherwise a
// ReLU bound sits exactly on its kink: zero-initialised biases put two-hidden-layer IBP bounds on
// 0 (l = W c − |W| r = 0 when c = r), where autodiff takes ReLU'(0) = 0 as PyTorch does. With
// random biases no entry may sit on a kink.
static void check_combined_fd(const std::vector<int64_t>& hidden,
                              bool random_bias,
                              bool fusion = false) {
  for (LossType type : {LossType::kIbp, LossType::kCrownIbp}) {
    ModelBuilder mb({4});
    for (int64_t h : hidden)
      mb.linear(h).relu();
    auto m = mb.linear(3).build({.seed = 5, .dtype = DType::kF64});
    REQUIRE(m);
    std::mt19937_64 rng(7);
    if (random_bias)
      for (ValueId p : m->params) {
        Value& pv = m->graph.value(p);
        if (pv.name.size() > 5 && pv.name.substr(pv.name.size() - 5) == ".bias")
          for (int64_t i = 0; i < pv.constant->numel(); ++i)
            pv.constant->set(i, std::uniform_real_distribution<double>(-0.2, 0.2)(rng));
      }
    // Mid-ramp: ε, κ and β all strictly between their ends.
    auto loss = make_loss(type,
                          std::string(R"({"eps": 0.1, "schedule": "linear", "warmup_epochs": 0,
                              "ramp_epochs": 2, "kappa_end": 0.2, "loss_fusion": )") +
                              (fusion ? "true}" : "false}"));
    REQUIRE(loss);
    LossContext ctx;
    ctx.run = {DType::kF64, 1};
    ctx.step = 3;
    ctx.steps_per_epoch = 4;
    Tensor x(DType::kF64, {5, 4});
    std::uniform_real_distribution<double> u(0.1, 0.9);
    for (int64_t i = 0; i < x.numel(); ++i)
      x.set(i, u(rng));
    const std::vector<int64_t> y = {0, 2, 1, 2, 0};
    auto r = (*loss)->compute(m->graph, m->params, x, y, ctx);
    REQUIRE(r);
    bool has_robust = false;
    for (const auto& [k, v] : r->metrics)
      has_robust |= k == "robust_loss";
    REQUIRE(has_robust);
    auto value = [&]() {
      auto q = (*loss)->compute(m->graph, m->params, x, y, ctx);
      REQUIRE(q);
      return q->loss;
    };
    const double f0 = value();
    int smooth = 0, kinks = 0;
    for (size_t k = 0; k < m->params.size(); ++k) {
      Tensor& p = *m->graph.value(m->params[k]).constant;
      INFO(loss_type_name(type) << " parameter " << m->graph.value(m->params[k]).name);
      for (int64_t i = 0; i < p.numel(); ++i) {
        const double w = p.get(i);
        auto at = [&](double h) {
          p.set(i, w + h);
          const double f = value();
          p.set(i, w);
          return f;
        };
        const double up1 = at(1e-5), dn1 = at(-1e-5), up2 = at(5e-6), dn2 = at(-5e-6);
        const double d1 = (up1 - dn1) / 2e-5, d2 = (up2 - dn2) / 1e-5;
        const double ad = r->param_grads[k].get(i);
        // One-sided derivatives, second order (Richardson on steps h and h/2).
        const double right = 2 * (up2 - f0) / 5e-6 - (up1 - f0) / 1e-5;
        const double left = 2 * (f0 - dn2) / 5e-6 - (f0 - dn1) / 1e-5;
        INFO("entry " << i << ": autodiff " << ad << ", central " << d2 << ", one-sided " << left
                      << ", " << right);
        const double tol = 1e-4 * std::max(1.0, std::abs(ad));
        if (std::abs(right - left) <= tol) {
          if (std::abs(d1 - d2) > 1e-6 * std::max(1.0, std::abs(d1)))
            continue;  // a kink within the step but not at w: neither rule applies
          CHECK(ad == Approx(d2).margin(1e-6).epsilon(1e-5));
          ++smooth;
          continue;
        }
        // On a kink: autodiff takes ReLU'(0) = 0 per example, which need not equal either
        // one-sided derivative of the batch sum. Random biases avoid exact kinks; counted.
        ++kinks;
      }
    }
    INFO(smooth << " smooth entries, " << kinks << " at a kink");
    CHECK(smooth > 20);
    if (random_bias)
      CHECK(kinks == 0);
  }
}

TEST_CASE("certified loss: combined gradient matches finite differences (float64)", "[train]") {
  check_combined_fd({6}, false);
  check_combined_fd({6}, true);
}

// Zero biases put two-hidden-layer IBP bounds exactly on ReLU kinks (l = 0 or u = 0), where
// central differences average the two sides: the kink branch of check_combined_fd covers them.
TEST_CASE("certified loss: gradient with two hidden layers matches finite differences", "[train]") {
  check_combined_fd({6, 5}, false);
  check_combined_fd({6, 5}, true);
}

TEST_CASE("certified loss: fused loss gradient matches finite differences", "[train]") {
  check_combined_fd({6}, true, true);
  check_combined_fd({6, 5}, true, true);
}

TEST_CASE("certified loss: IBP training verifies more of a 2-D toy than natural training",
          "[train]") {
  const double eps = 0.6;
  const Dataset held_out = blobs(400, 99);
  auto run = [&](LossType type) {
    auto m = ModelBuilder({2}).linear(32).relu().linear(32).relu().linear(2).build({.seed = 2});
    REQUIRE(m);
    DataLoaderOptions lo;
    lo.batch_size = 32;
    lo.seed = 3;
    auto data = DataLoader::create(blobs(512, 2), lo);
    REQUIRE(data);
    auto loss = make_loss(type,
                          R"({"eps": 0.6, "clip": false, "warmup_epochs": 1, "ramp_epochs": 4,
                              "kappa_end": 0.0})");
    REQUIRE(loss);
    TrainOptions o;
    o.epochs = 8;
    o.seed = 4;
    o.run.threads = 1;
    o.optimizer = {.kind = OptimizerKind::kAdam, .lr = 0.01, .clip_grad_norm = 10};
    Trainer t(*m, **loss, *data, o);
    REQUIRE(t.train());
    auto acc = evaluate_accuracy(m->graph, *data, {});
    REQUIRE(acc);
    CHECK(*acc > 0.9);
    return ibp_verified(*m, held_out, eps);
  };
  const double ibp = run(LossType::kIbp), natural = run(LossType::kNatural);
  INFO("held-out IBP-verified fraction at eps " << eps << ": IBP-trained " << ibp
                                                << ", naturally trained " << natural);
  CHECK(ibp > 0.5);
  CHECK(ibp > natural + 0.1);
}
