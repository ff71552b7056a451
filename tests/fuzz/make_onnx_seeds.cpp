// Writes one tiny ONNX model per supported op (plus a few old-opset forms) into a directory:
// seeds for onnx_fuzz that reach every op's rules quickly, since byte-level mutation of these
// small files hits attribute values, extents and constant inputs directly.
//   make_onnx_seeds OUT_DIR
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <onnx/onnx-ml.pb.h>

namespace {

using Ints = std::vector<int64_t>;

class Model {
 public:
  explicit Model(int64_t opset) {
    m_.set_ir_version(8);
    m_.set_producer_name("nncert-fuzz-seeds");
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    g_ = m_.mutable_graph();
    g_->set_name("seed");
  }
  Model& input(const std::string& name, const Ints& shape, int elem = onnx::TensorProto::FLOAT) {
    auto* vi = g_->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    for (int64_t d : shape)
      tt->mutable_shape()->add_dim()->set_dim_value(d);
    return *this;
  }
  Model& output(const std::string& name) {
    g_->add_output()->set_name(name);
    return *this;
  }
  Model& floats(const std::string& name, const Ints& shape, float start = 0.5f) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (int64_t d : shape) {
      t->add_dims(d);
      n *= d;
    }
    for (int64_t i = 0; i < n; ++i)
      t->add_float_data(start + 0.25f * static_cast<float>(i % 7));
    return *this;
  }
  Model& ints(const std::string& name, const Ints& values, bool scalar = false) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    if (!scalar)
      t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values)
      t->add_int64_data(v);
    return *this;
  }
  Model& node(const std::string& op,
              std::initializer_list<std::string> inputs,
              std::initializer_list<std::string> outputs) {
    last_ = g_->add_node();
    last_->set_op_type(op);
    last_->set_name(op + "_" + std::to_string(g_->node_size()));
    for (const auto& i : inputs)
      last_->add_input(i);
    for (const auto& o : outputs)
      last_->add_output(o);
    return *this;
  }
  Model& attr(const std::string& name, int64_t v) {
    auto* a = add_attr(name, onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  Model& attr(const std::string& name, float v) {
    auto* a = add_attr(name, onnx::AttributeProto::FLOAT);
    a->set_f(v);
    return *this;
  }
  Model& attr(const std::string& name, const char* v) {
    auto* a = add_attr(name, onnx::AttributeProto::STRING);
    a->set_s(v);
    return *this;
  }
  Model& attr(const std::string& name, const Ints& v) {
    auto* a = add_attr(name, onnx::AttributeProto::INTS);
    for (int64_t x : v)
      a->add_ints(x);
    return *this;
  }
  Model& attr_tensor(const std::string& name, float v) {
    auto* a = add_attr(name, onnx::AttributeProto::TENSOR);
    auto* t = a->mutable_t();
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(1);
    t->add_float_data(v);
    return *this;
  }
  bool save(const std::string& path) const {
    std::ofstream f(path, std::ios::binary);
    f << m_.SerializeAsString();
    return static_cast<bool>(f);
  }

 private:
  onnx::AttributeProto* add_attr(const std::string& name, onnx::AttributeProto::AttributeType t) {
    auto* a = last_->add_attribute();
    a->set_name(name);
    a->set_type(t);
    return a;
  }
  onnx::ModelProto m_;
  onnx::GraphProto* g_ = nullptr;
  onnx::NodeProto* last_ = nullptr;
};

// x [1, 2, 4, 4] -> op -> y, the common shape of most seeds.
Model unary(const std::string& op, int64_t opset = 17) {
  Model m(opset);
  m.input("x", {1, 2, 4, 4}).output("y").node(op, {"x"}, {"y"});
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<std::pair<std::string, Model>> seeds;
  auto add = [&](const std::string& name, Model m) {
    seeds.emplace_back(name, std::move(m));
  };

  for (const char* op : {"Abs",
                         "Erf",
                         "Exp",
                         "Log",
                         "Neg",
                         "Reciprocal",
                         "Relu",
                         "Sigmoid",
                         "Sign",
                         "Sqrt",
                         "Tanh",
                         "Softplus",
                         "Identity",
                         "GlobalAveragePool"})
    add(op, unary(op));
  add("LeakyRelu", unary("LeakyRelu").attr("alpha", 0.1f));
  add("Dropout", unary("Dropout"));
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"}) {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).floats("c", {2, 1, 4}).output("y").node(op, {"x", "c"}, {"y"});
    add(op, std::move(m));
  }
  add("Cast", unary("Cast").attr("to", int64_t{11}));
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).floats("lo", {}, -0.5f).floats("hi", {}, 0.5f).output("y");
    m.node("Clip", {"x", "lo", "hi"}, {"y"});
    add("Clip", std::move(m));
  }
  add("Clip_opset9", unary("Clip", 9).attr("min", -1.0f).attr("max", 1.0f));
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).floats("c", {1, 3, 4, 4}).output("y");
    m.node("Concat", {"x", "c"}, {"y"}).attr("axis", int64_t{1});
    add("Concat", std::move(m));
  }
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).output("y");
    m.node("Constant", {}, {"c"}).attr_tensor("value", 2.0f);
    m.node("Add", {"x", "c"}, {"y"});
    add("Constant", std::move(m));
  }
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).ints("s", {2, 4, 4}).output("y");
    m.node("ConstantOfShape", {"s"}, {"c"}).attr_tensor("value", 1.5f);
    m.node("Add", {"x", "c"}, {"y"});
    add("ConstantOfShape", std::move(m));
  }
  {
    Model m(17);
    m.input("x", {1, 2, 5, 5}).floats("w", {4, 1, 3, 3}).floats("b", {4}).output("y");
    m.node("Conv", {"x", "w", "b"}, {"y"})
        .attr("group", int64_t{2})
        .attr("kernel_shape", Ints{3, 3})
        .attr("pads", Ints{1, 1, 1, 1})
        .attr("strides", Ints{2, 2})
        .attr("dilations", Ints{1, 1});
    add("Conv", std::move(m));
  }
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).floats("w", {2, 3, 3, 3}).floats("b", {3}).output("y");
    m.node("ConvTranspose", {"x", "w", "b"}, {"y"})
        .attr("strides", Ints{2, 2})
        .attr("pads", Ints{1, 1, 1, 1})
        .attr("output_padding", Ints{1, 1});
    add("ConvTranspose", std::move(m));
  }
  add("AveragePool",
      unary("AveragePool")
          .attr("kernel_shape", Ints{3, 3})
          .attr("strides", Ints{2, 2})
          .attr("pads", Ints{1, 1, 1, 1})
          .attr("count_include_pad", int64_t{0})
          .attr("ceil_mode", int64_t{1}));
  add("MaxPool",
      unary("MaxPool")
          .attr("kernel_shape", Ints{2, 2})
          .attr("strides", Ints{2, 2})
          .attr("auto_pad", "SAME_UPPER")
          .attr("dilations", Ints{1, 1}));
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).floats("s", {2}).floats("b", {2}).floats("mean", {2});
    m.floats("var", {2}, 1.0f).output("y");
    m.node("BatchNormalization", {"x", "s", "b", "mean", "var"}, {"y"}).attr("epsilon", 1e-5f);
    add("BatchNormalization", std::move(m));
  }
  add("Flatten", unary("Flatten").attr("axis", int64_t{2}));
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).ints("i", {3, 0, 1}).output("y");
    m.node("Gather", {"x", "i"}, {"y"}).attr("axis", int64_t{2});
    add("Gather", std::move(m));
  }
  {
    Model m(17);
    m.input("x", {2, 3}).floats("w", {4, 3}).floats("b", {4}).output("y");
    m.node("Gemm", {"x", "w", "b"}, {"y"})
        .attr("transB", int64_t{1})
        .attr("alpha", 0.5f)
        .attr("beta", 2.0f);
    add("Gemm", std::move(m));
  }
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).floats("w", {4, 3}).output("y");
    m.node("MatMul", {"x", "w"}, {"y"});
    add("MatMul", std::move(m));
  }
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).floats("s", {4, 4}).floats("b", {4, 4}).output("y");
    m.node("LayerNormalization", {"x", "s", "b"}, {"y"})
        .attr("axis", int64_t{-2})
        .attr("epsilon", 1e-5f);
    add("LayerNormalization", std::move(m));
  }
  for (const char* mode : {"constant", "reflect", "edge", "wrap"}) {
    Model m(18);
    m.input("x", {1, 2, 4, 4}).ints("p", {1, 2, -1, 0}).floats("v", {}, 3.0f).ints("a", {2, 3});
    m.output("y").node("Pad", {"x", "p", "v", "a"}, {"y"}).attr("mode", mode);
    add(std::string("Pad_") + mode, std::move(m));
  }
  add("Pad_opset9", unary("Pad", 9).attr("pads", Ints{0, 0, 1, 1, 0, 0, 1, 1}));
  for (const char* op : {"ReduceMean", "ReduceSum"}) {
    Model m(18);
    m.input("x", {1, 2, 4, 4}).ints("a", {1, -1}).output("y");
    m.node(op, {"x", "a"}, {"y"}).attr("keepdims", int64_t{0});
    add(op, std::move(m));
    add(std::string(op) + "_opset11",
        unary(op, 11).attr("axes", Ints{2}).attr("keepdims", int64_t{1}));
  }
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).ints("s", {0, -1, 2}).output("y");
    m.node("Reshape", {"x", "s"}, {"y"});
    add("Reshape", std::move(m));
  }
  {
    // Shape -> Gather -> Unsqueeze -> Concat -> Reshape: the chain exporters write for Flatten.
    Model m(13);
    m.input("x", {1, 2, 4, 4}).ints("i0", {0}, true).ints("m1", {-1}).ints("ax", {0}).output("y");
    m.node("Shape", {"x"}, {"s"});
    m.node("Gather", {"s", "i0"}, {"n"}).attr("axis", int64_t{0});
    m.node("Unsqueeze", {"n", "ax"}, {"n1"});
    m.node("Concat", {"n1", "m1"}, {"shape"}).attr("axis", int64_t{0});
    m.node("Reshape", {"x", "shape"}, {"y"});
    add("Shape_chain", std::move(m));
  }
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).ints("s", {1, -1}).ints("e", {100, -5}).ints("a", {2, 3});
    m.ints("st", {1, -2}).output("y").node("Slice", {"x", "s", "e", "a", "st"}, {"y"});
    add("Slice", std::move(m));
  }
  add("Slice_opset9",
      unary("Slice", 9).attr("starts", Ints{1}).attr("ends", Ints{3}).attr("axes", Ints{2}));
  add("Softmax", unary("Softmax").attr("axis", int64_t{-1}));
  add("Softmax_opset11", unary("Softmax", 11).attr("axis", int64_t{1}));
  {
    Model m(17);
    m.input("x", {1, 2, 4, 4}).ints("s", {1, 3}).output("y0").output("y1");
    m.node("Split", {"x", "s"}, {"y0", "y1"}).attr("axis", int64_t{2});
    add("Split", std::move(m));
  }
  add("Split_opset18", [] {
    Model m(18);
    m.input("x", {1, 2, 5, 4}).output("y0").output("y1");
    m.node("Split", {"x"}, {"y0", "y1"}).attr("axis", int64_t{2}).attr("num_outputs", int64_t{2});
    return m;
  }());
  {
    Model m(17);
    m.input("x", {1, 2, 1, 4}).ints("a", {0, 2}).ints("u", {1}).output("y");
    m.node("Squeeze", {"x", "a"}, {"t"});
    m.node("Unsqueeze", {"t", "u"}, {"y"});
    add("Squeeze_Unsqueeze", std::move(m));
  }
  add("Squeeze_opset11", [] {
    Model m(11);
    m.input("x", {1, 2, 1, 4}).output("y");
    m.node("Squeeze", {"x"}, {"y"}).attr("axes", Ints{2});
    return m;
  }());
  add("Transpose", unary("Transpose").attr("perm", Ints{0, 3, 1, 2}));
  {
    Model m(17);
    m.input("x", {1, 4}).floats("w", {4, 4}).floats("b", {4}).output("y");
    m.node("Gemm", {"x", "w", "b"}, {"h"}).attr("transB", int64_t{1});
    m.node("Relu", {"h"}, {"y"});
    add("Gemm_Relu", std::move(m));
  }

  int failed = 0;
  for (const auto& [name, model] : seeds) {
    if (!model.save(dir + "/seed-" + name + ".onnx")) {
      std::fprintf(stderr, "cannot write %s/seed-%s.onnx\n", dir.c_str(), name.c_str());
      ++failed;
    }
  }
  std::printf(
      "%zu seed model(s) written to %s\n", seeds.size() - static_cast<size_t>(failed), dir.c_str());
  return failed ? 1 : 0;
}
