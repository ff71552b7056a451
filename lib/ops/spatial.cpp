#include "ops/spatial.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "runtime/kernels/conv.h"
#include "runtime/kernels/pool.h"

namespace nncert::ops {

namespace {

// Weighted ops: kernel_shape is optional and must agree with the weight's spatial extents.
Status read_weighted_kernel(
    const Node& node, const char* op, size_t r, const Shape* w, std::vector<int64_t>& kernel) {
  kernel = node.attrs.get_ints("kernel_shape");
  if (kernel.empty()) {
    kernel = w ? Shape(w->begin() + 2, w->end()) : Shape(r, -1);
  } else if (kernel.size() != r) {
    return attr_error(std::string(op) + " kernel_shape has " + std::to_string(kernel.size()) +
                      " entries for " + std::to_string(r) + " spatial dims");
  } else if (w) {
    for (size_t i = 0; i < r; ++i)
      if ((*w)[i + 2] >= 0 && (*w)[i + 2] != kernel[i])
        return shape_error(std::string(op) + " kernel_shape " + shape_to_string(kernel) +
                           " does not match weight " + shape_to_string(*w));
  }
  return Status::ok();
}

// Per-dim range checks; the pools report kernel, stride and dilation together.
Status check_dims(const Window& win) {
  const std::string op = win.spec->op;
  for (size_t i = 0; i < win.rank(); ++i) {
    if (!win.spec->weighted) {
      if (win.kernel[i] < 1 || win.stride[i] < 1 || win.dilation[i] < 1)
        return attr_error(op + " kernel_shape, strides and dilations must be >= 1");
      continue;
    }
    if (win.stride[i] < 1 || win.dilation[i] < 1)
      return attr_error(op + " strides and dilations must be >= 1");
    if (win.spec->output_padding && win.output_padding[i] < 0)
      return attr_error(op + " output_padding must be >= 0");
    if (win.kernel[i] == 0 || win.kernel[i] < -1)  // -1: not known yet
      return attr_error(op + " kernel extents must be >= 1");
  }
  for (int64_t v : win.pads)
    if (v < 0)
      return attr_error(op + " pads must be >= 0");
  return Status::ok();
}

}  // namespace

std::pair<int64_t, int64_t> Window::explicit_pads(size_t i) const {
  if (auto_pad != "NOTSET")
    return {0, 0};
  return {pads[i], pads[i + rank()]};
}

void Window::split_padding(size_t i, int64_t total) {
  pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
  pad_end[i] = total - pad_begin[i];
}

Expected<Window> read_window(const Node& node,
                             const WindowSpec& spec,
                             const Shape& x,
                             const Shape* w) {
  const std::string op = spec.op;
  if (x.size() < 3 || x.size() > 5)
    return shape_error(op + " input must be [N, C, 1 to 3 spatial dims], got " +
                       shape_to_string(x));
  const size_t r = x.size() - 2;
  Window win;
  win.spec = &spec;
  if (spec.weighted) {
    if (w && w->size() != x.size())
      return shape_error(op + " weight " + shape_to_string(*w) + " must have the input's rank " +
                         std::to_string(x.size()));
    win.groups = node.attrs.get_int("group", 1);
    if (win.groups < 1)
      return attr_error(op + " group must be >= 1");
    NNCERT_RETURN_IF_ERROR(read_weighted_kernel(node, spec.op, r, w, win.kernel));
  } else {
    win.kernel = node.attrs.get_ints("kernel_shape");
    if (win.kernel.size() != r)
      return attr_error(op + " kernel_shape must have one entry per spatial dim (" +
                        std::to_string(r) + ")");
  }
  win.stride = node.attrs.get_ints("strides", std::vector<int64_t>(r, 1));
  win.dilation = node.attrs.get_ints("dilations", std::vector<int64_t>(r, 1));
  if (spec.output_padding)
    win.output_padding = node.attrs.get_ints("output_padding", std::vector<int64_t>(r, 0));
  win.pads = node.attrs.get_ints("pads", std::vector<int64_t>(2 * r, 0));
  if (win.stride.size() != r || win.dilation.size() != r ||
      (spec.output_padding && win.output_padding.size() != r) || win.pads.size() != 2 * r)
    return attr_error(op +
                      (spec.output_padding ? " strides / dilations / output_padding / pads"
                                           : " strides / dilations / pads") +
                      " do not match " + std::to_string(r) + " spatial dims");
  NNCERT_RETURN_IF_ERROR(check_dims(win));

  const std::vector<int64_t>* const bounded[] = {
      &win.kernel, &win.stride, &win.dilation, &win.output_padding, &win.pads};
  for (const std::vector<int64_t>* v : bounded)
    for (int64_t e : *v)
      if (e > kMaxWindowAttr)
        return attr_error(op + " kernel, stride, dilation and padding values must be below 2^30");
  for (size_t i = 2; i < x.size(); ++i)
    if (x[i] > kMaxSpatialExtent)
      return shape_error(op + " spatial extents above 2^31 are not supported, got " +
                         shape_to_string(x));
  win.auto_pad = node.attrs.get_string("auto_pad", "NOTSET");
  if (win.auto_pad != "NOTSET" && win.auto_pad != "VALID" && !win.same())
    return attr_error(op + " auto_pad '" + win.auto_pad +
                      "' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
  win.pad_begin.assign(r, 0);
  win.pad_end.assign(r, 0);
  return win;
}

Status window_extents(Window& win, const Shape& x, bool ceil_mode, Shape& out) {
  const bool conv = win.spec->weighted;
  for (size_t i = 0; i < win.rank(); ++i) {
    const int64_t in = x[i + 2];
    const int64_t k = win.kernel[i];
    const int64_t s = win.stride[i];
    const int64_t d = win.dilation[i];
    if (win.same()) {
      // out = ceil(in / s); total padding = max(0, (out-1)*s + d*(k-1) + 1 - in).
      const int64_t o = in < 0 ? -1 : (in + s - 1) / s;
      if (in >= 0 && k >= 0)
        win.split_padding(i, std::max<int64_t>(0, (o - 1) * s + d * (k - 1) + 1 - in));
      out.push_back(o);
      continue;
    }
    std::tie(win.pad_begin[i], win.pad_end[i]) = win.explicit_pads(i);
    if (in < 0 || k < 0) {
      out.push_back(-1);
      continue;
    }
    const int64_t pb = win.pad_begin[i];
    const int64_t pe = win.pad_end[i];
    if (in + pb + pe < d * (k - 1) + 1)
      return shape_error(
          std::string(win.spec->op) + " input " + shape_to_string(x) +
          (conv ? " is smaller than the dilated kernel " : " is smaller than the kernel ") +
          shape_to_string(win.kernel) + " plus padding along spatial dim " + std::to_string(i));
    out.push_back(conv ? kernels::conv_out_extent(in, k, s, d, pb, pe)
                       : kernels::pool_out_extent(in, k, s, d, pb, pe, ceil_mode));
  }
  return Status::ok();
}

Expected<PoolSetup> resolve_pool(const Node& node, const WindowSpec& spec, const Shape& x) {
  NNCERT_ASSIGN_OR_RETURN(Window win, read_window(node, spec, x));
  PoolSetup st;
  const bool ceil_mode = node.attrs.get_int("ceil_mode", 0) != 0;
  st.out = {x[0], x[1]};
  NNCERT_RETURN_IF_ERROR(window_extents(win, x, ceil_mode, st.out));
  set_window_params(win, st.p);
  return st;
}

}  // namespace nncert::ops
