// Pooling kernels. Forward: parallel over (plane, output row), no shared writes. Backward:
// scatter into dx, parallel over planes only, so each dx element is summed in one fixed
// order (deterministic for any thread count). Window sums accumulate in double.
#include "kernels/cpu/pool.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/common/pool.h"

namespace xgd::kernels::cpu {

namespace {
// Parallelise only when the work covers the OpenMP start-up cost (~a few µs).
constexpr int64_t kParallelWork = 16384;

struct Bins {
  std::vector<int64_t> start, end;
};
Bins adaptive_bins(int64_t out, int64_t in) {
  Bins b{std::vector<int64_t>(out), std::vector<int64_t>(out)};
  for (int64_t i = 0; i < out; ++i) {
    b.start[i] = adaptive_start(i, out, in);
    b.end[i] = adaptive_end(i, out, in);
  }
  return b;
}
}  // namespace

template <class T>
void max_pool2d_forward(const T* x, T* y, int64_t* idx, const Pool2dGeometry& g) {
  const int64_t rows = g.planes * g.out_h;
#pragma omp parallel for schedule(static) if (rows * g.out_w * g.k_h * g.k_w > kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = r / g.out_h, oh = r % g.out_h;
    const T* xp = x + p * g.in_h * g.in_w;            // (in_h, in_w)
    T* yr = y + r * g.out_w;                          // (out_w)
    int64_t* ir = idx ? idx + r * g.out_w : nullptr;  // null: no backward will need it
    const PoolSpan sh = max_pool_span(oh, g.in_h, g.k_h, g.s_h, g.p_h);
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const PoolSpan sw = max_pool_span(ow, g.in_w, g.k_w, g.s_w, g.p_w);
      // ATen starts from -inf with the window's first element as the index, so an all -inf
      // window still yields a valid index.
      T best = -std::numeric_limits<T>::infinity();
      int64_t best_i = sh.start * g.in_w + sw.start;
      for (int64_t ih = sh.start; ih < sh.end; ++ih) {
        const T* xr = xp + ih * g.in_w;
        for (int64_t iw = sw.start; iw < sw.end; ++iw) {
          if (max_pool_takes(xr[iw], best)) {
            best = xr[iw];
            best_i = ih * g.in_w + iw;
          }
        }
      }
      yr[ow] = best;
      if (ir) ir[ow] = best_i;
    }
  }
}

template <class T>
void max_pool2d_backward(const T* dy, const int64_t* idx, T* dx, const Pool2dGeometry& g) {
  const int64_t in_n = g.in_h * g.in_w, out_n = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * (in_n + out_n) > kParallelWork)
  for (int64_t p = 0; p < g.planes; ++p) {
    T* dxp = dx + p * in_n;  // (in_h, in_w)
    const T* dyp = dy + p * out_n;
    const int64_t* ip = idx + p * out_n;
    std::fill(dxp, dxp + in_n, T(0));
    for (int64_t o = 0; o < out_n; ++o) dxp[ip[o]] += dyp[o];
  }
}

template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g, bool count_include_pad) {
  const int64_t rows = g.planes * g.out_h;
#pragma omp parallel for schedule(static) if (rows * g.out_w * g.k_h * g.k_w > kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = r / g.out_h, oh = r % g.out_h;
    const T* xp = x + p * g.in_h * g.in_w;  // (in_h, in_w)
    T* yr = y + r * g.out_w;
    const PoolSpan sh = avg_pool_span(oh, g.in_h, g.k_h, g.s_h, g.p_h);
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const PoolSpan sw = avg_pool_span(ow, g.in_w, g.k_w, g.s_w, g.p_w);
      const int64_t n_valid = (sh.end - sh.start) * (sw.end - sw.start);
      if (n_valid <= 0) {  // ATen writes 0 for a window entirely in the padding
        yr[ow] = T(0);
        continue;
      }
      double sum = 0;
      for (int64_t ih = sh.start; ih < sh.end; ++ih)
        for (int64_t iw = sw.start; iw < sw.end; ++iw) sum += xp[ih * g.in_w + iw];
      const int64_t divisor = count_include_pad ? sh.padded * sw.padded : n_valid;
      yr[ow] = static_cast<T>(sum / static_cast<double>(divisor));
    }
  }
}

template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g, bool count_include_pad) {
  const int64_t in_n = g.in_h * g.in_w, out_n = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * out_n * g.k_h * g.k_w > kParallelWork)
  for (int64_t p = 0; p < g.planes; ++p) {
    T* dxp = dx + p * in_n;  // (in_h, in_w)
    const T* dyp = dy + p * out_n;
    std::fill(dxp, dxp + in_n, T(0));
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const PoolSpan sh = avg_pool_span(oh, g.in_h, g.k_h, g.s_h, g.p_h);
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const PoolSpan sw = avg_pool_span(ow, g.in_w, g.k_w, g.s_w, g.p_w);
        const int64_t n_valid = (sh.end - sh.start) * (sw.end - sw.start);
        if (n_valid <= 0) continue;
        const int64_t divisor = count_include_pad ? sh.padded * sw.padded : n_valid;
        const T share = dyp[oh * g.out_w + ow] / static_cast<T>(divisor);
        for (int64_t ih = sh.start; ih < sh.end; ++ih)
          for (int64_t iw = sw.start; iw < sw.end; ++iw) dxp[ih * g.in_w + iw] += share;
      }
    }
  }
}

template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g) {
  const Bins bh = adaptive_bins(g.out_h, g.in_h), bw = adaptive_bins(g.out_w, g.in_w);
  const int64_t rows = g.planes * g.out_h;
  // Every input element is read about once per overlapping bin: work ~ input size.
  const int64_t work = g.planes * (g.in_h * g.in_w + g.out_h * g.out_w);
#pragma omp parallel for schedule(static) if (work > kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = r / g.out_h, oh = r % g.out_h;
    const T* xp = x + p * g.in_h * g.in_w;  // (in_h, in_w)
    T* yr = y + r * g.out_w;
    const int64_t h0 = bh.start[oh], h1 = bh.end[oh];
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const int64_t w0 = bw.start[ow], w1 = bw.end[ow];
      double sum = 0;
      for (int64_t ih = h0; ih < h1; ++ih) {
        const T* xr = xp + ih * g.in_w;
        for (int64_t iw = w0; iw < w1; ++iw) sum += xr[iw];
      }
      yr[ow] = static_cast<T>(sum / static_cast<double>((h1 - h0) * (w1 - w0)));
    }
  }
}

template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g) {
  const Bins bh = adaptive_bins(g.out_h, g.in_h), bw = adaptive_bins(g.out_w, g.in_w);
  const int64_t in_n = g.in_h * g.in_w, out_n = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * (in_n + out_n) > kParallelWork)
  for (int64_t p = 0; p < g.planes; ++p) {
    T* dxp = dx + p * in_n;  // (in_h, in_w)
    const T* dyp = dy + p * out_n;
    std::fill(dxp, dxp + in_n, T(0));
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const int64_t h0 = bh.start[oh], h1 = bh.end[oh];
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t w0 = bw.start[ow], w1 = bw.end[ow];
        const T share = dyp[oh * g.out_w + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
        for (int64_t ih = h0; ih < h1; ++ih) {
          T* dr = dxp + ih * g.in_w;
          for (int64_t iw = w0; iw < w1; ++iw) dr[iw] += share;
        }
      }
    }
  }
}

#define XGD_INSTANTIATE(T)                                                                   \
  template void max_pool2d_forward<T>(const T*, T*, int64_t*, const Pool2dGeometry&);        \
  template void max_pool2d_backward<T>(const T*, const int64_t*, T*, const Pool2dGeometry&); \
  template void avg_pool2d_forward<T>(const T*, T*, const Pool2dGeometry&, bool);            \
  template void avg_pool2d_backward<T>(const T*, T*, const Pool2dGeometry&, bool);           \
  template void adaptive_avg_pool2d_forward<T>(const T*, T*, const Pool2dGeometry&);         \
  template void adaptive_avg_pool2d_backward<T>(const T*, T*, const Pool2dGeometry&);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

}  // namespace xgd::kernels::cpu
