// CUDA kernels of the pooling family (kernels/cuda/pool.h). Backward kernels overwrite dx (=).
// Built by nvcc into xgd_kernels_cuda and by the host compiler into xgd_kernels_emu.
// Forward: one thread per output in grid-stride loops over 256-thread blocks (consecutive
// threads take consecutive output columns, so loads and stores coalesce), window sums in double
// in row-major order as the CPU, so results match it bit for bit; adaptive pooling with large
// bins (the global pool of ASPP, PSPNet's 1×1 bin) gives each output a warp instead.
// Backward: one thread per input element gathers from the outputs whose windows hold it, in
// ascending output order: no atomics, deterministic, and the CPU's additions in its order.
#include "kernels/cuda/device.h"
// (device.h first)
#include "kernels/common/pool.h"
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/pool.h"

namespace xgd::kernels::cuda {
XGD_CUDA_ABI_BEGIN
namespace {

// ---------------------------------------------------------------- max_pool2d
template <class T>
__global__ void max_pool_fwd_kernel(const T* __restrict__ x, T* __restrict__ y,
                                    int64_t* __restrict__ idx, Pool2dGeometry g) {
  const int64_t total = g.planes * g.out_h * g.out_w;
  for (int64_t o = global_thread(); o < total; o += grid_stride()) {
    const int64_t ow = o % g.out_w, r = o / g.out_w, oh = r % g.out_h, p = r / g.out_h;
    const T* xp = x + p * g.in_h * g.in_w;  // (in_h, in_w)
    const PoolSpan sh = max_pool_span(oh, g.in_h, g.k_h, g.s_h, g.p_h);
    const PoolSpan sw = max_pool_span(ow, g.in_w, g.k_w, g.s_w, g.p_w);
    // As the CPU (ATen): from -inf, the window's first element as the index.
    T best = static_cast<T>(-INFINITY);
    int64_t best_i = sh.start * g.in_w + sw.start;
    for (int64_t ih = sh.start; ih < sh.end; ++ih)
      for (int64_t iw = sw.start; iw < sw.end; ++iw) {
        const T v = xp[ih * g.in_w + iw];
        if (max_pool_takes(v, best)) {
          best = v;
          best_i = ih * g.in_w + iw;
        }
      }
    y[o] = best;
    if (idx) idx[o] = best_i;
  }
}

// dx[i] = Σ dy[o] over the outputs o whose window holds i and chose it (idx[o] == i).
template <class T>
__global__ void max_pool_bwd_kernel(const T* __restrict__ dy, const int64_t* __restrict__ idx,
                                    T* __restrict__ dx, Pool2dGeometry g) {
  const int64_t total = g.planes * g.in_h * g.in_w;
  for (int64_t i = global_thread(); i < total; i += grid_stride()) {
    const int64_t iw = i % g.in_w, r = i / g.in_w, ih = r % g.in_h, p = r / g.in_h;
    const int64_t self = ih * g.in_w + iw;
    const PoolRange rh = pool_windows_of(ih, g.k_h, g.s_h, g.p_h, g.out_h);
    const PoolRange rw = pool_windows_of(iw, g.k_w, g.s_w, g.p_w, g.out_w);
    const int64_t base = p * g.out_h * g.out_w;
    T acc = T(0);
    for (int64_t oh = rh.lo; oh < rh.hi; ++oh)
      for (int64_t ow = rw.lo; ow < rw.hi; ++ow) {
        const int64_t o = base + oh * g.out_w + ow;
        if (idx[o] == self) acc += dy[o];
      }
    dx[i] = acc;
  }
}

// ---------------------------------------------------------------- avg_pool2d
template <class T>
__global__ void avg_pool_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, Pool2dGeometry g,
                                    bool include_pad) {
  const int64_t total = g.planes * g.out_h * g.out_w;
  for (int64_t o = global_thread(); o < total; o += grid_stride()) {
    const int64_t ow = o % g.out_w, r = o / g.out_w, oh = r % g.out_h, p = r / g.out_h;
    const T* xp = x + p * g.in_h * g.in_w;
    const PoolSpan sh = avg_pool_span(oh, g.in_h, g.k_h, g.s_h, g.p_h);
    const PoolSpan sw = avg_pool_span(ow, g.in_w, g.k_w, g.s_w, g.p_w);
    const int64_t n_valid = (sh.end - sh.start) * (sw.end - sw.start);
    if (n_valid <= 0) {  // a window entirely in the padding: 0, as ATen
      y[o] = T(0);
      continue;
    }
    double sum = 0;
    for (int64_t ih = sh.start; ih < sh.end; ++ih)
      for (int64_t iw = sw.start; iw < sw.end; ++iw) sum += xp[ih * g.in_w + iw];
    const int64_t divisor = include_pad ? sh.padded * sw.padded : n_valid;
    y[o] = static_cast<T>(sum / static_cast<double>(divisor));
  }
}

template <class T>
__global__ void avg_pool_bwd_kernel(const T* __restrict__ dy, T* __restrict__ dx, Pool2dGeometry g,
                                    bool include_pad) {
  const int64_t total = g.planes * g.in_h * g.in_w;
  for (int64_t i = global_thread(); i < total; i += grid_stride()) {
    const int64_t iw = i % g.in_w, r = i / g.in_w, ih = r % g.in_h, p = r / g.in_h;
    const PoolRange rh = pool_windows_of(ih, g.k_h, g.s_h, g.p_h, g.out_h);
    const PoolRange rw = pool_windows_of(iw, g.k_w, g.s_w, g.p_w, g.out_w);
    const T* dyp = dy + p * g.out_h * g.out_w;
    T acc = T(0);
    for (int64_t oh = rh.lo; oh < rh.hi; ++oh) {
      const PoolSpan sh = avg_pool_span(oh, g.in_h, g.k_h, g.s_h, g.p_h);
      for (int64_t ow = rw.lo; ow < rw.hi; ++ow) {
        const PoolSpan sw = avg_pool_span(ow, g.in_w, g.k_w, g.s_w, g.p_w);
        const int64_t divisor =
            include_pad ? sh.padded * sw.padded : (sh.end - sh.start) * (sw.end - sw.start);
        acc += dyp[oh * g.out_w + ow] / static_cast<T>(divisor);  // the CPU's share
      }
    }
    dx[i] = acc;
  }
}

// ---------------------------------------------------------------- adaptive_avg_pool2d
template <class T>
__global__ void adaptive_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, Pool2dGeometry g) {
  const int64_t total = g.planes * g.out_h * g.out_w;
  for (int64_t o = global_thread(); o < total; o += grid_stride()) {
    const int64_t ow = o % g.out_w, r = o / g.out_w, oh = r % g.out_h, p = r / g.out_h;
    const T* xp = x + p * g.in_h * g.in_w;
    const int64_t h0 = adaptive_start(oh, g.out_h, g.in_h), h1 = adaptive_end(oh, g.out_h, g.in_h);
    const int64_t w0 = adaptive_start(ow, g.out_w, g.in_w), w1 = adaptive_end(ow, g.out_w, g.in_w);
    double sum = 0;
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) sum += xp[ih * g.in_w + iw];
    y[o] = static_cast<T>(sum / static_cast<double>((h1 - h0) * (w1 - w0)));
  }
}

// Large bins: one warp per output, lanes striding over the bin (coalesced along its rows), a
// warp tree sum in double (fixed order: deterministic).
constexpr unsigned kWarpsPerBlock = kBlock / 32;
template <class T>
__global__ void adaptive_fwd_warp_kernel(const T* __restrict__ x, T* __restrict__ y,
                                         Pool2dGeometry g) {
  const int64_t total = g.planes * g.out_h * g.out_w;
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  // o is the same for the 32 lanes of a warp: the loop and the shuffles are warp-uniform.
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + warp; o < total;
       o += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const int64_t ow = o % g.out_w, r = o / g.out_w, oh = r % g.out_h, p = r / g.out_h;
    const T* xp = x + p * g.in_h * g.in_w;
    const int64_t h0 = adaptive_start(oh, g.out_h, g.in_h), h1 = adaptive_end(oh, g.out_h, g.in_h);
    const int64_t w0 = adaptive_start(ow, g.out_w, g.in_w), w1 = adaptive_end(ow, g.out_w, g.in_w);
    const int64_t bw = w1 - w0, n = (h1 - h0) * bw;
    double sum = 0;
    for (int64_t j = lane; j < n; j += 32) sum += xp[(h0 + j / bw) * g.in_w + w0 + j % bw];
    sum = warp_sum(sum);
    if (lane == 0) y[o] = static_cast<T>(sum / static_cast<double>(n));
  }
}

template <class T>
__global__ void adaptive_bwd_kernel(const T* __restrict__ dy, T* __restrict__ dx,
                                    Pool2dGeometry g) {
  const int64_t total = g.planes * g.in_h * g.in_w;
  for (int64_t i = global_thread(); i < total; i += grid_stride()) {
    const int64_t iw = i % g.in_w, r = i / g.in_w, ih = r % g.in_h, p = r / g.in_h;
    const PoolRange rh = adaptive_bins_of(ih, g.out_h, g.in_h);
    const PoolRange rw = adaptive_bins_of(iw, g.out_w, g.in_w);
    const T* dyp = dy + p * g.out_h * g.out_w;
    T acc = T(0);
    for (int64_t oh = rh.lo; oh < rh.hi; ++oh) {
      const int64_t bh = adaptive_end(oh, g.out_h, g.in_h) - adaptive_start(oh, g.out_h, g.in_h);
      for (int64_t ow = rw.lo; ow < rw.hi; ++ow) {
        const int64_t bw = adaptive_end(ow, g.out_w, g.in_w) - adaptive_start(ow, g.out_w, g.in_w);
        acc += dyp[oh * g.out_w + ow] / static_cast<T>(bh * bw);  // the CPU's share
      }
    }
    dx[i] = acc;
  }
}

// Bin area from which a warp per output beats a thread per output (a thread's serial sum of
// 64+ elements leaves most of the GPU idle when there are few outputs).
constexpr int64_t kWarpBinArea = 64;

}  // namespace

// ---------------------------------------------------------------- launchers
template <class T>
void max_pool2d_forward(const T* x, T* y, int64_t* idx, const Pool2dGeometry& g, cudaStream_t s) {
  const int64_t n = g.planes * g.out_h * g.out_w;
  if (n == 0) return;
  XGD_LAUNCH(max_pool_fwd_kernel<T>, grid_1d(n), kBlock, 0, s)(x, y, idx, g);
  XGD_CHECK_LAUNCH();
}
template <class T>
void max_pool2d_backward(const T* dy, const int64_t* idx, T* dx, const Pool2dGeometry& g,
                         cudaStream_t s) {
  const int64_t n = g.planes * g.in_h * g.in_w;
  if (n == 0) return;
  XGD_LAUNCH(max_pool_bwd_kernel<T>, grid_1d(n), kBlock, 0, s)(dy, idx, dx, g);
  XGD_CHECK_LAUNCH();
}
template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g, bool include_pad,
                        cudaStream_t s) {
  const int64_t n = g.planes * g.out_h * g.out_w;
  if (n == 0) return;
  XGD_LAUNCH(avg_pool_fwd_kernel<T>, grid_1d(n), kBlock, 0, s)(x, y, g, include_pad);
  XGD_CHECK_LAUNCH();
}
template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g, bool include_pad,
                         cudaStream_t s) {
  const int64_t n = g.planes * g.in_h * g.in_w;
  if (n == 0) return;
  XGD_LAUNCH(avg_pool_bwd_kernel<T>, grid_1d(n), kBlock, 0, s)(dy, dx, g, include_pad);
  XGD_CHECK_LAUNCH();
}
template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g, cudaStream_t s) {
  const int64_t n = g.planes * g.out_h * g.out_w;
  if (n == 0) return;
  // The largest bin of each dim: ceil(in / out) + 1 when bins overlap.
  const int64_t bin_h = (g.in_h + g.out_h - 1) / g.out_h, bin_w = (g.in_w + g.out_w - 1) / g.out_w;
  if (bin_h * bin_w >= kWarpBinArea) {
    XGD_LAUNCH(adaptive_fwd_warp_kernel<T>, grid_1d(n, kWarpsPerBlock), kBlock, 0, s)(x, y, g);
  } else {
    XGD_LAUNCH(adaptive_fwd_kernel<T>, grid_1d(n), kBlock, 0, s)(x, y, g);
  }
  XGD_CHECK_LAUNCH();
}
template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g, cudaStream_t s) {
  const int64_t n = g.planes * g.in_h * g.in_w;
  if (n == 0) return;
  XGD_LAUNCH(adaptive_bwd_kernel<T>, grid_1d(n), kBlock, 0, s)(dy, dx, g);
  XGD_CHECK_LAUNCH();
}

namespace {
template <class T>
PoolFns<T> make_fns() {
  return {&max_pool2d_forward<T>,          &max_pool2d_backward<T>,
          &avg_pool2d_forward<T>,          &avg_pool2d_backward<T>,
          &adaptive_avg_pool2d_forward<T>, &adaptive_avg_pool2d_backward<T>};
}
}  // namespace

const PoolTable& pool_table() {
  static const PoolTable table{make_fns<float>(), make_fns<double>()};
  return table;
}

#define XGD_INSTANTIATE(T)                                                                         \
  template void max_pool2d_forward<T>(const T*, T*, int64_t*, const Pool2dGeometry&,               \
                                      cudaStream_t);                                               \
  template void max_pool2d_backward<T>(const T*, const int64_t*, T*, const Pool2dGeometry&,        \
                                       cudaStream_t);                                              \
  template void avg_pool2d_forward<T>(const T*, T*, const Pool2dGeometry&, bool, cudaStream_t);    \
  template void avg_pool2d_backward<T>(const T*, T*, const Pool2dGeometry&, bool, cudaStream_t);   \
  template void adaptive_avg_pool2d_forward<T>(const T*, T*, const Pool2dGeometry&, cudaStream_t); \
  template void adaptive_avg_pool2d_backward<T>(const T*, T*, const Pool2dGeometry&, cudaStream_t);
XGD_INSTANTIATE(float)
XGD_INSTANTIATE(double)
#undef XGD_INSTANTIATE

XGD_CUDA_ABI_END
}  // namespace xgd::kernels::cuda
