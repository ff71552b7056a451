// ONNX export (frontends/onnx/onnx_writer.h): every model nncert loads is written and read back
// with the same structure and bitwise the same outputs; a graph built in code exports; the
// frontend's opset rewrites are undone for old opsets; errors come back as Status.
#include <cstring>
#include <filesystem>
#include <random>

#include <catch2/catch.hpp>
#include <onnx/onnx-ml.pb.h>

#include "frontends/nnet/nnet_loader.h"
#include "frontends/onnx/onnx_loader.h"
#include "frontends/onnx/onnx_writer.h"
#include "passes/passes.h"
#include "tests/support/onnx_builder.h"
#include "tests/support/test_paths.h"

using namespace nncert;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

bool same_attr(const AttrValue& a, const AttrValue& b) {
  if (a.index() != b.index())
    return false;
  // Float attributes are float32 in ONNX.
  if (const auto* x = std::get_if<double>(&a))
    return static_cast<float>(*x) == static_cast<float>(std::get<double>(b));
  if (const auto* xs = std::get_if<std::vector<double>>(&a)) {
    const auto& ys = std::get<std::vector<double>>(b);
    if (xs->size() != ys.size())
      return false;
    for (size_t i = 0; i < xs->size(); ++i)
      if (static_cast<float>((*xs)[i]) != static_cast<float>(ys[i]))
        return false;
    return true;
  }
  if (const auto* t = std::get_if<Tensor>(&a))
    return same_bits(*t, std::get<Tensor>(b));
  if (const auto* i = std::get_if<int64_t>(&a))
    return *i == std::get<int64_t>(b);
  if (const auto* str = std::get_if<std::string>(&a))
    return *str == std::get<std::string>(b);
  if (const auto* is = std::get_if<std::vector<int64_t>>(&a))
    return *is == std::get<std::vector<int64_t>>(b);
  return std::get<std::vector<std::string>>(a) == std::get<std::vector<std::string>>(b);
}

// A value read by a node: constants compare by content (names of constants the frontend made
// may differ), others by name.
void check_same_value(const Graph& a, ValueId x, const Graph& b, ValueId y) {
  REQUIRE((x == kNoValue) == (y == kNoValue));
  if (x == kNoValue)
    return;
  const Value& va = a.value(x);
  const Value& vb = b.value(y);
  REQUIRE(va.constant.has_value() == vb.constant.has_value());
  if (va.constant) {
    CHECK(same_bits(*va.constant, *vb.constant));
  } else {
    CHECK(va.name == vb.name);
  }
}

void check_same_structure(const Graph& a, const Graph& b) {
  CHECK(a.opset == b.opset);
  REQUIRE(a.inputs().size() == b.inputs().size());
  for (size_t i = 0; i < a.inputs().size(); ++i) {
    const Value& x = a.value(a.inputs()[i]);
    const Value& y = b.value(b.inputs()[i]);
    CHECK(x.name == y.name);
    CHECK(x.dtype == y.dtype);
    CHECK(x.shape_known == y.shape_known);
    CHECK(x.shape == y.shape);
  }
  REQUIRE(a.outputs().size() == b.outputs().size());
  for (size_t i = 0; i < a.outputs().size(); ++i)
    check_same_value(a, a.outputs()[i], b, b.outputs()[i]);
  REQUIRE(a.num_nodes() == b.num_nodes());
  for (size_t k = 0; k < a.num_nodes(); ++k) {
    const Node& n = a.node(static_cast<NodeId>(k));
    const Node& m = b.node(static_cast<NodeId>(k));
    INFO("node " << n.display());
    CHECK(n.op == m.op);
    CHECK(n.name == m.name);
    REQUIRE(n.inputs.size() == m.inputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i)
      check_same_value(a, n.inputs[i], b, m.inputs[i]);
    REQUIRE(n.outputs.size() == m.outputs.size());
    for (size_t i = 0; i < n.outputs.size(); ++i)
      check_same_value(a, n.outputs[i], b, m.outputs[i]);
    REQUIRE(n.attrs.all().size() == m.attrs.all().size());
    for (const auto& [name, v] : n.attrs.all()) {
      INFO("attribute " << name);
      REQUIRE(m.attrs.has(name));
      CHECK(same_attr(v, m.attrs.all().at(name)));
    }
  }
}

// Random inputs for g (unknown extents: 2), seeded.
std::vector<Tensor> random_inputs(const Graph& g, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<Tensor> xs;
  for (ValueId id : g.inputs()) {
    Shape s = g.value(id).shape;
    for (auto& d : s)
      d = d < 0 ? 2 : d;
    Tensor t(DType::kF64, s);
    if (g.value(id).dtype != DType::kI64)
      for (int64_t i = 0; i < t.numel(); ++i)
        t.set(i, u(rng));
    xs.push_back(g.value(id).dtype == DType::kI64 ? t.to(DType::kI64) : t);
  }
  return xs;
}

// save -> load: the same graph (structure before preparation), bitwise the same outputs in
// float32 and float64 on random inputs.
void check_round_trip(const Graph& prepared, const Graph& raw) {
  auto bytes = save_onnx_bytes(raw);
  REQUIRE(bytes.has_value());
  OnnxLoadOptions no_prep;
  no_prep.prepare = false;
  auto raw2 = load_onnx_bytes(*bytes, no_prep);
  REQUIRE(raw2.has_value());
  check_same_structure(raw, raw2->graph);

  auto pbytes = save_onnx_bytes(prepared);
  REQUIRE(pbytes.has_value());
  auto back = load_onnx_bytes(*pbytes);
  REQUIRE(back.has_value());
  check_same_structure(prepared, back->graph);
  const auto xs = random_inputs(prepared, 7);
  for (DType dt : {DType::kF32, DType::kF64}) {
    auto want = test::run_graph(prepared, xs, dt);
    auto got = test::run_graph(back->graph, xs, dt);
    REQUIRE(want.size() == got.size());
    for (size_t i = 0; i < want.size(); ++i)
      CHECK(same_bits(want[i], got[i]));
  }
}

std::vector<std::string> onnx_models() {
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::directory_iterator(test::data_path("fixtures")))
    if (std::filesystem::exists(e.path() / "model.onnx"))
      paths.push_back((e.path() / "model.onnx").string());
  for (const auto& e : std::filesystem::directory_iterator(test::data_path("models")))
    if (e.path().extension() == ".onnx")
      paths.push_back(e.path().string());
  paths.push_back(std::string(NNCERT_SOURCE_DIR) + "/verifier/examples/mnist_a_adv.onnx");
  paths.push_back(std::string(NNCERT_SOURCE_DIR) + "/examples/gate/mnist_a_adv_regressed.onnx");
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

TEST_CASE("every loadable ONNX test model round-trips through save_onnx", "[onnx_writer]") {
  int loaded = 0;
  for (const auto& path : onnx_models()) {
    INFO(path);
    auto prepared = load_onnx(path);
    if (!prepared)
      continue;  // the deliberately broken models (cycle, dangling, ...)
    OnnxLoadOptions no_prep;
    no_prep.prepare = false;
    auto raw = load_onnx(path, no_prep);
    REQUIRE(raw.has_value());
    check_round_trip(prepared->graph, raw->graph);
    ++loaded;
  }
  CHECK(loaded >= 17);
}

TEST_CASE(".nnet models export to ONNX with the same outputs", "[onnx_writer]") {
  for (const char* name : {"fc_2-2-3.nnet", "ACASXU_experimental_v2a_1_1.nnet"}) {
    INFO(name);
    auto m = load_nnet(test::data_path(std::string("nnet/") + name));
    REQUIRE(m.has_value());
    const Graph& g = m->graph;
    auto bytes = save_onnx_bytes(g);
    REQUIRE(bytes.has_value());
    auto back = load_onnx_bytes(*bytes);
    REQUIRE(back.has_value());
    CHECK(back->graph.opset == (g.opset > 0 ? g.opset : 17));
    const auto xs = random_inputs(g, 3);
    for (DType dt : {DType::kF32, DType::kF64}) {
      auto want = test::run_graph(g, xs, dt);
      auto got = test::run_graph(back->graph, xs, dt);
      REQUIRE(want.size() == got.size());
      for (size_t i = 0; i < want.size(); ++i)
        CHECK(same_bits(want[i], got[i]));
    }
  }
}

namespace {

Tensor random_tensor(std::mt19937& rng, const Shape& s, double lo = -0.5, double hi = 0.5) {
  std::uniform_real_distribution<float> u(static_cast<float>(lo), static_cast<float>(hi));
  Tensor t(DType::kF32, s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = u(rng);
  return t;
}

ValueId add_node(Graph& g,
                 const std::string& op,
                 const std::vector<ValueId>& inputs,
                 const std::string& out,
                 Attributes attrs = {}) {
  const ValueId y = g.add_value(out, DType::kF32, {}, false);
  Node n;
  n.name = out + "_node";
  n.op = op;
  n.inputs = inputs;
  n.outputs = {y};
  n.attrs = std::move(attrs);
  g.add_node(std::move(n));
  return y;
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(bytes));
  return m;
}

}  // namespace

TEST_CASE("a graph built in code exports and loads back", "[onnx_writer]") {
  std::mt19937 rng(11);
  Graph g;
  const ValueId x = g.add_value("x", DType::kF32, {-1, 1, 4, 4});
  g.inputs().push_back(x);
  auto c = [&](const std::string& name, const Shape& s, double lo = -0.5, double hi = 0.5) {
    return g.add_constant(name, random_tensor(rng, s, lo, hi));
  };
  Attributes conv;
  conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  conv.set("kernel_shape", std::vector<int64_t>{3, 3});
  ValueId v = add_node(g, "Conv", {x, c("conv_w", {2, 1, 3, 3}), c("conv_b", {2})}, "conv", conv);
  Attributes bn;
  bn.set("epsilon", 0x1p-10);  // float32-exact: ONNX float attributes are float32
  v = add_node(
      g,
      "BatchNormalization",
      {v, c("bn_scale", {2}), c("bn_bias", {2}), c("bn_mean", {2}), c("bn_var", {2}, 0.5, 1.5)},
      "bn",
      bn);
  v = add_node(g, "Relu", {v}, "relu1");
  Attributes flat;
  flat.set("axis", int64_t{1});
  v = add_node(g, "Flatten", {v}, "flat", flat);
  Attributes gemm;
  gemm.set("transB", int64_t{1});
  gemm.set("alpha", 0.5);
  v = add_node(g, "Gemm", {v, c("gemm_w", {3, 32}), c("gemm_b", {3})}, "gemm", gemm);
  v = add_node(g, "MatMul", {v, c("mm_w", {3, 2})}, "mm");
  v = add_node(g, "Add", {v, c("add_b", {2})}, "add");
  v = add_node(g, "Relu", {v}, "y");
  g.outputs().push_back(v);
  REQUIRE(prepare_graph(g).has_value());

  const std::string path = test::scratch_dir() + "/built.onnx";
  REQUIRE(save_onnx(g, path).is_ok());
  auto back = load_onnx(path);
  REQUIRE(back.has_value());
  CHECK(back->graph.opset == OnnxSaveOptions::kDefaultOpset);
  CHECK(back->graph.producer_name == "nncert");
  CHECK(back->ir_version == 8);
  Graph want = g;
  want.opset = OnnxSaveOptions::kDefaultOpset;
  check_same_structure(want, back->graph);
  CHECK(back->graph.value(back->graph.inputs()[0]).shape == Shape{-1, 1, 4, 4});
  const auto m = parse(*save_onnx_bytes(g));
  CHECK(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param() == "N");
  CHECK(m.graph().initializer_size() == 10);
  const auto xs = random_inputs(g, 5);
  for (DType dt : {DType::kF32, DType::kF64}) {
    INFO(dtype_name(dt));
    auto a = test::run_graph(g, xs, dt);
    auto b = test::run_graph(back->graph, xs, dt);
    CHECK(same_bits(a[0], b[0]));
  }
}

TEST_CASE("every attribute kind and a custom domain round-trip", "[onnx_writer]") {
  Graph g;
  g.opset = 13;
  const ValueId x = g.add_value("x", DType::kF64, {2, 3});
  g.inputs().push_back(x);
  Attributes a;
  a.set("i", int64_t{-7});
  a.set("f", 0.25);
  a.set("s", std::string("text"));
  a.set("is", std::vector<int64_t>{1, -2, 3});
  a.set("fs", std::vector<double>{0.5, -1.5});
  a.set("ss", std::vector<std::string>{"a", "bc"});
  a.set("t", Tensor::from_vector<int64_t>({2}, {4, 5}));
  a.set("td", Tensor::from_vector<double>({1}, {0.1}));
  const ValueId y = add_node(g, "com.example::Custom", {x}, "y", a);
  g.outputs().push_back(y);
  auto bytes = save_onnx_bytes(g);
  REQUIRE(bytes.has_value());
  const auto m = parse(*bytes);
  REQUIRE(m.opset_import_size() == 2);
  CHECK(m.opset_import(1).domain() == "com.example");
  CHECK(m.graph().node(0).domain() == "com.example");
  CHECK(m.graph().node(0).op_type() == "Custom");
  CHECK(m.graph().input(0).type().tensor_type().elem_type() == onnx::TensorProto::DOUBLE);
  OnnxLoadOptions no_prep;
  no_prep.prepare = false;
  auto back = load_onnx_bytes(*bytes, no_prep);
  REQUIRE(back.has_value());
  check_same_structure(g, back->graph);
}

TEST_CASE("old-opset models are written in their own opset's attribute forms", "[onnx_writer]") {
  test::OnnxBuilder b(9);
  b.input("x", DType::kF32, {1, 1, 3, 4});
  b.node("Pad", {"x"}, {"p"}).attr("pads", std::vector<int64_t>{0, 0, 1, 1, 0, 0, 1, 1});
  b.attr("value", 0.5);
  b.node("Slice", {"p"}, {"s"}).attr("starts", std::vector<int64_t>{0, 1});
  b.attr("ends", std::vector<int64_t>{2, 4}).attr("axes", std::vector<int64_t>{2, 3});
  b.node("Clip", {"s"}, {"c"}).attr("min", -0.2).attr("max", 0.3);
  b.node("Squeeze", {"c"}, {"q"}).attr("axes", std::vector<int64_t>{0, 1});
  b.node("Unsqueeze", {"q"}, {"u"}).attr("axes", std::vector<int64_t>{0});
  b.node("ReduceSum", {"u"}, {"r"}).attr("axes", std::vector<int64_t>{2});
  b.node("Softmax", {"q"}, {"sm"});
  b.output("r").output("sm");
  auto model = b.load();
  REQUIRE(model.has_value());
  const Graph& g = model->graph;
  auto bytes = save_onnx_bytes(g);
  REQUIRE(bytes.has_value());
  const auto m = parse(*bytes);
  CHECK(m.opset_import(0).version() == 9);
  CHECK(m.graph().initializer_size() == 0);
  for (const auto& n : m.graph().node()) {
    INFO(n.op_type());
    CHECK(n.input_size() == 1);
    for (const auto& a : n.attribute())
      CHECK(a.name() != "legacy_2d");
  }
  const auto xs = random_inputs(g, 9);
  OnnxSaveOptions at17;
  at17.opset = 17;
  for (const auto& opts : {OnnxSaveOptions{}, at17}) {
    INFO("written at opset " << opts.opset);
    auto back = load_onnx_bytes(*save_onnx_bytes(g, opts));
    REQUIRE(back.has_value());
    auto want = test::run_graph(g, xs, DType::kF32);
    auto got = test::run_graph(back->graph, xs, DType::kF32);
    REQUIRE(want.size() == 2);
    REQUIRE(got.size() == 2);
    CHECK(same_bits(want[0], got[0]));
    CHECK(same_bits(want[1], got[1]));
  }
}

TEST_CASE("save_onnx reports what it cannot do as a Status", "[onnx_writer]") {
  Graph g;
  const ValueId x = g.add_value("x", DType::kF32, {1, 2});
  g.inputs().push_back(x);
  g.outputs().push_back(add_node(g, "Relu", {x}, "y"));
  const Status s = save_onnx(g, "/nonexistent-nncert-dir/sub/model.onnx");
  CHECK(s.code() == ErrorCode::kIoError);
  CHECK(s.message().find("/nonexistent-nncert-dir/sub/model.onnx") != std::string::npos);

  // Squeeze with computed axes cannot be written at opset 11 (axes were an attribute then).
  Graph h;
  h.opset = 11;
  const ValueId hx = h.add_value("x", DType::kF32, {1, 2});
  const ValueId axes = h.add_value("axes", DType::kI64, {1});
  h.inputs() = {hx, axes};
  h.outputs().push_back(add_node(h, "Squeeze", {hx, axes}, "y"));
  auto bytes = save_onnx_bytes(h);
  REQUIRE_FALSE(bytes.has_value());
  CHECK(bytes.status().code() == ErrorCode::kUnsupported);
  CHECK(bytes.status().message().find("y_node") != std::string::npos);
  OnnxSaveOptions at13;
  at13.opset = 13;
  CHECK(save_onnx_bytes(h, at13).has_value());

  Graph bad;
  bad.outputs().push_back(42);
  CHECK(save_onnx_bytes(bad).status().code() == ErrorCode::kInvalidGraph);
}
