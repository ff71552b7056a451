#include "train/train_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "frontends/onnx/onnx_writer.h"

namespace nncert {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

Status bad(const std::string& msg) {
  return {ErrorCode::kInvalidArgument, "train config: " + msg};
}

// YAML scalars become numbers or booleans when they read as such, strings otherwise.
json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    json j = json::object();
    for (const auto& kv : n)
      j[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    json j = json::array();
    for (const auto& e : n)
      j.push_back(yaml_to_json(e));
    return j;
  }
  if (n.IsNull())
    return nullptr;
  const std::string s = n.Scalar();
  if (n.Tag() != "!") {  // unquoted
    int64_t i;
    double d;
    bool b;
    if (YAML::convert<int64_t>::decode(n, i))
      return i;
    if (YAML::convert<double>::decode(n, d))
      return d;
    if (YAML::convert<bool>::decode(n, b))
      return b;
  }
  return s;
}

Status check_keys(const json& j, const std::string& where, const std::set<std::string>& known) {
  if (!j.is_object())
    return bad("'" + where + "' must be an object");
  for (const auto& [k, v] : j.items())
    if (!known.count(k))
      return bad("unknown key '" + (where.empty() ? k : where + "." + k) + "'");
  return Status::ok();
}

std::string resolve(const std::string& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute() || base.empty())
    return p;
  return (fs::path(base) / p).string();
}

Status parse_data(const json& d, const std::string& base, TrainConfig& c) {
  NNCERT_RETURN_IF_ERROR(check_keys(d,
                                    "data",
                                    {"dataset",
                                     "dir",
                                     "split",
                                     "path",
                                     "labels",
                                     "range",
                                     "scale",
                                     "normalize",
                                     "shuffle",
                                     "drop_last"}));
  c.dataset = d.value("dataset", "");
  c.dataset_dir = resolve(base, d.value("dir", ""));
  c.split = d.value("split", "train");
  c.source.path = resolve(base, d.value("path", ""));
  c.source.labels_path = resolve(base, d.value("labels", ""));
  if (c.dataset.empty() && c.source.path.empty())
    return bad("data needs 'dataset' (mnist, fashion-mnist) or 'path'");
  NNCERT_ASSIGN_OR_RETURN(c.source.range, parse_sample_range(d.value("range", "")));
  if (d.contains("scale"))
    c.source.scale = d["scale"].get<double>();
  if (d.contains("normalize")) {
    const json& nz = d["normalize"];
    NNCERT_RETURN_IF_ERROR(check_keys(nz, "data.normalize", {"mean", "std"}));
    auto vec = [](const json& v) {
      return v.is_array() ? v.get<std::vector<double>>() : std::vector<double>{v.get<double>()};
    };
    c.data.normalization.mean = vec(nz.at("mean"));
    c.data.normalization.std = vec(nz.at("std"));
  }
  c.data.shuffle = d.value("shuffle", true);
  c.data.drop_last = d.value("drop_last", false);
  return Status::ok();
}

Status parse_optimizer(const json& o, TrainOptions& t) {
  NNCERT_RETURN_IF_ERROR(check_keys(o,
                                    "optimizer",
                                    {"type",
                                     "lr",
                                     "momentum",
                                     "nesterov",
                                     "beta1",
                                     "beta2",
                                     "epsilon",
                                     "weight_decay",
                                     "decoupled_weight_decay",
                                     "clip_grad_norm"}));
  OptimizerOptions& p = t.optimizer;
  NNCERT_ASSIGN_OR_RETURN(p.kind, parse_optimizer_kind(o.value("type", "adam")));
  p.lr = o.value("lr", p.lr);
  p.momentum = o.value("momentum", p.momentum);
  p.nesterov = o.value("nesterov", p.nesterov);
  p.beta1 = o.value("beta1", p.beta1);
  p.beta2 = o.value("beta2", p.beta2);
  p.epsilon = o.value("epsilon", p.epsilon);
  p.weight_decay = o.value("weight_decay", p.weight_decay);
  p.decoupled_weight_decay = o.value("decoupled_weight_decay", p.decoupled_weight_decay);
  p.clip_grad_norm = o.value("clip_grad_norm", p.clip_grad_norm);
  return p.validate();
}

Status parse_schedule(const json& s, TrainOptions& t) {
  NNCERT_RETURN_IF_ERROR(
      check_keys(s, "schedule", {"type", "warmup_steps", "milestones", "gamma", "min_lr"}));
  ScheduleOptions& p = t.schedule;
  NNCERT_ASSIGN_OR_RETURN(p.kind, parse_schedule_kind(s.value("type", "constant")));
  p.warmup_steps = s.value("warmup_steps", p.warmup_steps);
  if (s.contains("milestones"))
    p.milestones = s["milestones"].get<std::vector<double>>();
  p.gamma = s.value("gamma", p.gamma);
  p.min_lr = s.value("min_lr", p.min_lr);
  return p.validate();
}

}  // namespace

Expected<TrainConfig> parse_train_config(const std::string& text, const std::string& base) {
  TrainConfig c;
  try {
    const json j = json::parse(text);
    NNCERT_RETURN_IF_ERROR(check_keys(j,
                                      "",
                                      {"model",
                                       "data",
                                       "optimizer",
                                       "schedule",
                                       "loss",
                                       "epochs",
                                       "batch",
                                       "seed",
                                       "threads",
                                       "out",
                                       "max_steps",
                                       "log_every",
                                       "dtype",
                                       "resume"}));
    if (!j.contains("model") || !j.contains("data"))
      return bad("'model' and 'data' are required");
    json model = j["model"];
    if (model.contains("onnx"))
      model["onnx"] = resolve(base, model["onnx"].get<std::string>());
    c.model_json = model.dump();
    NNCERT_RETURN_IF_ERROR(parse_data(j["data"], base, c));
    if (j.contains("optimizer"))
      NNCERT_RETURN_IF_ERROR(parse_optimizer(j["optimizer"], c.train));
    if (j.contains("schedule"))
      NNCERT_RETURN_IF_ERROR(parse_schedule(j["schedule"], c.train));
    if (j.contains("loss")) {
      const json& l = j["loss"];
      if (!l.is_object() || !l.contains("type"))
        return bad("'loss' must be an object with a 'type' (natural, ibp, crown-ibp)");
      NNCERT_ASSIGN_OR_RETURN(c.loss, parse_loss_type(l["type"].get<std::string>()));
      c.loss_json = l.dump();
    }
    c.train.epochs = j.value("epochs", int64_t{1});
    c.data.batch_size = j.value("batch", int64_t{64});
    c.train.seed = j.value("seed", uint64_t{0});
    c.init.seed = c.train.seed;
    c.data.seed = c.train.seed;
    c.train.run.threads = j.value("threads", 0);
    c.train.max_steps = j.value("max_steps", int64_t{0});
    c.train.log_every = j.value("log_every", int64_t{10});
    const std::string dtype = j.value("dtype", "float32");
    if (dtype != "float32" && dtype != "float64")
      return bad("dtype must be float32 or float64");
    c.train.run.dtype = dtype == "float64" ? DType::kF64 : DType::kF32;
    c.data.dtype = c.train.run.dtype;
    c.out_dir = resolve(base, j.value("out", "train-out"));
    c.resume = j.value("resume", false);
    if (j.contains("batchnorm")) {
      const json& bn = j["batchnorm"];
      NNCERT_RETURN_IF_ERROR(check_keys(bn, "batchnorm", {"mode", "samples"}));
      const std::string mode = bn.value("mode", "batch");
      if (mode != "batch" && mode != "fixed")
        return bad("batchnorm.mode must be batch or fixed");
      c.train.batch_statistics = mode == "batch";
      c.train.bn_samples = bn.value("samples", c.train.bn_samples);
      if (c.train.bn_samples < 1)
        return bad("batchnorm.samples must be >= 1");
    }
  } catch (const json::exception& e) {
    return Status(ErrorCode::kParseError, std::string("train config: ") + e.what());
  }
  NNCERT_RETURN_IF_ERROR(c.train.validate());
  NNCERT_RETURN_IF_ERROR(c.data.validate());
  return c;
}

Expected<TrainConfig> load_train_config(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Status(ErrorCode::kIoError, "cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".yaml" || ext == ".yml") {
    try {
      text = yaml_to_json(YAML::Load(text)).dump();
    } catch (const YAML::Exception& e) {
      return Status(ErrorCode::kParseError, path + ": " + e.what());
    }
  }
  const std::string base = fs::path(path).parent_path().string();
  Expected<TrainConfig> c = parse_train_config(text, base);
  if (!c)
    return c.status().with_context(path);
  return c;
}

Expected<TrainRunResult> run_training(const TrainConfig& config) {
  TrainConfig c = config;
  DatasetSource src = c.source;
  if (!c.dataset.empty()) {
    NNCERT_ASSIGN_OR_RETURN(src, named_dataset(c.dataset, c.split, c.dataset_dir));
    src.range = c.source.range;
    src.scale = c.source.scale;
  }
  NNCERT_ASSIGN_OR_RETURN(Dataset ds, load_dataset(src));
  // IDX images load as [28, 28]; a conv model wants [1, 28, 28]: the trainer reshapes batches to
  // the model input, so only the element count has to match.
  NNCERT_ASSIGN_OR_RETURN(DataLoader loader, DataLoader::create(std::move(ds), c.data));
  InitOptions init = c.init;
  init.dtype = c.train.run.dtype;
  NNCERT_ASSIGN_OR_RETURN(Model model, build_model_from_json(c.model_json, init));
  if (c.loss != LossType::kNatural) {
    // The certified losses take ε and the clip range in raw input units; they need the data
    // normalisation to map them into what the model sees (one mean / std for all features).
    json l = json::parse(c.loss_json);
    const Normalization& nz = c.data.normalization;
    auto uniform = [](const std::vector<double>& v) {
      return std::all_of(v.begin(), v.end(), [&](double a) { return a == v.front(); });
    };
    if (!nz.mean.empty() && !nz.std.empty() && !l.contains("input_mean") &&
        !l.contains("input_std")) {
      if (!uniform(nz.mean) || !uniform(nz.std))
        return Status(ErrorCode::kUnsupported,
                      "loss: the certified losses need one normalize mean/std for all channels");
      l["input_mean"] = nz.mean.front();
      l["input_std"] = nz.std.front();
    }
    c.loss_json = l.dump();
  }
  NNCERT_ASSIGN_OR_RETURN(std::unique_ptr<Loss> loss, make_loss(c.loss, c.loss_json));
  std::error_code ec;
  fs::create_directories(c.out_dir, ec);
  if (ec)
    return Status(ErrorCode::kIoError, "cannot create " + c.out_dir + ": " + ec.message());
  TrainRunResult r;
  r.model_path = (fs::path(c.out_dir) / "model.onnx").string();
  r.log_path = (fs::path(c.out_dir) / "train.jsonl").string();
  r.checkpoint_path = (fs::path(c.out_dir) / "checkpoint").string();
  c.train.log_path = r.log_path;
  c.train.checkpoint_path = r.checkpoint_path;
  Trainer trainer(model, *loss, loader, c.train);
  if (c.resume && fs::exists(r.checkpoint_path, ec)) {
    NNCERT_RETURN_IF_ERROR(trainer.load_checkpoint(r.checkpoint_path));
    r.resumed_at = trainer.step();
  } else {
    fs::remove(r.log_path, ec);
  }
  NNCERT_ASSIGN_OR_RETURN(r.summary, trainer.train());
  NNCERT_ASSIGN_OR_RETURN(r.final_accuracy,
                          evaluate_accuracy(model.graph, loader, c.train.run, 10000));
  NNCERT_RETURN_IF_ERROR(save_onnx(model.graph, r.model_path));
  return r;
}

}  // namespace nncert
