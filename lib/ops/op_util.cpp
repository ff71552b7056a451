#include "ops/op_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nncert::ops {

Expected<int64_t> normalize_axis(int64_t axis, int64_t rank) {
  // Strictly within [-rank, rank): a rank-0 tensor has no axis to index.
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return shape_error("axis " + std::to_string(axis) + " is out of range for rank " +
                       std::to_string(rank));
  return a;
}

Expected<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da < 0 || db < 0) {
      out[i] = std::max(da, db);  // unknown vs known: take the known extent
    } else {
      return shape_error("shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                         " cannot be broadcast together");
    }
  }
  return out;
}

int64_t saturate_to_int(double v) {
  if (std::isnan(v))
    return 0;
  if (v >= 9.2233720368547758e18)
    return std::numeric_limits<int64_t>::max();
  if (v <= -9.2233720368547758e18)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

std::optional<std::vector<int64_t>> const_ints(std::span<const TypeInfo> in, size_t i) {
  if (i >= in.size() || !in[i].value)
    return std::nullopt;
  const Tensor& t = *in[i].value;
  if (t.dtype() == DType::kI64)
    return t.to_int_vector();
  // A float tensor where the spec wants integers: convert without undefined behaviour.
  std::vector<int64_t> v(static_cast<size_t>(t.numel()));
  for (int64_t k = 0; k < t.numel(); ++k)
    v[static_cast<size_t>(k)] = saturate_to_int(t.get(k));
  return v;
}

std::vector<TypeInfo> infos_of(std::span<const Tensor> in) {
  std::vector<TypeInfo> infos(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].is_valid())
      infos[i] = TypeInfo{in[i].dtype(), in[i].shape(), true, in[i]};
    else
      infos[i].shape_known = false;
  }
  return infos;
}

Status unknown_output(std::span<const TypeInfo> in, std::vector<TypeInfo>& out, size_t n) {
  out.assign(n, make_info(in[0].dtype, {}));
  for (TypeInfo& o : out)
    o.shape_known = false;
  return Status::ok();
}

Status expect_float(std::span<const TypeInfo> in, size_t i, const char* what) {
  if (i < in.size() && !is_float(in[i].dtype))
    return {ErrorCode::kUnsupported,
            std::string(what) + " must be a float tensor, got " + dtype_name(in[i].dtype)};
  return Status::ok();
}

Status alloc_checked_output(const char* op,
                            const Shape& resolved,
                            DType dtype,
                            std::span<const TypeInfo> out_types,
                            std::vector<Tensor>& out,
                            bool zero) {
  if (out_types.empty() || out_types[0].shape != resolved || out_types[0].dtype != dtype)
    return shape_error(std::string(op) + " output " + shape_to_string(resolved) +
                       " does not match the inferred output type");
  if (out.empty())
    out.resize(1);
  out[0] = zero ? Tensor(out_types[0].dtype, out_types[0].shape)
                : Tensor::uninitialized(out_types[0].dtype, out_types[0].shape);
  return Status::ok();
}

AxisBlocks axis_blocks(const Shape& s, int64_t axis) {
  AxisBlocks b;
  const auto a = static_cast<size_t>(axis);
  for (size_t d = 0; d < a; ++d)
    b.outer *= s[d];
  for (size_t d = a + 1; d < s.size(); ++d)
    b.inner *= s[d];
  return b;
}

}  // namespace nncert::ops

// ---- elementwise shape rules (declared in ops/elementwise.h) ----
#include "ops/elementwise.h"

namespace nncert::ops {

std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  std::vector<int64_t> own = shape_strides(s);
  size_t off = out.size() - s.size();
  for (size_t i = 0; i < s.size(); ++i)
    st[off + i] = s[i] == 1 ? 0 : own[i];
  return st;
}

Status infer_broadcast(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  if (in.empty())
    return attr_error("needs at least one input");
  Shape s = in[0].shape;
  bool known = in[0].shape_known;
  for (size_t i = 1; i < in.size(); ++i) {
    if (!in[i].shape_known) {
      known = false;
      continue;
    }
    if (is_float(in[0].dtype) != is_float(in[i].dtype))
      return {ErrorCode::kShapeMismatch,
              std::string("input dtypes differ: ") + dtype_name(in[0].dtype) + " and " +
                  dtype_name(in[i].dtype)};
    NNCERT_ASSIGN_OR_RETURN(s, broadcast_shapes(s, in[i].shape));
  }
  out.assign(1, make_info(in[0].dtype, known ? s : Shape{}));
  out[0].shape_known = known;
  return Status::ok();
}

Status infer_same(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  out.assign(1, make_info(in[0].dtype, in[0].shape));
  out[0].shape_known = in[0].shape_known;
  return Status::ok();
}

Status infer_same_float(const Node& node,
                        std::span<const TypeInfo> in,
                        std::vector<TypeInfo>& out) {
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "the input"));
  return infer_same(node, in, out);
}

}  // namespace nncert::ops

namespace nncert::ops {

Tensor sum_to_shape(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape)
    return grad;
  Tensor out(grad.dtype(), shape);
  const auto st = broadcast_strides(shape, grad.shape());
  (void)NNCERT_ANY_DISPATCH(grad.dtype(), T, {
    const T* pg = grad.data<T>();
    T* po = out.data<T>();
    std::fill(po, po + out.numel(), T(0));
    for_each_run(grad.shape(), st, [&](int64_t i, int64_t off, int64_t n, int64_t s) {
      if (s == 0) {
        T acc = T(0);
        for (int64_t k = 0; k < n; ++k)
          acc += pg[i + k];
        po[off] += acc;
      } else {
        for (int64_t k = 0; k < n; ++k)
          po[off + k * s] += pg[i + k];
      }
    });
  });
  return out;
}

}  // namespace nncert::ops
