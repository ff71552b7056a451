// The training loop: a tiny MLP learns a separable toy set, checkpoints resume bit-identically,
// the exported ONNX reloads with the same logits, a small MLP learns MNIST digits, and a YAML run
// config drives the whole run. "[.benchmark]" measures natural CNN training on MNIST.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <catch2/catch.hpp>

#include "frontends/onnx/onnx_loader.h"
#include "frontends/onnx/onnx_writer.h"
#include "runtime/executor.h"
#include "tests/support/test_paths.h"
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

Model tiny_mlp(uint64_t seed) {
  auto m = ModelBuilder({2}).linear(16).relu().linear(2).build({.seed = seed});
  REQUIRE(m);
  return std::move(*m);
}

TrainOptions toy_options(int threads) {
  TrainOptions o;
  o.epochs = 20;
  o.seed = 4;
  o.run.threads = threads;
  o.optimizer = {.kind = OptimizerKind::kAdam, .lr = 0.01, .clip_grad_norm = 10};
  o.schedule.kind = ScheduleKind::kCosine;
  o.schedule.warmup_steps = 5;
  return o;
}

bool same_bits(const Model& a, const Model& b) {
  for (size_t k = 0; k < a.params.size(); ++k) {
    const Tensor& x = *a.graph.value(a.params[k]).constant;
    const Tensor& y = *b.graph.value(b.params[k]).constant;
    if (x.nbytes() != y.nbytes() || std::memcmp(x.raw(), y.raw(), x.nbytes()) != 0)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("trainer: a tiny MLP learns a separable toy set", "[train]") {
  Model m = tiny_mlp(1);
  auto data = DataLoader::create(blobs(512, 2), loader_options(32, 3));
  REQUIRE(data);
  NaturalLoss loss;
  TrainOptions o = toy_options(1);
  o.max_steps = 300;
  Trainer t(m, loss, *data, o);
  auto s = t.train();
  REQUIRE(s);
  CHECK(s->steps == 300);
  CHECK(s->stop_reason == "max_steps");
  auto acc = evaluate_accuracy(m.graph, *data, {});
  REQUIRE(acc);
  CHECK(*acc > 0.95);
}

TEST_CASE("trainer: a checkpoint resumes bit-identically", "[train]") {
  const std::string dir = test::scratch_dir();
  auto data = DataLoader::create(blobs(100, 5), loader_options(16, 8));
  REQUIRE(data);
  NaturalLoss loss;
  for (int threads : {1, 2}) {
    for (OptimizerKind kind : {OptimizerKind::kAdam, OptimizerKind::kSgd}) {
      TrainOptions o = toy_options(threads);
      o.epochs = 3;  // 7 batches an epoch: stop mid-epoch at step 10
      o.optimizer.kind = kind;
      Model straight = tiny_mlp(7);
      Trainer a(straight, loss, *data, o);
      REQUIRE(a.train());

      Model first = tiny_mlp(7);
      TrainOptions half = o;
      half.max_steps = 10;
      half.checkpoint_path = dir + "/ckpt";
      Trainer b(first, loss, *data, half);
      REQUIRE(b.train());
      CHECK(b.step() == 10);

      Model resumed = tiny_mlp(99);  // other initial weights: all must come from the file
      Trainer c(resumed, loss, *data, o);
      REQUIRE(c.load_checkpoint(dir + "/ckpt").is_ok());
      auto s = c.train();
      REQUIRE(s);
      CHECK(s->steps == 21);
      CHECK(same_bits(straight, resumed));
    }
  }
  Model other = ModelBuilder({2}).linear(3).linear(2).build().value();
  Trainer d(other, loss, *data, toy_options(1));
  CHECK(d.load_checkpoint(dir + "/ckpt").code() == ErrorCode::kParseError);
}

TEST_CASE("trainer: the exported ONNX reloads with the same logits", "[train]") {
  auto m = ModelBuilder({1, 8, 8})
               .conv(4, 3, 1, 1)
               .batch_norm()
               .relu()
               .residual_block()
               .flatten()
               .linear(5)
               .build({.init = InitScheme::kIbp, .seed = 2});
  REQUIRE(m);
  const std::string path = test::scratch_dir() + "/model.onnx";
  REQUIRE(save_onnx(m->graph, path).is_ok());
  auto back = load_model_onnx(path);
  REQUIRE(back);
  CHECK(back->params.size() == m->params.size());
  Tensor x(DType::kF32, {3, 1, 8, 8});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.set(i, std::sin(static_cast<double>(i)));
  auto e1 = Executor::create(m->graph, {});
  auto e2 = Executor::create(back->graph, {});
  REQUIRE(e1);
  REQUIRE(e2);
  auto y1 = e1->run({x});
  auto y2 = e2->run({x});
  REQUIRE(y1);
  REQUIRE(y2);
  REQUIRE(y1->at(0).numel() == 15);
  CHECK(std::memcmp(y1->at(0).raw(), y2->at(0).raw(), y1->at(0).nbytes()) == 0);
}

TEST_CASE("trainer: a small MLP learns 2000 MNIST digits in one epoch", "[train][shared]") {
  auto dir = test::mnist_dir();
  if (!dir) {
    WARN("MNIST digits not found (../shared/data/mnist, ./setup.sh build): skipped");
    return;
  }
  auto src = named_dataset("mnist", "train", *dir);
  REQUIRE(src);
  src->range = *parse_sample_range("0:2000");
  auto ds = load_dataset(*src);
  REQUIRE(ds);
  auto data = DataLoader::create(std::move(*ds), loader_options(32, 1));
  REQUIRE(data);
  src->range = *parse_sample_range("2000:3000");
  auto test_data = DataLoader::create(load_dataset(*src).value(), loader_options(500, 0));
  REQUIRE(test_data);
  auto m = ModelBuilder({784}).linear(128).relu().linear(10).build({.seed = 1});
  REQUIRE(m);
  NaturalLoss loss;
  TrainOptions o;
  o.optimizer = {.kind = OptimizerKind::kAdam, .lr = 2e-3};
  Trainer t(*m, loss, *data, o);
  auto s = t.train();
  REQUIRE(s);
  auto acc = evaluate_accuracy(m->graph, *test_data, {});
  REQUIRE(acc);
  INFO("held-out accuracy " << *acc << ", " << s->examples_per_second << " examples/s");
  CHECK(*acc > 0.8);
}

TEST_CASE("train config: a YAML run writes the model, the log and a checkpoint", "[train]") {
  const std::string dir = test::scratch_dir() + "/yaml_run";
  fs::create_directories(dir);
  {
    std::ofstream csv(dir + "/toy.csv");
    const Dataset d = blobs(200, 3);
    for (int64_t i = 0; i < d.size(); ++i)
      csv << d.labels[static_cast<size_t>(i)] << "," << d.x[static_cast<size_t>(i)][0] << ","
          << d.x[static_cast<size_t>(i)][1] << "\n";
    std::ofstream y(dir + "/run.yaml");
    y << "model:\n  input: [2]\n  init: kaiming\n  layers:\n"
         "    - {type: linear, out: 8}\n    - {type: relu}\n    - {type: linear, out: 2}\n"
         "data: {path: toy.csv}\n"
         "optimizer: {type: sgd, lr: 0.05, momentum: 0.9, weight_decay: 1.0e-4}\n"
         "schedule: {type: step, milestones: [3], gamma: 0.5}\n"
         "loss: {type: natural}\nepochs: 4\nbatch: 20\nseed: 3\nthreads: 1\nlog_every: 5\n"
         "out: out\n";
  }
  auto c = load_train_config(dir + "/run.yaml");
  REQUIRE(c);
  CHECK(c->train.optimizer.kind == OptimizerKind::kSgd);
  CHECK(c->train.schedule.milestones == std::vector<double>{3});
  auto r = run_training(*c);
  REQUIRE(r);
  CHECK(r->summary.epochs == 4);
  CHECK(r->final_accuracy > 0.9);
  CHECK(fs::exists(dir + "/out/model.onnx"));
  CHECK(fs::exists(dir + "/out/checkpoint"));
  std::ifstream log(dir + "/out/train.jsonl");
  int lines = 0;
  for (std::string line; std::getline(log, line);)
    lines += nlohmann::json::parse(line).contains("loss") ? 1 : 0;
  CHECK(lines == 40 / 5 + 4);  // 10 steps an epoch: a record every 5 steps, one per epoch
  // Fine-tuning: the exported model is the starting point of a second run.
  auto tune =
      parse_train_config(R"({"model": {"onnx": "out/model.onnx"}, "data": {"path": "toy.csv"},
      "optimizer": {"type": "adam", "lr": 1e-3}, "epochs": 1, "batch": 50, "out": "tuned"})",
                         dir);
  REQUIRE(tune);
  auto tuned = run_training(*tune);
  REQUIRE(tuned);
  CHECK(tuned->summary.steps == 4);
  CHECK(tuned->final_accuracy > 0.9);
  auto unknown = parse_train_config(R"({"model": {}, "data": {"path": "x"}, "epoch": 1})", "");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.status().message().find("'epoch'") != std::string::npos);
  auto bound = parse_train_config(
      R"({"model": {"input": [2], "layers": [{"type": "linear", "out": 2}]},
          "data": {"path": "x"}, "loss": {"type": "ibp"}})",
      "");
  REQUIRE(bound);
  CHECK(make_loss(bound->loss).value()->name() == "ibp");  // train/certified_loss.h
}

TEST_CASE("benchmark: natural CNN training on MNIST, batch 64", "[.benchmark]") {
  auto dir = test::mnist_dir();
  if (!dir)
    return;
  auto src = named_dataset("mnist", "train", *dir);
  src->range = *parse_sample_range("0:1280");
  auto data = DataLoader::create(load_dataset(*src).value(), loader_options(64, 0));
  REQUIRE(data);
  for (int threads : {1, 2}) {
    auto m = ModelBuilder({1, 28, 28})
                 .conv(16, 4, 2, 1)
                 .batch_norm()
                 .relu()
                 .conv(32, 4, 2, 1)
                 .batch_norm()
                 .relu()
                 .flatten()
                 .linear(100)
                 .relu()
                 .linear(10)
                 .build({.seed = 1});
    REQUIRE(m);
    NaturalLoss loss;
    TrainOptions o;
    o.run.threads = threads;
    Trainer t(*m, loss, *data, o);
    auto s = t.train();
    REQUIRE(s);
    std::printf(
        "CNN (conv16-bn-conv32-bn-fc100-fc10, %lld params) batch 64, %d thread(s): "
        "%.0f examples/s, loss %.3f\n",
        static_cast<long long>(m->num_parameters()),
        threads,
        s->examples_per_second,
        s->last_loss);
  }
}
