// Attribute resolution shared by the windowed ops (Conv, ConvTranspose, AveragePool, MaxPool):
// reading group, kernel_shape, strides, dilations, (output_padding,) pads and auto_pad against the
// input's spatial rank, the bounds that keep the extent arithmetic far from int64 overflow, and
// turning auto_pad / pads into per-dim padding and output extents. Each op keeps its own channel
// rules and op-specific attributes; messages name the op. Internal to lib/ops.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ops/op_util.h"
#include "runtime/kernels/pool.h"

namespace nncert::ops {

// Largest accepted kernel / stride / dilation / padding value, and largest spatial input extent:
// bounds that keep the extent arithmetic far from int64 overflow.
inline constexpr int64_t kMaxWindowAttr = int64_t{1} << 30;
inline constexpr int64_t kMaxSpatialExtent = int64_t{1} << 31;

// What varies between the windowed ops' attributes.
struct WindowSpec {
  const char* op = nullptr;  // ONNX op_type, for messages
  // Conv / ConvTranspose: there is a weight; `group` is read, kernel_shape is optional (the
  // weight's spatial extents, -1 while unknown) and checked against the weight. Pools: the
  // kernel_shape attribute is required.
  bool weighted = false;
  bool output_padding = false;  // ConvTranspose: reads output_padding (>= 0)
};

// The window attributes resolved for the input's r spatial dims.
struct Window {
  const WindowSpec* spec = nullptr;
  int64_t groups = 1;           // weighted ops only
  std::vector<int64_t> kernel;  // -1 where not known yet (weighted ops)
  std::vector<int64_t> stride;
  std::vector<int64_t> dilation;
  std::vector<int64_t> output_padding;  // empty unless spec->output_padding
  std::vector<int64_t> pads;            // the pads attribute: [begin_1..begin_r, end_1..end_r]
  std::string auto_pad;                 // NOTSET, VALID, SAME_UPPER or SAME_LOWER
  // The padding in effect, filled by window_extents (or by the op): explicit pads under NOTSET,
  // none under VALID, derived from the extents under SAME_*.
  std::vector<int64_t> pad_begin;
  std::vector<int64_t> pad_end;

  size_t rank() const { return stride.size(); }
  bool same() const { return auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER"; }
  // The explicit padding along dim i: the pads attribute under NOTSET, none under VALID.
  std::pair<int64_t, int64_t> explicit_pads(size_t i) const;
  // Splits `total` cells of padding between the two ends of dim i; the odd cell goes to the end
  // for SAME_UPPER and to the beginning otherwise (SAME_LOWER, ConvTranspose's output_shape).
  void split_padding(size_t i, int64_t total);
};

// Checks that x is [N, C, 1 to 3 spatial dims] (and, for weighted ops, that w has x's rank),
// then reads and checks the window attributes. x's extents and w (nullptr when not known) may
// hold -1.
Expected<Window> read_window(const Node& node,
                             const WindowSpec& spec,
                             const Shape& x,
                             const Shape* w = nullptr);

// Conv and the pools: fills win.pad_begin / pad_end and appends each spatial output extent (-1
// where not known) to `out`. Pools round with `ceil_mode` (kernels::pool_out_extent), Conv with
// kernels::conv_out_extent. Fails when an input is smaller than its (dilated) kernel plus padding.
Status window_extents(Window& win, const Shape& x, bool ceil_mode, Shape& out);

// AveragePool / MaxPool: the kernel parameters and the output shape [N, C, spatial...] (-1 where
// not known) from the window attributes, ceil_mode and the input shape. count_include_pad is left
// to AveragePool.
struct PoolSetup {
  kernels::PoolParams p;
  Shape out;
};
Expected<PoolSetup> resolve_pool(const Node& node, const WindowSpec& spec, const Shape& x);

// Copies the resolved window into a kernel's parameters (kernels::ConvParams or PoolParams).
template <class Params>
void set_window_params(const Window& win, Params& p) {
  p.kernel = win.kernel;
  p.stride = win.stride;
  p.dilation = win.dilation;
  p.pad_begin = win.pad_begin;
  p.pad_end = win.pad_end;
}

}  // namespace nncert::ops
