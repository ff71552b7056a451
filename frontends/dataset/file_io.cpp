// Whole-file reading with transparent gunzip (zlib), and format sniffing.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>

#include <zlib.h>

#include "frontends/dataset/dataset_internal.h"

namespace nncert::dataset {

namespace {

// More decompressed bytes than this is refused: a few bytes of a gzip member can expand ~1000x,
// and no dataset we read needs more (60,000 MNIST images are 47 MB).
constexpr size_t kMaxDecompressed = size_t{1} << 34;  // 16 GiB

bool has_gzip_magic(const std::string& b) {
  return b.size() >= 2 && static_cast<unsigned char>(b[0]) == 0x1f &&
         static_cast<unsigned char>(b[1]) == 0x8b;
}

// Concatenated gzip members are decompressed one after the other (as gzip -d does).
Expected<std::string> gunzip(const std::string& in, const std::string& path) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    return Status(ErrorCode::kInternal, "zlib inflateInit2 failed");
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&zs};

  std::string out;
  out.resize(std::max<size_t>(in.size() * 4, 1 << 16));
  size_t in_pos = 0, out_pos = 0;
  bool member_done = false;
  while (true) {
    if (zs.avail_in == 0 && in_pos < in.size()) {
      const size_t chunk = std::min<size_t>(in.size() - in_pos, size_t{1} << 30);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
      zs.avail_in = static_cast<uInt>(chunk);
      in_pos += chunk;
    }
    if (out_pos == out.size()) {
      if (out.size() >= kMaxDecompressed)
        return Status(ErrorCode::kOutOfMemory,
                      path + ": decompresses to more than 16 GiB; refusing to read it");
      out.resize(std::min(out.size() * 2, kMaxDecompressed));
    }
    const size_t room = std::min<size_t>(out.size() - out_pos, size_t{1} << 30);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out_pos += room - zs.avail_out;
    member_done = rc == Z_STREAM_END;
    if (rc == Z_STREAM_END) {
      const size_t left = zs.avail_in + (in.size() - in_pos);
      if (left == 0)
        break;
      // Another member must follow; anything else is not a gzip file's content.
      const size_t at = in.size() - left;
      if (!has_gzip_magic(in.substr(at, 2)))
        return Status(ErrorCode::kParseError,
                      path + ": " + std::to_string(left) + " bytes of trailing data after the " +
                          "gzip stream");
      if (inflateReset(&zs) != Z_OK)
        return Status(ErrorCode::kInternal, "zlib inflateReset failed");
      continue;
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR)
      return Status(ErrorCode::kParseError,
                    path + ": corrupt gzip data (" + (zs.msg ? zs.msg : "zlib error") + ")");
    if (rc == Z_MEM_ERROR)
      return Status(ErrorCode::kOutOfMemory, path + ": zlib ran out of memory");
    // Z_OK or Z_BUF_ERROR: no progress is possible only when the input is exhausted.
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_pos == in.size())
      break;
  }
  if (!member_done)
    return Status(ErrorCode::kParseError,
                  path + ": truncated gzip stream (" + std::to_string(out_pos) +
                      " bytes decompressed before the data ended)");
  out.resize(out_pos);
  return out;
}

}  // namespace

Expected<std::string> read_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec))
    return Status(ErrorCode::kIoError, "'" + path + "' is a directory, not a data file");
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Status(ErrorCode::kIoError, "cannot open '" + path + "': " + std::strerror(errno));
  std::string bytes;
  try {
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f.bad())
      return Status(ErrorCode::kIoError, "error reading '" + path + "'");
    if (has_gzip_magic(bytes))
      return gunzip(bytes, path);
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory reading '" + path + "'");
  } catch (const std::length_error&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory reading '" + path + "'");
  }
  return bytes;
}

DatasetFormat sniff_format(const std::string& b) {
  if (b.size() >= 6 && b.compare(0, 6, "\x93NUMPY") == 0)
    return DatasetFormat::kNpy;
  // Text never starts with NUL bytes; parse_idx names an unknown type code precisely.
  if (b.size() >= 2 && b[0] == 0 && b[1] == 0)
    return DatasetFormat::kIdx;
  for (char c : b) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
      continue;
    if (c == '{' || c == '[')
      return DatasetFormat::kJson;
    break;
  }
  return DatasetFormat::kCsv;
}

}  // namespace nncert::dataset
