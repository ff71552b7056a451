#include "tests/support/onnx_builder.h"

#include <fstream>
#include <stdexcept>

#include <onnx/onnx-ml.pb.h>

#include "frontends/onnx/onnx_tensor.h"  // the exporter's tensor and ValueInfo writers
#include "runtime/executor.h"

namespace nncert::test {

struct OnnxBuilder::Impl {
  onnx::ModelProto model;
  onnx::NodeProto* last = nullptr;
};

OnnxBuilder::OnnxBuilder(int64_t opset) : impl_(std::make_unique<Impl>()) {
  impl_->model.set_ir_version(8);
  impl_->model.set_producer_name("nncert-tests");
  auto* o = impl_->model.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  impl_->model.mutable_graph()->set_name("test");
}

OnnxBuilder::~OnnxBuilder() = default;

OnnxBuilder& OnnxBuilder::input(const std::string& name, DType dtype, const Shape& shape) {
  value_info_to_proto(name, dtype, &shape, impl_->model.mutable_graph()->add_input());
  return *this;
}

OnnxBuilder& OnnxBuilder::output(const std::string& name) {
  impl_->model.mutable_graph()->add_output()->set_name(name);
  return *this;
}

OnnxBuilder& OnnxBuilder::initializer(const std::string& name, const Tensor& t, bool also_input) {
  auto* p = impl_->model.mutable_graph()->add_initializer();
  p->set_name(name);
  tensor_to_proto(t, p);
  if (also_input)
    input(name, t.dtype(), t.shape());
  return *this;
}

OnnxBuilder& OnnxBuilder::node(const std::string& op,
                               const std::vector<std::string>& inputs,
                               const std::vector<std::string>& outputs,
                               const std::string& name,
                               const std::string& domain) {
  auto* n = impl_->model.mutable_graph()->add_node();
  n->set_op_type(op);
  if (!name.empty())
    n->set_name(name);
  if (!domain.empty())
    n->set_domain(domain);
  for (const auto& i : inputs)
    n->add_input(i);
  for (const auto& o : outputs)
    n->add_output(o);
  impl_->last = n;
  return *this;
}

OnnxBuilder& OnnxBuilder::attr(const std::string& name, int64_t v) {
  auto* a = impl_->last->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
  return *this;
}

OnnxBuilder& OnnxBuilder::attr(const std::string& name, double v) {
  auto* a = impl_->last->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(static_cast<float>(v));
  return *this;
}

OnnxBuilder& OnnxBuilder::attr(const std::string& name, const std::string& v) {
  auto* a = impl_->last->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
  return *this;
}

OnnxBuilder& OnnxBuilder::attr(const std::string& name, const std::vector<int64_t>& v) {
  auto* a = impl_->last->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v)
    a->add_ints(x);
  return *this;
}

OnnxBuilder& OnnxBuilder::attr(const std::string& name, const std::vector<double>& v) {
  auto* a = impl_->last->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOATS);
  for (double x : v)
    a->add_floats(static_cast<float>(x));
  return *this;
}

OnnxBuilder& OnnxBuilder::attr(const std::string& name, const Tensor& t) {
  auto* a = impl_->last->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::TENSOR);
  tensor_to_proto(t, a->mutable_t());
  return *this;
}

std::string OnnxBuilder::serialize() const {
  return impl_->model.SerializeAsString();
}

void OnnxBuilder::save(const std::string& path) const {
  std::ofstream f(path, std::ios::binary);
  f << serialize();
  if (!f)
    throw std::runtime_error("cannot write " + path);
}

Expected<OnnxModel> OnnxBuilder::load(const OnnxLoadOptions& options) const {
  return load_onnx_bytes(serialize(), options);
}

std::vector<Tensor> run_graph(const Graph& g, const std::vector<Tensor>& inputs, DType dtype) {
  RunOptions ro;
  ro.dtype = dtype;
  auto ex = Executor::create(g, ro);
  if (!ex)
    throw std::runtime_error(ex.status().to_string());
  auto out = ex->run(inputs);
  if (!out)
    throw std::runtime_error(out.status().to_string());
  return *out;
}

}  // namespace nncert::test
