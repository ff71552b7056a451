// 8-bit image files for counterexamples: binary PGM (P5, grey) / PPM (P6, RGB), which any viewer
// and numpy read without a dependency, and PNG (grey or RGB, 8 bits, no interlace; zlib's
// deflate and CRC-32, the project already links zlib). Model inputs are float planes in a value
// range [lo, hi]; `to_image8` maps them to 0..255 (rounded) and `from_image8` back, so a written
// image re-reads to the input up to (hi - lo) / 510 per value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace nncert {

struct Image8 {
  int64_t width = 0, height = 0;
  int channels = 1;             // 1 (grey) or 3 (RGB)
  std::vector<uint8_t> pixels;  // row-major, channels interleaved (the files' order)
};

// x: `channels` planes of height x width (the model's C x H x W order), values in [lo, hi]
// (clamped). One channel: grey; three: RGB; any other count: the planes stacked vertically as one
// grey image of channels * height rows. kInvalidArgument for sizes that disagree or lo >= hi.
Expected<Image8> to_image8(const std::vector<double>& x,
                           int64_t channels,
                           int64_t height,
                           int64_t width,
                           double lo,
                           double hi);
// The inverse of to_image8 for the same layout: v / 255 * (hi - lo) + lo, planes in C x H x W.
Expected<std::vector<double>> from_image8(
    const Image8& img, int64_t channels, int64_t height, int64_t width, double lo, double hi);

// P5 (grey) or P6 (RGB), maxval 255. kIoError when the file cannot be written.
Status write_pnm(const std::string& path, const Image8& img);
// Reads P5 / P6 with maxval <= 255 (comments allowed in the header). kIoError, kParseError.
Expected<Image8> read_pnm(const std::string& path);

// The PNG file's bytes: signature, IHDR, one IDAT (zlib, every row with filter 0), IEND.
Expected<std::string> png_bytes(const Image8& img);
Status write_png(const std::string& path, const Image8& img);

}  // namespace nncert
