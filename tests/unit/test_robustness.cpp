// Robustness properties from dataset samples (lib/spec/robustness) and the input-normalisation
// pass (lib/passes/input_normalization): the property's structure and term semantics, the
// prepended graph computing the original on (x - mean) / std, and CROWN / IBP bounds over
// data-space sets staying sound on the normalised graph.
#include <cmath>
#include <random>

#include <catch2/catch.hpp>

#include "bounds/crown.h"
#include "bounds/ibp.h"
#include "passes/input_normalization.h"
#include "spec/robustness.h"
#include "tests/support/onnx_builder.h"

using namespace nncert;

namespace {

Tensor rand_t(std::mt19937& rng, const Shape& s, double lo = -1, double hi = 1) {
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t(DType::kF32, s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, u(rng));
  return t;
}

// x [1, 3, 4, 4] -> Conv (2 channels, 3x3) -> Relu -> Flatten -> MatMul: 3 outputs.
Graph conv_net(std::mt19937& rng) {
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 3, 4, 4});
  b.initializer("w", rand_t(rng, {2, 3, 3, 3})).initializer("b", rand_t(rng, {2}));
  b.initializer("w2", rand_t(rng, {8, 3}));
  b.node("Conv", {"x", "w", "b"}, {"c"});
  b.node("Relu", {"c"}, {"r"}).node("Flatten", {"r"}, {"f"});
  b.node("MatMul", {"f", "w2"}, {"y"});
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  return std::move(m->graph);
}

const std::vector<double> kMean{0.485, 0.456, 0.406};
const std::vector<double> kStd{0.229, 0.224, 0.225};

Tensor normalized(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& sd) {
  Tensor out(DType::kF64, x.shape());
  const int64_t per_channel = x.numel() / static_cast<int64_t>(mean.size());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const auto c = static_cast<size_t>(i / per_channel);
    out.set(i, (x.get(i) - mean[c]) / sd[c]);
  }
  return out;
}

std::vector<double> margins(const Property& p, const std::vector<double>& y) {
  std::vector<double> m;
  for (const UnsafeTerm& t : p.cases[0].unsafe) {
    double s = 0;
    for (size_t j = 0; j < y.size(); ++j)
      s += t.all[0].coeffs[j] * y[j];
    m.push_back(s);
  }
  return m;
}

}  // namespace

TEST_CASE("robustness property: structure", "[robustness]") {
  const std::vector<double> x{0.1, 0.5, 0.9, 0.0};
  RobustnessOptions o;
  o.eps = 0.05;
  o.clip_lo = 0;
  o.clip_hi = 1;
  auto p = robustness_property(x, 2, 5, 17, o);
  REQUIRE(p.has_value());
  CHECK(p->validate().is_ok());
  CHECK(p->name == "sample 17");
  CHECK(p->sample_index == 17);
  CHECK(p->label == 2);
  CHECK(p->num_inputs == 4);
  CHECK(p->num_outputs == 5);
  REQUIRE(p->cases.size() == 1);
  const PropertyCase& c = p->cases[0];
  CHECK(c.input.kind == Perturbation::Kind::kLinf);
  CHECK(c.input.center == x);
  CHECK(c.input.eps == 0.05);
  CHECK(c.input.lo == std::vector<double>(4, 0.0));
  CHECK(c.input.hi == std::vector<double>(4, 1.0));
  REQUIRE(c.unsafe.size() == 4);
  const int64_t others[] = {0, 1, 3, 4};
  for (size_t t = 0; t < 4; ++t) {
    REQUIRE(c.unsafe[t].all.size() == 1);
    const OutputConstraint& oc = c.unsafe[t].all[0];
    std::vector<double> want(5, 0.0);
    want[2] = 1;
    want[static_cast<size_t>(others[t])] = -1;
    CHECK(oc.coeffs == want);
    CHECK(oc.rhs == 0);
    CHECK_FALSE(oc.strict);
  }
  CHECK(region_contains(c.input, {0.15, 0.45, 0.95, 0.0}));
  CHECK_FALSE(region_contains(c.input, {0.16, 0.5, 0.9, 0.0}));   // beyond eps
  CHECK_FALSE(region_contains(c.input, {0.1, 0.5, 0.9, -0.01}));  // outside the clip box

  o.norm = Perturbation::Kind::kL2;
  o.clip_lo.reset();
  o.clip_hi.reset();
  auto p2 = robustness_property(x, 0, 3, 0, o);
  REQUIRE(p2.has_value());
  CHECK(p2->cases[0].input.kind == Perturbation::Kind::kL2);
  CHECK_FALSE(p2->cases[0].input.has_clip());
  CHECK(p2->cases[0].unsafe.size() == 2);
}

TEST_CASE("robustness property: unsafe exactly when another class is at least the label",
          "[robustness]") {
  RobustnessOptions o;
  o.eps = 0.1;
  auto p = robustness_property({0.5, 0.5}, 1, 4, 3, o);
  REQUIRE(p.has_value());
  const PropertyCase& c = p->cases[0];
  // The label wins: no term holds.
  CHECK(unsafe_term_index(c, {0.0, 2.0, 1.0, -1.0}) == -1);
  // Class 3 beats the label: the term for j = 3 (the third, after j = 0, 2) holds.
  CHECK(unsafe_term_index(c, {0.0, 2.0, 1.0, 2.5}) == 2);
  CHECK(term_satisfied(c.unsafe[2], {0.0, 2.0, 1.0, 2.5}));
  CHECK_FALSE(term_satisfied(c.unsafe[0], {0.0, 2.0, 1.0, 2.5}));
  // Class 0 beats the label.
  CHECK(unsafe_term_index(c, {3.0, 2.0, 1.0, -1.0}) == 0);
  // A tie is unsafe (non-strict): the argmax is ambiguous.
  CHECK(unsafe_term_index(c, {0.0, 2.0, 2.0, -1.0}) == 1);
}

TEST_CASE("robustness property: errors and norms", "[robustness]") {
  RobustnessOptions o;
  o.eps = 0.1;
  const std::vector<double> x{0.5, 0.5};
  CHECK(robustness_property(x, 3, 3, 0, o).status().code() == ErrorCode::kInvalidArgument);
  CHECK(robustness_property(x, -1, 3, 0, o).status().code() == ErrorCode::kInvalidArgument);
  CHECK(robustness_property(x, 0, 1, 0, o).status().code() == ErrorCode::kInvalidArgument);
  CHECK(robustness_property({}, 0, 3, 0, o).status().code() == ErrorCode::kInvalidArgument);
  RobustnessOptions bad = o;
  bad.eps = -1;
  CHECK(robustness_property(x, 0, 3, 0, bad).status().code() == ErrorCode::kInvalidArgument);
  bad = o;
  bad.norm = Perturbation::Kind::kBox;
  CHECK(robustness_property(x, 0, 3, 0, bad).status().code() == ErrorCode::kInvalidArgument);
  bad = o;
  bad.clip_lo = 0;
  CHECK(robustness_property(x, 0, 3, 0, bad).status().code() == ErrorCode::kInvalidArgument);
  // A sample further than eps outside the clip range: the clipped ball is empty.
  bad = o;
  bad.clip_lo = 0;
  bad.clip_hi = 1;
  auto far = robustness_property({2.0, 0.5}, 0, 3, 9, bad);
  CHECK(far.status().code() == ErrorCode::kInvalidArgument);
  CHECK(far.status().message().find("sample 9") != std::string::npos);

  CHECK(*parse_norm("inf") == Perturbation::Kind::kLinf);
  CHECK(*parse_norm("Linf") == Perturbation::Kind::kLinf);
  CHECK(*parse_norm("2") == Perturbation::Kind::kL2);
  CHECK(*parse_norm("l1") == Perturbation::Kind::kL1);
  CHECK_FALSE(parse_norm("3").has_value());
}

TEST_CASE("prepended normalisation computes the model on (x - mean) / std", "[robustness][norm]") {
  std::mt19937 rng(7);
  const Graph g = conv_net(rng);
  Graph gn = g;
  InputNormalization norm;
  norm.mean = kMean;
  norm.stddev = kStd;
  auto x_id = prepend_input_normalization(gn, norm);
  REQUIRE(x_id.has_value());
  CHECK(gn.inputs()[0] == *x_id);
  CHECK(gn.value(*x_id).name == "x_data");
  CHECK(gn.value(*x_id).shape == Shape{1, 3, 4, 4});
  CHECK(gn.check_structure().is_ok());
  for (int trial = 0; trial < 5; ++trial) {
    const Tensor x = rand_t(rng, {1, 3, 4, 4}, 0, 1).to(DType::kF64);
    const auto yn = test::run_graph(gn, {x});
    const auto y = test::run_graph(g, {normalized(x, kMean, kStd)});
    for (int64_t j = 0; j < 3; ++j)
      CHECK(yn[0].get(j) == Approx(y[0].get(j)).epsilon(1e-12).margin(1e-12));
  }
}

TEST_CASE("CROWN and IBP over data-space sets stay sound through the normalisation",
          "[robustness][norm]") {
  std::mt19937 rng(11);
  Graph gn = conv_net(rng);
  InputNormalization norm;
  norm.mean = kMean;
  norm.stddev = kStd;
  REQUIRE(prepend_input_normalization(gn, norm).has_value());
  const Shape shape{1, 3, 4, 4};
  const Tensor center = rand_t(rng, shape, 0.1, 0.9).to(DType::kF64);
  const double eps = 0.03;
  Tensor lo = center.clone(), hi = center.clone();
  for (int64_t i = 0; i < lo.numel(); ++i) {
    lo.set(i, center.get(i) - eps);
    hi.set(i, center.get(i) + eps);
  }
  auto crown = crown_bounds(gn, std::vector<Interval>{{lo, hi}});
  REQUIRE(crown.has_value());
  auto ibp = ibp_outputs(gn, {{lo, hi}});
  REQUIRE(ibp.has_value());

  // The property's Linf ball, clipped to [0, 1]: margins Y_label - Y_j bounded by CROWN.
  RobustnessOptions o;
  o.eps = eps;
  o.clip_lo = 0;
  o.clip_hi = 1;
  const auto y0 = test::run_graph(gn, {center});
  int64_t label = 0;
  for (int64_t j = 1; j < 3; ++j)
    if (y0[0].get(j) > y0[0].get(label))
      label = j;
  auto p = robustness_property(center.to_double_vector(), label, 3, 0, o);
  REQUIRE(p.has_value());
  std::vector<std::vector<double>> c;
  for (const UnsafeTerm& t : p->cases[0].unsafe)
    c.push_back(t.all[0].coeffs);
  auto margin = crown_bounds(gn, std::vector<Perturbation>{p->cases[0].input}, c);
  REQUIRE(margin.has_value());

  std::uniform_real_distribution<double> u(-eps, eps);
  for (int s = 0; s < 300; ++s) {
    Tensor x = center.clone();
    for (int64_t i = 0; i < x.numel(); ++i)
      x.set(i, std::clamp(center.get(i) + (s == 0 ? 0 : u(rng)), 0.0, 1.0));
    const auto y = test::run_graph(gn, {x});
    for (int64_t j = 0; j < 3; ++j) {
      CHECK(y[0].get(j) >= crown->bounds.lo.get(j) - 1e-9);
      CHECK(y[0].get(j) <= crown->bounds.hi.get(j) + 1e-9);
      CHECK(y[0].get(j) >= (*ibp)[0].lo.get(j) - 1e-9);
      CHECK(y[0].get(j) <= (*ibp)[0].hi.get(j) + 1e-9);
    }
    const auto m = margins(*p, y[0].to_double_vector());
    for (size_t r = 0; r < m.size(); ++r)
      CHECK(m[r] >= margin->bounds.lo.get(static_cast<int64_t>(r)) - 1e-9);
  }
}

TEST_CASE("normalisation: scalar, [C, H, W] inputs, channel axis, errors", "[robustness][norm]") {
  // Scalar values on an [N, features] MLP input.
  std::mt19937 rng(3);
  test::OnnxBuilder b(13);
  b.input("x", DType::kF32, {1, 4});
  b.initializer("w", rand_t(rng, {4, 2}));
  b.node("MatMul", {"x", "w"}, {"y"});
  b.output("y");
  auto m = b.load();
  REQUIRE(m.has_value());
  Graph gs = m->graph;
  InputNormalization scalar;
  scalar.mean = {0.5};
  scalar.stddev = {0.25};
  REQUIRE(prepend_input_normalization(gs, scalar).has_value());
  const Tensor x = Tensor::from_vector<double>({1, 4}, {0.0, 0.25, 0.5, 1.0});
  const Tensor xn = Tensor::from_vector<double>({1, 4}, {-2.0, -1.0, 0.0, 2.0});
  const auto ys = test::run_graph(gs, {x});
  const auto y = test::run_graph(m->graph, {xn});
  CHECK(ys[0].get(0) == Approx(y[0].get(0)));
  CHECK(ys[0].get(1) == Approx(y[0].get(1)));

  // [C, H, W] input: channels on axis 0 by default.
  test::OnnxBuilder c(13);
  c.input("x", DType::kF32, {3, 2, 2});
  c.node("Identity", {"x"}, {"y"});
  c.output("y");
  auto mc = c.load();
  REQUIRE(mc.has_value());
  Graph gc = mc->graph;
  InputNormalization per_channel;
  per_channel.mean = {1, 2, 3};
  per_channel.stddev = {2};
  REQUIRE(prepend_input_normalization(gc, per_channel).has_value());
  const auto yc =
      test::run_graph(gc, {Tensor::from_vector<double>({3, 2, 2}, std::vector<double>(12, 5.0))});
  CHECK(yc[0].get(0) == 2);    // (5 - 1) / 2
  CHECK(yc[0].get(4) == 1.5);  // (5 - 2) / 2
  CHECK(yc[0].get(11) == 1);   // (5 - 3) / 2

  // The same values on axis -1 ([.., .., 2] has 2 elements there): a mismatch.
  Graph gm = mc->graph;
  per_channel.channel_axis = -1;
  auto mismatch = prepend_input_normalization(gm, per_channel);
  CHECK(mismatch.status().code() == ErrorCode::kShapeMismatch);
  per_channel.channel_axis = 3;
  CHECK(prepend_input_normalization(gm, per_channel).status().code() ==
        ErrorCode::kInvalidArgument);

  std::mt19937 rng2(5);
  Graph gconv = conv_net(rng2);
  InputNormalization four;
  four.mean = {0, 0, 0, 0};
  four.stddev = {1};
  CHECK(prepend_input_normalization(gconv, four).status().code() == ErrorCode::kShapeMismatch);
  InputNormalization zero_std;
  zero_std.stddev = {0};
  CHECK(prepend_input_normalization(gconv, zero_std).status().code() ==
        ErrorCode::kInvalidArgument);
  InputNormalization lengths;
  lengths.mean = {0, 0, 0};
  lengths.stddev = {1, 1};
  CHECK(prepend_input_normalization(gconv, lengths).status().code() == ErrorCode::kInvalidArgument);
  CHECK(prepend_input_normalization(gconv, InputNormalization{}, 1).status().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(InputNormalization{}.is_identity());
  CHECK_FALSE(scalar.is_identity());
}
