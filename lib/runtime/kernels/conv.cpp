// Convolution as im2col + GEMM, transposed convolution as GEMM + col2im. Every problem is
// lifted to three spatial dims (missing leading dims get extent 1, kernel 1, no padding), so one
// code path serves 1-D, 2-D and 3-D. Work is cut into (batch, group, output-tile) items whose
// layout depends only on the shapes, so results do not depend on the thread count.
#include "runtime/kernels/conv.h"

#include <algorithm>
#include <array>

#include <Eigen/Dense>

#include "core/parallel.h"
#include "runtime/kernels/gemm.h"

namespace nncert::kernels {

namespace {

using A3 = std::array<int64_t, 3>;

// A convolution problem lifted to 3 spatial dims.
struct Geo {
  A3 in{1, 1, 1};   // input spatial extents (of x for conv, of x for conv_transpose)
  A3 out{1, 1, 1};  // output spatial extents
  A3 k{1, 1, 1};
  A3 s{1, 1, 1};
  A3 d{1, 1, 1};
  A3 pb{0, 0, 0};
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t k_size() const { return k[0] * k[1] * k[2]; }
};

Geo make_geo(const ConvParams& p, const Shape& x_shape, const Shape& y_shape) {
  const size_t r = x_shape.size() - 2;
  NNCERT_CHECK(r >= 1 && r <= 3, "convolution needs 1 to 3 spatial dims");
  NNCERT_CHECK(y_shape.size() == x_shape.size(), "convolution output rank mismatch");
  NNCERT_CHECK(p.kernel.size() == r && p.stride.size() == r && p.dilation.size() == r &&
                   p.pad_begin.size() == r,
               "convolution parameters do not match the spatial rank");
  Geo g;
  for (size_t i = 0; i < r; ++i) {
    const size_t j = 3 - r + i;
    g.in[j] = x_shape[i + 2];
    g.out[j] = y_shape[i + 2];
    g.k[j] = p.kernel[i];
    g.s[j] = p.stride[i];
    g.d[j] = p.dilation[i];
    g.pb[j] = p.pad_begin[i];
  }
  return g;
}

// Floor division for a possibly negative numerator and a positive denominator.
int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// Range [lo, hi) of q in [0, run) with 0 <= (o + q) * s + base < limit.
void valid_range(
    int64_t o, int64_t run, int64_t s, int64_t base, int64_t limit, int64_t& lo, int64_t& hi) {
  // (o+q)*s + base >= 0  <=>  q >= ceil(-base / s) - o
  lo = std::clamp(-floor_div(base, s) - o, int64_t{0}, run);
  // (o+q)*s + base <= limit-1  <=>  q <= floor((limit-1-base) / s) - o
  hi = std::clamp(floor_div(limit - 1 - base, s) - o + 1, lo, run);
}

// col[(c,k0,k1,k2), p - p0] = x[c, o*s - pb + k*d] (0 outside), for output positions
// p in [p0, p1) (flat over g.out). x: [cg, *in]; col: [cg*K, p1-p0].
// `ld`: the row stride of col (default p1 - p0; larger when several examples share one matrix).
template <class T>
void im2col(const Geo& g, const T* x, int64_t cg, int64_t p0, int64_t p1, T* col, int64_t ld = 0) {
  const int64_t tp = p1 - p0;
  if (ld <= 0)
    ld = tp;
  const int64_t o12 = g.out[1] * g.out[2];
  int64_t row = 0;
  for (int64_t c = 0; c < cg; ++c) {
    const T* xc = x + c * g.in_size();
    for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
      for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
        for (int64_t k2 = 0; k2 < g.k[2]; ++k2, ++row) {
          T* dst = col + row * ld;
          int64_t o0 = p0 / o12;
          int64_t o1 = (p0 % o12) / g.out[2];
          int64_t o2 = p0 % g.out[2];
          const int64_t base2 = k2 * g.d[2] - g.pb[2];
          // The valid range of a whole output row (o2 = 0, run = out[2]), the common case.
          int64_t row_lo = 0;
          int64_t row_hi = 0;
          valid_range(0, g.out[2], g.s[2], base2, g.in[2], row_lo, row_hi);
          const int64_t s2 = g.s[2];
          for (int64_t p = 0; p < tp;) {
            const int64_t run = std::min(g.out[2] - o2, tp - p);
            const int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
            const int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
            T* out = dst + p;
            if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1]) {
              std::fill(out, out + run, T(0));
            } else {
              const T* src = xc + (i0 * g.in[1] + i1) * g.in[2];
              int64_t lo = row_lo;
              int64_t hi = row_hi;
              if (o2 != 0 || run != g.out[2])
                valid_range(o2, run, s2, base2, g.in[2], lo, hi);
              for (int64_t q = 0; q < lo; ++q)
                out[q] = T(0);
              const T* sp = src + o2 * s2 + base2;
              if (s2 == 1) {
                for (int64_t q = lo; q < hi; ++q)
                  out[q] = sp[q];
              } else if (s2 == 2) {
                for (int64_t q = lo; q < hi; ++q)
                  out[q] = sp[2 * q];
              } else {
                for (int64_t q = lo; q < hi; ++q)
                  out[q] = sp[q * s2];
              }
              for (int64_t q = hi; q < run; ++q)
                out[q] = T(0);
            }
            p += run;
            o2 = 0;
            if (++o1 == g.out[1]) {
              o1 = 0;
              ++o0;
            }
          }
        }
      }
    }
  }
}

// y[m, i*s - pb + k*d] += col[(m,k0,k1,k2), p - p0] for input positions p in [p0, p1)
// (flat over g.in). Here g.in is the transposed conv's input, g.out its output. y: [mg, *out].
template <class T>
void col2im(const Geo& g, const T* col, int64_t mg, int64_t p0, int64_t p1, T* y) {
  const int64_t tp = p1 - p0;
  const int64_t i12 = g.in[1] * g.in[2];
  int64_t row = 0;
  for (int64_t m = 0; m < mg; ++m) {
    T* ym = y + m * g.out_size();
    for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
      for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
        for (int64_t k2 = 0; k2 < g.k[2]; ++k2, ++row) {
          const T* src = col + row * tp;
          int64_t i0 = p0 / i12;
          int64_t i1 = (p0 % i12) / g.in[2];
          int64_t i2 = p0 % g.in[2];
          const int64_t base2 = k2 * g.d[2] - g.pb[2];
          for (int64_t p = 0; p < tp;) {
            const int64_t run = std::min(g.in[2] - i2, tp - p);
            const int64_t o0 = i0 * g.s[0] - g.pb[0] + k0 * g.d[0];
            const int64_t o1 = i1 * g.s[1] - g.pb[1] + k1 * g.d[1];
            if (o0 >= 0 && o0 < g.out[0] && o1 >= 0 && o1 < g.out[1]) {
              T* dst = ym + (o0 * g.out[1] + o1) * g.out[2];
              int64_t lo = 0;
              int64_t hi = 0;
              valid_range(i2, run, g.s[2], base2, g.out[2], lo, hi);
              for (int64_t q = lo; q < hi; ++q)
                dst[(i2 + q) * g.s[2] + base2] += src[p + q];
            }
            p += run;
            i2 = 0;
            if (++i1 == g.in[1]) {
              i1 = 0;
              ++i0;
            }
          }
        }
      }
    }
  }
}

// Positions per im2col / col2im tile: keeps the column buffer near kColBudget elements.
constexpr int64_t kColBudget = int64_t{1} << 20;
constexpr int64_t kMinTile = 256;

// Examples per batched im2col + GEMM chunk: column matrices near kChunkBudget elements (cache
// sized, and several chunks per batch so that threads share them). Depends on shapes only.
constexpr int64_t kChunkBudget = int64_t{1} << 17;
int64_t chunk_examples(int64_t rows, int64_t positions, int64_t batch) {
  return std::clamp<int64_t>(
      kChunkBudget / std::max<int64_t>(rows * positions, 1), 1, std::max<int64_t>(batch, 1));
}

int64_t tile_size(int64_t rows, int64_t positions) {
  if (rows * positions <= kColBudget)
    return std::max<int64_t>(positions, 1);
  return std::min(positions, std::max(kMinTile, kColBudget / std::max<int64_t>(rows, 1)));
}

}  // namespace

int64_t conv_out_extent(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  const int64_t num = in + pb + pe - d * (k - 1) - 1;
  if (num < 0 || s <= 0)
    return 0;
  return num / s + 1;
}

int64_t conv_transpose_out_extent(
    int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, int64_t output_padding) {
  return s * (in - 1) + output_padding + d * (k - 1) + 1 - pb - pe;
}

template <class T>
void conv_forward(const ConvParams& p,
                  const Shape& x_shape,
                  const T* x,
                  const Shape& w_shape,
                  const T* w,
                  const T* bias,
                  const Shape& y_shape,
                  T* y,
                  int threads) {
  const Geo g = make_geo(p, x_shape, y_shape);
  const int64_t batch = x_shape[0];
  const int64_t c = x_shape[1];
  const int64_t m = y_shape[1];
  const int64_t groups = std::max<int64_t>(p.groups, 1);
  NNCERT_CHECK(c % groups == 0 && m % groups == 0 && w_shape[0] == m && w_shape[1] * groups == c,
               "conv_forward: channel counts do not match the weight");
  const int64_t cg = c / groups;
  const int64_t mg = m / groups;
  const int64_t kk = g.k_size();
  const int64_t rows = cg * kk;  // GEMM depth
  const int64_t positions = g.out_size();
  if (batch == 0 || m == 0 || positions == 0)
    return;

  bool pointwise = true;  // 1x1 kernel, stride 1, no padding: x itself is the column matrix
  for (size_t i = 0; i < 3; ++i)
    pointwise = pointwise && g.k[i] == 1 && g.s[i] == 1 && g.pb[i] == 0 && g.out[i] == g.in[i];
  const int64_t tile = pointwise ? positions : tile_size(rows, positions);
  if (!pointwise && tile == positions) {
    // Examples in chunks (conv_weight_grad's): Y_c[mg, nb * P] = W_g[mg, rows] * Col_c[rows, nb *
    // P], then scattered to y with the bias; chunks and groups in parallel.
    const int64_t nb = chunk_examples(rows, positions, batch);
    const int64_t chunks = (batch + nb - 1) / nb;
    parallel_for(chunks * groups, threads, 1, [&](int64_t first, int64_t last) {
      std::vector<T> col, tmp;
      for (int64_t it = first; it < last; ++it) {
        const int64_t gi = it % groups;
        const int64_t n0 = (it / groups) * nb;
        const int64_t cnt = std::min(batch - n0, nb);
        const int64_t ld = cnt * positions;
        col.resize(static_cast<size_t>(rows * ld));
        tmp.resize(static_cast<size_t>(mg * ld));
        for (int64_t e = 0; e < cnt; ++e)
          im2col(g,
                 x + ((n0 + e) * c + gi * cg) * g.in_size(),
                 cg,
                 0,
                 positions,
                 col.data() + e * positions,
                 ld);
        gemm(false, false, mg, ld, rows, T(1), w + gi * mg * rows, col.data(), T(0), tmp.data(), 1);
        for (int64_t e = 0; e < cnt; ++e)
          for (int64_t j = 0; j < mg; ++j) {
            T* yrow = y + ((n0 + e) * m + gi * mg + j) * positions;
            const T* src = tmp.data() + j * ld + e * positions;
            const T b = bias ? bias[gi * mg + j] : T(0);
            for (int64_t q = 0; q < positions; ++q)
              yrow[q] = src[q] + b;
          }
      }
    });
    return;
  }
  const int64_t tiles = (positions + tile - 1) / tile;
  const int64_t items = batch * groups * tiles;
  const int nthreads = resolve_threads(threads);
  const bool outer = items >= nthreads;
  const int inner_threads = outer ? 1 : nthreads;
  const double item_work = 2.0 * static_cast<double>(mg * rows) * static_cast<double>(tile);
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(1e6 / std::max(item_work, 1.0)));

  auto body = [&](int64_t first, int64_t last) {
    std::vector<T> col;
    std::vector<T> tmp;
    for (int64_t it = first; it < last; ++it) {
      const int64_t t = it % tiles;
      const int64_t ng = it / tiles;
      const int64_t gi = ng % groups;
      const int64_t n = ng / groups;
      const int64_t p0 = t * tile;
      const int64_t p1 = std::min(positions, p0 + tile);
      const int64_t tp = p1 - p0;
      const T* xg = x + (n * c + gi * cg) * g.in_size();
      T* yg = y + (n * m + gi * mg) * positions;
      const T* wg = w + gi * mg * rows;
      const T* cols = xg;
      if (!pointwise) {
        col.resize(static_cast<size_t>(rows * tp));
        im2col(g, xg, cg, p0, p1, col.data());
        cols = col.data();
      }
      T* dst = yg;
      if (tp != positions) {
        tmp.resize(static_cast<size_t>(mg * tp));
        dst = tmp.data();
      }
      gemm(false, false, mg, tp, rows, T(1), wg, cols, T(0), dst, inner_threads);
      for (int64_t j = 0; j < mg; ++j) {
        T* yrow = yg + j * positions + p0;
        const T* src = dst + j * tp;
        const T b = bias ? bias[gi * mg + j] : T(0);
        if (dst != yg) {
          for (int64_t q = 0; q < tp; ++q)
            yrow[q] = src[q] + b;
        } else if (bias) {
          for (int64_t q = 0; q < tp; ++q)
            yrow[q] += b;
        }
      }
    }
  };
  if (outer) {
    parallel_for(items, nthreads, grain, body);
  } else {
    body(0, items);
  }
}

template <class T>
void conv_transpose_forward(const ConvParams& p,
                            const Shape& x_shape,
                            const T* x,
                            const Shape& w_shape,
                            const T* w,
                            const T* bias,
                            const Shape& y_shape,
                            T* y,
                            int threads) {
  const Geo g = make_geo(p, x_shape, y_shape);
  const int64_t batch = x_shape[0];
  const int64_t c = x_shape[1];
  const int64_t m = y_shape[1];
  const int64_t groups = std::max<int64_t>(p.groups, 1);
  NNCERT_CHECK(c % groups == 0 && m % groups == 0 && w_shape[0] == c && w_shape[1] * groups == m,
               "conv_transpose_forward: channel counts do not match the weight");
  const int64_t cg = c / groups;
  const int64_t mg = m / groups;
  const int64_t rows = mg * g.k_size();  // rows of the column matrix
  const int64_t in_positions = g.in_size();
  const int64_t out_positions = g.out_size();
  if (batch == 0 || m == 0 || out_positions == 0)
    return;
  const int64_t tile = tile_size(rows, in_positions);
  const int64_t items = batch * groups;  // tiles of one item overlap in y: kept sequential
  const int nthreads = resolve_threads(threads);
  const bool outer = items >= nthreads;
  const int inner_threads = outer ? 1 : nthreads;

  auto body = [&](int64_t first, int64_t last) {
    std::vector<T> col;
    for (int64_t it = first; it < last; ++it) {
      const int64_t gi = it % groups;
      const int64_t n = it / groups;
      const T* xg = x + (n * c + gi * cg) * in_positions;  // [cg, in]
      const T* wg = w + gi * cg * rows;                    // [cg, mg*K]
      T* yg = y + (n * m + gi * mg) * out_positions;       // [mg, out]
      std::fill(yg, yg + mg * out_positions, T(0));
      // Mostly-zero inputs (CROWN's coefficient rows, e.g. one-hot rows of an intermediate
      // pass): scatter only the positions that hold a non-zero value.
      std::vector<int64_t> nz;
      for (int64_t q = 0; q < in_positions; ++q)
        for (int64_t ch = 0; ch < cg; ++ch)
          if (xg[ch * in_positions + q] != T(0)) {
            nz.push_back(q);
            break;
          }
      if (static_cast<int64_t>(nz.size()) * 4 <= in_positions) {
        col.resize(static_cast<size_t>(rows));
        for (int64_t q : nz) {
          std::fill(col.begin(), col.end(), T(0));
          for (int64_t ch = 0; ch < cg; ++ch) {
            const T xv = xg[ch * in_positions + q];
            if (xv == T(0))
              continue;
            const T* wr = wg + ch * rows;
            for (int64_t r = 0; r < rows; ++r)
              col[static_cast<size_t>(r)] += wr[r] * xv;
          }
          col2im(g, col.data(), mg, q, q + 1, yg);
        }
      }
      const bool dense = static_cast<int64_t>(nz.size()) * 4 > in_positions;
      for (int64_t p0 = 0; dense && p0 < in_positions; p0 += tile) {
        const int64_t p1 = std::min(in_positions, p0 + tile);
        const int64_t tp = p1 - p0;
        col.resize(static_cast<size_t>(rows * tp));
        if (tp == in_positions) {
          gemm(true, false, rows, tp, cg, T(1), wg, xg, T(0), col.data(), inner_threads);
        } else {
          // x tile columns are strided: map them directly.
          using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
          Eigen::Map<const Mat> wm(wg, cg, rows);
          Eigen::Map<const Mat, 0, Eigen::OuterStride<>> xm(
              xg + p0, cg, tp, Eigen::OuterStride<>(in_positions));
          Eigen::Map<Mat> cm(col.data(), rows, tp);
          cm.noalias() = wm.transpose() * xm;
        }
        col2im(g, col.data(), mg, p0, p1, yg);
      }
      if (bias) {
        for (int64_t j = 0; j < mg; ++j) {
          const T b = bias[gi * mg + j];
          T* yrow = yg + j * out_positions;
          for (int64_t q = 0; q < out_positions; ++q)
            yrow[q] += b;
        }
      }
    }
  };
  if (outer) {
    parallel_for(items, nthreads, 1, body);
  } else {
    body(0, items);
  }
}

template <class T>
void conv_weight_grad(const ConvParams& p,
                      const Shape& a_shape,
                      const T* a,
                      const Shape& b_shape,
                      const T* b,
                      const Shape& w_shape,
                      T* gw,
                      int threads) {
  const Geo g = make_geo(p, a_shape, b_shape);
  const int64_t batch = a_shape[0];
  const int64_t ca = a_shape[1];
  const int64_t cb = b_shape[1];
  const int64_t groups = std::max<int64_t>(p.groups, 1);
  NNCERT_CHECK(ca % groups == 0 && cb % groups == 0 && w_shape[0] == cb &&
                   w_shape[1] * groups == ca && b_shape[0] == batch,
               "conv_weight_grad: channel counts do not match the weight");
  const int64_t cga = ca / groups;
  const int64_t cgb = cb / groups;
  const int64_t rows = cga * g.k_size();  // GEMM width: one column of gw per (c, k)
  const int64_t positions = g.out_size();
  std::fill(gw, gw + cb * rows, T(0));
  if (batch == 0 || positions == 0 || rows == 0)
    return;
  bool pointwise = true;  // as in conv_forward: a itself is the column matrix
  for (size_t i = 0; i < 3; ++i)
    pointwise = pointwise && g.k[i] == 1 && g.s[i] == 1 && g.pb[i] == 0 && g.out[i] == g.in[i];
  const int64_t tile = pointwise ? positions : tile_size(rows, positions);
  const int nthreads = resolve_threads(threads);
  // Items are groups (disjoint blocks of gw); batch items and tiles accumulate into one block in
  // a fixed order, so the sums do not depend on the thread count.
  if (!pointwise && tile == positions) {
    // Examples in chunks of nb (fixed by the shapes): one GEMM per chunk over all its positions,
    //   part_c[cgb, rows] = B_c[cgb, nb * P] * Col_c[rows, nb * P]^T,
    // chunks in parallel, the parts summed in chunk order (the same sums for every thread count).
    const int64_t nb = chunk_examples(rows, positions, batch);
    const int64_t chunks = (batch + nb - 1) / nb;
    for (int64_t gi = 0; gi < groups; ++gi) {
      T* gwg = gw + gi * cgb * rows;
      std::vector<T> parts(static_cast<size_t>(chunks * cgb * rows));
      parallel_for(chunks, nthreads, 1, [&](int64_t first, int64_t last) {
        std::vector<T> col, bt;
        for (int64_t ci = first; ci < last; ++ci) {
          const int64_t n0 = ci * nb;
          const int64_t cnt = std::min(batch - n0, nb);
          const int64_t ld = cnt * positions;
          col.resize(static_cast<size_t>(rows * ld));
          bt.resize(static_cast<size_t>(cgb * ld));
          for (int64_t e = 0; e < cnt; ++e) {
            const int64_t n = n0 + e;
            im2col(g,
                   a + (n * ca + gi * cga) * g.in_size(),
                   cga,
                   0,
                   positions,
                   col.data() + e * positions,
                   ld);
            const T* bg = b + (n * cb + gi * cgb) * positions;
            for (int64_t j = 0; j < cgb; ++j)
              std::copy_n(bg + j * positions, positions, bt.data() + j * ld + e * positions);
          }
          gemm(false,
               true,
               cgb,
               rows,
               ld,
               T(1),
               bt.data(),
               col.data(),
               T(0),
               parts.data() + ci * cgb * rows,
               1);
        }
      });
      for (int64_t ci = 0; ci < chunks; ++ci) {
        const T* pp = parts.data() + ci * cgb * rows;
        for (int64_t i = 0; i < cgb * rows; ++i)
          gwg[i] += pp[i];
      }
    }
    return;
  }
  const bool outer = groups >= nthreads;
  const int inner_threads = outer ? 1 : nthreads;
  auto body = [&](int64_t first, int64_t last) {
    std::vector<T> col;
    std::vector<T> tmp;
    for (int64_t gi = first; gi < last; ++gi) {
      T* gwg = gw + gi * cgb * rows;  // [cgb, rows]
      for (int64_t n = 0; n < batch; ++n) {
        const T* ag = a + (n * ca + gi * cga) * g.in_size();  // [cga, *in]
        const T* bg = b + (n * cb + gi * cgb) * positions;    // [cgb, positions]
        for (int64_t p0 = 0; p0 < positions; p0 += tile) {
          const int64_t p1 = std::min(positions, p0 + tile);
          const int64_t tp = p1 - p0;
          const T* cols = ag;
          if (!pointwise) {
            col.resize(static_cast<size_t>(rows * tp));
            im2col(g, ag, cga, p0, p1, col.data());
            cols = col.data();
          }
          const T* bt = bg;
          if (tp != positions) {
            tmp.resize(static_cast<size_t>(cgb * tp));
            for (int64_t j = 0; j < cgb; ++j)
              std::copy_n(bg + j * positions + p0, tp, tmp.data() + j * tp);
            bt = tmp.data();
          }
          // gw_g[cgb, rows] += b_tile[cgb, tp] * col[rows, tp]^T
          gemm(false, true, cgb, rows, tp, T(1), bt, cols, T(1), gwg, inner_threads);
        }
      }
    }
  };
  if (outer) {
    parallel_for(groups, nthreads, 1, body);
  } else {
    body(0, groups);
  }
}

#define NNCERT_INSTANTIATE_CONV(T)                           \
  template void conv_forward<T>(const ConvParams&,           \
                                const Shape&,                \
                                const T*,                    \
                                const Shape&,                \
                                const T*,                    \
                                const T*,                    \
                                const Shape&,                \
                                T*,                          \
                                int);                        \
  template void conv_transpose_forward<T>(const ConvParams&, \
                                          const Shape&,      \
                                          const T*,          \
                                          const Shape&,      \
                                          const T*,          \
                                          const T*,          \
                                          const Shape&,      \
                                          T*,                \
                                          int);              \
  template void conv_weight_grad<T>(                         \
      const ConvParams&, const Shape&, const T*, const Shape&, const T*, const Shape&, T*, int);
NNCERT_INSTANTIATE_CONV(float)
NNCERT_INSTANTIATE_CONV(double)
#undef NNCERT_INSTANTIATE_CONV

}  // namespace nncert::kernels
