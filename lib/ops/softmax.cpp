// Softmax: y = exp(x - max) / sum exp(x - max) along `axis` (opset >= 13, default -1). Models of
// opset < 13 get attribute legacy_2d = 1 from the ONNX frontend: the input is then coerced to 2-D
// at `axis` (default 1) and the softmax runs over all trailing dimensions together.
#include <algorithm>
#include <cmath>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

// The softmax groups of x: `outer` blocks, each holding `inner` interleaved groups of `n`
// values (stride `inner`). Legacy (opset < 13): one group of all trailing dims from `axis`.
struct SoftmaxLayout {
  int64_t outer = 1, n = 1, inner = 1;
};

Expected<SoftmaxLayout> softmax_layout(const Node& node, const Shape& shape) {
  const auto rank = static_cast<int64_t>(shape.size());
  const bool legacy = node.attrs.get_int("legacy_2d", 0) != 0;
  NNCERT_ASSIGN_OR_RETURN(int64_t axis,
                          normalize_axis(node.attrs.get_int("axis", legacy ? 1 : -1), rank));
  SoftmaxLayout l;
  for (int64_t d = 0; d < axis; ++d)
    l.outer *= shape[static_cast<size_t>(d)];
  if (legacy) {
    for (int64_t d = axis; d < rank; ++d)
      l.n *= shape[static_cast<size_t>(d)];
  } else {
    l.n = shape[static_cast<size_t>(axis)];
    for (int64_t d = axis + 1; d < rank; ++d)
      l.inner *= shape[static_cast<size_t>(d)];
  }
  return l;
}

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "the input"));
  if (in[0].shape_known) {
    const bool legacy = node.attrs.get_int("legacy_2d", 0) != 0;
    const auto rank = static_cast<int64_t>(in[0].shape.size());
    NNCERT_RETURN_IF_ERROR(
        normalize_axis(node.attrs.get_int("axis", legacy ? 1 : -1), rank).status());
  }
  return infer_same(node, in, out);
}

// y_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  const Tensor& x = in[0];
  NNCERT_ASSIGN_OR_RETURN(const SoftmaxLayout lay, softmax_layout(node, x.shape()));
  const int64_t outer = lay.outer, n = lay.n, inner = lay.inner;
  out[0] = Tensor(x.dtype(), x.shape());
  if (x.numel() == 0)
    return Status::ok();  // nothing to normalise (and no xs[0] to read)
  return NNCERT_FLOAT_DISPATCH(x.dtype(), T, {
    const T* px = x.data<T>();
    T* py = out[0].data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < inner; ++k) {
        const T* xs = px + o * n * inner + k;
        T* ys = py + o * n * inner + k;
        T m = xs[0];
        for (int64_t i = 1; i < n; ++i)
          m = std::max(m, xs[i * inner]);
        T sum = 0;
        for (int64_t i = 0; i < n; ++i)
          sum += (ys[i * inner] = std::exp(xs[i * inner] - m));
        for (int64_t i = 0; i < n; ++i)
          ys[i * inner] /= sum;
      }
  });
}

// y_i = 1 / (1 + sum_{j != i} exp(x_j - x_i)) is increasing in x_i and decreasing in x_j, so
//   lo_i = 1 / (1 + sum_{j != i} exp(hi_j - lo_i)),  hi_i = 1 / (1 + sum_{j != i} exp(lo_j - hi_i))
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  const Tensor& xl = in[0].lo;
  const Tensor& xh = in[0].hi;
  NNCERT_ASSIGN_OR_RETURN(const SoftmaxLayout lay, softmax_layout(node, xl.shape()));
  const int64_t outer = lay.outer, n = lay.n, inner = lay.inner;
  Interval r{Tensor(xl.dtype(), xl.shape()), Tensor(xl.dtype(), xl.shape())};
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) {
      const int64_t base = o * n * inner + k;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t ii = base + i * inner;
        double sl = 0, sh = 0;
        for (int64_t j = 0; j < n; ++j) {
          if (j == i)
            continue;
          const int64_t jj = base + j * inner;
          sl += std::exp(xh.get(jj) - xl.get(ii));
          sh += std::exp(xl.get(jj) - xh.get(ii));
        }
        r.lo.set(ii, 1 / (1 + sl));
        r.hi.set(ii, 1 / (1 + sh));
      }
    }
  out = {r};
  return Status::ok();
}

// dL/dx_i = y_i * (dL/dy_i - sum_j dL/dy_j y_j) along the softmax axis (axes, legacy_2d)
Status vjp(const Node& node,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& /*ctx*/) {
  if (!grad_out[0].is_valid())
    return Status::ok();
  const Tensor& x = in[0];
  const DType dt = x.dtype();
  NNCERT_ASSIGN_OR_RETURN(const SoftmaxLayout lay, softmax_layout(node, x.shape()));
  const int64_t outer = lay.outer, n = lay.n, inner = lay.inner;
  const Tensor gy = grad_as(grad_out[0], dt, x.shape());
  const Tensor y = out[0].dtype() == dt ? out[0] : out[0].to(dt);
  Tensor gx(dt, x.shape());
  NNCERT_RETURN_IF_ERROR(NNCERT_FLOAT_DISPATCH(dt, T, {
    const T* py = y.data<T>();
    const T* pg = gy.data<T>();
    T* po = gx.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < inner; ++k) {
        const int64_t base = o * n * inner + k;
        T dot = 0;
        for (int64_t i = 0; i < n; ++i)
          dot += pg[base + i * inner] * py[base + i * inner];
        for (int64_t i = 0; i < n; ++i)
          po[base + i * inner] = py[base + i * inner] * (pg[base + i * inner] - dot);
      }
  }));
  grad_in[0] = gx;
  return Status::ok();
}

}  // namespace

extern const OpDef kOpSoftmax{"Softmax", 1, 1, &infer, &forward, nullptr, &ibp, &vjp};

}  // namespace nncert::ops
