#include "frontends/image/image_io.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>

#include <zlib.h>

namespace nncert {

namespace {

Status check_layout(int64_t channels, int64_t height, int64_t width, double lo, double hi) {
  if (channels < 1 || height < 1 || width < 1)
    return {ErrorCode::kInvalidArgument, "image: channels, height and width must be >= 1"};
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi))
    return {ErrorCode::kInvalidArgument, "image: the value range needs lo < hi"};
  return Status::ok();
}

Status write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f || !f.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !f.flush())
    return {ErrorCode::kIoError, "cannot write '" + path + "'"};
  return Status::ok();
}

void put_u32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    s.push_back(static_cast<char>((v >> shift) & 0xff));
}

// A chunk: length, type, data, CRC-32 of type and data.
void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  const auto crc =
      crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  put_u32(out, static_cast<uint32_t>(crc));
}

}  // namespace

Expected<Image8> to_image8(const std::vector<double>& x,
                           int64_t channels,
                           int64_t height,
                           int64_t width,
                           double lo,
                           double hi) {
  NNCERT_RETURN_IF_ERROR(check_layout(channels, height, width, lo, hi));
  if (static_cast<int64_t>(x.size()) != channels * height * width)
    return Status(ErrorCode::kInvalidArgument, "image: the values do not fill the layout");
  Image8 img;
  const bool rgb = channels == 3;
  img.channels = rgb ? 3 : 1;
  img.width = width;
  img.height = rgb ? height : channels * height;
  img.pixels.resize(x.size());
  const int64_t plane = height * width;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t p = 0; p < plane; ++p) {
      const double v = std::clamp(x[static_cast<size_t>(c * plane + p)], lo, hi);
      const auto q = static_cast<uint8_t>(std::lround((v - lo) / (hi - lo) * 255.0));
      // RGB interleaves the planes; the grey layouts keep them one after the other.
      img.pixels[static_cast<size_t>(rgb ? p * 3 + c : c * plane + p)] = q;
    }
  return img;
}

Expected<std::vector<double>> from_image8(
    const Image8& img, int64_t channels, int64_t height, int64_t width, double lo, double hi) {
  NNCERT_RETURN_IF_ERROR(check_layout(channels, height, width, lo, hi));
  const bool rgb = channels == 3;
  if (img.width != width || img.height != (rgb ? height : channels * height) ||
      img.channels != (rgb ? 3 : 1) ||
      static_cast<int64_t>(img.pixels.size()) != channels * height * width)
    return Status(ErrorCode::kShapeMismatch, "image: the file does not have the model's layout");
  std::vector<double> x(img.pixels.size());
  const int64_t plane = height * width;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t p = 0; p < plane; ++p) {
      const uint8_t q = img.pixels[static_cast<size_t>(rgb ? p * 3 + c : c * plane + p)];
      x[static_cast<size_t>(c * plane + p)] = lo + static_cast<double>(q) / 255.0 * (hi - lo);
    }
  return x;
}

Status write_pnm(const std::string& path, const Image8& img) {
  std::string s = (img.channels == 3 ? "P6\n" : "P5\n") + std::to_string(img.width) + " " +
                  std::to_string(img.height) + "\n255\n";
  s.append(img.pixels.begin(), img.pixels.end());
  return write_file(path, s);
}

Expected<Image8> read_pnm(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Status(ErrorCode::kIoError, "cannot open '" + path + "'");
  const std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  const std::string where = "'" + path + "': ";
  // Header fields are separated by whitespace; '#' starts a comment up to the end of the line.
  auto field = [&]() -> Expected<int64_t> {
    while (pos < s.size() && (std::isspace(static_cast<unsigned char>(s[pos])) || s[pos] == '#')) {
      if (s[pos] == '#')
        while (pos < s.size() && s[pos] != '\n')
          ++pos;
      else
        ++pos;
    }
    int64_t v = 0;
    size_t digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])) && digits < 9) {
      v = v * 10 + (s[pos++] - '0');
      ++digits;
    }
    if (digits == 0)
      return Status(ErrorCode::kParseError, where + "bad PGM/PPM header");
    return v;
  };
  if (s.size() < 2 || s[0] != 'P' || (s[1] != '5' && s[1] != '6'))
    return Status(ErrorCode::kParseError, where + "not a binary PGM (P5) or PPM (P6) file");
  Image8 img;
  img.channels = s[1] == '6' ? 3 : 1;
  pos = 2;
  NNCERT_ASSIGN_OR_RETURN(img.width, field());
  NNCERT_ASSIGN_OR_RETURN(img.height, field());
  NNCERT_ASSIGN_OR_RETURN(int64_t maxval, field());
  if (img.width < 1 || img.height < 1 || maxval < 1 || maxval > 255)
    return Status(ErrorCode::kParseError, where + "unsupported size or maxval (8-bit only)");
  if (pos >= s.size() || !std::isspace(static_cast<unsigned char>(s[pos])))
    return Status(ErrorCode::kParseError, where + "bad PGM/PPM header");
  ++pos;  // exactly one whitespace character before the pixels
  const auto need = static_cast<size_t>(img.width * img.height * img.channels);
  if (s.size() - pos < need)
    return Status(ErrorCode::kParseError, where + "truncated pixel data");
  img.pixels.assign(s.begin() + static_cast<std::ptrdiff_t>(pos),
                    s.begin() + static_cast<std::ptrdiff_t>(pos + need));
  if (maxval != 255)
    for (uint8_t& p : img.pixels)
      p = static_cast<uint8_t>(std::lround(p * 255.0 / static_cast<double>(maxval)));
  return img;
}

Expected<std::string> png_bytes(const Image8& img) {
  if (img.width < 1 || img.height < 1 || (img.channels != 1 && img.channels != 3) ||
      static_cast<int64_t>(img.pixels.size()) != img.width * img.height * img.channels ||
      img.width > 0x7fffffff || img.height > 0x7fffffff)
    return Status(ErrorCode::kInvalidArgument, "png: bad image size");
  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32(ihdr, static_cast<uint32_t>(img.width));
  put_u32(ihdr, static_cast<uint32_t>(img.height));
  ihdr.push_back(8);                          // bit depth
  ihdr.push_back(img.channels == 3 ? 2 : 0);  // colour type: RGB or grey
  ihdr.append(std::string("\0\0\0", 3));      // deflate, filter method 0, no interlace
  put_chunk(out, "IHDR", ihdr);
  // Scanlines, each with filter type 0 (none), deflated as one zlib stream.
  const auto row = static_cast<size_t>(img.width * img.channels);
  std::string raw;
  raw.reserve((row + 1) * static_cast<size_t>(img.height));
  for (int64_t r = 0; r < img.height; ++r) {
    raw.push_back(0);
    raw.append(reinterpret_cast<const char*>(img.pixels.data()) + static_cast<size_t>(r) * row,
               row);
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string z(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()),
                &size,
                reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()),
                Z_BEST_COMPRESSION) != Z_OK)
    return Status(ErrorCode::kInternal, "png: zlib compression failed");
  z.resize(size);
  put_chunk(out, "IDAT", z);
  put_chunk(out, "IEND", "");
  return out;
}

Status write_png(const std::string& path, const Image8& img) {
  NNCERT_ASSIGN_OR_RETURN(std::string bytes, png_bytes(img));
  return write_file(path, bytes);
}

}  // namespace nncert
