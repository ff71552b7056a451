// parse_vnnlib / load_vnnlib: the error boundary of the VNNLIB reader (allocation failures and
// any library exception become a Status here) and the file reading, with zlib for gzip files;
// also the message and number helpers the reader and the writer share.
#include "frontends/vnnlib/vnnlib.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <new>
#include <string>

#include <zlib.h>

#include "frontends/vnnlib/vnnlib_internal.h"

namespace nncert {

namespace vnnlib_detail {

Status error_at(std::string_view text, size_t offset, ErrorCode code, const std::string& message) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  const size_t nl = before.rfind('\n');
  const size_t col = 1 + (nl == std::string_view::npos ? offset : offset - nl - 1);
  return {code, std::to_string(line) + ":" + std::to_string(col) + ": " + message};
}

std::string format_number(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

}  // namespace vnnlib_detail

Expected<Property> parse_vnnlib(std::string_view text,
                                std::string name,
                                const VnnlibOptions& options) {
  try {
    auto parsed = vnnlib_detail::parse_file(text, options);
    if (!parsed)
      return parsed.status();
    return vnnlib_detail::build_property(*parsed, text, std::move(name), options);
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory while reading the VNNLIB property");
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternal, std::string("VNNLIB reader: ") + e.what());
  }
}

namespace {

// The whole file; gzread passes files that are not gzip-compressed through unchanged.
Expected<std::string> read_file(const std::string& path, int64_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return Status(ErrorCode::kIoError,
                  "cannot open VNNLIB file '" + path + "': " +
                      (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr)
    return Status(ErrorCode::kIoError, "cannot open VNNLIB file '" + path + "'");
  gzbuffer(f, 1 << 17);
  std::string out;
  constexpr unsigned kChunk = 1 << 20;
  for (;;) {
    const size_t old = out.size();
    if (static_cast<int64_t>(old) > max_bytes) {
      gzclose(f);
      return Status(ErrorCode::kIoError,
                    "VNNLIB file '" + path + "' is larger than " + std::to_string(max_bytes) +
                        " bytes (VnnlibOptions::max_file_bytes)");
    }
    out.resize(old + kChunk);
    const int got = gzread(f, out.data() + old, kChunk);
    if (got < 0) {
      int errnum = 0;
      const std::string what = gzerror(f, &errnum);
      gzclose(f);
      return Status(ErrorCode::kIoError, "cannot read VNNLIB file '" + path + "': " + what);
    }
    out.resize(old + static_cast<size_t>(got));
    if (got == 0)
      break;
  }
  int errnum = 0;
  const std::string what = gzerror(f, &errnum);
  gzclose(f);
  if (errnum != Z_OK)  // e.g. a truncated gzip stream
    return Status(ErrorCode::kIoError, "cannot read VNNLIB file '" + path + "': " + what);
  return out;
}

}  // namespace

Expected<Property> load_vnnlib(const std::string& path, const VnnlibOptions& options) {
  try {
    auto text = read_file(path, options.max_file_bytes);
    if (!text)
      return text.status();
    auto p = parse_vnnlib(*text, std::filesystem::path(path).filename().string(), options);
    if (!p)
      return Status(p.status().code(), path + ":" + p.status().message());
    return p;
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory while reading '" + path + "'");
  } catch (const std::exception& e) {
    return Status(ErrorCode::kIoError, "cannot read VNNLIB file '" + path + "': " + e.what());
  }
}

}  // namespace nncert
