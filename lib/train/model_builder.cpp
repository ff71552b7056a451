#include "train/model_builder.h"

#include <cmath>
#include <numbers>
#include <random>

#include <nlohmann/json.hpp>

#include "frontends/onnx/onnx_loader.h"
#include "passes/passes.h"

namespace nncert {
namespace {

Status bad(const std::string& msg) {
  return {ErrorCode::kInvalidArgument, "model: " + msg};
}

// Builds the graph layer by layer, tracking the per-sample shape.
class GraphWriter {
 public:
  GraphWriter(const Shape& sample, const InitOptions& opt) : opt_(opt), rng_(opt.seed) {
    Shape in{opt.batch};
    in.insert(in.end(), sample.begin(), sample.end());
    cur_ = g_.add_value("input", opt.dtype, in);
    g_.inputs().push_back(cur_);
    shape_ = sample;
  }

  const Shape& shape() const { return shape_; }
  Graph take(ValueId out) {
    g_.outputs().push_back(out);
    return std::move(g_);
  }
  ValueId cur() const { return cur_; }
  void set_cur(ValueId v, Shape s) {
    cur_ = v;
    shape_ = std::move(s);
  }

  // W ~ N(0, std^2) with std from the scheme; `last` keeps Kaiming (see model_builder.h).
  ValueId weight(const std::string& name, Shape shape, int64_t fan_in, bool last) {
    double std = std::sqrt(2.0 / static_cast<double>(fan_in));
    if (opt_.init == InitScheme::kIbp && !last) {
      std = std::sqrt(2.0 * std::numbers::pi) / static_cast<double>(fan_in);
      if (after_residual_)
        std /= 2;
    }
    after_residual_ = false;
    Tensor t(opt_.dtype, std::move(shape));
    std::normal_distribution<double> normal(0.0, std);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.set(i, normal(rng_));
    return g_.add_constant(name, t);
  }
  ValueId filled(const std::string& name, int64_t n, double v) {
    Tensor t(opt_.dtype, {n});
    for (int64_t i = 0; i < n; ++i)
      t.set(i, v);
    return g_.add_constant(name, t);
  }
  ValueId node(const std::string& op,
               const std::string& name,
               std::vector<ValueId> inputs,
               Attributes attrs = {}) {
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = std::move(inputs);
    n.attrs = std::move(attrs);
    const ValueId out = g_.add_value(name + ".out", opt_.dtype, {}, false);
    n.outputs = {out};
    g_.add_node(std::move(n));
    return out;
  }
  std::string fresh(const std::string& prefix) { return prefix + std::to_string(++count_); }
  void mark_residual() { after_residual_ = true; }

 private:
  InitOptions opt_;
  std::mt19937_64 rng_;
  Graph g_;
  ValueId cur_ = kNoValue;
  Shape shape_;
  int count_ = 0;
  bool after_residual_ = false;
};

Status add_conv(GraphWriter& w, int64_t out, int64_t k, int64_t s, int64_t p, bool last) {
  const Shape& sh = w.shape();
  if (sh.size() != 3)
    return bad("conv needs a [C, H, W] input, got " + shape_to_string(sh));
  const int64_t oh = (sh[1] + 2 * p - k) / s + 1, ow = (sh[2] + 2 * p - k) / s + 1;
  if (k < 1 || s < 1 || p < 0 || out < 1 || oh < 1 || ow < 1)
    return bad("conv with out " + std::to_string(out) + ", kernel " + std::to_string(k) +
               ", stride " + std::to_string(s) + ", pad " + std::to_string(p) + " on " +
               shape_to_string(sh));
  const std::string name = w.fresh("conv");
  const ValueId wt = w.weight(name + ".weight", {out, sh[0], k, k}, sh[0] * k * k, last);
  const ValueId b = w.filled(name + ".bias", out, 0.0);
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{k, k});
  a.set("strides", std::vector<int64_t>{s, s});
  a.set("pads", std::vector<int64_t>{p, p, p, p});
  w.set_cur(w.node("Conv", name, {w.cur(), wt, b}, a), {out, oh, ow});
  return Status::ok();
}

Status add_batch_norm(GraphWriter& w, double eps) {
  const Shape& sh = w.shape();
  if (sh.empty())
    return bad("batchnorm needs a channel axis");
  const int64_t c = sh[0];
  const std::string name = w.fresh("bn");
  const ValueId scale = w.filled(name + ".weight", c, 1.0);
  const ValueId shift = w.filled(name + ".bias", c, 0.0);
  const ValueId mean = w.filled(name + ".running_mean", c, 0.0);
  const ValueId var = w.filled(name + ".running_var", c, 1.0);
  Attributes a;
  a.set("epsilon", eps);
  w.set_cur(w.node("BatchNormalization", name, {w.cur(), scale, shift, mean, var}, a), sh);
  return Status::ok();
}

void add_relu(GraphWriter& w) {
  w.set_cur(w.node("Relu", w.fresh("relu"), {w.cur()}), w.shape());
}

void add_flatten(GraphWriter& w) {
  if (w.shape().size() <= 1)
    return;
  Attributes a;
  a.set("axis", int64_t{1});
  w.set_cur(w.node("Flatten", w.fresh("flatten"), {w.cur()}, a), {shape_numel(w.shape())});
}

}  // namespace

const char* init_scheme_name(InitScheme scheme) {
  return scheme == InitScheme::kIbp ? "ibp" : "kaiming";
}

Expected<InitScheme> parse_init_scheme(const std::string& name) {
  if (name == "kaiming")
    return InitScheme::kKaiming;
  if (name == "ibp")
    return InitScheme::kIbp;
  return bad("unknown init '" + name + "' (kaiming, ibp)");
}

int64_t Model::num_parameters() const {
  int64_t n = 0;
  for (ValueId p : params)
    n += graph.value(p).constant->numel();
  return n;
}

ModelBuilder::ModelBuilder(Shape sample_shape) : sample_shape_(std::move(sample_shape)) {}

ModelBuilder& ModelBuilder::linear(int64_t out, bool bias) {
  layers_.push_back({.type = "linear", .out = out, .bias = bias});
  return *this;
}
ModelBuilder& ModelBuilder::conv(int64_t out_channels,
                                 int64_t kernel,
                                 int64_t stride,
                                 int64_t pad) {
  layers_.push_back(
      {.type = "conv", .out = out_channels, .kernel = kernel, .stride = stride, .pad = pad});
  return *this;
}
ModelBuilder& ModelBuilder::batch_norm(double epsilon) {
  layers_.push_back({.type = "batchnorm", .epsilon = epsilon});
  return *this;
}
ModelBuilder& ModelBuilder::relu() {
  layers_.push_back({.type = "relu"});
  return *this;
}
ModelBuilder& ModelBuilder::flatten() {
  layers_.push_back({.type = "flatten"});
  return *this;
}
ModelBuilder& ModelBuilder::residual_block() {
  layers_.push_back({.type = "residual"});
  return *this;
}

Expected<Model> ModelBuilder::build(const InitOptions& options) const {
  if (sample_shape_.empty() || !shape_is_static(sample_shape_) || shape_numel(sample_shape_) < 1)
    return bad("the input shape must be static and non-empty, got " +
               shape_to_string(sample_shape_));
  if (layers_.empty())
    return bad("no layers");
  GraphWriter w(sample_shape_, options);
  size_t last_weight = 0;
  for (size_t i = 0; i < layers_.size(); ++i)
    if (layers_[i].type == "linear" || layers_[i].type == "conv" || layers_[i].type == "residual")
      last_weight = i;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    const bool last = i == last_weight;
    if (l.type == "linear") {
      add_flatten(w);
      if (l.out < 1)
        return bad("linear needs out >= 1");
      const int64_t in = w.shape()[0];
      const std::string name = w.fresh("fc");
      const ValueId wt = w.weight(name + ".weight", {l.out, in}, in, last);
      std::vector<ValueId> ins{w.cur(), wt};
      if (l.bias)
        ins.push_back(w.filled(name + ".bias", l.out, 0.0));
      Attributes a;
      a.set("transB", int64_t{1});
      w.set_cur(w.node("Gemm", name, ins, a), {l.out});
    } else if (l.type == "conv") {
      NNCERT_RETURN_IF_ERROR(add_conv(w, l.out, l.kernel, l.stride, l.pad, last));
    } else if (l.type == "batchnorm") {
      NNCERT_RETURN_IF_ERROR(add_batch_norm(w, l.epsilon));
    } else if (l.type == "relu") {
      add_relu(w);
    } else if (l.type == "flatten") {
      add_flatten(w);
    } else if (l.type == "residual") {
      if (w.shape().size() != 3)
        return bad("residual block needs a [C, H, W] input, got " + shape_to_string(w.shape()));
      const ValueId skip = w.cur();
      const int64_t c = w.shape()[0];
      NNCERT_RETURN_IF_ERROR(add_conv(w, c, 3, 1, 1, false));
      NNCERT_RETURN_IF_ERROR(add_batch_norm(w, 1e-5));
      add_relu(w);
      NNCERT_RETURN_IF_ERROR(add_conv(w, c, 3, 1, 1, false));
      NNCERT_RETURN_IF_ERROR(add_batch_norm(w, 1e-5));
      w.set_cur(w.node("Add", w.fresh("add"), {w.cur(), skip}), w.shape());
      add_relu(w);
      w.mark_residual();
    } else {
      return bad("unknown layer type '" + l.type + "'");
    }
  }
  Model m;
  m.graph = w.take(w.cur());
  m.graph.name = "nncert_train";
  m.graph.opset = 17;
  PrepareOptions po;
  po.fold_constants = false;
  NNCERT_ASSIGN_OR_RETURN(PrepareReport report, prepare_graph(m.graph, po));
  (void)report;
  m.params = find_parameters(m.graph);
  return m;
}

Expected<Model> build_model_from_json(const std::string& json_text, InitOptions options) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const std::exception& e) {
    return Status(ErrorCode::kParseError, std::string("model description: ") + e.what());
  }
  try {
    if (j.contains("onnx"))
      return load_model_onnx(j.at("onnx").get<std::string>());
    ModelBuilder b(j.at("input").get<Shape>());
    if (j.contains("init")) {
      NNCERT_ASSIGN_OR_RETURN(options.init, parse_init_scheme(j["init"].get<std::string>()));
    }
    if (j.contains("seed"))
      options.seed = j["seed"].get<uint64_t>();
    for (const auto& l : j.at("layers")) {
      const auto type = l.at("type").get<std::string>();
      if (type == "linear")
        b.linear(l.at("out").get<int64_t>(), l.value("bias", true));
      else if (type == "conv")
        b.conv(l.at("out").get<int64_t>(),
               l.at("kernel").get<int64_t>(),
               l.value("stride", 1),
               l.value("pad", 0));
      else if (type == "batchnorm")
        b.batch_norm(l.value("epsilon", 1e-5));
      else if (type == "relu")
        b.relu();
      else if (type == "flatten")
        b.flatten();
      else if (type == "residual")
        b.residual_block();
      else
        return bad("unknown layer type '" + type +
                   "' (linear, conv, batchnorm, relu, flatten, residual)");
    }
    return b.build(options);
  } catch (const nlohmann::json::exception& e) {
    return Status(ErrorCode::kParseError, std::string("model description: ") + e.what());
  }
}

Expected<Model> load_model_onnx(const std::string& path) {
  NNCERT_ASSIGN_OR_RETURN(OnnxModel onnx, load_onnx(path));
  if (onnx.graph.inputs().size() != 1 || onnx.graph.outputs().size() != 1)
    return bad(path + ": training needs one input and one output");
  Model m;
  m.graph = std::move(onnx.graph);
  m.params = find_parameters(m.graph);
  if (m.params.empty())
    return bad(path + ": no trainable parameters found");
  return m;
}

std::vector<ValueId> find_parameters(const Graph& g) {
  std::vector<ValueId> out;
  std::vector<bool> seen(g.num_values(), false);
  auto take = [&](ValueId v) {
    if (v >= 0 && g.is_constant(v) && is_float(g.value(v).dtype) && !seen[static_cast<size_t>(v)]) {
      seen[static_cast<size_t>(v)] = true;
      out.push_back(v);
    }
  };
  auto linear_op = [](const std::string& op) {
    return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
  };
  for (const Node& n : g.nodes()) {
    if (linear_op(n.op)) {
      for (ValueId v : n.inputs)
        take(v);
    } else if (n.op == "BatchNormalization") {
      for (size_t i = 1; i < 3 && i < n.inputs.size(); ++i)
        take(n.inputs[i]);
    } else if (n.op == "Add" && n.inputs.size() == 2) {
      for (size_t i = 0; i < 2; ++i) {
        const ValueId other = n.inputs[1 - i];
        const NodeId p = other >= 0 ? g.value(other).producer : kNoNode;
        if (p != kNoNode && linear_op(g.node(p).op))
          take(n.inputs[i]);
      }
    }
  }
  return out;
}

}  // namespace nncert
