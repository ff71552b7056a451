// nncert_perturb_onnx IN.onnx OUT.onnx SCALE [SEED]: writes a copy of an ONNX model whose float
// initializers (weights, biases) have Gaussian noise added, with standard deviation SCALE times
// the standard deviation of each tensor's values. Tests and examples use it to build a
// deliberately regressed model for the CI gate (examples/gate/fail.yaml).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <onnx/onnx-ml.pb.h>

namespace {

void perturb(std::vector<float>& v, double scale, std::mt19937_64& rng) {
  if (v.size() < 2)
    return;
  double mean = 0, sq = 0;
  for (float x : v)
    mean += x;
  mean /= static_cast<double>(v.size());
  for (float x : v)
    sq += (x - mean) * (x - mean);
  const double sd = std::sqrt(sq / static_cast<double>(v.size()));
  std::normal_distribution<double> n(0, scale * sd);
  for (float& x : v)
    x = static_cast<float>(x + n(rng));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: nncert_perturb_onnx IN.onnx OUT.onnx SCALE [SEED]\n");
    return 2;
  }
  const double scale = std::atof(argv[3]);
  std::mt19937_64 rng(argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1);
  onnx::ModelProto model;
  {
    std::ifstream in(argv[1], std::ios::binary);
    if (!in || !model.ParseFromIstream(&in)) {
      std::fprintf(stderr, "cannot read ONNX model '%s'\n", argv[1]);
      return 3;
    }
  }
  int changed = 0;
  for (onnx::TensorProto& t : *model.mutable_graph()->mutable_initializer()) {
    if (t.data_type() != onnx::TensorProto::FLOAT)
      continue;
    std::vector<float> v;
    if (!t.raw_data().empty()) {
      v.resize(t.raw_data().size() / sizeof(float));
      std::memcpy(v.data(), t.raw_data().data(), v.size() * sizeof(float));
      perturb(v, scale, rng);
      t.set_raw_data(
          std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
    } else {
      v.assign(t.float_data().begin(), t.float_data().end());
      perturb(v, scale, rng);
      t.clear_float_data();
      for (float x : v)
        t.add_float_data(x);
    }
    ++changed;
  }
  std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
  if (!out || !model.SerializeToOstream(&out)) {
    std::fprintf(stderr, "cannot write '%s'\n", argv[2]);
    return 3;
  }
  std::printf(
      "perturbed %d float initializers (noise %.3g x their standard deviation)\n", changed, scale);
  return 0;
}
