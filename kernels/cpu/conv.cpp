// conv2d CPU kernels: path dispatch, im2col/col2im and the GEMM-based paths (pointwise and
// im2col). The direct depthwise kernels live in conv_depthwise.cpp.
// Gradients overwrite (=) dx, dw and db.
#include <omp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/common/conv.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/gemm.h"

namespace xgd::kernels::cpu {

ConvGeom conv_geom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                   int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                   int64_t groups) {
  ConvGeom g;
  g.N = N, g.C = C, g.H = H, g.W = W, g.K = K, g.KH = KH, g.KW = KW;
  g.sh = sh, g.sw = sw, g.ph = ph, g.pw = pw, g.dh = dh, g.dw = dw, g.groups = groups;
  g.OH = conv_out_size(H, KH, sh, ph, dh);
  g.OW = conv_out_size(W, KW, sw, pw, dw);
  return g;
}

namespace {

// Default im2col tile: ~2 MB of columns (the L2 of one core here, 4 MiB for 2), so gemm packs
// its B panels from cache; at least 512 output pixels so gemm still gets a wide N.
constexpr int64_t kColBudgetBytes = 2 << 20;
constexpr int64_t kMinTilePixels = 512;

int num_threads() {
  return omp_in_parallel() ? 1 : omp_get_max_threads();
}

// Outer parallelism (one work item per thread, single-threaded gemm) when the items divide
// evenly among the threads or are plentiful enough that the imbalance is small.
bool use_outer(const ConvOptions& opt, int64_t items, int threads) {
  if (threads <= 1) return false;
  if (opt.threads != ConvThreads::Auto) return opt.threads == ConvThreads::Outer;
  return items >= threads && (items % threads == 0 || items >= 4 * threads);
}

// A forced path that does not fit the geometry runs im2col, which fits every geometry.
ConvAlgo pick_algo(const ConvGeom& g, const ConvOptions& opt) {
  if (opt.algo == ConvAlgo::Im2col) return ConvAlgo::Im2col;
  if (opt.algo == ConvAlgo::Depthwise) return g.is_depthwise() ? opt.algo : ConvAlgo::Im2col;
  if (opt.algo == ConvAlgo::Pointwise) return g.is_pointwise() ? opt.algo : ConvAlgo::Im2col;
  if (g.is_depthwise()) return ConvAlgo::Depthwise;
  if (g.is_pointwise()) return ConvAlgo::Pointwise;
  return ConvAlgo::Im2col;
}

// Output rows per im2col tile for a column buffer of `rows` rows of OW pixels each.
int64_t tile_rows(const ConvGeom& g, int64_t rows, size_t elem, const ConvOptions& opt) {
  const int64_t row_bytes = std::max<int64_t>(1, rows * g.OW * static_cast<int64_t>(elem));
  int64_t t = opt.col_budget_bytes > 0
                  ? opt.col_budget_bytes / row_bytes  // exact (tests)
                  : std::max(kColBudgetBytes / row_bytes, (kMinTilePixels + g.OW - 1) / g.OW);
  return std::clamp<int64_t>(t, 1, g.OH);
}

// Pixel-column tiles of the pointwise path: only to split work among threads when there are
// fewer images than threads.
int64_t pointwise_tiles(const ConvGeom& g, int threads) {
  if (g.N >= threads) return 1;
  int64_t want = (threads + g.N - 1) / g.N;
  return std::clamp<int64_t>(want, 1, std::max<int64_t>(1, g.H * g.W / 256));
}

template <class T>
void fill_bias_rows(T* y, const T* b, int64_t rows, int64_t cols, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) std::fill(y + r * ld, y + r * ld + cols, b[r]);
}

// ---------------------------------------------------------------- pointwise (1×1, s1, p0)
// Per image and group: y (Kg, HW) = w (Kg, Cg) · x (Cg, HW), on pixel columns [p0, p1).
template <class T>
void pointwise_forward_tile(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, int64_t n,
                            int64_t p0, int64_t p1) {
  const int64_t HW = g.H * g.W, Cg = g.Cg(), Kg = g.Kg();
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    const T* xg = x + (n * g.C + grp * Cg) * HW + p0;  // (Cg, HW)
    T* yg = y + (n * g.K + grp * Kg) * HW + p0;        // (Kg, HW)
    if (b) fill_bias_rows(yg, b + grp * Kg, Kg, p1 - p0, HW);
    gemm<T>(false, false, Kg, p1 - p0, Cg, T(1), w + grp * Kg * Cg, Cg, xg, HW, b ? T(1) : T(0), yg,
            HW);
  }
}

// dx (Cg, HW) = wᵀ (Cg, Kg) · dy (Kg, HW)
template <class T>
void pointwise_backward_data_tile(const ConvGeom& g, const T* dy, const T* w, T* dx, int64_t n,
                                  int64_t p0, int64_t p1) {
  const int64_t HW = g.H * g.W, Cg = g.Cg(), Kg = g.Kg();
  for (int64_t grp = 0; grp < g.groups; ++grp)
    gemm<T>(true, false, Cg, p1 - p0, Kg, T(1), w + grp * Kg * Cg, Cg,
            dy + (n * g.K + grp * Kg) * HW + p0, HW, T(0), dx + (n * g.C + grp * Cg) * HW + p0, HW);
}

// dw (Kg, Cg) (+)= dy (Kg, HW) · xᵀ (HW, Cg)
template <class T>
void pointwise_backward_weight_tile(const ConvGeom& g, const T* x, const T* dy, T* dw, int64_t n,
                                    int64_t p0, int64_t p1, bool accumulate) {
  const int64_t HW = g.H * g.W, Cg = g.Cg(), Kg = g.Kg();
  for (int64_t grp = 0; grp < g.groups; ++grp)
    gemm<T>(false, true, Kg, Cg, p1 - p0, T(1), dy + (n * g.K + grp * Kg) * HW + p0, HW,
            x + (n * g.C + grp * Cg) * HW + p0, HW, accumulate ? T(1) : T(0), dw + grp * Kg * Cg,
            Cg);
}

// ---------------------------------------------------------------- im2col tiles
// Forward of output rows [oh0, oh1) of image n: col (C·KH·KW, P) then per group
// y (Kg, P) = w (Kg, Cg·KH·KW) · col_g (Cg·KH·KW, P), P = (oh1 - oh0)·OW.
template <class T>
void im2col_forward_tile(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, int64_t n,
                         int64_t oh0, int64_t oh1, T* col) {
  const int64_t OHW = g.OH * g.OW, P = (oh1 - oh0) * g.OW, Kg = g.Kg();
  const int64_t CgKK = g.Cg() * g.KH * g.KW;
  im2col(g, x + n * g.C * g.H * g.W, 0, g.C, oh0, oh1, col);
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    T* yg = y + (n * g.K + grp * Kg) * OHW + oh0 * g.OW;  // (Kg, P), row stride OHW
    if (b) fill_bias_rows(yg, b + grp * Kg, Kg, P, OHW);
    gemm<T>(false, false, Kg, P, CgKK, T(1), w + grp * Kg * CgKK, CgKK, col + grp * CgKK * P, P,
            b ? T(1) : T(0), yg, OHW);
  }
}

// Data gradient of image n: per tile, col_g = w_gᵀ (Cg·KH·KW, Kg) · dy_g (Kg, P), then col2im.
template <class T>
void im2col_backward_data_image(const ConvGeom& g, const T* dy, const T* w, T* dx, int64_t n,
                                int64_t rows_per_tile, T* col) {
  const int64_t OHW = g.OH * g.OW, Kg = g.Kg(), CgKK = g.Cg() * g.KH * g.KW;
  T* dxn = dx + n * g.C * g.H * g.W;
  std::fill(dxn, dxn + g.C * g.H * g.W, T(0));
  for (int64_t oh0 = 0; oh0 < g.OH; oh0 += rows_per_tile) {
    const int64_t oh1 = std::min(g.OH, oh0 + rows_per_tile), P = (oh1 - oh0) * g.OW;
    for (int64_t grp = 0; grp < g.groups; ++grp)
      gemm<T>(true, false, CgKK, P, Kg, T(1), w + grp * Kg * CgKK, CgKK,
              dy + (n * g.K + grp * Kg) * OHW + oh0 * g.OW, OHW, T(0), col + grp * CgKK * P, P);
    col2im_add(g, col, 0, g.C, oh0, oh1, dxn);
  }
}

// Weight gradient contribution of a tile: dw_g (Kg, Cg·KH·KW) (+)= dy_g (Kg, P) · col_gᵀ.
template <class T>
void im2col_backward_weight_tile(const ConvGeom& g, const T* x, const T* dy, T* dw, int64_t n,
                                 int64_t oh0, int64_t oh1, T* col, bool accumulate) {
  const int64_t OHW = g.OH * g.OW, P = (oh1 - oh0) * g.OW, Kg = g.Kg();
  const int64_t CgKK = g.Cg() * g.KH * g.KW;
  im2col(g, x + n * g.C * g.H * g.W, 0, g.C, oh0, oh1, col);
  for (int64_t grp = 0; grp < g.groups; ++grp)
    gemm<T>(false, true, Kg, CgKK, P, T(1), dy + (n * g.K + grp * Kg) * OHW + oh0 * g.OW, OHW,
            col + grp * CgKK * P, P, accumulate ? T(1) : T(0), dw + grp * Kg * CgKK, CgKK);
}

// The calling thread's im2col buffer, kept between calls (grow-only, uninitialised): a fresh
// multi-MB allocation per call costs page faults and zero-filling that rival the im2col itself.
// OpenMP's worker threads persist, so each keeps its own.
template <class T>
T* thread_scratch(int64_t elems) {
  thread_local std::unique_ptr<T[]> buf;
  thread_local int64_t capacity = 0;
  if (elems > capacity) {
    buf.reset(new T[elems]);
    capacity = elems;
  }
  return buf.get();
}

// Runs tile(item, scratch, accumulate) over `items` work items, either one per thread (each
// thread with its own scratch of `scratch_elems`) or sequentially with a shared scratch so the
// callee's gemm uses the threads. For a reduction (`reduce_elems` > 0, into `out`), each extra
// thread accumulates into a private buffer that is summed into `out` at the end.
template <class T, class F>
void run_items(int64_t items, bool outer, int64_t scratch_elems, T* out, int64_t reduce_elems,
               F&& tile) {
  if (items == 0) {  // an empty batch: the reduction is an empty sum
    if (reduce_elems > 0) std::fill(out, out + reduce_elems, T(0));
    return;
  }
  if (!outer) {
    T* scratch = thread_scratch<T>(scratch_elems);
    for (int64_t i = 0; i < items; ++i) tile(i, scratch, out, i > 0);
    return;
  }
  const int threads = static_cast<int>(std::min<int64_t>(items, omp_get_max_threads()));
  std::vector<std::vector<T>> partial(reduce_elems > 0 ? threads - 1 : 0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    T* scratch = thread_scratch<T>(scratch_elems);
    T* dst = out;
    if (reduce_elems > 0 && t > 0) {
      partial[t - 1].assign(reduce_elems, T(0));
      dst = partial[t - 1].data();
    }
    bool first = true;
    // Static, not dynamic: which items a thread sums into its partial buffer must not depend on
    // timing, or the weight gradient's rounding (and a resumed run's bits) would vary per run.
#pragma omp for schedule(static)
    for (int64_t i = 0; i < items; ++i) {
      // Thread 0 overwrites `out` on its first item; the private buffers start at zero.
      tile(i, scratch, dst, reduce_elems > 0 ? (t > 0 || !first) : false);
      first = false;
    }
    if (reduce_elems > 0 && t == 0 && first) std::fill(out, out + reduce_elems, T(0));
  }
  for (auto& p : partial)
    for (int64_t j = 0; j < reduce_elems; ++j) out[j] += p[j];
}

}  // namespace

// ---------------------------------------------------------------- im2col / col2im
namespace {

// One im2col row (channel plane xc (H, W), tap (kh, kw)) over output rows [oh0, oh1).
// Stride 1 with OW == W ("same" width: 2·pw == dw·(KW - 1), every 3×3/p1 and ASPP conv):
// output pixel q reads x flat index q + shift, so the row is one contiguous copy, then the
// padding positions are zeroed (whole rows outside the image fall outside the copy).
template <class T>
[[gnu::always_inline]] inline void im2col_row(const ConvGeom& g, const T* __restrict xc, int64_t kh,
                                              int64_t kw, int64_t oh0, int64_t oh1,
                                              T* __restrict dst) {
  const TapRange wr = conv_tap_range(g.W, g.OW, kw, g.sw, g.pw, g.dw);
  const int64_t off = kw * g.dw - g.pw, P = (oh1 - oh0) * g.OW;
  if (g.sh == 1 && g.sw == 1 && g.OW == g.W) {
    const int64_t base = oh0 * g.OW + (kh * g.dh - g.ph) * g.W + off;  // x index of dst[0]
    const int64_t lo = std::clamp<int64_t>(-base, 0, P);
    const int64_t hi = std::clamp<int64_t>(g.H * g.W - base, 0, P);
    std::fill(dst, dst + lo, T(0));
    std::copy(xc + (base + lo), xc + (base + hi), dst + lo);
    std::fill(dst + hi, dst + P, T(0));
    if (wr.lo > 0 || wr.hi < g.OW)
      for (int64_t q = 0; q < P; q += g.OW) {
        for (int64_t ow = 0; ow < wr.lo; ++ow) dst[q + ow] = T(0);
        for (int64_t ow = wr.hi; ow < g.OW; ++ow) dst[q + ow] = T(0);
      }
    return;
  }
  for (int64_t oh = oh0; oh < oh1; ++oh, dst += g.OW) {
    const int64_t ih = conv_in_index(oh, kh, g.sh, g.ph, g.dh);
    if (ih < 0 || ih >= g.H) {
      for (int64_t ow = 0; ow < g.OW; ++ow) dst[ow] = T(0);
      continue;
    }
    const T* __restrict xr = xc + ih * g.W;
    for (int64_t ow = 0; ow < wr.lo; ++ow) dst[ow] = T(0);
    if (g.sw == 1) {
      for (int64_t ow = wr.lo; ow < wr.hi; ++ow) dst[ow] = xr[ow + off];
    } else {
      for (int64_t ow = wr.lo; ow < wr.hi; ++ow) dst[ow] = xr[ow * g.sw + off];
    }
    for (int64_t ow = wr.hi; ow < g.OW; ++ow) dst[ow] = T(0);
  }
}

// dx plane (H, W) += the KH·KW col rows of one channel over output rows [oh0, oh1).
template <class T>
[[gnu::always_inline]] inline void col2im_plane(const ConvGeom& g, const T* __restrict col,
                                                int64_t P, int64_t oh0, int64_t oh1,
                                                T* __restrict dxc) {
  for (int64_t kh = 0; kh < g.KH; ++kh)
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const T* __restrict src = col + (kh * g.KW + kw) * P;
      const TapRange wr = conv_tap_range(g.W, g.OW, kw, g.sw, g.pw, g.dw);
      const int64_t off = kw * g.dw - g.pw;
      for (int64_t oh = oh0; oh < oh1; ++oh, src += g.OW) {
        const int64_t ih = conv_in_index(oh, kh, g.sh, g.ph, g.dh);
        if (ih < 0 || ih >= g.H) continue;
        T* __restrict dxr = dxc + ih * g.W;
        if (g.sw == 1) {
          for (int64_t ow = wr.lo; ow < wr.hi; ++ow) dxr[ow + off] += src[ow];
        } else {
          for (int64_t ow = wr.lo; ow < wr.hi; ++ow) dxr[ow * g.sw + off] += src[ow];
        }
      }
    }
}

#define XGD_IM2COL_CLONES(T)                                                                     \
  XGD_CONV_CLONES void im2col_row_isa(const ConvGeom& g, const T* xc, int64_t kh, int64_t kw,    \
                                      int64_t oh0, int64_t oh1, T* dst) {                        \
    im2col_row<T>(g, xc, kh, kw, oh0, oh1, dst);                                                 \
  }                                                                                              \
  XGD_CONV_CLONES void col2im_plane_isa(const ConvGeom& g, const T* col, int64_t P, int64_t oh0, \
                                        int64_t oh1, T* dxc) {                                   \
    col2im_plane<T>(g, col, P, oh0, oh1, dxc);                                                   \
  }
XGD_IM2COL_CLONES(float)
XGD_IM2COL_CLONES(double)
#undef XGD_IM2COL_CLONES

}  // namespace

template <class T>
void im2col(const ConvGeom& g, const T* x, int64_t c0, int64_t nc, int64_t oh0, int64_t oh1,
            T* col) {
  const int64_t KK = g.KH * g.KW, P = (oh1 - oh0) * g.OW;
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && nc * KK * P > 32768)
  for (int64_t r = 0; r < nc * KK; ++r)
    im2col_row_isa(g, x + (c0 + r / KK) * g.H * g.W, (r / g.KW) % g.KH, r % g.KW, oh0, oh1,
                   col + r * P);
}

template <class T>
void col2im_add(const ConvGeom& g, const T* col, int64_t c0, int64_t nc, int64_t oh0, int64_t oh1,
                T* dx) {
  const int64_t KK = g.KH * g.KW, P = (oh1 - oh0) * g.OW;
  // One channel per iteration: its KH·KW rows all land in its own plane (no races).
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && nc * KK * P > 32768)
  for (int64_t c = 0; c < nc; ++c)
    col2im_plane_isa(g, col + c * KK * P, P, oh0, oh1, dx + (c0 + c) * g.H * g.W);
}

// ---------------------------------------------------------------- entry points
template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y,
                    const ConvOptions& opt) {
  const int threads = num_threads();
  switch (pick_algo(g, opt)) {
    case ConvAlgo::Depthwise:
      return depthwise_forward(g, x, w, b, y);
    case ConvAlgo::Pointwise: {
      const int64_t HW = g.H * g.W, tiles = pointwise_tiles(g, threads);
      const bool outer = use_outer(opt, g.N * tiles, threads);
      const int64_t nt = outer ? tiles : 1, step = (HW + nt - 1) / nt;
      run_items<T>(g.N * nt, outer, 0, nullptr, 0, [&](int64_t i, T*, T*, bool) {
        const int64_t p0 = (i % nt) * step;
        pointwise_forward_tile(g, x, w, b, y, i / nt, p0, std::min(HW, p0 + step));
      });
      return;
    }
    default: {
      const int64_t rows = tile_rows(g, g.C * g.KH * g.KW, sizeof(T), opt);
      const int64_t tiles = (g.OH + rows - 1) / rows;
      run_items<T>(g.N * tiles, use_outer(opt, g.N * tiles, threads),
                   g.C * g.KH * g.KW * rows * g.OW, nullptr, 0, [&](int64_t i, T* col, T*, bool) {
                     const int64_t oh0 = (i % tiles) * rows;
                     im2col_forward_tile(g, x, w, b, y, i / tiles, oh0, std::min(g.OH, oh0 + rows),
                                         col);
                   });
    }
  }
}

template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx,
                          const ConvOptions& opt) {
  const int threads = num_threads();
  switch (pick_algo(g, opt)) {
    case ConvAlgo::Depthwise:
      return depthwise_backward_data(g, dy, w, dx);
    case ConvAlgo::Pointwise: {
      const int64_t HW = g.H * g.W, tiles = pointwise_tiles(g, threads);
      const bool outer = use_outer(opt, g.N * tiles, threads);
      const int64_t nt = outer ? tiles : 1, step = (HW + nt - 1) / nt;
      run_items<T>(g.N * nt, outer, 0, nullptr, 0, [&](int64_t i, T*, T*, bool) {
        const int64_t p0 = (i % nt) * step;
        pointwise_backward_data_tile(g, dy, w, dx, i / nt, p0, std::min(HW, p0 + step));
      });
      return;
    }
    default: {
      // Tiles of one image overlap in dx (kernel footprints), so threads split images only.
      const int64_t rows = tile_rows(g, g.C * g.KH * g.KW, sizeof(T), opt);
      run_items<T>(g.N, use_outer(opt, g.N, threads), g.C * g.KH * g.KW * rows * g.OW, nullptr, 0,
                   [&](int64_t n, T* col, T*, bool) {
                     im2col_backward_data_image(g, dy, w, dx, n, rows, col);
                   });
    }
  }
}

template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw,
                            const ConvOptions& opt) {
  const int threads = num_threads();
  const int64_t dw_elems = g.K * g.Cg() * g.KH * g.KW;
  switch (pick_algo(g, opt)) {
    case ConvAlgo::Depthwise:
      return depthwise_backward_weight(g, x, dy, dw);
    case ConvAlgo::Pointwise: {
      const int64_t HW = g.H * g.W, tiles = pointwise_tiles(g, threads);
      const bool outer = use_outer(opt, g.N * tiles, threads);
      const int64_t nt = outer ? tiles : 1, step = (HW + nt - 1) / nt;
      run_items<T>(g.N * nt, outer, 0, dw, dw_elems, [&](int64_t i, T*, T* out, bool acc) {
        const int64_t p0 = (i % nt) * step;
        pointwise_backward_weight_tile(g, x, dy, out, i / nt, p0, std::min(HW, p0 + step), acc);
      });
      return;
    }
    default: {
      const int64_t rows = tile_rows(g, g.C * g.KH * g.KW, sizeof(T), opt);
      const int64_t tiles = (g.OH + rows - 1) / rows;
      run_items<T>(g.N * tiles, use_outer(opt, g.N * tiles, threads),
                   g.C * g.KH * g.KW * rows * g.OW, dw, dw_elems,
                   [&](int64_t i, T* col, T* out, bool acc) {
                     const int64_t oh0 = (i % tiles) * rows;
                     im2col_backward_weight_tile(g, x, dy, out, i / tiles, oh0,
                                                 std::min(g.OH, oh0 + rows), col, acc);
                   });
    }
  }
}

template <class T>
void conv2d_backward_bias(const ConvGeom& g, const T* dy, T* db) {
  const int64_t OHW = g.OH * g.OW;
#pragma omp parallel for schedule(static) if (g.N * g.K * OHW > 32768)
  for (int64_t k = 0; k < g.K; ++k) {
    T s = 0;
    for (int64_t n = 0; n < g.N; ++n) {
      const T* p = dy + (n * g.K + k) * OHW;  // (OH, OW)
      T sn = 0;
#pragma omp simd reduction(+ : sn)
      for (int64_t i = 0; i < OHW; ++i) sn += p[i];
      s += sn;
    }
    db[k] = s;
  }
}

#define XGD_CONV_INSTANTIATE(T)                                                               \
  template void conv2d_forward<T>(const ConvGeom&, const T*, const T*, const T*, T*,          \
                                  const ConvOptions&);                                        \
  template void conv2d_backward_data<T>(const ConvGeom&, const T*, const T*, T*,              \
                                        const ConvOptions&);                                  \
  template void conv2d_backward_weight<T>(const ConvGeom&, const T*, const T*, T*,            \
                                          const ConvOptions&);                                \
  template void conv2d_backward_bias<T>(const ConvGeom&, const T*, T*);                       \
  template void im2col<T>(const ConvGeom&, const T*, int64_t, int64_t, int64_t, int64_t, T*); \
  template void col2im_add<T>(const ConvGeom&, const T*, int64_t, int64_t, int64_t, int64_t, T*);
XGD_CONV_INSTANTIATE(float)
XGD_CONV_INSTANTIATE(double)
#undef XGD_CONV_INSTANTIATE

}  // namespace xgd::kernels::cpu
