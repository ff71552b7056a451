// Pow: elementwise y = a ^ b with numpy broadcasting. Bound propagation supports a constant
// exponent; the runtime computes any exponent.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/elementwise.h"
#include "ops/interval.h"
#include "ops/vjp_util.h"

namespace nncert::ops {
namespace {

Status infer(const Node& node, std::span<const TypeInfo> in, std::vector<TypeInfo>& out) {
  NNCERT_RETURN_IF_ERROR(expect_float(in, 0, "the base"));
  Shape s = in[0].shape;
  if (in[0].shape_known && in[1].shape_known) {
    NNCERT_ASSIGN_OR_RETURN(s, broadcast_shapes(in[0].shape, in[1].shape));
  }
  out.assign(1, make_info(in[0].dtype, s));
  out[0].shape_known = in[0].shape_known && in[1].shape_known;
  return Status::ok();
}

// y = a ^ b; x^2 and x^0.5 take exact fast paths so that Pow(x, 2) == x * x bit for bit.
Status forward(const Node& node,
               std::span<const Tensor> in,
               std::span<const TypeInfo> out_types,
               std::vector<Tensor>& out,
               const ExecContext& ctx) {
  Tensor exponent = in[1].to(in[0].dtype());
  return forward_binary(
      std::vector<Tensor>{in[0], exponent},
      out,
      out_types,
      [](auto a, auto b) -> decltype(a) {
        if (b == decltype(b)(2))
          return a * a;
        if (b == decltype(b)(1))
          return a;
        if constexpr (std::is_floating_point_v<decltype(b)>) {
          if (b == decltype(b)(0.5))
            return std::sqrt(a);
        }
        return static_cast<decltype(a)>(std::pow(a, b));
      },
      ctx);
}

// [a]^p for a constant scalar exponent p:
//   integer p, even: [min(|a|)^p, max(|a|)^p] (min |a| = 0 when 0 is in [a]); odd: monotone;
//   p > 0 non-integer: monotone on a >= 0; p < 0: decreasing on a > 0; otherwise unbounded.
Status ibp(const Node& node,
           std::span<const Interval> in,
           std::span<const TypeInfo> out_types,
           std::vector<Interval>& out,
           const ExecContext& ctx) {
  if (!is_exact(in[1]) || in[1].lo.numel() != 1)
    return unsupported("Pow bounds need a constant scalar exponent");
  const double p = in[1].lo.get(0);
  if (in[0].lo.shape() != out_types[0].shape)
    return unsupported("Pow bounds with broadcasting");
  Interval r{Tensor(out_types[0].dtype, out_types[0].shape),
             Tensor(out_types[0].dtype, out_types[0].shape)};
  const bool integer = std::floor(p) == p;
  const bool even = integer && std::fmod(std::abs(p), 2.0) == 0;
  const double inf = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < r.lo.numel(); ++i) {
    const double l = in[0].lo.get(i), h = in[0].hi.get(i);
    double ol = -inf, oh = inf;
    if (p == 0) {
      ol = oh = 1;
    } else if (even) {
      const double amin = (l <= 0 && h >= 0) ? 0.0 : std::min(std::abs(l), std::abs(h));
      const double amax = std::max(std::abs(l), std::abs(h));
      if (p > 0) {
        ol = std::pow(amin, p);
        oh = std::pow(amax, p);
      } else if (amin > 0) {
        ol = std::pow(amax, p);
        oh = std::pow(amin, p);
      }
    } else if (integer && p > 0) {
      ol = std::pow(l, p);
      oh = std::pow(h, p);
    } else if (integer && (l > 0 || h < 0)) {  // odd negative: decreasing on each side of 0
      ol = std::pow(h, p);
      oh = std::pow(l, p);
    } else if (!integer && l >= 0) {
      if (p > 0) {
        ol = std::pow(l, p);
        oh = std::pow(h, p);
      } else if (l > 0) {
        ol = std::pow(h, p);
        oh = std::pow(l, p);
      }
    }
    r.lo.set(i, ol);
    r.hi.set(i, oh);
  }
  out = {r};
  return Status::ok();
}

// y = a^b: dL/da = unbroadcast(dL/dy * b * a^(b-1)), dL/db = unbroadcast(dL/dy * y * log(a))
// (a float exponent only; the log term is 0 where y == 0)
Status vjp(const Node& /*node*/,
           std::span<const Tensor> in,
           std::span<const Tensor> out,
           std::span<const Tensor> grad_out,
           std::vector<Tensor>& grad_in,
           const ExecContext& /*ctx*/) {
  return vjp_binary(
      in,
      out,
      grad_out,
      grad_in,
      [](auto a, auto b, auto) {
        using T = decltype(a);
        return b == T(0) ? T(0) : b * std::pow(a, b - T(1));
      },
      [](auto a, auto, auto y) {
        using T = decltype(a);
        return y == T(0) ? T(0) : y * std::log(a);
      });
}

}  // namespace

extern const OpDef kOpPow{"Pow", 2, 2, &infer, &forward, nullptr, &ibp, &vjp};

}  // namespace nncert::ops
