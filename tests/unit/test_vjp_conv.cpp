// The fast Conv / ConvTranspose VJP (input gradient = the other op's GEMM-based forward pass,
// weight gradient = im2col + GEMM) against the direct-loop reference ops::conv_vjp_loops, over
// random geometries (1-3 spatial dims, stride, asymmetric padding, dilation, groups, batch > 1,
// output_padding); the VJP rules' ExecContext::need_grad contract (Conv, ConvTranspose, Gemm,
// MatMul); gradient() with parameter_grads = false giving bit-identical input gradients, and
// with GradientOptions::parameters giving exactly the listed weights' gradients.
// Results must not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/op_def.h"
#include "ops/vjp_util.h"
#include "runtime/autodiff.h"
#include "runtime/kernels/conv.h"
#include "tests/support/onnx_builder.h"

namespace nncert {
namespace {

using Rng = std::mt19937;
using test::OnnxBuilder;

Tensor random_tensor(Rng& rng, DType dt, const Shape& s) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Tensor t(dt, s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, u(rng));
  return t;
}

int64_t pick(Rng& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// One random convolution problem: parameters and the shapes of x, w, y.
struct Problem {
  kernels::ConvParams p;
  bool transpose = false;
  Shape x, w, y;
  std::string describe() const {
    auto list = [](const std::vector<int64_t>& v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i)
        s += (i ? "," : "") + std::to_string(v[i]);
      return s + "]";
    };
    return std::string(transpose ? "ConvTranspose" : "Conv") + " x" + shape_to_string(x) + " w" +
           shape_to_string(w) + " y" + shape_to_string(y) + " stride" + list(p.stride) + " dil" +
           list(p.dilation) + " pads" + list(p.pad_begin) + list(p.pad_end) + " outpad" +
           list(p.output_padding) + " group " + std::to_string(p.groups);
  }
};

Problem random_problem(Rng& rng, size_t rank, bool transpose) {
  Problem pr;
  pr.transpose = transpose;
  kernels::ConvParams& p = pr.p;
  p.groups = pick(rng, 1, 3);
  const int64_t batch = pick(rng, 1, 3);
  const int64_t cg_in = pick(rng, 1, 3);
  const int64_t cg_out = pick(rng, 1, 3);
  const int64_t max_in = rank == 3 ? 4 : 7;
  pr.x = {batch, p.groups * cg_in};
  pr.y = {batch, p.groups * cg_out};
  pr.w = transpose ? Shape{p.groups * cg_in, cg_out} : Shape{p.groups * cg_out, cg_in};
  for (size_t i = 0; i < rank; ++i) {
    const int64_t k = pick(rng, 1, 3);
    const int64_t s = pick(rng, 1, 3);
    const int64_t d = pick(rng, 1, 2);
    const int64_t span = d * (k - 1) + 1;  // dilated kernel extent
    // Padding below the dilated kernel (ConvTranspose's output stays non-empty), asymmetric.
    const int64_t pb = pick(rng, 0, std::min<int64_t>(2, span - 1));
    const int64_t pe = pick(rng, 0, std::min<int64_t>(2, span - 1));
    int64_t in = pick(rng, 1, max_in);
    int64_t out = 0;
    int64_t op = 0;
    if (transpose) {
      op = pick(rng, 0, std::max(s, d) - 1);  // ONNX: output_padding < stride or dilation
      while ((out = kernels::conv_transpose_out_extent(in, k, s, d, pb, pe, op)) < 1)
        ++in;
    } else {
      in = std::max(in, span - pb - pe);  // at least one output position
      out = kernels::conv_out_extent(in, k, s, d, pb, pe);
    }
    REQUIRE(out >= 1);
    p.kernel.push_back(k);
    p.stride.push_back(s);
    p.dilation.push_back(d);
    p.pad_begin.push_back(pb);
    p.pad_end.push_back(pe);
    p.output_padding.push_back(op);
    pr.x.push_back(in);
    pr.y.push_back(out);
    pr.w.push_back(k);
  }
  return pr;
}

// max |a - b| / max |b|: the normwise relative error of a against the reference b.
double rel_error(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double diff = 0;
  double scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::abs(a.get(i) - b.get(i)));
    scale = std::max(scale, std::abs(b.get(i)));
  }
  return scale == 0 ? diff : diff / scale;
}

void check_against_loops(const Problem& pr, DType dt, Rng& rng, double tol) {
  INFO(pr.describe() << (dt == DType::kF32 ? " float32" : " float64"));
  const Tensor x = random_tensor(rng, dt, pr.x);
  const Tensor w = random_tensor(rng, dt, pr.w);
  const Tensor b = random_tensor(rng, dt, {pr.y[1]});
  const Tensor y(dt, pr.y);  // only its shape is read
  const Tensor gy = random_tensor(rng, dt, pr.y);
  Tensor gx(dt, pr.x), gw(dt, pr.w), gb(dt, {pr.y[1]});
  const Status ref = NNCERT_FLOAT_DISPATCH(
      dt, T, ops::conv_vjp_loops<T>(pr.p, pr.transpose, x, w, gy, gx, gw, gb.data<T>()));
  REQUIRE(ref.is_ok());
  const std::vector<Tensor> in = {x, w, b};
  const std::vector<Tensor> out = {y};
  const std::vector<Tensor> gout = {gy};
  std::vector<Tensor> first;
  for (int threads : {1, 4}) {
    std::vector<Tensor> gin(3);
    ExecContext ctx{threads};
    REQUIRE(ops::conv_family_vjp(pr.p, pr.transpose, in, out, gout, gin, ctx).is_ok());
    REQUIRE(gin[0].is_valid());
    REQUIRE(gin[1].is_valid());
    REQUIRE(gin[2].is_valid());
    CHECK(rel_error(gin[0], gx) <= tol);
    CHECK(rel_error(gin[1], gw) <= tol);
    CHECK(rel_error(gin[2], gb) <= tol);
    if (first.empty()) {
      first = gin;
      continue;
    }
    for (size_t i = 0; i < 3; ++i)  // the thread count does not change a bit
      CHECK(rel_error(gin[i], first[i]) == 0);
  }
}

TEST_CASE("vjp: fast Conv / ConvTranspose gradients equal the direct loops", "[vjp]") {
  Rng rng(2024);
  for (bool transpose : {false, true})
    for (size_t rank = 1; rank <= 3; ++rank)
      for (int rep = 0; rep < 25; ++rep) {
        const Problem pr = random_problem(rng, rank, transpose);
        check_against_loops(pr, DType::kF32, rng, 1e-5);
        check_against_loops(pr, DType::kF64, rng, 1e-12);
      }
}

TEST_CASE("vjp: fast Conv gradients handle pointwise kernels and tiled im2col", "[vjp]") {
  Rng rng(7);
  // 1x1 kernel, stride 1, no padding: the input is the column matrix itself.
  Problem pw;
  pw.p = {{1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2, {0, 0}};
  pw.x = {2, 4, 5, 3};
  pw.w = {6, 2, 1, 1};
  pw.y = {2, 6, 5, 3};
  check_against_loops(pw, DType::kF64, rng, 1e-12);
  pw.transpose = true;
  pw.w = {4, 3, 1, 1};
  check_against_loops(pw, DType::kF64, rng, 1e-12);
  // A column matrix above the kernels' tile budget (2^20 elements): several im2col tiles.
  Problem big;
  big.p = {{3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, {0, 0}};
  big.x = {1, 64, 48, 48};
  big.w = {2, 64, 3, 3};
  big.y = {1, 2, 48, 48};
  check_against_loops(big, DType::kF32, rng, 1e-5);
}

// A bare node of type `op` (attributes set by the caller), for calling its rules directly.
Node make_node(const std::string& op) {
  Node n;
  n.name = "n";
  n.op = op;
  return n;
}

// Calls def->vjp with every input wanted, then with each subset in `masks`: wanted gradients
// must be identical to the full ones, unwanted ones may be left invalid (and are, for these ops).
void check_need_grad(const Node& node, const std::vector<Tensor>& in, Rng& rng) {
  INFO(node.op);
  const OpDef* def = find_op(node.op);
  REQUIRE(def != nullptr);
  std::vector<TypeInfo> infos;
  for (const Tensor& t : in)
    infos.push_back(TypeInfo{t.dtype(), t.shape(), true, std::nullopt});
  std::vector<TypeInfo> out_types;
  const Status inferred = def->infer(node, infos, out_types);
  INFO(inferred.to_string());
  REQUIRE(inferred.is_ok());
  std::vector<Tensor> out(out_types.size());
  REQUIRE(def->forward(node, in, out_types, out, ExecContext{}).is_ok());
  const std::vector<Tensor> gout = {random_tensor(rng, out[0].dtype(), out[0].shape())};
  std::vector<Tensor> full(in.size());
  REQUIRE(def->vjp(node, in, out, gout, full, ExecContext{}).is_ok());
  for (size_t mask = 0; mask < (size_t{1} << in.size()); ++mask) {
    std::unique_ptr<bool[]> need(new bool[in.size()]);
    for (size_t i = 0; i < in.size(); ++i)
      need[i] = ((mask >> i) & 1) != 0;
    ExecContext ctx;
    ctx.need_grad = std::span<const bool>(need.get(), in.size());
    std::vector<Tensor> gin(in.size());
    REQUIRE(def->vjp(node, in, out, gout, gin, ctx).is_ok());
    for (size_t i = 0; i < in.size(); ++i) {
      INFO("mask " << mask << " input " << i);
      if (!need[i]) {
        CHECK(!gin[i].is_valid());
        continue;
      }
      REQUIRE(gin[i].is_valid());
      REQUIRE(gin[i].shape() == full[i].shape());
      for (int64_t j = 0; j < gin[i].numel(); ++j)
        CHECK(gin[i].get(j) == full[i].get(j));
    }
  }
}

TEST_CASE("vjp: rules skip the gradients ExecContext::need_grad leaves out", "[vjp]") {
  Rng rng(5);
  for (DType dt : {DType::kF32, DType::kF64}) {
    Node conv = make_node("Conv");
    conv.attrs.set("strides", std::vector<int64_t>{2, 1});
    conv.attrs.set("pads", std::vector<int64_t>{1, 0, 0, 1});
    conv.attrs.set("group", int64_t{2});
    check_need_grad(conv,
                    {random_tensor(rng, dt, {2, 4, 6, 5}),
                     random_tensor(rng, dt, {6, 2, 3, 2}),
                     random_tensor(rng, dt, {6})},
                    rng);
    Node ct = make_node("ConvTranspose");
    ct.attrs.set("strides", std::vector<int64_t>{2});
    ct.attrs.set("output_padding", std::vector<int64_t>{1});
    check_need_grad(ct,
                    {random_tensor(rng, dt, {2, 3, 5}),
                     random_tensor(rng, dt, {3, 2, 3}),
                     random_tensor(rng, dt, {2})},
                    rng);
    Node gemm = make_node("Gemm");
    gemm.attrs.set("transB", int64_t{1});
    gemm.attrs.set("alpha", 0.5);
    check_need_grad(gemm,
                    {random_tensor(rng, dt, {3, 4}),
                     random_tensor(rng, dt, {5, 4}),
                     random_tensor(rng, dt, {5})},
                    rng);
    Node gemm_ta = make_node("Gemm");
    gemm_ta.attrs.set("transA", int64_t{1});
    check_need_grad(gemm_ta, {random_tensor(rng, dt, {4, 3}), random_tensor(rng, dt, {4, 5})}, rng);
    check_need_grad(make_node("MatMul"),
                    {random_tensor(rng, dt, {2, 3, 4}), random_tensor(rng, dt, {4, 5})},
                    rng);
    check_need_grad(make_node("MatMul"),
                    {random_tensor(rng, dt, {3, 4}), random_tensor(rng, dt, {2, 4, 5})},
                    rng);
  }
}

// x -> Conv -> Relu -> ConvTranspose -> Flatten -> Gemm -> MatMul -> Add, weights as constants.
TEST_CASE("vjp: parameter_grads = false gives identical input gradients", "[vjp]") {
  Rng rng(9);
  OnnxBuilder b;
  b.input("x", DType::kF32, {2, 2, 6, 6});
  b.initializer("w1", random_tensor(rng, DType::kF32, {4, 2, 3, 3}));
  b.initializer("b1", random_tensor(rng, DType::kF32, {4}));
  b.initializer("w2", random_tensor(rng, DType::kF32, {4, 3, 2, 2}));
  b.initializer("b2", random_tensor(rng, DType::kF32, {3}));
  b.initializer("w3", random_tensor(rng, DType::kF32, {7, 3 * 7 * 7}));
  b.initializer("c3", random_tensor(rng, DType::kF32, {7}));
  b.initializer("w4", random_tensor(rng, DType::kF32, {7, 5}));
  b.initializer("c4", random_tensor(rng, DType::kF32, {5}));
  b.node("Conv", {"x", "w1", "b1"}, {"c"})
      .attr("strides", std::vector<int64_t>{2, 2})
      .attr("pads", std::vector<int64_t>{1, 1, 0, 0});
  b.node("Relu", {"c"}, {"r"});
  b.node("ConvTranspose", {"r", "w2", "b2"}, {"t"})
      .attr("strides", std::vector<int64_t>{2, 2})
      .attr("output_padding", std::vector<int64_t>{1, 1})
      .attr("pads", std::vector<int64_t>{0, 0, 0, 0});
  b.node("Flatten", {"t"}, {"f"});
  b.node("Gemm", {"f", "w3", "c3"}, {"z"}).attr("transB", int64_t{1});
  b.node("MatMul", {"z", "w4"}, {"m"});
  b.node("Add", {"m", "c4"}, {"y"});
  b.output("y");
  auto m = b.load();
  INFO("load: " << (m ? "ok" : m.status().to_string()));
  REQUIRE(m.has_value());
  const Graph& g = m->graph;
  const Tensor x = random_tensor(rng, DType::kF32, {2, 2, 6, 6});
  const Tensor gy = random_tensor(rng, DType::kF32, {2, 5});
  for (DType dt : {DType::kF32, DType::kF64}) {
    RunOptions ro;
    ro.dtype = dt;
    auto full = gradient(g, {x}, {gy}, ro);
    auto lean = gradient(g, {x}, {gy}, ro, input_grads_only());
    REQUIRE(full.has_value());
    REQUIRE(lean.has_value());
    const size_t xi = static_cast<size_t>(g.inputs()[0]);
    const Tensor& a = full->value_grads[xi];
    const Tensor& c = lean->value_grads[xi];
    REQUIRE(a.is_valid());
    REQUIRE(c.is_valid());
    REQUIRE(a.shape() == c.shape());
    for (int64_t j = 0; j < a.numel(); ++j)
      CHECK(a.get(j) == c.get(j));
    for (const char* w : {"w1", "b1", "w2", "b2", "w3", "c3", "w4", "c4"}) {
      INFO(w);
      const size_t wi = static_cast<size_t>(g.find_value(w));
      CHECK(full->value_grads[wi].is_valid());
      CHECK(!lean->value_grads[wi].is_valid());
    }
    // GradientOptions::parameters: only the listed weights (and nothing for the input), with
    // the same values as the full run.
    GradientOptions some;
    some.parameters = {g.find_value("w1"), g.find_value("b2"), g.find_value("c4")};
    auto part = gradient(g, {x}, {gy}, ro, some);
    REQUIRE(part.has_value());
    CHECK(!part->value_grads[xi].is_valid());
    for (const char* w : {"w1", "b1", "w2", "b2", "w3", "c3", "w4", "c4"}) {
      INFO(w);
      const size_t wi = static_cast<size_t>(g.find_value(w));
      const bool listed =
          std::string(w) == "w1" || std::string(w) == "b2" || std::string(w) == "c4";
      REQUIRE(part->value_grads[wi].is_valid() == listed);
      if (!listed)
        continue;
      const Tensor& pf = full->value_grads[wi];
      const Tensor& pp = part->value_grads[wi];
      for (int64_t j = 0; j < pf.numel(); ++j)
        CHECK(pp.get(j) == pf.get(j));
    }
  }
}

}  // namespace
}  // namespace nncert
