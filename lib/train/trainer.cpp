#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace nncert {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<int64_t> param_sizes(const Model& m) {
  std::vector<int64_t> s;
  for (ValueId p : m.params)
    s.push_back(m.graph.value(p).constant->numel());
  return s;
}

// The batch reshaped to the graph input ([B, ...] with the model's per-sample extents).
Expected<Tensor> shape_input(const Graph& g, const Tensor& x) {
  Shape want = g.value(g.inputs().at(0)).shape;
  if (want.empty())
    return x;
  want[0] = x.dim(0);
  if (shape_numel(want) != x.numel())
    return Status(ErrorCode::kShapeMismatch,
                  "train: samples of shape " + shape_to_string(x.shape()) +
                      " do not fit the model input " +
                      shape_to_string(g.value(g.inputs()[0]).shape));
  return x.reshaped(want);
}

Status write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f)
      return {ErrorCode::kIoError, "cannot write " + tmp};
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return {ErrorCode::kIoError, "cannot rename " + tmp + " to " + path + ": " + ec.message()};
  return Status::ok();
}

}  // namespace

Status TrainOptions::validate() const {
  if (epochs < 1 || max_steps < 0)
    return {ErrorCode::kInvalidArgument, "train: epochs must be >= 1 and max_steps >= 0"};
  if (log_every < 1)
    return {ErrorCode::kInvalidArgument, "train: log_every must be >= 1"};
  NNCERT_RETURN_IF_ERROR(run.validate());
  NNCERT_RETURN_IF_ERROR(optimizer.validate());
  return schedule.validate();
}

Trainer::Trainer(Model& model, Loss& loss, const DataLoader& data, TrainOptions options)
    : model_(&model),
      loss_(&loss),
      data_(&data),
      options_(std::move(options)),
      optimizer_(options_.optimizer, param_sizes(model)),
      rng_(options_.seed) {}

Status Trainer::log_line(const std::string& line) const {
  if (options_.log_path.empty())
    return Status::ok();
  std::ofstream f(options_.log_path, std::ios::app);
  f << line << '\n';
  return f ? Status::ok() : Status(ErrorCode::kIoError, "cannot write " + options_.log_path);
}

Expected<TrainSummary> Trainer::train() {
  NNCERT_RETURN_IF_ERROR(options_.validate());
  const int64_t per_epoch = data_->batches_per_epoch();
  // The schedule spans `epochs`; max_steps only stops early (a resumed run sees the same rates).
  const int64_t total = options_.epochs * per_epoch;
  TrainSummary sum;
  sum.stop_reason = "epochs";
  const auto t0 = Clock::now();
  int64_t examples = 0;
  std::vector<Tensor> params;
  for (ValueId p : model_->params)
    params.push_back(*model_->graph.value(p).constant);
  // Built after any load_checkpoint: it shares the constants' storage with the model.
  NNCERT_ASSIGN_OR_RETURN(const TrainingGraph tg, make_training_graph(*model_));
  const bool batch_stats = options_.batch_statistics && tg.has_batch_norm();
  const Graph& graph = batch_stats ? tg.graph : model_->graph;
  auto population_stats = [&]() {
    return batch_stats ? update_population_statistics(
                             *model_, tg, *data_, options_.run, options_.bn_samples)
                       : Status::ok();
  };
  while (epoch_ < options_.epochs) {
    const std::vector<int64_t> order = data_->epoch_order(epoch_);
    while (batch_ < per_epoch) {
      if (options_.max_steps > 0 && step_ >= options_.max_steps) {
        sum.stop_reason = "max_steps";
        break;
      }
      const Batch b = data_->batch(order, batch_);
      NNCERT_ASSIGN_OR_RETURN(Tensor x, shape_input(model_->graph, b.x));
      LossContext ctx{
          options_.run, epoch_, step_, total, per_epoch, batch_stats ? &model_->graph : nullptr};
      NNCERT_ASSIGN_OR_RETURN(LossResult r,
                              loss_->compute(graph, model_->params, x, b.labels, ctx));
      if (!std::isfinite(r.loss))
        return Status(
            ErrorCode::kRuntime,
            "train: loss is " + std::to_string(r.loss) + " at step " + std::to_string(step_));
      const double lr =
          scheduled_lr(options_.schedule, options_.optimizer.lr, step_, total, per_epoch);
      const StepReport sr = optimizer_.step(params, r.param_grads, lr);
      epoch_loss_ += r.loss * static_cast<double>(b.size());
      epoch_correct_ += r.correct;
      epoch_seen_ += b.size();
      for (const auto& [k, v] : r.metrics)
        if (k == "verified") {
          epoch_verified_ += v * static_cast<double>(b.size());
          epoch_bounded_ += b.size();
        }
      examples += b.size();
      ++step_;
      ++batch_;
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      const double eps = secs > 0 ? static_cast<double>(examples) / secs : 0;
      const double mean_loss = epoch_loss_ / static_cast<double>(epoch_seen_);
      const double acc = static_cast<double>(epoch_correct_) / static_cast<double>(epoch_seen_);
      if (step_ % options_.log_every == 0) {
        json j{{"event", "step"},
               {"epoch", epoch_},
               {"step", step_},
               {"loss", r.loss},
               {"batch_accuracy", static_cast<double>(r.correct) / static_cast<double>(b.size())},
               {"lr", lr},
               {"grad_norm", sr.grad_norm},
               {"examples_per_s", eps}};
        for (const auto& [k, v] : r.metrics)
          j[k] = v;
        NNCERT_RETURN_IF_ERROR(log_line(j.dump()));
      }
      if (options_.progress) {
        char ver[32] = "";
        if (epoch_bounded_ > 0)
          std::snprintf(ver,
                        sizeof ver,
                        "  verified %.4f",
                        epoch_verified_ / static_cast<double>(epoch_bounded_));
        std::fprintf(stderr,
                     "\repoch %lld/%lld  step %lld/%lld  loss %.4f  acc %.4f%s  %.0f ex/s ",
                     static_cast<long long>(epoch_ + 1),
                     static_cast<long long>(options_.epochs),
                     static_cast<long long>(batch_),
                     static_cast<long long>(per_epoch),
                     mean_loss,
                     acc,
                     ver,
                     eps);
      }
    }
    if (batch_ < per_epoch)
      break;  // max_steps
    sum.last_loss = epoch_loss_ / static_cast<double>(std::max<int64_t>(epoch_seen_, 1));
    sum.train_accuracy = static_cast<double>(epoch_correct_) /
                         static_cast<double>(std::max<int64_t>(epoch_seen_, 1));
    json ej{{"event", "epoch"},
            {"epoch", epoch_},
            {"step", step_},
            {"loss", sum.last_loss},
            {"accuracy", sum.train_accuracy}};
    if (epoch_bounded_ > 0)
      ej["verified"] = epoch_verified_ / static_cast<double>(epoch_bounded_);
    NNCERT_RETURN_IF_ERROR(log_line(ej.dump()));
    NNCERT_RETURN_IF_ERROR(population_stats());
    ++epoch_;
    batch_ = 0;
    epoch_loss_ = 0;
    epoch_correct_ = epoch_seen_ = 0;
    epoch_verified_ = 0;
    epoch_bounded_ = 0;
    if (!options_.checkpoint_path.empty())
      NNCERT_RETURN_IF_ERROR(save_checkpoint(options_.checkpoint_path));
  }
  if (options_.progress)
    std::fprintf(stderr, "\n");
  if (epoch_seen_ > 0) {
    sum.last_loss = epoch_loss_ / static_cast<double>(epoch_seen_);
    sum.train_accuracy = static_cast<double>(epoch_correct_) / static_cast<double>(epoch_seen_);
  }
  if (sum.stop_reason == "max_steps") {
    NNCERT_RETURN_IF_ERROR(population_stats());
    if (!options_.checkpoint_path.empty())
      NNCERT_RETURN_IF_ERROR(save_checkpoint(options_.checkpoint_path));
  }
  sum.steps = step_;
  sum.epochs = epoch_;
  sum.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  sum.examples_per_second = sum.seconds > 0 ? static_cast<double>(examples) / sum.seconds : 0;
  return sum;
}

// Checkpoint: one JSON document. Doubles are written shortest-round-trip (nlohmann's dtoa), so
// every float32/float64 parameter and every optimiser buffer reads back bit for bit.
Status Trainer::save_checkpoint(const std::string& path) const {
  json params = json::array();
  for (ValueId p : model_->params) {
    const Tensor& t = *model_->graph.value(p).constant;
    params.push_back({{"name", model_->graph.value(p).name},
                      {"dtype", dtype_name(t.dtype())},
                      {"shape", t.shape()},
                      {"data", t.to_double_vector()}});
  }
  const OptimizerState& st = optimizer_.state();
  std::ostringstream rng;
  rng << rng_;
  const json j{{"format", "nncert-checkpoint"},
               {"version", 1},
               {"epoch", epoch_},
               {"batch", batch_},
               {"step", step_},
               {"seed", options_.seed},
               {"epoch_stats",
                {{"loss_sum", epoch_loss_},
                 {"correct", epoch_correct_},
                 {"seen", epoch_seen_},
                 {"verified_sum", epoch_verified_},
                 {"bounded", epoch_bounded_}}},
               {"rng", rng.str()},
               {"optimizer",
                {{"kind", optimizer_kind_name(optimizer_.options().kind)},
                 {"steps", st.steps},
                 {"m", st.m},
                 {"v", st.v}}},
               {"params", params}};
  return write_file(path, j.dump());
}

Status Trainer::load_checkpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return {ErrorCode::kIoError, "cannot read checkpoint " + path};
  try {
    const json j = json::parse(f);
    if (j.value("format", "") != "nncert-checkpoint" || j.value("version", 0) != 1)
      return {ErrorCode::kParseError, path + ": not an nncert checkpoint (version 1)"};
    const json& ps = j.at("params");
    if (ps.size() != model_->params.size())
      return {ErrorCode::kParseError,
              path + ": " + std::to_string(ps.size()) + " parameters, the model has " +
                  std::to_string(model_->params.size())};
    if (j.at("optimizer").at("kind").get<std::string>() !=
        optimizer_kind_name(optimizer_.options().kind))
      return {ErrorCode::kParseError, path + ": written by another optimizer"};
    std::vector<Tensor> loaded;
    for (size_t k = 0; k < ps.size(); ++k) {
      const Value& v = model_->graph.value(model_->params[k]);
      if (ps[k].at("name").get<std::string>() != v.name ||
          ps[k].at("shape").get<Shape>() != v.constant->shape())
        return {ErrorCode::kParseError,
                path + ": parameter " + std::to_string(k) + " (" +
                    ps[k].at("name").get<std::string>() + ") does not match the model's " + v.name};
      const auto data = ps[k].at("data").get<std::vector<double>>();
      Tensor t(v.constant->dtype(), v.constant->shape());
      if (static_cast<int64_t>(data.size()) != t.numel())
        return {ErrorCode::kParseError, path + ": parameter " + v.name + " has the wrong size"};
      for (int64_t i = 0; i < t.numel(); ++i)
        t.set(i, data[static_cast<size_t>(i)]);
      loaded.push_back(t);
    }
    OptimizerState st;
    st.steps = j["optimizer"].at("steps").get<int64_t>();
    st.m = j["optimizer"].at("m").get<std::vector<std::vector<double>>>();
    st.v = j["optimizer"].at("v").get<std::vector<std::vector<double>>>();
    NNCERT_RETURN_IF_ERROR(optimizer_.set_state(std::move(st)).with_context(path));
    std::istringstream rng(j.at("rng").get<std::string>());
    rng >> rng_;
    for (size_t k = 0; k < loaded.size(); ++k)
      model_->graph.value(model_->params[k]).constant = loaded[k];
    epoch_ = j.at("epoch").get<int64_t>();
    batch_ = j.at("batch").get<int64_t>();
    step_ = j.at("step").get<int64_t>();
    epoch_loss_ = j.at("epoch_stats").at("loss_sum").get<double>();
    epoch_correct_ = j["epoch_stats"].at("correct").get<int64_t>();
    epoch_seen_ = j["epoch_stats"].at("seen").get<int64_t>();
    epoch_verified_ = j["epoch_stats"].value("verified_sum", 0.0);
    epoch_bounded_ = j["epoch_stats"].value("bounded", int64_t{0});
  } catch (const json::exception& e) {
    return {ErrorCode::kParseError, path + ": " + e.what()};
  }
  return Status::ok();
}

Expected<double> evaluate_accuracy(const Graph& g,
                                   const DataLoader& data,
                                   const RunOptions& run,
                                   int64_t limit) {
  const int64_t n = limit > 0 ? std::min(limit, data.size()) : data.size();
  NNCERT_ASSIGN_OR_RETURN(Executor exec, Executor::create(g, run));
  int64_t correct = 0;
  const int64_t bs = data.options().batch_size;
  for (int64_t b = 0; b < n; b += bs) {
    const Batch batch = data.slice(b, std::min(n, b + bs));
    NNCERT_ASSIGN_OR_RETURN(Tensor x, shape_input(g, batch.x));
    NNCERT_ASSIGN_OR_RETURN(std::vector<Tensor> out, exec.run({x}));
    NNCERT_ASSIGN_OR_RETURN(CrossEntropy ce, cross_entropy(out.at(0), batch.labels));
    correct += ce.correct;
  }
  return n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
}

}  // namespace nncert
